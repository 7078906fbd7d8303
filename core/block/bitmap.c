/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dirty bitmaps: bits, named bitmaps per node, the request-path hook, jobs' freeze,
 * and copy claims.  One lock guards bits and lists (writes complete on the main loop
 * and on drivers' worker threads); claims are main-thread only. */
#include <string.h>

#include "block/block-internal.h"
#include "block/bitmap.h"

struct MosaicBlkBitmap {
    char *name;                 /* NULL: anonymous */
    MosaicBlkNode *node;        /* named and successors: the node whose writes they record */
    guint64 granularity;
    guint shift;
    guint64 length;
    guint64 nbits;
    guint64 *words;
    gboolean enabled;
    gboolean persistent;
    gboolean inconsistent;
    BlkBitmap *successor;       /* frozen: records writes meanwhile (busy) */
    char *owner;                /* frozen: who, for messages ("backup job 'b0'") */
    GHashTable *claims;         /* cluster index -> GSList* of Waiter (copy claims) */
};

typedef struct Waiter {
    void (*cb)(void *);
    void *opaque;
} Waiter;

static GMutex bm_lock;
static GHashTable *by_node;     /* MosaicBlkNode* -> GPtrArray* of BlkBitmap* (recording) */

static GPtrArray *node_list(MosaicBlkNode *node, gboolean create)
{
    if (!by_node) {
        if (!create)
            return NULL;
        by_node = g_hash_table_new(NULL, NULL);
    }
    GPtrArray *a = g_hash_table_lookup(by_node, node);
    if (!a && create) {
        a = g_ptr_array_new();
        g_hash_table_insert(by_node, node, a);
    }
    return a;
}

static BlkBitmap *bitmap_new(guint64 granularity, guint64 length)
{
    BlkBitmap *bm = g_new0(BlkBitmap, 1);
    bm->granularity = granularity;
    bm->shift = g_bit_nth_lsf(granularity, -1);
    bm->length = length;
    bm->nbits = (length + granularity - 1) >> bm->shift;
    bm->words = g_new0(guint64, (bm->nbits + 63) / 64 + 1);
    bm->enabled = TRUE;
    return bm;
}

static void bitmap_free(BlkBitmap *bm)
{
    if (!bm)
        return;
    if (bm->claims)
        g_hash_table_destroy(bm->claims);
    g_free(bm->words);
    g_free(bm->owner);
    g_free(bm->name);
    g_free(bm);
}

static gboolean valid_granularity(guint64 g)
{
    return g >= BLK_BITMAP_MIN_GRANULARITY && g <= BLK_BITMAP_MAX_GRANULARITY &&
           (g & (g - 1)) == 0;
}

/* ---- bits (caller holds bm_lock) ---- */

static void bits_change(BlkBitmap *bm, guint64 offset, guint64 bytes, gboolean set)
{
    if (!bytes || offset >= bm->length)
        return;
    guint64 end = MIN(offset + bytes, bm->length);
    guint64 first = offset >> bm->shift, last = (end - 1) >> bm->shift;
    for (guint64 b = first; b <= last;) {
        if ((b & 63) == 0 && last - b >= 63) {
            bm->words[b >> 6] = set ? ~0ull : 0;
            b += 64;
            continue;
        }
        if (set)
            bm->words[b >> 6] |= 1ull << (b & 63);
        else
            bm->words[b >> 6] &= ~(1ull << (b & 63));
        b++;
    }
}

/* A reset only clears clusters it covers whole, except the tail cluster of the node. */
static void bits_reset_whole(BlkBitmap *bm, guint64 offset, guint64 bytes)
{
    guint64 end = MIN(offset + bytes, bm->length);
    guint64 start = (offset + bm->granularity - 1) & ~(bm->granularity - 1);
    guint64 stop = end == bm->length ? end : end & ~(bm->granularity - 1);
    if (stop > start)
        bits_change(bm, start, stop - start, FALSE);
}

static gboolean bit_get(BlkBitmap *bm, guint64 b)
{
    return b < bm->nbits && (bm->words[b >> 6] >> (b & 63)) & 1;
}

static guint64 bits_count(BlkBitmap *bm)
{
    guint64 n = 0;
    guint64 nw = (bm->nbits + 63) / 64;
    for (guint64 i = 0; i < nw; i++)
        n += __builtin_popcountll(bm->words[i]);
    if (!n)
        return 0;
    guint64 bytes = n << bm->shift;
    /* The last cluster may be partial. */
    if (bit_get(bm, bm->nbits - 1))
        bytes -= (bm->nbits << bm->shift) - bm->length;
    return bytes;
}

/* ---- the hook ---- */

void blk_bitmaps_on_write(MosaicBlkNode *node, guint64 offset, guint64 bytes)
{
    if (!by_node || !bytes)
        return;
    g_mutex_lock(&bm_lock);
    GPtrArray *a = node_list(node, FALSE);
    for (guint i = 0; a && i < a->len; i++) {
        BlkBitmap *bm = g_ptr_array_index(a, i);
        if (bm->enabled)
            bits_change(bm, offset, bytes, TRUE);
    }
    g_mutex_unlock(&bm_lock);
}

/* ---- named bitmaps ---- */

GPtrArray *blk_node_bitmaps(MosaicBlkNode *node)
{
    GPtrArray *out = g_ptr_array_new();
    g_mutex_lock(&bm_lock);
    GPtrArray *a = node_list(node, FALSE);
    for (guint i = 0; a && i < a->len; i++) {
        BlkBitmap *bm = g_ptr_array_index(a, i);
        if (bm->name)
            g_ptr_array_add(out, bm);
    }
    g_mutex_unlock(&bm_lock);
    return out;
}

static BlkBitmap *find(MosaicBlkNode *node, const char *name)
{
    GPtrArray *a = node_list(node, FALSE);
    for (guint i = 0; a && i < a->len; i++) {
        BlkBitmap *bm = g_ptr_array_index(a, i);
        if (bm->name && !strcmp(bm->name, name))
            return bm;
    }
    return NULL;
}

BlkBitmap *blk_bitmap_add(MosaicBlkNode *node, const char *name, guint64 granularity,
                          gboolean persistent, gboolean disabled, GError **err)
{
    if (!name || !*name || strlen(name) > BLK_BITMAP_MAX_NAME) {
        g_set_error(err, BLK_ERROR, 0, "bitmap name must be 1..%d bytes", BLK_BITMAP_MAX_NAME);
        return NULL;
    }
    if (!granularity)
        granularity = BLK_BITMAP_DEFAULT_GRANULARITY;
    if (!valid_granularity(granularity)) {
        g_set_error(err, BLK_ERROR, 0, "bitmap granularity %" G_GUINT64_FORMAT " is not a power "
                    "of two between %u and %u", granularity, BLK_BITMAP_MIN_GRANULARITY,
                    BLK_BITMAP_MAX_GRANULARITY);
        return NULL;
    }
    g_mutex_lock(&bm_lock);
    if (find(node, name)) {
        g_mutex_unlock(&bm_lock);
        g_set_error(err, BLK_ERROR, 0, "node '%s' already has a bitmap '%s' (remove it first or "
                    "pick another name)", node->label, name);
        return NULL;
    }
    BlkBitmap *bm = bitmap_new(granularity, node->length);
    bm->name = g_strdup(name);
    bm->node = node;
    bm->persistent = persistent;
    bm->enabled = !disabled;
    g_ptr_array_add(node_list(node, TRUE), bm);
    g_mutex_unlock(&bm_lock);
    if (persistent)
        blk_bitmaps_store_node(node, TRUE);
    return bm;
}

BlkBitmap *blk_bitmap_lookup(const char *node, const char *name, GError **err)
{
    MosaicBlkNode *n = blk_node_find(node);
    if (!n) {
        g_set_error(err, BLK_ERROR, 0, "no block node '%s'", node);
        return NULL;
    }
    g_mutex_lock(&bm_lock);
    BlkBitmap *bm = find(n, name);
    g_mutex_unlock(&bm_lock);
    if (!bm)
        g_set_error(err, BLK_ERROR, 0, "node '%s' has no dirty bitmap '%s'", node, name);
    return bm;
}

static gboolean check_not_busy(BlkBitmap *bm, GError **err)
{
    if (bm->successor) {
        g_set_error(err, BLK_ERROR, 0, "bitmap '%s' of node '%s' is in use by %s (busy): "
                    "wait for it to end, or end it", bm->name, bm->node->label,
                    bm->owner ? bm->owner : "a job");
        return FALSE;
    }
    return TRUE;
}

gboolean blk_bitmap_check_usable(BlkBitmap *bm, const char *what, GError **err)
{
    if (!check_not_busy(bm, err))
        return FALSE;
    if (bm->inconsistent) {
        g_set_error(err, BLK_ERROR, 0, "bitmap '%s' of node '%s' is inconsistent (the emulator "
                    "owning it did not shut down cleanly, so it may miss writes): it cannot be "
                    "used for %s; a full backup is needed (remove the bitmap and add a new one "
                    "with the full backup)", bm->name, bm->node->label, what);
        return FALSE;
    }
    return TRUE;
}

gboolean blk_bitmap_remove(BlkBitmap *bm, GError **err)
{
    if (!check_not_busy(bm, err))
        return FALSE;
    MosaicBlkNode *node = bm->node;
    gboolean persistent = bm->persistent;
    g_mutex_lock(&bm_lock);
    g_ptr_array_remove(node_list(node, TRUE), bm);
    g_mutex_unlock(&bm_lock);
    bitmap_free(bm);
    if (persistent)
        blk_bitmaps_store_node(node, TRUE);
    return TRUE;
}

static gboolean check_modifiable(BlkBitmap *bm, GError **err)
{
    if (!check_not_busy(bm, err))
        return FALSE;
    if (bm->inconsistent) {
        g_set_error(err, BLK_ERROR, 0, "bitmap '%s' of node '%s' is inconsistent; it can only be "
                    "removed (block-dirty-bitmap-remove)", bm->name, bm->node->label);
        return FALSE;
    }
    return TRUE;
}

gboolean blk_bitmap_clear(BlkBitmap *bm, GError **err)
{
    if (!check_modifiable(bm, err))
        return FALSE;
    g_mutex_lock(&bm_lock);
    memset(bm->words, 0, ((bm->nbits + 63) / 64) * 8);
    g_mutex_unlock(&bm_lock);
    return TRUE;
}

gboolean blk_bitmap_enable(BlkBitmap *bm, gboolean enable, GError **err)
{
    if (!check_modifiable(bm, err))
        return FALSE;
    bm->enabled = enable;
    return TRUE;
}

void blk_bitmap_or(BlkBitmap *dst, BlkBitmap *src)
{
    g_mutex_lock(&bm_lock);
    guint64 nw = (MIN(dst->nbits, src->nbits) + 63) / 64;
    for (guint64 i = 0; i < nw; i++)
        dst->words[i] |= src->words[i];
    g_mutex_unlock(&bm_lock);
}

gboolean blk_bitmap_merge(BlkBitmap *dst, GPtrArray *sources, GError **err)
{
    if (!check_modifiable(dst, err))
        return FALSE;
    for (guint i = 0; i < sources->len; i++) {
        BlkBitmap *s = g_ptr_array_index(sources, i);
        if (s->granularity != dst->granularity || s->length != dst->length) {
            g_set_error(err, BLK_ERROR, 0, "cannot merge bitmap '%s' into '%s': granularity or "
                        "size differ (%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " vs %"
                        G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT ")", s->name ? s->name : "?",
                        dst->name, s->granularity, s->length, dst->granularity, dst->length);
            return FALSE;
        }
        if (s->inconsistent) {
            g_set_error(err, BLK_ERROR, 0, "cannot merge from inconsistent bitmap '%s'", s->name);
            return FALSE;
        }
    }
    for (guint i = 0; i < sources->len; i++)
        if (g_ptr_array_index(sources, i) != dst)
            blk_bitmap_or(dst, g_ptr_array_index(sources, i));
    return TRUE;
}

const char *blk_bitmap_name(BlkBitmap *bm) { return bm->name; }
MosaicBlkNode *blk_bitmap_node(BlkBitmap *bm) { return bm->node; }
guint64 blk_bitmap_length(BlkBitmap *bm) { return bm->length; }
gboolean blk_bitmap_enabled(BlkBitmap *bm) { return bm->enabled || bm->successor; }
gboolean blk_bitmap_busy(BlkBitmap *bm) { return bm->successor != NULL; }
const char *blk_bitmap_owner(BlkBitmap *bm) { return bm->successor ? bm->owner : NULL; }
gboolean blk_bitmap_persistent(BlkBitmap *bm) { return bm->persistent; }
gboolean blk_bitmap_inconsistent(BlkBitmap *bm) { return bm->inconsistent; }
void blk_bitmap_set_inconsistent(BlkBitmap *bm) { bm->inconsistent = TRUE; }

gint64 blk_bitmap_next_dirty(BlkBitmap *bm, guint64 offset)
{
    g_mutex_lock(&bm_lock);
    gint64 ret = -1;
    for (guint64 b = offset >> bm->shift; b < bm->nbits;) {
        guint64 w = bm->words[b >> 6] >> (b & 63);
        if (w) {
            b += __builtin_ctzll(w);
            if (b < bm->nbits)
                ret = (gint64)(b << bm->shift);
            break;
        }
        b = (b | 63) + 1;
    }
    g_mutex_unlock(&bm_lock);
    return ret;
}

BlkBitmap *blk_bitmap_copy(BlkBitmap *bm)
{
    BlkBitmap *c = bitmap_new(bm->granularity, bm->length);
    g_mutex_lock(&bm_lock);
    memcpy(c->words, bm->words, ((bm->nbits + 63) / 64) * 8);
    g_mutex_unlock(&bm_lock);
    return c;
}

BlkBitmap *blk_bitmap_copy_all(BlkBitmap *bm)
{
    BlkBitmap *c = blk_bitmap_copy(bm);
    if (bm->successor)
        blk_bitmap_or(c, bm->successor);
    return c;
}

void blk_bitmap_mark_persistent(BlkBitmap *bm)
{
    bm->persistent = TRUE;
}

guint blk_bitmap_claims(BlkBitmap *bm)
{
    return bm->claims ? g_hash_table_size(bm->claims) : 0;
}

/* ---- jobs ---- */

gboolean blk_bitmap_freeze(BlkBitmap *bm, const char *owner, GError **err)
{
    if (!check_modifiable(bm, err))
        return FALSE;
    g_free(bm->owner);
    bm->owner = g_strdup(owner);
    BlkBitmap *s = bitmap_new(bm->granularity, bm->length);
    s->node = bm->node;
    s->enabled = bm->enabled;
    g_mutex_lock(&bm_lock);
    bm->successor = s;
    s->persistent = bm->enabled; /* remembers whether bm was recording */
    bm->enabled = FALSE;
    g_ptr_array_add(node_list(bm->node, TRUE), s);
    g_mutex_unlock(&bm_lock);
    return TRUE;
}

static void thaw(BlkBitmap *bm, gboolean keep_frozen_bits)
{
    BlkBitmap *s = bm->successor;
    g_mutex_lock(&bm_lock);
    g_ptr_array_remove(node_list(bm->node, TRUE), s);
    guint64 nw = (bm->nbits + 63) / 64;
    for (guint64 i = 0; i < nw; i++)
        bm->words[i] = keep_frozen_bits ? bm->words[i] | s->words[i] : s->words[i];
    bm->enabled = s->persistent;
    bm->successor = NULL;
    g_mutex_unlock(&bm_lock);
    bitmap_free(s);
}

void blk_bitmap_abdicate(BlkBitmap *bm)
{
    if (bm->successor)
        thaw(bm, FALSE);
}

void blk_bitmap_reclaim(BlkBitmap *bm)
{
    if (bm->successor)
        thaw(bm, TRUE);
}

/* ---- serialization ---- */

gsize blk_bitmap_serialized_size(BlkBitmap *bm)
{
    return ((bm->nbits + 63) / 64) * 8;
}

void blk_bitmap_serialize(BlkBitmap *bm, guint8 *out)
{
    g_mutex_lock(&bm_lock);
    guint64 nw = (bm->nbits + 63) / 64;
    for (guint64 i = 0; i < nw; i++) {
        guint64 le = GUINT64_TO_LE(bm->words[i]);
        memcpy(out + i * 8, &le, 8);
    }
    g_mutex_unlock(&bm_lock);
}

gboolean blk_bitmap_deserialize(BlkBitmap *bm, const guint8 *in, gsize len)
{
    if (len != blk_bitmap_serialized_size(bm))
        return FALSE;
    g_mutex_lock(&bm_lock);
    guint64 nw = len / 8;
    for (guint64 i = 0; i < nw; i++) {
        guint64 le;
        memcpy(&le, in + i * 8, 8);
        bm->words[i] = GUINT64_FROM_LE(le);
    }
    /* Bits past the end would count as dirty bytes that do not exist. */
    if (bm->nbits & 63)
        bm->words[nw - 1] &= (1ull << (bm->nbits & 63)) - 1;
    g_mutex_unlock(&bm_lock);
    return TRUE;
}

void blk_bitmaps_node_gone(MosaicBlkNode *node)
{
    g_mutex_lock(&bm_lock);
    GPtrArray *a = node_list(node, FALSE);
    if (a)
        g_hash_table_remove(by_node, node);
    g_mutex_unlock(&bm_lock);
    for (guint i = 0; a && i < a->len; i++)
        bitmap_free(g_ptr_array_index(a, i));
    if (a)
        g_ptr_array_free(a, TRUE);
}

void blk_bitmaps_forget_all(void)
{
    if (!by_node)
        return;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, by_node);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        GPtrArray *a = v;
        for (guint i = 0; i < a->len; i++)
            bitmap_free(g_ptr_array_index(a, i));
        g_ptr_array_free(a, TRUE);
    }
    g_hash_table_destroy(by_node);
    by_node = NULL;
}

/* ---- SDK ---- */

MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_find(const char *node, const char *name)
{
    return blk_bitmap_lookup(node, name, NULL);
}

MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_new(uint64_t granularity, uint64_t length,
                                                  bool all_dirty)
{
    if (!valid_granularity(granularity))
        return NULL;
    BlkBitmap *bm = bitmap_new(granularity, length);
    if (all_dirty)
        bits_change(bm, 0, length, TRUE);
    return bm;
}

MOSAIC_API void mosaic_blk_bitmap_free(MosaicBlkBitmap *bm)
{
    if (bm && !bm->name)
        bitmap_free(bm);
}

MOSAIC_API uint64_t mosaic_blk_bitmap_granularity(const MosaicBlkBitmap *bm)
{
    return bm->granularity;
}

MOSAIC_API bool mosaic_blk_bitmap_get(MosaicBlkBitmap *bm, uint64_t offset)
{
    g_mutex_lock(&bm_lock);
    gboolean r = bit_get(bm, offset >> bm->shift);
    g_mutex_unlock(&bm_lock);
    return r;
}

MOSAIC_API void mosaic_blk_bitmap_set(MosaicBlkBitmap *bm, uint64_t offset, uint64_t bytes)
{
    g_mutex_lock(&bm_lock);
    bits_change(bm, offset, bytes, TRUE);
    g_mutex_unlock(&bm_lock);
}

MOSAIC_API void mosaic_blk_bitmap_reset(MosaicBlkBitmap *bm, uint64_t offset, uint64_t bytes)
{
    g_mutex_lock(&bm_lock);
    bits_reset_whole(bm, offset, bytes);
    g_mutex_unlock(&bm_lock);
}

MOSAIC_API uint64_t mosaic_blk_bitmap_count(MosaicBlkBitmap *bm)
{
    g_mutex_lock(&bm_lock);
    guint64 n = bits_count(bm);
    g_mutex_unlock(&bm_lock);
    return n;
}

MOSAIC_API int64_t mosaic_blk_bitmap_next_dirty(MosaicBlkBitmap *bm, uint64_t offset)
{
    return blk_bitmap_next_dirty(bm, offset);
}

MOSAIC_API bool mosaic_blk_bitmap_claim(MosaicBlkBitmap *bm, uint64_t offset)
{
    guint64 b = offset >> bm->shift;
    g_mutex_lock(&bm_lock);
    gboolean dirty = bit_get(bm, b);
    if (dirty)
        bm->words[b >> 6] &= ~(1ull << (b & 63));
    g_mutex_unlock(&bm_lock);
    if (!dirty)
        return false;
    if (!bm->claims)
        bm->claims = g_hash_table_new(g_int64_hash, g_int64_equal);
    guint64 *key = g_new(guint64, 1);
    *key = b;
    g_hash_table_insert(bm->claims, key, NULL);
    return true;
}

MOSAIC_API bool mosaic_blk_bitmap_busy(MosaicBlkBitmap *bm, uint64_t offset)
{
    guint64 b = offset >> bm->shift;
    return bm->claims && g_hash_table_contains(bm->claims, &b);
}

MOSAIC_API void mosaic_blk_bitmap_release(MosaicBlkBitmap *bm, uint64_t offset, bool failed)
{
    guint64 b = offset >> bm->shift;
    gpointer key = NULL, val = NULL;
    if (!bm->claims || !g_hash_table_lookup_extended(bm->claims, &b, &key, &val))
        return;
    g_hash_table_steal(bm->claims, &b);
    g_free(key);
    if (failed) {
        g_mutex_lock(&bm_lock);
        bm->words[b >> 6] |= 1ull << (b & 63);
        g_mutex_unlock(&bm_lock);
    }
    /* Waiters run after the claim is gone, in the order they came. */
    GSList *l = g_slist_reverse(val);
    for (GSList *it = l; it; it = it->next) {
        Waiter *w = it->data;
        w->cb(w->opaque);
        g_free(w);
    }
    g_slist_free(l);
}

MOSAIC_API void mosaic_blk_bitmap_wait(MosaicBlkBitmap *bm, uint64_t offset,
                                       void (*cb)(void *opaque), void *opaque)
{
    guint64 b = offset >> bm->shift;
    gpointer key = NULL, val = NULL;
    if (!bm->claims || !g_hash_table_lookup_extended(bm->claims, &b, &key, &val)) {
        cb(opaque);
        return;
    }
    Waiter *w = g_new(Waiter, 1);
    w->cb = cb;
    w->opaque = opaque;
    g_hash_table_steal(bm->claims, &b);
    g_hash_table_insert(bm->claims, key, g_slist_prepend(val, w));
}
