/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dirty bitmaps of block nodes, for block drivers (the copy-before-write filter).
 *
 * A bitmap has one bit per `granularity` bytes (a power of two) of a node.  Named
 * bitmaps belong to a node and are managed with the block-dirty-bitmap-* monitor
 * commands; every write, write-zeroes or discard that completes on the node sets the
 * bits of its enabled bitmaps.  Anonymous bitmaps (mosaic_blk_bitmap_new) belong to
 * whoever made them and track nothing by themselves.
 *
 * Claims (copy-before-write): a "copy bitmap" lists the clusters not yet copied to a
 * backup target.  Whoever copies a cluster first claims it (the bit is cleared and the
 * cluster is busy), copies, then releases it; a writer that finds the cluster busy
 * waits for the release, so the old data always reaches the target before the write
 * reaches the source.  Claims and waits: main loop thread only.  get/set/reset/count:
 * any thread.
 *
 * Changelog
 *   1.0  first version, including what drivers that store bitmaps in their image need
 *        (MosaicBlkDriverOps.bitmaps_*): load, persistent_at, name/recording/inconsistent,
 *        data export/import.  (Added before the first release, so still 1.0.)
 *   1.1  next_dirty, find_below, length; named bitmaps for jobs and transactions
 *        (add/lookup/remove/clear/enable/merge/copy, check_usable, frozen, freeze/
 *        abdicate/reclaim, claims, at, persistent, owner).
 */
#ifndef MOSAIC_BITMAP_H
#define MOSAIC_BITMAP_H

#include <mosaic/block.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MosaicBlkBitmap MosaicBlkBitmap;

/* The bitmap `name` of the node labelled `node`, or NULL. */
MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_find(const char *node, const char *name);
/* The bitmap `name` of `node` or of the first node below it along first children (the
 * filter chain down to the format node); *holder gets that node's label.  NULL when
 * none has it.  Since 1.1. */
MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_find_below(const char *node, const char *name,
                                                        const char **holder);
/* Bytes the bitmap covers.  Since 1.1. */
MOSAIC_API uint64_t mosaic_blk_bitmap_length(const MosaicBlkBitmap *bm);
/* An anonymous bitmap covering `length` bytes; granularity a power of two >= 512. */
MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_new(uint64_t granularity, uint64_t length,
                                                  bool all_dirty);
MOSAIC_API void mosaic_blk_bitmap_free(MosaicBlkBitmap *bm); /* anonymous ones only */
MOSAIC_API uint64_t mosaic_blk_bitmap_granularity(const MosaicBlkBitmap *bm);
MOSAIC_API bool mosaic_blk_bitmap_get(MosaicBlkBitmap *bm, uint64_t offset);
MOSAIC_API void mosaic_blk_bitmap_set(MosaicBlkBitmap *bm, uint64_t offset, uint64_t bytes);
MOSAIC_API void mosaic_blk_bitmap_reset(MosaicBlkBitmap *bm, uint64_t offset, uint64_t bytes);
/* Dirty bytes. */
MOSAIC_API uint64_t mosaic_blk_bitmap_count(MosaicBlkBitmap *bm);
/* The offset of the first dirty granule at or after `offset` (rounded down to its
 * granule), or -1 when none is: skips clean runs a word at a time.  (ABI 1.1) */
MOSAIC_API int64_t mosaic_blk_bitmap_next_dirty(MosaicBlkBitmap *bm, uint64_t offset);

/* Claims the cluster holding `offset`: true when it was dirty (now clean and busy; the
 * caller copies it and calls release).  false: clean, or busy (see busy). */
MOSAIC_API bool mosaic_blk_bitmap_claim(MosaicBlkBitmap *bm, uint64_t offset);
MOSAIC_API bool mosaic_blk_bitmap_busy(MosaicBlkBitmap *bm, uint64_t offset);
/* Ends a claim.  failed: the copy did not happen; the cluster becomes dirty again. */
MOSAIC_API void mosaic_blk_bitmap_release(MosaicBlkBitmap *bm, uint64_t offset, bool failed);
/* Calls cb(opaque) once the cluster holding `offset` is not busy: at once when it is
 * not, otherwise from the release() that ends the claim (main loop thread). */
MOSAIC_API void mosaic_blk_bitmap_wait(MosaicBlkBitmap *bm, uint64_t offset,
                                       void (*cb)(void *opaque), void *opaque);

/* ---- named bitmaps for jobs and transactions (since 1.1; main loop thread) ----
 * A job freezes a bitmap: its bits stay as they were at the job's start, a successor
 * records the writes meanwhile; abdicate (success) keeps only the successor's bits,
 * reclaim (failure) merges them back (nothing lost). */
#define MOSAIC_BLK_BITMAP_DEFAULT_GRANULARITY 65536u
/* A named bitmap of `node` (granularity 0: the default); NULL + err when the name is
 * taken or invalid.  disabled: it records nothing (a job's copy bitmap). */
MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_add(MosaicBlkNode *node, const char *name,
                                                  uint64_t granularity, bool persistent,
                                                  bool disabled, MosaicError *err);
/* The bitmap `name` of the node labelled `node`; NULL + err naming what is missing. */
MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_lookup(const char *node, const char *name,
                                                     MosaicError *err);
MOSAIC_API bool mosaic_blk_bitmap_remove(MosaicBlkBitmap *bm, MosaicError *err);
MOSAIC_API bool mosaic_blk_bitmap_clear(MosaicBlkBitmap *bm, MosaicError *err);
MOSAIC_API bool mosaic_blk_bitmap_enable(MosaicBlkBitmap *bm, bool enable, MosaicError *err);
/* dst |= every source (same granularity and length; dst not frozen, no source
 * inconsistent): all checked before anything changes. */
MOSAIC_API bool mosaic_blk_bitmap_merge(MosaicBlkBitmap *dst, MosaicBlkBitmap *const *srcs,
                                        unsigned n, MosaicError *err);
/* The i-th named bitmap of `node` (creation order), NULL past the last. */
MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_at(MosaicBlkNode *node, unsigned i);
MOSAIC_API bool mosaic_blk_bitmap_persistent(const MosaicBlkBitmap *bm);
/* Who froze it (for messages), or NULL when it is not frozen. */
MOSAIC_API const char *mosaic_blk_bitmap_owner(const MosaicBlkBitmap *bm);
/* An anonymous copy of the bits (mosaic_blk_bitmap_free it). */
MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_copy(MosaicBlkBitmap *bm);
/* Whether a job may use it (not frozen, not inconsistent); err says why not, for `what`. */
MOSAIC_API bool mosaic_blk_bitmap_check_usable(MosaicBlkBitmap *bm, const char *what,
                                               MosaicError *err);
MOSAIC_API bool mosaic_blk_bitmap_frozen(const MosaicBlkBitmap *bm);
/* `owner` names the job in messages about the frozen bitmap. */
MOSAIC_API bool mosaic_blk_bitmap_freeze(MosaicBlkBitmap *bm, const char *owner,
                                         MosaicError *err);
MOSAIC_API void mosaic_blk_bitmap_abdicate(MosaicBlkBitmap *bm);
MOSAIC_API void mosaic_blk_bitmap_reclaim(MosaicBlkBitmap *bm);
/* Clusters claimed now (copies in flight). */
MOSAIC_API unsigned mosaic_blk_bitmap_claims(MosaicBlkBitmap *bm);

/* ---- image-stored bitmaps (MosaicBlkDriverOps.bitmaps_load/store; main loop thread) ----
 * Data layout (qcow2's): bit k % 8 of byte k / 8 is granule k (bytes [k*g, (k+1)*g) of
 * the node); mosaic_blk_bitmap_data_size() bytes in all. */

/* A new persistent named bitmap of `node`, all clean.  inconsistent: its owner died, it
 * may miss writes (only removable; incremental backups refuse it).  NULL (logged) when
 * the name is taken or the granularity is invalid. */
MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_load(MosaicBlkNode *node, const char *name,
                                                   uint64_t granularity, bool recording,
                                                   bool inconsistent);
/* The i-th persistent named bitmap of `node` (creation order), NULL past the last. */
MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_persistent_at(MosaicBlkNode *node, unsigned i);
MOSAIC_API const char *mosaic_blk_bitmap_name(const MosaicBlkBitmap *bm);
MOSAIC_API bool mosaic_blk_bitmap_recording(const MosaicBlkBitmap *bm);
MOSAIC_API bool mosaic_blk_bitmap_inconsistent(const MosaicBlkBitmap *bm);
MOSAIC_API uint64_t mosaic_blk_bitmap_data_size(const MosaicBlkBitmap *bm);
/* out: data_size bytes.  A bitmap busy in a job gives what a failure of the job would
 * leave (its bits | the writes meanwhile). */
MOSAIC_API void mosaic_blk_bitmap_export(MosaicBlkBitmap *bm, uint8_t *out);
/* in: data_size bytes; replaces the bits. */
MOSAIC_API void mosaic_blk_bitmap_import(MosaicBlkBitmap *bm, const uint8_t *in);

#ifdef __cplusplus
}
#endif
#endif
