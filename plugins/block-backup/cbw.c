/* SPDX-License-Identifier: GPL-2.0-or-later */
/* copy-before-write: a filter that, before a write, write-zeroes or discard changes a
 * cluster listed in its copy bitmap, copies the cluster's old data from `file` to
 * `target`.  Reads, flushes and block status pass straight to `file`.
 *
 * The copy bitmap is a dirty bitmap of the `file` node named by `bitmap` (a backup job
 * makes one: the clusters it has not copied yet) or, without `bitmap`, every cluster
 * (fleecing: the target keeps the node as it was when the filter was inserted).  The
 * job and the filter claim clusters in that bitmap (mosaic/bitmap.h), so a cluster is
 * copied once, and a write waits for a copy of its cluster that is in flight.
 *
 * A copy that fails fails the write (-EIO) and leaves the cluster to copy: the backup
 * stays correct, the guest sees an I/O error (QEMU's on-cbw-error=break-guest-write). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mosaic/block.h>
#include <mosaic/bitmap.h>

#define GRANULARITY_DEFAULT 65536u
/* Old data being copied for one guest request at a time: a write-zeroes or discard of
 * gigabytes copies window by window, its memory independent of its size. */
#define COPY_WINDOW_BYTES (1u << 20)

typedef struct Cbw {
    MosaicBlkChild *file, *target;
    MosaicBlkBitmap *copy;
    bool own_copy;
    uint64_t gran, length;
} Cbw;

/* A guest request waiting for its clusters to be copied. */
typedef struct Pending {
    Cbw *s;
    MosaicBlkReq *req;
    void *token;
    unsigned outstanding;  /* copies and waits not finished */
    int ret;
    uint64_t next;         /* clusters before it are copied (or in `recheck`) */
    uint64_t recheck;      /* the first cluster someone else was copying, or UINT64_MAX:
                              if that copy failed, the cluster is ours to copy */
    uint8_t *buf;          /* the window: the old data of the copies of one scan */
    uint64_t buf_size;
} Pending;

typedef struct Copy {
    Pending *p;
    uint64_t offset, len;
    void *buf;
    struct iovec iov;
    MosaicBlkReq req;
} Copy;

static const MosaicPropDesc cbw_props[] = {
    {.key = "file", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED,
     .help = "the node being protected (guest I/O goes to it)"},
    {.key = "target", .type = MOSAIC_PROP_REF, .choices = "blockdev",
     .flags = MOSAIC_PROP_REQUIRED, .help = "where old data is copied before it is overwritten"},
    {.key = "bitmap", .type = MOSAIC_PROP_STRING,
     .help = "dirty bitmap of `file` listing the clusters still to copy (default: all)"},
    {NULL},
};

static void *cbw_open(MosaicBlkNode *node, const MosaicProps *props, MosaicError *err)
{
    MosaicBlkChild *file = mosaic_blk_open_child(node, props, "file", true, err);
    if (!file)
        return NULL;
    MosaicBlkChild *target = mosaic_blk_open_child(node, props, "target", true, err);
    if (!target)
        return NULL;
    uint64_t len = mosaic_blk_child_length(file);
    if (mosaic_blk_child_length(target) < len) {
        mosaic_error_set(err, "%s: the target is smaller than the file (%llu < %llu bytes)",
                         mosaic_props_where(props, "target"),
                         (unsigned long long)mosaic_blk_child_length(target),
                         (unsigned long long)len);
        return NULL;
    }
    Cbw *s = calloc(1, sizeof *s);
    s->file = file;
    s->target = target;
    s->length = len;
    const char *bm = mosaic_props_has(props, "bitmap") ? mosaic_props_get_str(props, "bitmap") : NULL;
    if (bm && *bm) {
        /* The first child's label: the bitmap lives on the protected node. */
        s->copy = mosaic_blk_bitmap_find(mosaic_props_get_str(props, "file"), bm);
        if (!s->copy) {
            mosaic_error_set(err, "%s: node '%s' has no dirty bitmap '%s'",
                             mosaic_props_where(props, "bitmap"),
                             mosaic_props_get_str(props, "file"), bm);
            free(s);
            return NULL;
        }
    } else {
        s->copy = mosaic_blk_bitmap_new(GRANULARITY_DEFAULT, len, true);
        s->own_copy = true;
    }
    s->gran = mosaic_blk_bitmap_granularity(s->copy);
    mosaic_blk_node_set_length(node, len);
    return s;
}

static void cbw_close(void *state)
{
    Cbw *s = state;
    if (s->own_copy)
        mosaic_blk_bitmap_free(s->copy);
    free(s);
}

static void scan(Pending *p);

static void pending_step_done(Pending *p)
{
    if (--p->outstanding == 0)
        scan(p);
}

static void copy_free(Copy *c)
{
    free(c); /* its buffer is a piece of the request's window */
}

static void pending_free(Pending *p)
{
    free(p->buf);
    free(p);
}

static void copy_written(void *opaque, int ret)
{
    Copy *c = opaque;
    Pending *p = c->p;
    mosaic_blk_bitmap_release(p->s->copy, c->offset, ret < 0);
    if (ret < 0)
        p->ret = -EIO;
    copy_free(c);
    pending_step_done(p);
}

static void copy_read(void *opaque, int ret)
{
    Copy *c = opaque;
    Pending *p = c->p;
    if (ret < 0) {
        mosaic_blk_bitmap_release(p->s->copy, c->offset, true);
        p->ret = -EIO;
        copy_free(c);
        pending_step_done(p);
        return;
    }
    c->req = (MosaicBlkReq){.size = sizeof c->req, .type = MOSAIC_BLK_WRITE, .offset = c->offset,
                            .bytes = c->len, .iov = &c->iov, .niov = 1};
    mosaic_blk_child_submit(p->s->target, &c->req, copy_written, c);
}

static void waited(void *opaque)
{
    pending_step_done(opaque);
}

static void forwarded(void *opaque, int ret)
{
    Pending *p = opaque;
    mosaic_blk_complete(p->token, ret);
    pending_free(p);
}

/* Starts copies of the request's clusters still to copy, up to a window of
 * COPY_WINDOW_BYTES, and waits for those being copied by someone else; it runs again
 * when they are done.  With nothing left, the request goes down. */
static void scan(Pending *p)
{
    Cbw *s = p->s;
    MosaicBlkReq *req = p->req;
    if (p->ret < 0) {
        mosaic_blk_complete(p->token, p->ret);
        pending_free(p);
        return;
    }
    uint64_t end = req->offset + req->bytes;
    uint64_t off = p->recheck < p->next ? p->recheck : p->next;
    uint64_t window = 0;
    if (!p->buf) {
        /* One buffer per request, reused by every scan: a cluster at least, at most the
         * window (or what the request spans). */
        uint64_t span = end - (req->offset - req->offset % s->gran);
        p->buf_size = span < COPY_WINDOW_BYTES ? span : COPY_WINDOW_BYTES;
        if (p->buf_size < s->gran)
            p->buf_size = s->gran;
        p->buf = malloc(p->buf_size);
        if (!p->buf) {
            mosaic_blk_complete(p->token, -ENOMEM);
            pending_free(p);
            return;
        }
    }
    p->recheck = UINT64_MAX;
    p->outstanding = 1; /* this scan */
    for (; off < end && window + s->gran <= p->buf_size; off += s->gran) {
        if (mosaic_blk_bitmap_claim(s->copy, off)) {
            Copy *c = calloc(1, sizeof *c);
            c->p = p;
            c->offset = off;
            c->len = s->length - off < s->gran ? s->length - off : s->gran;
            c->buf = p->buf + window;
            c->iov = (struct iovec){c->buf, c->len};
            c->req = (MosaicBlkReq){.size = sizeof c->req, .type = MOSAIC_BLK_READ, .offset = off,
                                    .bytes = c->len, .iov = &c->iov, .niov = 1};
            window += c->len;
            p->outstanding++;
            mosaic_blk_child_submit(s->file, &c->req, copy_read, c);
        } else if (mosaic_blk_bitmap_busy(s->copy, off)) {
            if (p->recheck == UINT64_MAX)
                p->recheck = off;
            p->outstanding++;
            mosaic_blk_bitmap_wait(s->copy, off, waited, p);
        }
    }
    p->next = off;
    if (--p->outstanding)
        return; /* scanned again when the copies and waits are done */
    mosaic_blk_child_submit(s->file, req, forwarded, p);
}

static void passthrough_done(void *opaque, int ret)
{
    mosaic_blk_complete(opaque, ret);
}

static void cbw_submit(void *state, MosaicBlkReq *req, void *token)
{
    Cbw *s = state;
    if (req->type == MOSAIC_BLK_WRITE || req->type == MOSAIC_BLK_WRITE_ZEROES ||
        req->type == MOSAIC_BLK_DISCARD) {
        Pending *p = calloc(1, sizeof *p);
        p->s = s;
        p->req = req;
        p->token = token;
        p->next = req->offset - req->offset % s->gran;
        p->recheck = UINT64_MAX;
        scan(p);
        return;
    }
    /* Block status passes the flags of `file` unchanged. */
    mosaic_blk_child_submit(s->file, req, passthrough_done, token);
}

static const MosaicBlkDriverOps cbw_ops = {
    .size = sizeof(MosaicBlkDriverOps),
    .passes = MOSAIC_BLK_PASS(MOSAIC_BLK_READ) | MOSAIC_BLK_PASS(MOSAIC_BLK_WRITE) |
              MOSAIC_BLK_PASS(MOSAIC_BLK_FLUSH) | MOSAIC_BLK_PASS(MOSAIC_BLK_WRITE_ZEROES) |
              MOSAIC_BLK_PASS(MOSAIC_BLK_DISCARD) | MOSAIC_BLK_PASS(MOSAIC_BLK_BLOCK_STATUS),
    .open = cbw_open,
    .close = cbw_close,
    .submit = cbw_submit,
    .caps = MOSAIC_BLK_CAP_COPY_BEFORE_WRITE,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_BLOCK_FILTER, .kind_abi = MOSAIC_BLOCK_ABI,
              .name = "copy-before-write", .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "copy-before-write filter: copies old data to a backup target "
                             "before it is overwritten (backup jobs, fleecing)",
              .props = cbw_props, .ops = &cbw_ops);
