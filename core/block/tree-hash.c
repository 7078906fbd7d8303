/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The checksum of a file as it is written (see tree-hash.h). */
#include <string.h>
#include <xxhash.h>
#if defined(__x86_64__) || defined(__i386__)
/* The plain XXH3 entry points of libxxhash use SSE2 only; these pick AVX2 or AVX-512 at
 * run time (1.6x the throughput here): hashing is most of a checksummed backup's cost. */
#include <xxh_x86dispatch.h>
#endif
#include "block/tree-hash.h"

#define BLOCK_SHIFT 16
#define BLOCK (1u << BLOCK_SHIFT)
/* Bounds: the table of a 256 GiB file (4 Mi blocks, 68 MiB); what is read back at the
 * end on the main loop (a full backup's qcow2 metadata is a few MiB). */
#define MAX_BLOCKS (1u << 22)
#define MAX_READ_BACK (64u << 20)

enum { UNTOUCHED, HASHED, DIRTY };

typedef struct Block {
    guint8 state;
    guint8 digest[16];     /* XXH128 canonical, when HASHED */
} Block;

struct BlkTreeHash {
    GMutex lock;
    GArray *blocks;        /* Block, indexed by offset >> BLOCK_SHIFT */
    gboolean too_big;      /* past MAX_BLOCKS: no checksum */
};

BlkTreeHash *blk_tree_hash_new(void)
{
    BlkTreeHash *h = g_new0(BlkTreeHash, 1);
    g_mutex_init(&h->lock);
    h->blocks = g_array_new(FALSE, TRUE, sizeof(Block)); /* zeroed: UNTOUCHED */
    return h;
}

void blk_tree_hash_free(BlkTreeHash *h)
{
    if (!h)
        return;
    g_array_free(h->blocks, TRUE);
    g_mutex_clear(&h->lock);
    g_free(h);
}

/* The entry of block `i`, the table grown to it; NULL past the bound.  Lock held. */
static Block *block_at(BlkTreeHash *h, guint64 i)
{
    if (i >= MAX_BLOCKS) {
        h->too_big = TRUE;
        return NULL;
    }
    if (i >= h->blocks->len)
        g_array_set_size(h->blocks, i + 1);
    return &g_array_index(h->blocks, Block, i);
}

static void mark_dirty(BlkTreeHash *h, guint64 first, guint64 last)
{
    for (guint64 i = first; i <= last; i++) {
        Block *b = block_at(h, i);
        if (!b)
            return;
        b->state = DIRTY;
    }
}

void blk_tree_hash_touched(BlkTreeHash *h, guint64 offset, guint64 bytes)
{
    if (!bytes)
        return;
    g_mutex_lock(&h->lock);
    mark_dirty(h, offset >> BLOCK_SHIFT, (offset + bytes - 1) >> BLOCK_SHIFT);
    g_mutex_unlock(&h->lock);
}

static void canonical(XXH128_hash_t v, guint8 out[16])
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, v);
    memcpy(out, c.digest, 16);
}

/* XXH128 of `len` bytes at `skip` into the iov. */
static void hash_iov(const struct iovec *iov, unsigned niov, guint64 skip, guint64 len,
                     guint8 out[16])
{
    unsigned k = 0;
    while (k < niov && skip >= iov[k].iov_len)
        skip -= iov[k++].iov_len;
    if (k < niov && iov[k].iov_len - skip >= len) { /* in one piece: the usual case */
        canonical(XXH3_128bits((const guint8 *)iov[k].iov_base + skip, len), out);
        return;
    }
    XXH3_state_t *st = XXH3_createState();
    XXH3_128bits_reset(st);
    for (; k < niov && len; k++) {
        guint64 n = MIN(iov[k].iov_len - skip, len);
        XXH3_128bits_update(st, (const guint8 *)iov[k].iov_base + skip, n);
        len -= n;
        skip = 0;
    }
    canonical(XXH3_128bits_digest(st), out);
    XXH3_freeState(st);
}

void blk_tree_hash_written(BlkTreeHash *h, guint64 offset, const struct iovec *iov,
                           unsigned niov, guint64 bytes)
{
    if (!bytes)
        return;
    guint64 end = offset + bytes;
    guint64 first = offset >> BLOCK_SHIFT, last = (end - 1) >> BLOCK_SHIFT;
    for (guint64 i = first; i <= last; i++) {
        guint64 bs = i << BLOCK_SHIFT, be = bs + BLOCK;
        guint8 d[16];
        gboolean whole = bs >= offset && be <= end;
        if (whole) /* hashed outside the lock: writers on other threads go on */
            hash_iov(iov, niov, bs - offset, BLOCK, d);
        g_mutex_lock(&h->lock);
        Block *b = block_at(h, i);
        if (b && whole && b->state == UNTOUCHED) {
            b->state = HASHED;
            memcpy(b->digest, d, 16);
        } else if (b) {
            /* Written before (which write is last is not known here) or in part. */
            b->state = DIRTY;
        }
        g_mutex_unlock(&h->lock);
        if (!b)
            return;
    }
}

char *blk_tree_hash_finish(BlkTreeHash *h, MosaicBlkChild *file, guint64 length,
                           const char **why)
{
    if (h->too_big) {
        *why = "the file is too large to keep its block hashes";
        return NULL;
    }
    guint64 nblocks = (length + BLOCK - 1) >> BLOCK_SHIFT, read_back = 0;
    for (guint64 i = 0; i < nblocks; i++) {
        gboolean whole = (i + 1) << BLOCK_SHIFT <= length;
        if (!whole || i >= h->blocks->len || g_array_index(h->blocks, Block, i).state != HASHED)
            read_back += BLOCK;
    }
    if (read_back > MAX_READ_BACK) {
        *why = "too much of the file was not hashed as it was written";
        return NULL;
    }
    XXH3_state_t *outer = XXH3_createState();
    XXH3_128bits_reset(outer);
    g_autofree guint8 *buf = g_malloc(BLOCK);
    char *ret = NULL;
    for (guint64 i = 0; i < nblocks; i++) {
        guint64 off = i << BLOCK_SHIFT, len = MIN(BLOCK, length - off);
        if (len == BLOCK && i < h->blocks->len &&
            g_array_index(h->blocks, Block, i).state == HASHED) {
            XXH3_128bits_update(outer, g_array_index(h->blocks, Block, i).digest, 16);
            continue;
        }
        if (mosaic_blk_child_pread(file, off, buf, len) < 0) {
            *why = "reading the file back failed";
            goto out;
        }
        struct iovec v = {.iov_base = buf, .iov_len = len};
        guint8 d[16];
        hash_iov(&v, 1, 0, len, d);
        XXH3_128bits_update(outer, d, 16);
    }
    guint8 le[8];
    for (int k = 0; k < 8; k++)
        le[k] = length >> (8 * k);
    XXH3_128bits_update(outer, le, 8);
    guint8 d[16];
    canonical(XXH3_128bits_digest(outer), d);
    GString *s = g_string_new("xxh128t:");
    for (unsigned k = 0; k < 16; k++)
        g_string_append_printf(s, "%02x", d[k]);
    ret = g_string_free(s, FALSE);
out:
    XXH3_freeState(outer);
    return ret;
}
