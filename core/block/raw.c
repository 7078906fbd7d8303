/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The raw format driver: a window [offset, offset + size) of its child, unchanged. */
#include <errno.h>

#include "block/block-internal.h"

typedef struct RawState {
    MosaicBlkChild *file;
    guint64 offset, size;
} RawState;

static const MosaicPropDesc raw_props[] = {
    {.key = "file", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED,
     .help = "the node holding the data (usually driver = file)"},
    {.key = "offset", .type = MOSAIC_PROP_SIZE, .defval = "0", .help = "start in the child"},
    {.key = "size", .type = MOSAIC_PROP_SIZE, .defval = "0",
     .help = "length (0: to the end of the child)"},
    {.key = "read-only", .type = MOSAIC_PROP_BOOL, .defval = "off", .help = "refuse writes"},
    {NULL},
};

static void *raw_open(MosaicBlkNode *node, const MosaicProps *props, MosaicError *err)
{
    gboolean ro = mosaic_props_get_bool(props, "read-only");
    MosaicBlkChild *file = mosaic_blk_open_child(node, props, "file", !ro, err);
    if (!file)
        return NULL;
    guint64 clen = mosaic_blk_child_length(file);
    guint64 off = mosaic_props_get_uint(props, "offset");
    guint64 size = mosaic_props_get_uint(props, "size");
    if (off > clen || (size && size > clen - off)) {
        mosaic_error_set(err, "%s: offset %" G_GUINT64_FORMAT " + size %" G_GUINT64_FORMAT
                         " is past the end of the child (%" G_GUINT64_FORMAT " bytes)",
                         mosaic_props_where(props, "offset"), off, size, clen);
        return NULL;
    }
    RawState *s = g_new0(RawState, 1);
    s->file = file;
    s->offset = off;
    s->size = size ? size : clen - off;
    mosaic_blk_node_set_length(node, s->size);
    mosaic_blk_node_set_read_only(node, ro || mosaic_blk_child_read_only(file));
    return s;
}

static void raw_close(void *state)
{
    g_free(state);
}

static int raw_io(void *state, MosaicBlkReq *req)
{
    RawState *s = state;
    MosaicBlkReq r = *req;
    if (r.type != MOSAIC_BLK_FLUSH)
        r.offset += s->offset;
    int ret = mosaic_blk_child_io(s->file, &r);
    req->status = r.status & ~MOSAIC_BLK_STATUS_ALLOCATED;
    req->status |= MOSAIC_BLK_STATUS_ALLOCATED;
    req->status_bytes = r.status_bytes;
    return ret;
}

static const MosaicBlkDriverOps raw_ops = {
    .size = sizeof(MosaicBlkDriverOps),
    .open = raw_open,
    .close = raw_close,
    .io = raw_io,
};

const MosaicPluginDesc blk_raw_desc = {
    .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
    .size = sizeof(MosaicPluginDesc), .kind = MOSAIC_KIND_BLOCK, .kind_abi = MOSAIC_BLOCK_ABI,
    .name = "raw", .version = "1.0", .license = "GPL-2.0-or-later",
    .description = "raw image format over a child node (optional offset/size window)",
    .props = raw_props, .ops = &raw_ops,
};
