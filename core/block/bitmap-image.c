/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Persistent bitmaps kept in the image itself (drivers with MosaicBlkDriverOps
 * bitmaps_load/bitmaps_store, e.g. qcow2's bitmaps extension) instead of the
 * FILE.bitmaps side file of bitmap-persist.c: the SDK side drivers use, and the calls
 * into the drivers at graph open and clean close. */
#include <string.h>

#include "block/block-internal.h"
#include "block/bitmap.h"
#include "block/block.h"

gboolean blk_node_stores_bitmaps(MosaicBlkNode *node)
{
    return node && node->ops.bitmaps_store != NULL;
}

MosaicBlkBitmap *mosaic_blk_bitmap_load(MosaicBlkNode *node, const char *name,
                                        uint64_t granularity, bool recording, bool inconsistent)
{
    GError *e = NULL;
    /* Not persistent at add: that would ask the persistence layer to store it now. */
    BlkBitmap *bm = blk_bitmap_add(node, name, granularity, FALSE, !recording, &e);
    if (!bm) {
        g_warning("node '%s': stored bitmap '%s' not loaded: %s", node->label, name, e->message);
        g_error_free(e);
        return NULL;
    }
    if (inconsistent)
        blk_bitmap_set_inconsistent(bm);
    blk_bitmap_mark_persistent(bm);
    return bm;
}

MosaicBlkBitmap *mosaic_blk_bitmap_persistent_at(MosaicBlkNode *node, unsigned i)
{
    g_autoptr(GPtrArray) bms = blk_node_bitmaps(node);
    for (guint k = 0; k < bms->len; k++) {
        BlkBitmap *bm = g_ptr_array_index(bms, k);
        if (blk_bitmap_persistent(bm) && i-- == 0)
            return bm;
    }
    return NULL;
}

const char *mosaic_blk_bitmap_name(const MosaicBlkBitmap *bm)
{
    return blk_bitmap_name((BlkBitmap *)bm);
}

bool mosaic_blk_bitmap_recording(const MosaicBlkBitmap *bm)
{
    return blk_bitmap_enabled((BlkBitmap *)bm);
}

bool mosaic_blk_bitmap_inconsistent(const MosaicBlkBitmap *bm)
{
    return blk_bitmap_inconsistent((BlkBitmap *)bm);
}

uint64_t mosaic_blk_bitmap_data_size(const MosaicBlkBitmap *bm)
{
    guint64 g = mosaic_blk_bitmap_granularity(bm), len = blk_bitmap_length((BlkBitmap *)bm);
    return ((len + g - 1) / g + 7) / 8;
}

/* The serialized form is little-endian 64-bit words: the same bit order, padded to 8. */
void mosaic_blk_bitmap_export(MosaicBlkBitmap *bm, uint8_t *out)
{
    BlkBitmap *view = blk_bitmap_copy_all(bm);
    gsize n = blk_bitmap_serialized_size(view);
    g_autofree guint8 *buf = g_malloc0(n + 8);
    blk_bitmap_serialize(view, buf);
    mosaic_blk_bitmap_free(view);
    memcpy(out, buf, mosaic_blk_bitmap_data_size(bm));
}

void mosaic_blk_bitmap_import(MosaicBlkBitmap *bm, const uint8_t *in)
{
    gsize n = blk_bitmap_serialized_size(bm);
    g_autofree guint8 *buf = g_malloc0(n + 8);
    memcpy(buf, in, mosaic_blk_bitmap_data_size(bm));
    blk_bitmap_deserialize(bm, buf, n);
}

void blk_bitmaps_image_load(MosaicBlkNode *node)
{
    if (!node->ops.bitmaps_load || !node->state)
        return;
    int ret = node->ops.bitmaps_load(node->state, node);
    if (ret < 0)
        g_warning("node '%s': loading the bitmaps stored in the image failed: %s", node->label,
                  g_strerror(-ret));
}

void blk_bitmaps_image_store(MosaicBlkNode *node)
{
    if (!node->ops.bitmaps_store || !node->state)
        return;
    int ret = node->ops.bitmaps_store(node->state, node);
    if (ret < 0)
        g_warning("node '%s': storing the persistent bitmaps in the image failed: %s (they "
                  "will be inconsistent at the next start)", node->label, g_strerror(-ret));
}

void blk_bitmaps_image_changed(MosaicBlkNode *node)
{
    if (!node->ops.bitmaps_changed || !node->state)
        return;
    blk_drain_begin(); /* the driver rewrites its metadata: nothing in flight */
    int ret = node->ops.bitmaps_changed(node->state, node);
    blk_drain_end();
    if (ret < 0)
        g_warning("node '%s': recording the persistent bitmaps in the image failed: %s (a "
                  "bitmap added now is lost if the emulator is killed)", node->label,
                  g_strerror(-ret));
}
