/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SDK's scatter-gather helpers (mosaic/iov.h).  One walk serves all: it visits the
 * pieces of [off, off+len) in order. */
#include <string.h>
#include <glib.h>
#include <mosaic/iov.h>

typedef void PieceFn(void *opaque, char *base, size_t len);

static size_t walk(const struct iovec *iov, unsigned n, size_t off, size_t len,
                     PieceFn *fn, void *opaque)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        size_t take = MIN(iov[i].iov_len - off, len - done);
        fn(opaque, (char *)iov[i].iov_base + off, take);
        done += take;
        off = 0;
    }
    return done;
}

MOSAIC_API size_t mosaic_iov_size(const struct iovec *iov, unsigned n)
{
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

typedef struct Slice {
    struct iovec *out;
    unsigned k, max;
    gboolean overflow;
} Slice;

static void add_piece(void *opaque, char *base, size_t len)
{
    Slice *s = opaque;
    if (s->k == s->max) {
        s->overflow = TRUE;
        return;
    }
    s->out[s->k++] = (struct iovec){base, len};
}

MOSAIC_API unsigned mosaic_iov_slice(const struct iovec *iov, unsigned n, size_t off,
                                     size_t len, struct iovec *out, unsigned max)
{
    Slice s = {out, 0, max, FALSE};
    walk(iov, n, off, len, add_piece, &s);
    return s.overflow ? 0 : s.k;
}

static void to_buf(void *opaque, char *base, size_t len)
{
    char **d = opaque;
    memcpy(*d, base, len);
    *d += len;
}

MOSAIC_API size_t mosaic_iov_to_buf(const struct iovec *iov, unsigned n, size_t off,
                                      void *dst, size_t len)
{
    char *d = dst;
    return walk(iov, n, off, len, to_buf, &d);
}

static void from_buf(void *opaque, char *base, size_t len)
{
    const char **s = opaque;
    memcpy(base, *s, len);
    *s += len;
}

MOSAIC_API size_t mosaic_iov_from_buf(const struct iovec *iov, unsigned n, size_t off,
                                        const void *src, size_t len)
{
    const char *s = src;
    return walk(iov, n, off, len, from_buf, &s);
}

static void fill(void *opaque, char *base, size_t len)
{
    memset(base, *(int *)opaque, len);
}

MOSAIC_API size_t mosaic_iov_memset(const struct iovec *iov, unsigned n, size_t off, int c,
                                      size_t len)
{
    return walk(iov, n, off, len, fill, &c);
}
