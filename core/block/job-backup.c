/* Backup jobs: copy a node to a target at one point in time while the node is used.
 *
 * At the start (inside a drained section, so it is one point in time for every disk
 * of a transaction) the job makes a copy bitmap (the clusters to copy: all for
 * sync=full, the dirty ones of a bitmap for incremental/differential) and puts a
 * copy-before-write filter node (plugins/block-backup) above the source: a write that
 * would overwrite a cluster not yet copied first copies it.  The job copies the rest
 * in the background, claiming each cluster in the copy bitmap so the filter and the
 * job never copy the same cluster at once (see mosaic/bitmap.h).
 *
 * Incremental: the user's bitmap is frozen at the start and a successor records the
 * writes meanwhile; success keeps only the successor (the bitmap now holds what
 * changed since this backup), failure or cancel merges both back (nothing lost).  That
 * is settled at commit/abort, after the whole group of a grouped transaction ended. */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <json-glib/json-glib.h>

#include "block/block-internal.h"
#include "block/bitmap.h"
#include "block/defer-flush.h"
#include "block/job.h"
#include "config/config.h"
#include "plugin/registry.h"
#include <mosaic/monitor.h>

#define BACKUP_MAX_INFLIGHT 16
#define BACKUP_MAX_CHUNK (4u << 20)
/* A run of zero clusters costs no buffer: larger runs, fewer requests. */
#define BACKUP_MAX_ZERO_CHUNK (64u << 20)
/* One block status request covers at most this much of the source. */
#define BACKUP_MAX_STATUS (1ull << 30)

typedef enum { SYNC_FULL, SYNC_INCREMENTAL, SYNC_DIFFERENTIAL } SyncMode;

typedef struct BackupOpts {
    const char *job_id, *device, *target, *target_file, *target_uri, *format, *sync, *bitmap;
    gint64 speed;
} BackupOpts;

typedef struct Backup {
    BlkJob *job;
    SyncMode sync;
    MosaicBlkNode *src, *tgt, *cbw;
    MosaicBlkNode *tgt_made;      /* the node made for target-file/-uri */
    MosaicBlkNode *tgt_defer;     /* target-file: defers its flushes to the final one */
    char *tgt_name;               /* target-uri or target-file, for messages */
    BlkBitmap *copy;              /* named "__backup-ID" on src, not recording */
    BlkBitmap *sync_bm;           /* incremental/full with bitmap: frozen */
    guint64 cursor;
    guint inflight;
    /* The source's block status around the cursor.  It stays true for every cluster
     * still dirty in the copy bitmap: a write to such a cluster first copies it (the
     * filter clears its bit), so a dirty cluster is as it was at the start. */
    guint64 ext_off, ext_len;
    gboolean ext_zero, status_busy;
    MosaicBlkReq status_req;
    GSList *bufs;                 /* free BACKUP_MAX_CHUNK buffers, reused (no page faults) */
    gboolean flushing, flushed;
    int ret;
    char *error;
} Backup;

typedef struct Chunk {
    Backup *b;
    guint64 offset, len;
    gboolean zero;                /* reads as zeroes in the source: nothing to read */
    guint8 *buf;
    struct iovec iov;
    MosaicBlkReq req;
} Chunk;

static guint8 *buf_get(Backup *b)
{
    if (b->bufs) {
        guint8 *buf = b->bufs->data;
        b->bufs = g_slist_delete_link(b->bufs, b->bufs);
        return buf;
    }
    void *p = NULL;
    if (posix_memalign(&p, 4096, BACKUP_MAX_CHUNK)) /* aligned: O_DIRECT needs no bounce */
        g_error("backup: out of memory");
    return p;
}

static void chunk_free(Chunk *c)
{
    if (c->buf)
        c->b->bufs = g_slist_prepend(c->b->bufs, c->buf);
    g_free(c);
}

static void fail(Backup *b, const char *op, int ret)
{
    if (!b->ret) {
        b->ret = ret;
        blk_job_report_error(b->job, op, ret);
    }
}

/* What to do about a failed write to the target, by its cause. */
static const char *target_hint(int ret)
{
    switch (-ret) {
    case ENOSPC:
    case EDQUOT:
        return " (make room on the target, then run the backup again)";
    case EIO:
    case ENOTCONN:
    case ECONNRESET:
    case EPIPE:
    case ESHUTDOWN:
        return " (is the target still there? run the backup again once it is back)";
    default:
        return "";
    }
}

/* A failed write or flush of the target: the message names it (a remote target may be gone). */
static void fail_target(Backup *b, const char *op, int ret)
{
    if (!b->ret && !b->job->error && b->tgt_name)
        b->job->error = g_strdup_printf("%s to target %s failed: %s%s", op, b->tgt_name,
                                        g_strerror(-ret), target_hint(ret));
    fail(b, op, ret);
}

static void backup_pump(Backup *b);

/* A chunk is a run of claimed clusters: released one by one. */
static void chunk_release(Chunk *c, gboolean failed)
{
    guint64 gran = mosaic_blk_bitmap_granularity(c->b->copy);
    for (guint64 o = c->offset; o < c->offset + c->len; o += gran)
        mosaic_blk_bitmap_release(c->b->copy, o, failed);
}

static void chunk_end(Chunk *c)
{
    Backup *b = c->b;
    b->inflight--;
    chunk_free(c);
    backup_pump(b);
    if (!b->inflight)
        blk_job_kick_later(b->job, 0); /* what comes next may change the graph */
}

static void write_done(void *opaque, int ret)
{
    Chunk *c = opaque;
    chunk_release(c, ret < 0);
    if (ret < 0)
        fail_target(c->b, "write", ret);
    else
        blk_job_progress(c->b->job, c->len);
    chunk_end(c);
}

static void read_done(void *opaque, int ret)
{
    Chunk *c = opaque;
    Backup *b = c->b;
    if (ret < 0 || b->ret) {
        if (ret < 0)
            fail(b, "read", ret);
        chunk_release(c, TRUE);
        chunk_end(c);
        return;
    }
    c->req = (MosaicBlkReq){.size = sizeof c->req, .type = MOSAIC_BLK_WRITE, .offset = c->offset,
                            .bytes = c->len, .iov = &c->iov, .niov = 1};
    blk_node_submit(b->tgt, &c->req, write_done, c);
}

/* A run of zeroes: nothing to do where the target reads as zeroes already (a new image),
 * write-zeroes elsewhere (an existing target, a backing file below it). */
static void target_status_done(void *opaque, int ret)
{
    Chunk *c = opaque;
    Backup *b = c->b;
    if (b->ret) {
        chunk_release(c, TRUE);
        chunk_end(c);
        return;
    }
    if (ret == 0 && (c->req.status & MOSAIC_BLK_STATUS_ZERO) && c->req.status_bytes >= c->len) {
        b->job->skipped += c->len;
        write_done(c, 0);
        return;
    }
    c->req = (MosaicBlkReq){.size = sizeof c->req, .type = MOSAIC_BLK_WRITE_ZEROES,
                            .flags = MOSAIC_BLK_MAY_UNMAP, .offset = c->offset, .bytes = c->len};
    blk_node_submit(b->tgt, &c->req, write_done, c);
}

static void source_status_done(void *opaque, int ret)
{
    Backup *b = opaque;
    MosaicBlkReq *r = &b->status_req;
    b->status_busy = FALSE;
    b->inflight--;
    b->ext_off = r->offset;
    if (ret < 0 || !r->status_bytes || r->status_bytes > r->bytes) {
        b->ext_len = r->bytes; /* unknown: copy it all */
        b->ext_zero = FALSE;
    } else {
        b->ext_len = r->status_bytes;
        b->ext_zero = !!(r->status & MOSAIC_BLK_STATUS_ZERO);
    }
    backup_pump(b);
    if (!b->inflight)
        blk_job_kick_later(b->job, 0);
}

static void flush_done(void *opaque, int ret)
{
    Backup *b = opaque;
    b->flushing = FALSE;
    b->flushed = TRUE;
    b->inflight--;
    if (ret < 0)
        fail_target(b, "flush", ret);
    /* Finishing changes the graph: not from inside a completion. */
    blk_job_kick_later(b->job, 0);
}

/* Issues copies: runs of consecutive clusters to copy, of one kind in the source's block
 * status (data: up to BACKUP_MAX_CHUNK bytes read and written; zeroes: no read). */
static void backup_pump(Backup *b)
{
    BlkJob *job = b->job;
    guint64 gran = mosaic_blk_bitmap_granularity(b->copy), length = b->src->length;
    if (b->flushing || b->flushed || job->cancelled || b->ret)
        return;
    while (b->inflight < BACKUP_MAX_INFLIGHT) {
        gint64 next = blk_bitmap_next_dirty(b->copy, b->cursor);
        if (next < 0 && b->cursor) {
            b->cursor = 0; /* a failed copy elsewhere made a cluster dirty again */
            next = blk_bitmap_next_dirty(b->copy, 0);
        }
        if (next < 0)
            return;
        guint64 off = next;
        if (off < b->ext_off || off >= b->ext_off + b->ext_len) {
            if (b->status_busy || !blk_job_may_issue(job, 0)) /* e.g. a drained graph */
                return;
            b->status_busy = TRUE;
            b->inflight++;
            b->status_req = (MosaicBlkReq){.size = sizeof b->status_req,
                                           .type = MOSAIC_BLK_BLOCK_STATUS, .offset = off,
                                           .bytes = MIN(length - off, BACKUP_MAX_STATUS)};
            blk_node_submit(b->src, &b->status_req, source_status_done, b);
            return;
        }
        guint64 ext_end = b->ext_off + b->ext_len, limit;
        gboolean zero = b->ext_zero;
        if (zero) {
            /* Only whole clusters of zeroes (or the tail of the disk) are skipped. */
            limit = ext_end >= length ? length : ext_end / gran * gran;
            if (limit <= off) {
                zero = FALSE;
                limit = MIN(off + gran, length);
            }
            limit = MIN(limit, off + BACKUP_MAX_ZERO_CHUNK);
        } else {
            limit = MIN(MIN((ext_end + gran - 1) / gran * gran, length), off + BACKUP_MAX_CHUNK);
            if (job->speed) {
                /* Chunks of about 1/8 s at the rate limit, so the limit holds smoothly. */
                guint64 cap = MAX(gran, job->speed / 8 / gran * gran);
                limit = MIN(limit, off + cap);
            }
        }
        /* The whole chunk is accounted before it is issued (zeroes copy nothing). */
        guint64 want = limit - off;
        if (!blk_job_may_issue(job, zero ? 0 : want))
            return;
        b->cursor = off + gran;
        guint64 end = off;
        if (mosaic_blk_bitmap_claim(b->copy, off)) {
            end = MIN(off + gran, length);
            while (end < limit && mosaic_blk_bitmap_claim(b->copy, end))
                end = MIN(end + gran, length);
            b->cursor = end;
        }
        if (job->speed && !zero) /* give back what was not claimed */
            job->rate_bytes -= MIN(job->rate_bytes, want - (end - off));
        if (end == off)
            continue; /* the filter is copying it */
        Chunk *c = g_new0(Chunk, 1);
        c->b = b;
        c->offset = off;
        c->len = end - off;
        c->zero = zero;
        b->inflight++;
        if (zero) {
            c->req = (MosaicBlkReq){.size = sizeof c->req, .type = MOSAIC_BLK_BLOCK_STATUS,
                                    .offset = off, .bytes = c->len};
            blk_node_submit(b->tgt, &c->req, target_status_done, c);
            continue;
        }
        c->buf = buf_get(b);
        c->iov = (struct iovec){c->buf, c->len};
        c->req = (MosaicBlkReq){.size = sizeof c->req, .type = MOSAIC_BLK_READ, .offset = off,
                                .bytes = c->len, .iov = &c->iov, .niov = 1};
        blk_node_submit(b->src, &c->req, read_done, c);
    }
}

/* From the job's timer (never inside a completion): issue, or end. */
static void backup_kick(BlkJob *job)
{
    Backup *b = job->opaque;
    if (b->flushing)
        return;
    if (b->flushed) {
        blk_job_completed(job, b->ret, b->error);
        return;
    }
    backup_pump(b);
    if (b->inflight)
        return;
    if (job->cancelled || b->ret) {
        blk_job_completed(job, job->cancelled ? -ECANCELED : b->ret, b->error);
        return;
    }
    if (job->paused || blk_bitmap_next_dirty(b->copy, 0) >= 0)
        return; /* paused, or waiting for the rate limit / a drained section */
    if (blk_bitmap_claims(b->copy)) {
        blk_job_kick_later(job, 1000000); /* the filter is still copying some */
        return;
    }
    static MosaicBlkReq flush = {.size = sizeof flush, .type = MOSAIC_BLK_FLUSH};
    if (b->tgt_defer)
        blk_defer_flush_release(b->tgt_defer);
    b->flushing = TRUE;
    b->inflight++;
    blk_node_submit(b->tgt, &flush, flush_done, b);
}

static void drop_node(MosaicBlkNode **n)
{
    GError *e = NULL;
    if (*n && !(*n)->parents->len && !(*n)->users->len)
        blk_bitmaps_node_gone(*n); /* a user may have put bitmaps on a temporary node */
    if (*n && !blk_node_delete(*n, &e)) {
        g_warning("backup: %s", e->message);
        g_error_free(e);
    }
    *n = NULL;
}

/* Closes a node made for a target and everything under it that nothing else uses (its
 * file node, the backing chain qcow2 opened). */
static void drop_tree(MosaicBlkNode *n)
{
    g_autoptr(GPtrArray) kids = g_ptr_array_new();
    for (guint i = 0; i < n->children->len; i++)
        g_ptr_array_add(kids, ((MosaicBlkChild *)g_ptr_array_index(n->children, i))->node);
    drop_node(&n);
    for (guint i = 0; i < kids->len; i++) {
        MosaicBlkNode *k = g_ptr_array_index(kids, i);
        if (k && !k->parents->len && !k->users->len)
            drop_tree(k);
    }
}

/* Settles the bitmap once the outcome is known (grouped: of every job of the point).
 * Success keeps only what the successor recorded; failure merges it all back. */
static void backup_settle_bitmap(Backup *b, gboolean success)
{
    if (b->sync_bm) {
        if (success && b->sync != SYNC_DIFFERENTIAL)
            blk_bitmap_abdicate(b->sync_bm);
        else
            blk_bitmap_reclaim(b->sync_bm);
        b->sync_bm = NULL;
    }
}

/* Undoes everything the start did but the bitmap's freeze (also for a transaction that
 * failed). */
static void backup_teardown(Backup *b)
{
    if (b->cbw) {
        GError *e = NULL;
        if (!blk_remove_filter(b->cbw, &e)) {
            g_warning("backup: %s", e->message);
            g_error_free(e);
        }
        drop_node(&b->cbw);
    }
    if (b->copy) {
        blk_bitmap_remove(b->copy, NULL);
        b->copy = NULL;
    }
    if (b->tgt_made)
        drop_tree(b->tgt_made);
    b->tgt_made = NULL;
    b->tgt_defer = NULL;
}

static void backup_finish(BlkJob *job, int ret, gboolean cancelled)
{
    backup_teardown(job->opaque);
}

static void backup_commit(BlkJob *job)
{
    backup_settle_bitmap(job->opaque, TRUE);
}

static void backup_abort_job(BlkJob *job)
{
    backup_settle_bitmap(job->opaque, FALSE);
}

static void backup_free(BlkJob *job)
{
    Backup *b = job->opaque;
    g_slist_free_full(b->bufs, free);
    g_free(b->error);
    g_free(b->tgt_name);
    g_free(b);
}

static const BlkJobDriver backup_driver = {
    .type = "backup",
    .kick = backup_kick,
    .finish = backup_finish,
    .commit = backup_commit,
    .abort = backup_abort_job,
    .free = backup_free,
};

/* ---- start ---- */


static gboolean odd_chars(const char *s)
{
    return !s || strpbrk(s, "\n\r;#[]=") != NULL || strlen(s) > 180;
}

static MosaicBlkNode *open_target_file(Backup *b, const BackupOpts *o, GError **err)
{
    const char *fmt = o->format ? o->format : "raw";
    GError *fe = NULL;
    if (!blk_format_find(fmt, NULL, &fe)) {
        g_set_error(err, BLK_ERROR, 0, "target format '%s': %s", fmt, fe->message);
        g_error_free(fe);
        return NULL;
    }
    if (!o->target_file || !*o->target_file) {
        g_set_error(err, BLK_ERROR, 0, "target-file is empty");
        return NULL;
    }
    if (!strcmp(fmt, "raw")) {
        /* A new raw target is made the size of the source. */
        int fd = open(o->target_file, O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
                      0644);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 ||
            ((guint64)st.st_size < b->src->length && S_ISREG(st.st_mode) &&
             ftruncate(fd, b->src->length) < 0)) {
            g_set_error(err, BLK_ERROR, 0, "target-file %s: %s", o->target_file,
                        g_strerror(errno));
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        close(fd);
    } else if (!g_file_test(o->target_file, G_FILE_TEST_EXISTS)) {
        g_set_error(err, BLK_ERROR, 0, "target-file %s does not exist (create a %s target "
                    "first, e.g. qemu-img create -f %s FILE SIZE)", o->target_file, fmt, fmt);
        return NULL;
    }
    g_autofree char *fl = g_strdup_printf("%s-target-file", o->job_id);
    g_autofree char *dl = g_strdup_printf("%s-target-defer", o->job_id);
    g_autofree char *tl = g_strdup_printf("%s-target", o->job_id);
    if (blk_node_find(fl) || blk_node_find(dl) || blk_node_find(tl)) {
        g_set_error(err, BLK_ERROR, 0, "node '%s' already exists (pick another job-id)", tl);
        return NULL;
    }
    /* The new file is durable at the final flush: none before (defer-flush.c says why). */
    MosaicConfig *cfg = blk_node_config_new("backup node", NULL);
    config_section_set(blk_node_config_add(cfg, fl, "file"), "filename", o->target_file, NULL,
                       NULL);
    config_section_set(blk_node_config_add(cfg, dl, "defer-flush"), "file", fl, NULL, NULL);
    config_section_set(blk_node_config_add(cfg, tl, fmt), "file", dl, NULL, NULL);
    MosaicBlkNode *n = blk_node_open_config(cfg, tl, err);
    for (const char *label = dl; label; label = label == dl ? fl : NULL) {
        MosaicBlkNode *f = blk_node_find(label);
        if (!n && f && !f->parents->len && !f->users->len)
            drop_node(&f); /* the format driver refused the file */
    }
    b->tgt_made = n;
    b->tgt_defer = n ? blk_node_find(dl) : NULL;
    return n;
}

/* A remote export (an nbd:// URI: the block driver declaring its scheme) as the target:
 * a raw image of the disk. */
static MosaicBlkNode *open_target_uri(Backup *b, const BackupOpts *o, GError **err)
{
    const char *u = o->target_uri;
    /* One INI value: nothing that ends the line or starts a comment. */
    if (strpbrk(u, "\n\r;#") || g_ascii_isspace(*u) || strlen(u) > 400) {
        g_set_error(err, BLK_ERROR, 0, "target-uri '%s' is not a URI a block driver can open "
                    "(e.g. nbd://HOST:PORT/EXPORT or nbd+unix:///EXPORT?socket=PATH; no ; or #)", u);
        return NULL;
    }
    /* Whichever protocol driver declares the URI's scheme (block-nbd for nbd://). */
    const char *driver = blk_driver_for_uri(u, err);
    if (!driver)
        return NULL;
    if (o->format && strcmp(o->format, "raw")) {
        g_set_error(err, BLK_ERROR, 0, "target-uri takes the remote export as a raw image: "
                    "format '%s' is not supported there", o->format);
        return NULL;
    }
    g_autofree char *tl = g_strdup_printf("%s-target", o->job_id);
    if (blk_node_find(tl)) {
        g_set_error(err, BLK_ERROR, 0, "node '%s' already exists (pick another job-id)", tl);
        return NULL;
    }
    MosaicBlkNode *n = blk_node_open_new("backup node", tl, driver, err, "uri", u, NULL);
    b->tgt_made = n;
    return n;
}

static Backup *backup_prepare(const BackupOpts *o, GError **err)
{
    const char *id = o->job_id ? o->job_id : o->device;
    g_autofree char *copy_name = NULL, *cl = NULL;
    BackupOpts opts = *o;
    opts.job_id = id;
    if (!o->device || odd_chars(id)) {
        g_set_error(err, BLK_ERROR, 0, "backup: 'device' (a node name) and a plain job-id are "
                    "required");
        return NULL;
    }
    if (blk_job_find(id)) {
        g_set_error(err, BLK_ERROR, 0, "a job '%s' already exists (pick another job-id)", id);
        return NULL;
    }
    MosaicBlkNode *src = blk_node_find(o->device);
    if (!src) {
        g_set_error(err, BLK_ERROR, 0, "no block node '%s'", o->device);
        return NULL;
    }
    SyncMode sync;
    const char *sync_s = o->sync ? o->sync : "full";
    if (!strcmp(sync_s, "full"))
        sync = SYNC_FULL;
    else if (!strcmp(sync_s, "incremental") || !strcmp(sync_s, "bitmap"))
        sync = SYNC_INCREMENTAL;
    else if (!strcmp(sync_s, "differential"))
        sync = SYNC_DIFFERENTIAL;
    else {
        g_set_error(err, BLK_ERROR, 0, "sync '%s' is unknown (full, incremental or differential)",
                    sync_s);
        return NULL;
    }
    BlkBitmap *sync_bm = NULL;
    if (o->bitmap) {
        sync_bm = blk_bitmap_lookup(o->device, o->bitmap, err);
        if (!sync_bm)
            return NULL;
        if (sync != SYNC_FULL &&
            !blk_bitmap_check_usable(sync_bm, "an incremental or differential backup", err))
            return NULL;
        if (sync == SYNC_FULL && blk_bitmap_busy(sync_bm)) {
            blk_bitmap_check_usable(sync_bm, "a backup", err);
            return NULL;
        }
    } else if (sync != SYNC_FULL) {
        g_set_error(err, BLK_ERROR, 0, "sync=%s needs 'bitmap' (the dirty bitmap of '%s' that "
                    "tracks changes since the last backup)", sync_s, o->device);
        return NULL;
    }
    if (!!o->target + !!o->target_file + !!o->target_uri != 1) {
        g_set_error(err, BLK_ERROR, 0, "backup: give exactly one of 'target' (a node), "
                    "'target-file' (with 'format') or 'target-uri' (an NBD server)");
        return NULL;
    }
    if (o->speed < 0) {
        g_set_error(err, BLK_ERROR, 0, "speed must be >= 0 (bytes per second)");
        return NULL;
    }
    Backup *b = g_new0(Backup, 1);
    b->sync = sync;
    b->src = src;
    if (o->target) {
        b->tgt = blk_node_find(o->target);
        if (!b->tgt)
            g_set_error(err, BLK_ERROR, 0, "no target node '%s'", o->target);
        b->tgt_name = g_strdup(o->target);
    } else if (o->target_uri) {
        b->tgt = open_target_uri(b, &opts, err);
        b->tgt_name = g_strdup(o->target_uri);
    } else {
        b->tgt = open_target_file(b, &opts, err);
        b->tgt_name = g_strdup(o->target_file);
    }
    if (b->tgt && (b->tgt == src || b->tgt->read_only || b->tgt->length < src->length)) {
        g_set_error(err, BLK_ERROR, 0, "target '%s' cannot take a backup of '%s' (it is the "
                    "source, read-only or smaller: %" G_GUINT64_FORMAT " < %" G_GUINT64_FORMAT
                    " bytes)", b->tgt->label, src->label, b->tgt->length, src->length);
        b->tgt = NULL;
    }
    if (!b->tgt)
        goto fail;
    guint64 gran = sync_bm ? mosaic_blk_bitmap_granularity(sync_bm) : BLK_BITMAP_DEFAULT_GRANULARITY;
    copy_name = g_strdup_printf("__backup-%s", id);
    b->copy = blk_bitmap_add(src, copy_name, gran, FALSE, TRUE, err);
    if (!b->copy)
        goto fail;
    if (sync == SYNC_FULL) {
        mosaic_blk_bitmap_set(b->copy, 0, src->length);
    } else {
        blk_bitmap_or(b->copy, sync_bm);
    }
    if (sync_bm && sync != SYNC_DIFFERENTIAL) {
        g_autofree char *owner = g_strdup_printf("backup job '%s' (query-jobs)", id);
        if (!blk_bitmap_freeze(sync_bm, owner, err))
            goto fail;
        b->sync_bm = sync_bm;
    }
    cl = g_strdup_printf("%s-cbw", id);
    if (blk_node_find(cl)) {
        g_set_error(err, BLK_ERROR, 0, "node '%s' already exists (pick another job-id)", cl);
        goto fail;
    }
    const char *cbw = blk_driver_with_cap(MOSAIC_BLK_CAP_COPY_BEFORE_WRITE,
                                          "a copy-before-write filter", err);
    if (!cbw)
        goto fail;
    b->cbw = blk_node_open_new("backup node", cl, cbw, err, "file", src->label,
                               "target", b->tgt->label, "bitmap", copy_name, NULL);
    if (!b->cbw || !blk_insert_filter(b->cbw, src, err))
        goto fail;
    GError *je = NULL;
    b->job = blk_job_new(id, src->label, &backup_driver, b, o->speed, &je);
    if (!b->job) {
        g_propagate_error(err, je);
        goto fail;
    }
    b->job->total = mosaic_blk_bitmap_count(b->copy);
    return b;
fail:
    backup_teardown(b);
    backup_settle_bitmap(b, FALSE);
    g_free(b->tgt_name);
    g_free(b);
    return NULL;
}

/* A prepared job that a transaction gives up: no events, nothing kept. */
static void backup_abort(Backup *b)
{
    BlkJob *job = b->job;
    job->cancelled = TRUE;
    blk_job_completed(job, -ECANCELED, "transaction aborted");
}

/* ---- arguments ---- */

static const char *obj_str(JsonObject *o, const char *k)
{
    JsonNode *n = json_object_get_member(o, k);
    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING ?
           json_node_get_string(n) : NULL;
}

static void opts_from_json(BackupOpts *o, JsonObject *d)
{
    o->job_id = obj_str(d, "job-id");
    o->device = obj_str(d, "device");
    o->target = obj_str(d, "target");
    o->target_file = obj_str(d, "target-file");
    o->target_uri = obj_str(d, "target-uri");
    o->format = obj_str(d, "format");
    o->sync = obj_str(d, "sync");
    o->bitmap = obj_str(d, "bitmap");
    o->speed = json_object_get_int_member_with_default(d, "speed", 0);
}

static const char *opt(const MosaicArgs *a, const char *k)
{
    return mosaic_args_has(a, k) ? mosaic_args_get_str(a, k) : NULL;
}

static bool cmd_backup(void *op, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    BackupOpts o = {
        .job_id = opt(a, "job-id"), .device = opt(a, "device"), .target = opt(a, "target"),
        .target_file = opt(a, "target-file"), .target_uri = opt(a, "target-uri"), .format = opt(a, "format"), .sync = opt(a, "sync"),
        .bitmap = opt(a, "bitmap"),
        .speed = mosaic_args_has(a, "speed") ? mosaic_args_get_int(a, "speed") : 0,
    };
    GError *e = NULL;
    blk_drain_begin();
    Backup *b = backup_prepare(&o, &e);
    blk_drain_end();
    if (!b) {
        mosaic_error_set(err, "%s", e->message);
        g_error_free(e);
        return false;
    }
    blk_job_start(b->job);
    return true;
}

/* ---- transaction ---- */

typedef struct Undo {
    enum { U_ADD, U_CLEAR, U_BACKUP, U_ENABLE } kind;
    BlkBitmap *bm;
    BlkBitmap *saved;   /* U_CLEAR: the bits before */
    gboolean was;       /* U_ENABLE */
    Backup *backup;
} Undo;

static gboolean bitmap_action(const char *type, JsonObject *d, GArray *undo, GError **err)
{
    const char *node = obj_str(d, "node"), *name = obj_str(d, "name");
    if (!node || !name) {
        g_set_error(err, BLK_ERROR, 0, "%s needs 'node' and 'name'", type);
        return FALSE;
    }
    if (!strcmp(type, "block-dirty-bitmap-add")) {
        MosaicBlkNode *n = blk_node_find(node);
        if (!n) {
            g_set_error(err, BLK_ERROR, 0, "no block node '%s'", node);
            return FALSE;
        }
        if (g_str_has_prefix(name, "__")) {
            g_set_error(err, BLK_ERROR, 0, "bitmap names starting with '__' are reserved");
            return FALSE;
        }
        BlkBitmap *bm = blk_bitmap_add(n, name,
                                       json_object_get_int_member_with_default(d, "granularity", 0),
                                       json_object_get_boolean_member_with_default(d, "persistent", FALSE),
                                       json_object_get_boolean_member_with_default(d, "disabled", FALSE),
                                       err);
        if (!bm)
            return FALSE;
        Undo u = {.kind = U_ADD, .bm = bm};
        g_array_append_val(undo, u);
        return TRUE;
    }
    BlkBitmap *bm = blk_bitmap_lookup(node, name, err);
    if (!bm)
        return FALSE;
    if (!strcmp(type, "block-dirty-bitmap-clear")) {
        BlkBitmap *saved = blk_bitmap_copy(bm);
        if (!blk_bitmap_clear(bm, err)) {
            mosaic_blk_bitmap_free(saved);
            return FALSE;
        }
        Undo u = {.kind = U_CLEAR, .bm = bm, .saved = saved};
        g_array_append_val(undo, u);
        return TRUE;
    }
    gboolean en = !strcmp(type, "block-dirty-bitmap-enable");
    if (en || !strcmp(type, "block-dirty-bitmap-disable")) {
        gboolean was = blk_bitmap_enabled(bm);
        if (!blk_bitmap_enable(bm, en, err))
            return FALSE;
        Undo u = {.kind = U_ENABLE, .bm = bm, .was = was};
        g_array_append_val(undo, u);
        return TRUE;
    }
    g_set_error(err, BLK_ERROR, 0, "transaction action '%s' is not supported (use "
                "block-dirty-bitmap-add/-clear/-enable/-disable, blockdev-backup)", type);
    return FALSE;
}

static void undo_all(GArray *undo)
{
    for (guint i = undo->len; i-- > 0;) {
        Undo *u = &g_array_index(undo, Undo, i);
        switch (u->kind) {
        case U_ADD:
            blk_bitmap_remove(u->bm, NULL);
            break;
        case U_CLEAR: {
            g_autoptr(GPtrArray) one = g_ptr_array_new();
            g_ptr_array_add(one, u->saved);
            blk_bitmap_merge(u->bm, one, NULL);
            mosaic_blk_bitmap_free(u->saved);
            break;
        }
        case U_ENABLE:
            blk_bitmap_enable(u->bm, u->was, NULL);
            break;
        case U_BACKUP:
            backup_abort(u->backup);
            break;
        }
    }
}

/* properties.completion-mode: individual (QEMU's default: each job ends on its own) or
 * grouped (the jobs succeed or fail together, job-txn.c). */
static gboolean completion_mode(const MosaicArgs *a, gboolean *grouped, MosaicError *err)
{
    if (!mosaic_args_has(a, "properties"))
        return TRUE;
    g_autofree char *text = mosaic_args_get_json(a, "properties");
    g_autoptr(JsonParser) p = json_parser_new();
    JsonObject *o = text && json_parser_load_from_data(p, text, -1, NULL) &&
                    JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)) ?
                    json_node_get_object(json_parser_get_root(p)) : NULL;
    const char *mode = o ? obj_str(o, "completion-mode") : NULL;
    if (!o || (json_object_has_member(o, "completion-mode") && !mode) ||
        json_object_get_size(o) > (mode ? 1u : 0u) ||
        (mode && strcmp(mode, "individual") && strcmp(mode, "grouped"))) {
        mosaic_error_set(err, "transaction: 'properties' must be {\"completion-mode\": "
                         "\"individual\" or \"grouped\"}");
        return FALSE;
    }
    *grouped = mode && !strcmp(mode, "grouped");
    return TRUE;
}

static bool cmd_transaction(void *op, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    g_autofree char *text = mosaic_args_get_json(a, "actions");
    g_autoptr(JsonParser) p = json_parser_new();
    if (!text || !json_parser_load_from_data(p, text, -1, NULL) ||
        !JSON_NODE_HOLDS_ARRAY(json_parser_get_root(p))) {
        mosaic_error_set(err, "transaction: 'actions' must be a list of {type, data}");
        return false;
    }
    JsonArray *acts = json_node_get_array(json_parser_get_root(p));
    gboolean grouped = FALSE;
    if (!completion_mode(a, &grouped, err))
        return false;
    g_autoptr(GArray) undo = g_array_new(FALSE, TRUE, sizeof(Undo));
    GError *e = NULL;
    /* One point in time: nothing is in flight while every action is applied. */
    blk_drain_begin();
    for (guint i = 0; i < json_array_get_length(acts); i++) {
        JsonNode *an = json_array_get_element(acts, i);
        JsonObject *ao = JSON_NODE_HOLDS_OBJECT(an) ? json_node_get_object(an) : NULL;
        const char *type = ao ? obj_str(ao, "type") : NULL;
        JsonNode *dn = ao ? json_object_get_member(ao, "data") : NULL;
        JsonObject *d = dn && JSON_NODE_HOLDS_OBJECT(dn) ? json_node_get_object(dn) : NULL;
        if (!type || !d) {
            g_set_error(&e, BLK_ERROR, 0, "action %u is not {\"type\": ..., \"data\": {...}}", i);
        } else if (!strcmp(type, "blockdev-backup") || !strcmp(type, "backup-start")) {
            BackupOpts o;
            opts_from_json(&o, d);
            Backup *b = backup_prepare(&o, &e);
            if (b) {
                Undo u = {.kind = U_BACKUP, .backup = b};
                g_array_append_val(undo, u);
            }
        } else {
            bitmap_action(type, d, undo, &e);
        }
        if (e) {
            undo_all(undo);
            blk_drain_end();
            mosaic_error_set(err, "transaction action %u (%s): %s (nothing was changed)", i,
                             type ? type : "?", e->message);
            g_error_free(e);
            return false;
        }
    }
    BlkJobTxn *txn = NULL;
    for (guint i = 0; grouped && i < undo->len; i++) {
        Undo *u = &g_array_index(undo, Undo, i);
        if (u->kind == U_BACKUP) {
            txn = txn ? txn : blk_job_txn_new();
            blk_job_txn_add(txn, u->backup->job);
        }
    }
    for (guint i = 0; i < undo->len; i++) {
        Undo *u = &g_array_index(undo, Undo, i);
        if (u->kind == U_CLEAR)
            mosaic_blk_bitmap_free(u->saved);
        if (u->kind == U_BACKUP)
            blk_job_start(u->backup->job);
    }
    blk_drain_end();
    return true;
}

static const MosaicArgDesc backup_args[] = {
    {"job-id", MOSAIC_ARG_STR, true, "job id (default: the device)"},
    {"device", MOSAIC_ARG_STR, false, "node to back up"},
    {"target", MOSAIC_ARG_STR, true, "target node (or target-file)"},
    {"target-file", MOSAIC_ARG_STR, true, "target image file (raw: made if missing; qcow2: "
     "must exist, may have a backing file)"},
    {"target-uri", MOSAIC_ARG_STR, true, "NBD server to push the backup to, as a raw image "
     "of the disk (nbd://HOST:PORT/EXPORT or nbd+unix:///EXPORT?socket=PATH)"},
    {"format", MOSAIC_ARG_STR, true, "raw (default) or qcow2, for target-file"},
    {"sync", MOSAIC_ARG_STR, true, "full (default), incremental (alias bitmap) or differential"},
    {"bitmap", MOSAIC_ARG_STR, true, "dirty bitmap of device: incremental/differential copy its "
     "dirty clusters; full and incremental reset it when the backup succeeds"},
    {"speed", MOSAIC_ARG_INT, true, "rate limit in bytes per second (0: none)"},
    {NULL},
};
static const MosaicArgDesc transaction_args[] = {
    {"actions", MOSAIC_ARG_ANY, false, "list of {type, data}: block-dirty-bitmap-add/-clear/"
     "-enable/-disable, blockdev-backup"},
    {"properties", MOSAIC_ARG_ANY, true, "{completion-mode: individual (default) or grouped "
     "(the backup jobs succeed or fail together: no bitmap is reset unless all succeed)}"},
    {NULL},
};

#define CMD(n, h, a, f, r) {.size = sizeof(MosaicCommandDesc), .name = n, .help = h, .args = a, \
                            .handler = f, .returns = r}
static const MosaicCommandDesc cmds[] = {
    CMD("blockdev-backup", "start a backup job (copy-before-write; full, incremental or "
        "differential)", backup_args, cmd_backup, "{}"),
    CMD("backup-start", "alias of blockdev-backup", backup_args, cmd_backup, "{}"),
    CMD("transaction", "apply bitmap and backup actions at one point in time, all or none",
        transaction_args, cmd_transaction, "{}"),
};

void blk_backup_monitor_register(void)
{
    for (guint i = 0; i < G_N_ELEMENTS(cmds); i++)
        if (!mosaic_monitor_register(&cmds[i], NULL, NULL))
            g_warning("block: cannot register monitor command %s", cmds[i].name);
}
