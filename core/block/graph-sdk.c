/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The graph services of the SDK for jobs (mosaic/block.h "for jobs", mosaic/bitmap.h
 * "named bitmaps"): job types in plugins change the graph through these. */
#include "block/block-internal.h"
#include "block/bitmap.h"
#include "block/defer-flush.h"

/* GError -> the caller's MosaicError; returns FALSE for `return fail(...)`. */
static gboolean fail(GError *e, MosaicError *err)
{
    if (e) {
        mosaic_error_set(err, "%s", e->message);
        g_error_free(e);
    }
    return FALSE;
}

MOSAIC_API MosaicBlkNode *mosaic_blk_node_find(const char *label) { return blk_node_find(label); }

MOSAIC_API MosaicBlkNode *mosaic_blk_node_at(unsigned i)
{
    g_autoptr(GPtrArray) all = blk_all_nodes();
    return i < all->len ? g_ptr_array_index(all, i) : NULL;
}

MOSAIC_API MosaicBlkNode *mosaic_blk_node_new(const char *what, const char *label,
                                              const char *driver, const char *const *kv,
                                              MosaicError *err)
{
    if (!label || !driver) {
        mosaic_error_set(err, "%s: a node needs a label and a driver", what ? what : "node");
        return NULL;
    }
    MosaicConfig *cfg = blk_node_config_new(what ? what : "node", NULL);
    ConfigSection *s = blk_node_config_add(cfg, label, driver);
    for (guint i = 0; kv && kv[i]; i += 2) {
        if (!kv[i + 1]) {
            config_free(cfg);
            mosaic_error_set(err, "%s '%s': key '%s' has no value", what, label, kv[i]);
            return NULL;
        }
        config_section_set(s, kv[i], kv[i + 1], NULL, NULL);
    }
    GError *e = NULL;
    MosaicBlkNode *n = blk_node_open_config(cfg, label, &e);
    if (!n)
        fail(e, err);
    return n;
}

MOSAIC_API bool mosaic_blk_node_in_use(const MosaicBlkNode *node)
{
    return node->parents->len || node->users->len;
}

MOSAIC_API bool mosaic_blk_node_delete(MosaicBlkNode *node, MosaicError *err)
{
    GError *e = NULL;
    if (!mosaic_blk_node_in_use(node))
        blk_bitmaps_node_gone(node); /* a user may have put bitmaps on a temporary node */
    return blk_node_delete(node, &e) || fail(e, err);
}

MOSAIC_API MosaicBlkNode *mosaic_blk_node_child(const MosaicBlkNode *node, unsigned i)
{
    return i < node->children->len ?
           ((MosaicBlkChild *)g_ptr_array_index(node->children, i))->node : NULL;
}

MOSAIC_API void mosaic_blk_node_submit(MosaicBlkNode *node, MosaicBlkReq *req,
                                       MosaicBlkDone *done, void *opaque)
{
    blk_node_submit(node, req, done, opaque);
}

MOSAIC_API void mosaic_blk_drain_begin(void) { blk_drain_begin(); }
MOSAIC_API void mosaic_blk_drain_end(void) { blk_drain_end(); }

MOSAIC_API bool mosaic_blk_insert_filter(MosaicBlkNode *filter, MosaicBlkNode *node,
                                         MosaicError *err)
{
    GError *e = NULL;
    return blk_insert_filter(filter, node, &e) || fail(e, err);
}

MOSAIC_API bool mosaic_blk_remove_filter(MosaicBlkNode *filter, MosaicError *err)
{
    GError *e = NULL;
    return blk_remove_filter(filter, &e) || fail(e, err);
}

MOSAIC_API const char *mosaic_blk_driver_with_cap(uint32_t cap, const char *what,
                                                  MosaicError *err)
{
    GError *e = NULL;
    const char *name = blk_driver_with_cap(cap, what, &e);
    if (!name)
        fail(e, err);
    return name;
}

MOSAIC_API const char *mosaic_blk_driver_for_uri(const char *uri, MosaicError *err)
{
    GError *e = NULL;
    const char *name = blk_driver_for_uri(uri, &e);
    if (!name)
        fail(e, err);
    return name;
}

MOSAIC_API bool mosaic_blk_format_exists(const char *name, MosaicError *err)
{
    GError *e = NULL;
    return blk_format_find(name, NULL, &e) || fail(e, err);
}

MOSAIC_API void mosaic_blk_defer_flush_release(MosaicBlkNode *node)
{
    if (node->desc == &blk_defer_flush_desc)
        blk_defer_flush_release(node);
}

/* ---- named bitmaps ---- */

MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_add(MosaicBlkNode *node, const char *name,
                                                  uint64_t granularity, bool persistent,
                                                  bool disabled, MosaicError *err)
{
    GError *e = NULL;
    BlkBitmap *bm = blk_bitmap_add(node, name, granularity, persistent, disabled, &e);
    if (!bm)
        fail(e, err);
    return bm;
}

MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_lookup(const char *node, const char *name,
                                                     MosaicError *err)
{
    GError *e = NULL;
    BlkBitmap *bm = blk_bitmap_lookup(node, name, &e);
    if (!bm)
        fail(e, err);
    return bm;
}

MOSAIC_API bool mosaic_blk_bitmap_remove(MosaicBlkBitmap *bm, MosaicError *err)
{
    GError *e = NULL;
    return blk_bitmap_remove(bm, &e) || fail(e, err);
}

MOSAIC_API bool mosaic_blk_bitmap_clear(MosaicBlkBitmap *bm, MosaicError *err)
{
    GError *e = NULL;
    return blk_bitmap_clear(bm, &e) || fail(e, err);
}

MOSAIC_API bool mosaic_blk_bitmap_enable(MosaicBlkBitmap *bm, bool enable, MosaicError *err)
{
    GError *e = NULL;
    return blk_bitmap_enable(bm, enable, &e) || fail(e, err);
}

MOSAIC_API bool mosaic_blk_bitmap_merge(MosaicBlkBitmap *dst, MosaicBlkBitmap *const *srcs,
                                        unsigned n, MosaicError *err)
{
    GError *e = NULL;
    g_autoptr(GPtrArray) all = g_ptr_array_sized_new(n);
    for (unsigned i = 0; i < n; i++)
        g_ptr_array_add(all, srcs[i]);
    return blk_bitmap_merge(dst, all, &e) || fail(e, err);
}

MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_at(MosaicBlkNode *node, unsigned i)
{
    g_autoptr(GPtrArray) all = blk_node_bitmaps(node);
    return i < all->len ? g_ptr_array_index(all, i) : NULL;
}

MOSAIC_API bool mosaic_blk_bitmap_persistent(const MosaicBlkBitmap *bm)
{
    return blk_bitmap_persistent((BlkBitmap *)bm);
}

MOSAIC_API const char *mosaic_blk_bitmap_owner(const MosaicBlkBitmap *bm)
{
    return blk_bitmap_owner((BlkBitmap *)bm);
}

MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_copy(MosaicBlkBitmap *bm) { return blk_bitmap_copy(bm); }

MOSAIC_API bool mosaic_blk_bitmap_check_usable(MosaicBlkBitmap *bm, const char *what,
                                               MosaicError *err)
{
    GError *e = NULL;
    return blk_bitmap_check_usable(bm, what, &e) || fail(e, err);
}

MOSAIC_API bool mosaic_blk_bitmap_frozen(const MosaicBlkBitmap *bm)
{
    return blk_bitmap_busy((BlkBitmap *)bm);
}

MOSAIC_API bool mosaic_blk_bitmap_freeze(MosaicBlkBitmap *bm, const char *owner,
                                         MosaicError *err)
{
    GError *e = NULL;
    return blk_bitmap_freeze(bm, owner, &e) || fail(e, err);
}

MOSAIC_API void mosaic_blk_bitmap_abdicate(MosaicBlkBitmap *bm) { blk_bitmap_abdicate(bm); }
MOSAIC_API void mosaic_blk_bitmap_reclaim(MosaicBlkBitmap *bm) { blk_bitmap_reclaim(bm); }
MOSAIC_API unsigned mosaic_blk_bitmap_claims(MosaicBlkBitmap *bm) { return blk_bitmap_claims(bm); }
