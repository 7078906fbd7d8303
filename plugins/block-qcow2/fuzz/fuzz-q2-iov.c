/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: cutting a request's iovecs into pieces (q2-iov.c), as the driver
 * streams a large or fragmented request instead of copying it: the pieces cover exactly
 * the range asked for, in order, each within its iovec, never more than asked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../q2-iov.h"

#define MAXIOV 300
#define MAXSLICES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    static char buf[1 << 16];
    struct iovec iov[MAXIOV];
    unsigned n = 0;
    uint64_t total = 0, pos = 0;
    for (size_t i = 4; i + 1 < size && n < MAXIOV; i += 2) {
        size_t len = (size_t)(data[i] << 8 | data[i + 1]) % 4096 + 1;
        iov[n].iov_base = buf + (pos % (sizeof buf - 4097));
        iov[n++].iov_len = len;
        total += len;
        pos += len + 1;
    }
    if (!total)
        return 0;
    uint64_t off = ((uint64_t)data[0] << 8 | data[1]) % total;
    uint64_t len = ((uint64_t)data[2] << 8 | data[3]) % (total - off + 1);
    /* The driver's loop: slices of at most MAXSLICES until the range is done. */
    uint64_t at = off, left = len;
    while (left) {
        struct iovec sl[MAXSLICES];
        uint64_t got;
        unsigned k = q2_iov_slice(iov, n, at, left, sl, MAXSLICES, &got);
        if (!k || got == 0 || got > left || k > MAXSLICES)
            abort();
        uint64_t sum = 0, skip = at;
        unsigned first = 0;
        while (skip >= iov[first].iov_len) { /* where `at` falls */
            skip -= iov[first].iov_len;
            first++;
        }
        for (unsigned j = 0; j < k; j++) {
            const struct iovec *src = &iov[first + j];
            char *lo = src->iov_base, *p = sl[j].iov_base;
            if (p < lo || p + sl[j].iov_len > lo + src->iov_len)
                abort(); /* a piece outside its iovec */
            if (j == 0 && p != lo + skip)
                abort();
            sum += sl[j].iov_len;
        }
        if (sum != got)
            abort();
        at += got;
        left -= got;
    }
    return 0;
}
