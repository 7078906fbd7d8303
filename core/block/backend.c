/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Users of nodes (devices, exports): they hold a MosaicBlk, whose node may change
 * under them when filters are inserted or removed. */
#include <errno.h>

#include "block/block-internal.h"

MOSAIC_API MosaicBlk *mosaic_blk_attach(MosaicMachine *machine, const char *label, bool write,
                                        MosaicError *err)
{
    MosaicBlkNode *n = blk_node_find(label);
    if (!n) {
        mosaic_error_set(err, "no block node '%s' (a [blockdev %s] section is needed)", label,
                         label);
        return NULL;
    }
    if (write && n->read_only) {
        mosaic_error_set(err, "block node '%s' is read-only", label);
        return NULL;
    }
    MosaicBlk *b = g_new0(MosaicBlk, 1);
    b->node = n;
    b->write = write;
    g_queue_init(&b->waiting);
    g_ptr_array_add(n->users, b);
    return b;
}

MOSAIC_API void mosaic_blk_detach(MosaicBlk *blk)
{
    if (!blk)
        return;
    blk_drain_begin();
    g_ptr_array_remove(blk->node->users, blk);
    /* Anything still waiting fails: its user is gone. */
    BlkOp *op;
    while ((op = g_queue_pop_head(&blk->waiting)))
        blk_complete_later(op->done, op->opaque, -ESHUTDOWN), g_free(op);
    g_free(blk);
    blk_drain_end();
}

MOSAIC_API uint64_t mosaic_blk_length(const MosaicBlk *blk) { return blk_node_cur_length(blk->node); }
MOSAIC_API bool mosaic_blk_read_only(const MosaicBlk *blk)
{
    return !blk->write || blk->node->read_only;
}

MOSAIC_API void mosaic_blk_submit(MosaicBlk *blk, MosaicBlkReq *req, MosaicBlkDone *done,
                                  void *opaque)
{
    if (!blk->write && (req->type == MOSAIC_BLK_WRITE || req->type == MOSAIC_BLK_DISCARD ||
                        req->type == MOSAIC_BLK_WRITE_ZEROES)) {
        blk_complete_later(done, opaque, -EPERM);
        return;
    }
    if (blk_is_drained() || !g_queue_is_empty(&blk->waiting)) {
        BlkOp *op = g_new0(BlkOp, 1);
        op->req = req;
        op->done = done;
        op->opaque = opaque;
        op->blk = blk;
        g_queue_push_tail(&blk->waiting, op);
        return;
    }
    blk_node_submit(blk->node, req, done, opaque);
}

void blk_users_resume(void)
{
    g_autoptr(GPtrArray) nodes = blk_all_nodes();
    for (guint i = 0; i < nodes->len; i++) {
        MosaicBlkNode *n = g_ptr_array_index(nodes, i);
        for (guint j = 0; j < n->users->len; j++) {
            MosaicBlk *b = g_ptr_array_index(n->users, j);
            BlkOp *op;
            while (!blk_is_drained() && (op = g_queue_pop_head(&b->waiting))) {
                blk_node_submit(b->node, op->req, op->done, op->opaque);
                g_free(op);
            }
        }
    }
}
