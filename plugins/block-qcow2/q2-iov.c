/* Byte ranges of a request's iovecs: the driver works on pieces of a request in place,
 * never on a copy of all of it. */
#include <string.h>

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

/* Calls fn on each piece of [off, off+len) of iov, with its offset in the range. */
static void each_piece(const struct iovec *iov, unsigned n, uint64_t off, uint64_t len,
                       void (*fn)(char *p, uint64_t at, uint64_t bytes, void *ctx), void *ctx)
{
    uint64_t at = 0;
    for (unsigned i = 0; i < n && len; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        uint64_t take = min64(iov[i].iov_len - off, len);
        fn((char *)iov[i].iov_base + off, at, take, ctx);
        at += take;
        len -= take;
        off = 0;
    }
}

static void copy_out(char *p, uint64_t at, uint64_t bytes, void *dst)
{
    memcpy((char *)dst + at, p, bytes);
}

static void copy_in(char *p, uint64_t at, uint64_t bytes, void *src)
{
    memcpy(p, (const char *)src + at, bytes);
}

static void zero(char *p, uint64_t at, uint64_t bytes, void *ctx)
{
    memset(p, 0, bytes);
}

void q2_iov_copy_from(const struct iovec *iov, unsigned n, uint64_t off, void *dst, uint64_t len)
{
    each_piece(iov, n, off, len, copy_out, dst);
}

void q2_iov_copy_to(const struct iovec *iov, unsigned n, uint64_t off, const void *src,
                    uint64_t len)
{
    each_piece(iov, n, off, len, copy_in, (void *)src);
}

void q2_iov_zero(const struct iovec *iov, unsigned n, uint64_t off, uint64_t len)
{
    each_piece(iov, n, off, len, zero, NULL);
}
