/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapshot-access: a read-only view of a node as it was when a copy-before-write filter
 * (plugins/block-backup) went in above it: pull-mode backup ("fleecing").
 *
 * Props: `file` (the live node, below the filter), `target` (the filter's target, which
 * receives the old data of each cluster before the guest overwrites it) and `bitmap` (the
 * filter's copy bitmap, a non-recording named bitmap of `file`: dirty = not copied yet).
 * A cluster still dirty in the copy bitmap is read from `file`, a copied one from
 * `target`, one being copied right now after the copy ends.
 *
 * Why a read of `file` is checked again when it completes: the guest may overwrite the
 * cluster while the read is in flight.  Every such write first claims the cluster (the bit
 * goes clean) and reaches `file` only after the old data is in `target`.  So if the bit is
 * still dirty when the read completes, no write has touched the cluster and the data is
 * the old data; otherwise the cluster is read again, from `target`.
 * Main loop thread only (submit driver), like the claims it relies on. */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <mosaic/mosaic.h>
#include <mosaic/bitmap.h>

#define SNAP_MAX_PIECE (4u << 20)

typedef struct Snap {
    MosaicBlkChild *file, *target;
    MosaicBlkBitmap *copy;
    guint64 gran, length;
} Snap;

enum { FROM_FILE, FROM_TARGET, BUSY };

typedef struct SnapRead {
    Snap *s;
    MosaicBlkReq *req;
    void *token;
    guint8 *buf;       /* the whole range; copied to the caller's iov at the end */
    guint pending;
    int ret;
} SnapRead;

typedef struct Piece {
    SnapRead *r;
    guint64 offset, len;
    int from;
    struct iovec iov;
    MosaicBlkReq req;
} Piece;

static const MosaicPropDesc snap_props[] = {
    {.key = "file", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED,
     .help = "the live node (a copy-before-write filter sits above it)"},
    {.key = "target", .type = MOSAIC_PROP_REF, .choices = "blockdev",
     .flags = MOSAIC_PROP_REQUIRED, .help = "the copy-before-write filter's target"},
    {.key = "bitmap", .type = MOSAIC_PROP_STRING, .flags = MOSAIC_PROP_REQUIRED,
     .help = "the filter's copy bitmap (a bitmap of `file`: dirty = not copied yet)"},
    {NULL},
};

static void *snap_open(MosaicBlkNode *node, const MosaicProps *props, MosaicError *err)
{
    /* `file` first: it is the first child (exports find bitmaps along first children). */
    MosaicBlkChild *file = mosaic_blk_open_child(node, props, "file", false, err);
    if (!file)
        return NULL;
    MosaicBlkChild *target = mosaic_blk_open_child(node, props, "target", false, err);
    if (!target)
        return NULL;
    guint64 len = mosaic_blk_child_length(file);
    if (mosaic_blk_child_length(target) < len) {
        mosaic_error_set(err, "%s: the target is smaller than the file (%" G_GUINT64_FORMAT
                         " < %" G_GUINT64_FORMAT " bytes)", mosaic_props_where(props, "target"),
                         mosaic_blk_child_length(target), len);
        return NULL;
    }
    const char *bm = mosaic_props_get_str(props, "bitmap");
    MosaicBlkBitmap *copy = mosaic_blk_bitmap_find(mosaic_props_get_str(props, "file"), bm);
    if (!copy) {
        mosaic_error_set(err, "%s: node '%s' has no dirty bitmap '%s' (the copy-before-write "
                         "filter's copy bitmap)", mosaic_props_where(props, "bitmap"),
                         mosaic_props_get_str(props, "file"), bm);
        return NULL;
    }
    Snap *s = g_new0(Snap, 1);
    s->file = file;
    s->target = target;
    s->copy = copy;
    s->gran = mosaic_blk_bitmap_granularity(copy);
    s->length = len;
    mosaic_blk_node_set_length(node, len);
    mosaic_blk_node_set_read_only(node, true);
    return s;
}

static void snap_close(void *state)
{
    g_free(state);
}

static int classify(Snap *s, guint64 off)
{
    if (mosaic_blk_bitmap_busy(s->copy, off))
        return BUSY;
    return mosaic_blk_bitmap_get(s->copy, off) ? FROM_FILE : FROM_TARGET;
}

static guint64 cluster_end(Snap *s, guint64 off)
{
    return MIN(off - off % s->gran + s->gran, s->length);
}

/* End of the run of clusters classified like the one at `off`, at most `end`. */
static guint64 run_end(Snap *s, guint64 off, guint64 end, int from, guint64 max)
{
    guint64 e = MIN(cluster_end(s, off), end);
    while (e < end && e - off < max && classify(s, e) == from)
        e = MIN(cluster_end(s, e), end);
    return e;
}

static void read_issue(SnapRead *r, guint64 off, guint64 end);

static void read_put(SnapRead *r)
{
    if (--r->pending)
        return;
    MosaicBlkReq *req = r->req;
    if (!r->ret) {
        guint64 pos = 0;
        for (unsigned i = 0; i < req->niov; i++) {
            memcpy(req->iov[i].iov_base, r->buf + pos, req->iov[i].iov_len);
            pos += req->iov[i].iov_len;
        }
    }
    mosaic_blk_complete(r->token, r->ret);
    g_free(r->buf);
    g_free(r);
}

static void piece_done(void *opaque, int ret)
{
    Piece *p = opaque;
    SnapRead *r = p->r;
    Snap *s = r->s;
    if (ret < 0 && !r->ret)
        r->ret = ret;
    if (ret >= 0 && p->from == FROM_FILE) {
        /* Clusters claimed meanwhile may hold new data: read them from the target. */
        guint64 end = p->offset + p->len;
        for (guint64 o = p->offset; o < end; o = MIN(cluster_end(s, o), end))
            if (classify(s, o) != FROM_FILE)
                read_issue(r, o, MIN(cluster_end(s, o), end));
    }
    g_free(p);
    read_put(r);
}

static void piece_waited(void *opaque)
{
    Piece *p = opaque;
    read_issue(p->r, p->offset, p->offset + p->len);
    SnapRead *r = p->r;
    g_free(p);
    read_put(r);
}

/* Reads [off, end) of the view into the request's buffer, in runs of one source. */
static void read_issue(SnapRead *r, guint64 off, guint64 end)
{
    Snap *s = r->s;
    while (off < end) {
        Piece *p = g_new0(Piece, 1);
        p->r = r;
        p->offset = off;
        p->from = classify(s, off);
        guint64 e = p->from == BUSY ? MIN(cluster_end(s, off), end)
                                    : run_end(s, off, end, p->from, SNAP_MAX_PIECE);
        p->len = e - off;
        r->pending++;
        if (p->from == BUSY) {
            mosaic_blk_bitmap_wait(s->copy, off, piece_waited, p);
        } else {
            p->iov = (struct iovec){r->buf + (off - r->req->offset), p->len};
            p->req = (MosaicBlkReq){.size = sizeof p->req, .type = MOSAIC_BLK_READ,
                                    .offset = off, .bytes = p->len, .iov = &p->iov, .niov = 1};
            mosaic_blk_child_submit(p->from == FROM_FILE ? s->file : s->target, &p->req,
                                    piece_done, p);
        }
        off = e;
    }
}

typedef struct SnapStatus {
    MosaicBlkReq *orig, req;
    void *token;
} SnapStatus;

static void status_done(void *opaque, int ret)
{
    SnapStatus *st = opaque;
    st->orig->status = st->req.status | MOSAIC_BLK_STATUS_ALLOCATED;
    st->orig->status_bytes = st->req.status_bytes;
    mosaic_blk_complete(st->token, ret);
    g_free(st);
}

/* Not copied: whatever `file` says.  Copied (or being copied): data. */
static void snap_status(Snap *s, MosaicBlkReq *req, void *token)
{
    guint64 end = req->offset + req->bytes;
    int from = classify(s, req->offset);
    if (from != FROM_FILE) {
        guint64 e = req->offset;
        while (e < end && classify(s, e) != FROM_FILE)
            e = MIN(cluster_end(s, e), end);
        req->status = MOSAIC_BLK_STATUS_DATA | MOSAIC_BLK_STATUS_ALLOCATED;
        req->status_bytes = e - req->offset;
        mosaic_blk_complete(token, 0);
        return;
    }
    SnapStatus *st = g_new0(SnapStatus, 1);
    st->orig = req;
    st->token = token;
    st->req = (MosaicBlkReq){.size = sizeof st->req, .type = MOSAIC_BLK_BLOCK_STATUS,
                             .offset = req->offset,
                             .bytes = run_end(s, req->offset, end, FROM_FILE, G_MAXUINT64) -
                                      req->offset};
    mosaic_blk_child_submit(s->file, &st->req, status_done, st);
}

static void snap_submit(void *state, MosaicBlkReq *req, void *token)
{
    Snap *s = state;
    switch (req->type) {
    case MOSAIC_BLK_READ: {
        SnapRead *r = g_new0(SnapRead, 1);
        r->s = s;
        r->req = req;
        r->token = token;
        r->buf = g_malloc(req->bytes ? req->bytes : 1);
        r->pending = 1; /* this call */
        read_issue(r, req->offset, req->offset + req->bytes);
        read_put(r);
        return;
    }
    case MOSAIC_BLK_BLOCK_STATUS:
        snap_status(s, req, token);
        return;
    case MOSAIC_BLK_FLUSH:
        mosaic_blk_complete(token, 0); /* nothing is ever written through the view */
        return;
    default:
        mosaic_blk_complete(token, -EPERM);
        return;
    }
}

static const MosaicBlkDriverOps snap_ops = {
    .size = sizeof(MosaicBlkDriverOps),
    .open = snap_open,
    .close = snap_close,
    .submit = snap_submit,
    .caps = MOSAIC_BLK_CAP_SNAPSHOT_ACCESS,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_BLOCK, .kind_abi = MOSAIC_BLOCK_ABI,
              .name = "snapshot-access", .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "read-only point-in-time view over a copy-before-write filter's "
                             "file and target (pull-mode backup)",
              .props = snap_props, .ops = &snap_ops);
