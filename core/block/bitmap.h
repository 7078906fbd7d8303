/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dirty bitmaps of the block layer (internal API; drivers use mosaic/bitmap.h).
 *
 * Named bitmaps belong to a node (struct MosaicBlkBitmap in bitmap.c).  Status flags
 * follow QEMU's: recording (enabled), busy (a job uses it: only the job may change it),
 * persistent (kept in FILE.bitmaps next to the node's image, see bitmap-persist.c),
 * inconsistent (the process owning it died: it may miss writes; it can only be
 * removed, and an incremental backup from it is refused).
 *
 * Jobs freeze a bitmap: its bits are kept as they were at the job's start, a successor
 * bitmap records the writes meanwhile; abdicate (success) replaces the bitmap's bits
 * with the successor's, reclaim (failure) merges the successor back. */
#ifndef MOSAIC_CORE_BLOCK_BITMAP_H
#define MOSAIC_CORE_BLOCK_BITMAP_H

#include <glib.h>
#include <mosaic/bitmap.h>

typedef MosaicBlkBitmap BlkBitmap;

#define BLK_BITMAP_MIN_GRANULARITY 512u
#define BLK_BITMAP_MAX_GRANULARITY (1u << 30)
#define BLK_BITMAP_DEFAULT_GRANULARITY 65536u
#define BLK_BITMAP_MAX_NAME 1023

/* The hook of the request path: a write, write-zeroes or discard of [offset,
 * offset+bytes) completed on `node` (any thread). */
void blk_bitmaps_on_write(MosaicBlkNode *node, guint64 offset, guint64 bytes);
/* Request types that change data (marked even when they fail: they may have written
 * part of the range). */
static inline gboolean blk_req_dirties(const MosaicBlkReq *r)
{
    return r->type == MOSAIC_BLK_WRITE || r->type == MOSAIC_BLK_WRITE_ZEROES ||
           r->type == MOSAIC_BLK_DISCARD;
}

/* Named bitmaps. */
BlkBitmap *blk_bitmap_add(MosaicBlkNode *node, const char *name, guint64 granularity,
                          gboolean persistent, gboolean disabled, GError **err);
BlkBitmap *blk_bitmap_lookup(const char *node, const char *name, GError **err);
gboolean blk_bitmap_remove(BlkBitmap *bm, GError **err);
gboolean blk_bitmap_clear(BlkBitmap *bm, GError **err);
gboolean blk_bitmap_enable(BlkBitmap *bm, gboolean enable, GError **err);
/* dst |= every source (all checked before anything changes). */
gboolean blk_bitmap_merge(BlkBitmap *dst, GPtrArray *sources, GError **err);
/* The bitmaps of a node (BlkBitmap*, in creation order; not owned; named only). */
GPtrArray *blk_node_bitmaps(MosaicBlkNode *node);
/* Checks that a bitmap is usable by a job (not busy, not inconsistent). */
gboolean blk_bitmap_check_usable(BlkBitmap *bm, const char *what, GError **err);

const char *blk_bitmap_name(BlkBitmap *bm);
MosaicBlkNode *blk_bitmap_node(BlkBitmap *bm);
guint64 blk_bitmap_length(BlkBitmap *bm);
gboolean blk_bitmap_enabled(BlkBitmap *bm);
gboolean blk_bitmap_busy(BlkBitmap *bm);
/* Who froze a busy bitmap (for messages), or NULL. */
const char *blk_bitmap_owner(BlkBitmap *bm);
gboolean blk_bitmap_persistent(BlkBitmap *bm);
gboolean blk_bitmap_inconsistent(BlkBitmap *bm);
void blk_bitmap_set_inconsistent(BlkBitmap *bm);

/* Next dirty offset at or after `offset` (cluster aligned), or -1. */
gint64 blk_bitmap_next_dirty(BlkBitmap *bm, guint64 offset);
/* A copy of the bits (anonymous). */
BlkBitmap *blk_bitmap_copy(BlkBitmap *bm);
/* A copy of the bits or'ed with a frozen bitmap's successor (what a failure would
 * leave). */
BlkBitmap *blk_bitmap_copy_all(BlkBitmap *bm);
/* Loading: persistent without rewriting the side file. */
void blk_bitmap_mark_persistent(BlkBitmap *bm);
/* dst |= src (same granularity and length). */
void blk_bitmap_or(BlkBitmap *dst, BlkBitmap *src);

/* Clusters claimed now (copies in flight). */
guint blk_bitmap_claims(BlkBitmap *bm);
/* Jobs: freeze (busy + successor records), then abdicate (success) or reclaim. */
gboolean blk_bitmap_freeze(BlkBitmap *bm, const char *owner, GError **err);
void blk_bitmap_abdicate(BlkBitmap *bm);
void blk_bitmap_reclaim(BlkBitmap *bm);

/* Serialization (persistence, tests): little-endian 64-bit words. */
gsize blk_bitmap_serialized_size(BlkBitmap *bm);
void blk_bitmap_serialize(BlkBitmap *bm, guint8 *out);
gboolean blk_bitmap_deserialize(BlkBitmap *bm, const guint8 *in, gsize len);

/* Persistence (bitmap-persist.c): FILE.bitmaps next to a node's host file. */
void blk_bitmaps_graph_opened(void);   /* loads; marks the files in use */
void blk_bitmaps_graph_closing(void);  /* stores; marks the files clean */
/* Writes the side file of the node now (after add/remove of a persistent bitmap). */
void blk_bitmaps_store_node(MosaicBlkNode *node, gboolean in_use);
/* Drops the bitmaps of a node that is going away (jobs' temporary nodes). */
void blk_bitmaps_node_gone(MosaicBlkNode *node);
/* Drops the bitmaps of every node (graph close). */
void blk_bitmaps_forget_all(void);

/* Bitmaps stored in the image (bitmap-image.c): nodes whose driver has bitmaps_store
 * keep their persistent bitmaps there, not in the side file. */
gboolean blk_node_stores_bitmaps(MosaicBlkNode *node);
void blk_bitmaps_image_load(MosaicBlkNode *node);
void blk_bitmaps_image_store(MosaicBlkNode *node);
/* A persistent bitmap of `node` was added or removed at run time: the driver records
 * the set in the image now, in use (MosaicBlkDriverOps.bitmaps_changed). */
void blk_bitmaps_image_changed(MosaicBlkNode *node);


#endif
