/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Finding a node's bitmap through the filters above its format node (exports of a
 * filtered node offer the bitmap of the image below). */
#include "block/block-internal.h"
#include "block/bitmap.h"

MOSAIC_API MosaicBlkBitmap *mosaic_blk_bitmap_find_below(const char *node, const char *name,
                                                        const char **holder)
{
    MosaicBlkNode *n = node ? blk_node_find(node) : NULL;
    for (guint depth = 0; n && name && depth < 64; depth++) {
        MosaicBlkBitmap *bm = mosaic_blk_bitmap_find(n->label, name);
        if (bm) {
            if (holder)
                *holder = n->label;
            return bm;
        }
        n = n->children->len ? ((MosaicBlkChild *)g_ptr_array_index(n->children, 0))->node : NULL;
    }
    return NULL;
}

MOSAIC_API uint64_t mosaic_blk_bitmap_length(const MosaicBlkBitmap *bm)
{
    return blk_bitmap_length((BlkBitmap *)bm);
}
