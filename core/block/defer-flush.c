/* SPDX-License-Identifier: GPL-2.0-or-later */
/* defer-flush: passes every request to its child except flushes, which complete at once
 * until blk_defer_flush_release() (then they pass too).
 *
 * Why: a backup job writes a new target file that is worth nothing until the job's
 * final flush (a crash before it discards the file: the manifest never names it).  A
 * format driver that keeps its metadata crash-safe flushes after every allocating write
 * (qcow2: data, then refcounts, then L2), so a 4 MiB chunk costs several fdatasync()s and
 * the copy runs at the disk's synchronous write speed.  Below the format driver this
 * filter turns those into no-ops; the job releases it before its final flush, which then
 * makes everything durable at once, as `qemu-img convert -t writeback` does. */
#include "block/defer-flush.h"
#include "block/tree-hash.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

typedef struct DeferFlush {
    MosaicBlkChild *file;
    gint released;      /* atomic: flushes pass (set on the main loop, read by workers) */
    BlkTreeHash *hash;  /* checksum=PATH: the file's checksum, made as it is written */
    char *hash_path;
} DeferFlush;

static const MosaicPropDesc defer_props[] = {
    {.key = "file", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED,
     .help = "the node written (a backup job's new target file)"},
    {.key = "checksum", .type = MOSAIC_PROP_PATH,
     .help = "at close, write the file's checksum (\"xxh128t:HEX\", made while it was written) "
             "to this file; nothing is written if it cannot be made"},
    {NULL},
};

static void *defer_open(MosaicBlkNode *node, const MosaicProps *props, MosaicError *err)
{
    MosaicBlkChild *file = mosaic_blk_open_child(node, props, "file", true, err);
    if (!file)
        return NULL;
    DeferFlush *s = g_new0(DeferFlush, 1);
    s->file = file;
    const char *sum = mosaic_props_has(props, "checksum") ? mosaic_props_get_str(props, "checksum")
                                                          : NULL;
    if (sum && *sum) {
        s->hash = blk_tree_hash_new();
        s->hash_path = g_strdup(sum);
    }
    /* No length of its own: as long and as growable as the file (a format above it
     * allocates past the end). */
    mosaic_blk_node_set_read_only(node, mosaic_blk_child_read_only(file));
    return s;
}

/* The checksum of the file as it is now, everything above closed: a backup tool then
 * need not read the new file again (it reads it itself if there is no checksum file). */
static void write_checksum(DeferFlush *s)
{
    const char *why = NULL;
    g_autofree char *sum = blk_tree_hash_finish(s->hash, s->file,
                                                mosaic_blk_child_length(s->file), &why);
    if (!sum) {
        g_debug("defer-flush: no checksum for %s: %s", s->hash_path, why);
        return;
    }
    /* A new file only: never one that is there (the path comes from a QMP client). */
    int fd = open(s->hash_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    size_t len = strlen(sum);
    if (fd < 0 || write(fd, sum, len) != (ssize_t)len)
        g_warning("defer-flush: checksum file %s: %s", s->hash_path, g_strerror(errno));
    if (fd >= 0)
        close(fd);
}

static void defer_close(void *state)
{
    DeferFlush *s = state;
    if (s->hash) {
        write_checksum(s);
        blk_tree_hash_free(s->hash);
    }
    g_free(s->hash_path);
    g_free(s);
}

static int defer_io(void *state, MosaicBlkReq *req)
{
    DeferFlush *s = state;
    if (req->type == MOSAIC_BLK_FLUSH && !g_atomic_int_get(&s->released))
        return 0;
    int ret = mosaic_blk_child_io(s->file, req);
    if (!s->hash)
        return ret;
    if (req->type == MOSAIC_BLK_WRITE && ret == 0)
        blk_tree_hash_written(s->hash, req->offset, req->iov, req->niov, req->bytes);
    else if (req->type == MOSAIC_BLK_WRITE || req->type == MOSAIC_BLK_WRITE_ZEROES ||
             req->type == MOSAIC_BLK_DISCARD)
        blk_tree_hash_touched(s->hash, req->offset, req->bytes);
    return ret;
}

void blk_defer_flush_release(MosaicBlkNode *node)
{
    DeferFlush *s = node->state;
    g_atomic_int_set(&s->released, 1);
}

static const MosaicBlkDriverOps defer_ops = {
    .size = sizeof(MosaicBlkDriverOps),
    .passes = MOSAIC_BLK_PASS_ALL,
    .open = defer_open,
    .close = defer_close,
    .io = defer_io,
};

const MosaicPluginDesc blk_defer_flush_desc = {
    .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
    .size = sizeof(MosaicPluginDesc), .kind = MOSAIC_KIND_BLOCK_FILTER,
    .kind_abi = MOSAIC_BLOCK_ABI, .name = "defer-flush", .version = "1.0", .license = "GPL-2.0-or-later",
    .description = "passes requests to its child but turns flushes into no-ops until released "
                   "(a backup job's target: durable at the job's final flush)",
    .props = defer_props, .ops = &defer_ops,
};
