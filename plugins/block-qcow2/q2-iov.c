/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Byte ranges of a request's iovecs: the driver works on pieces of a request in place,
 * never on a copy of all of it.  Copies and fills use <mosaic/iov.h>; what is here is
 * the one thing the SDK's slice does not do: the longest prefix of a range that fits in
 * `max` iovecs (the SDK's refuses a range that does not fit). */

#include "q2-iov.h"

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

unsigned q2_iov_slice(const struct iovec *iov, unsigned n, uint64_t off, uint64_t len,
                      struct iovec *out, unsigned max, uint64_t *got)
{
    unsigned k = 0;
    *got = 0;
    for (unsigned i = 0; i < n && len && k < max; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        uint64_t take = min64(iov[i].iov_len - off, len);
        out[k].iov_base = (char *)iov[i].iov_base + off;
        out[k++].iov_len = take;
        *got += take;
        len -= take;
        off = 0;
    }
    return k;
}
