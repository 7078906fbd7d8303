/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Backup jobs: copy a node to a target at one point in time while the node is used.
 *
 * At the start (inside a drained section, so it is one point in time for every disk
 * of a transaction) the job makes a copy bitmap (the clusters to copy: all for
 * sync=full, the dirty ones of a bitmap for incremental/differential) and puts a
 * copy-before-write filter node (cbw.c) above the source: a write that
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
#include <glib.h>

#include "backup.h"

/* 8 x 2 MiB in flight (qemu-img convert's default too): what is read is still in the CPU's
 * cache when it is written and hashed; 16 x 4 MiB went through memory each time and cost
 * a quarter more CPU time (bench/backup). */
#define BACKUP_MAX_INFLIGHT 8
#define BACKUP_MAX_CHUNK (2u << 20)
/* A run of zero clusters costs no buffer: larger runs, fewer requests. */
#define BACKUP_MAX_ZERO_CHUNK (64u << 20)
/* One block status request covers at most this much of the source. */
#define BACKUP_MAX_STATUS (1ull << 30)

typedef enum { SYNC_FULL, SYNC_INCREMENTAL, SYNC_DIFFERENTIAL } SyncMode;

struct Backup {
    MosaicJob *job;
    SyncMode sync;
    MosaicBlkNode *src, *tgt, *cbw;
    MosaicBlkNode *tgt_made;      /* the node made for target-file/-uri */
    MosaicBlkNode *tgt_defer;     /* target-file: defers its flushes to the final one */
    char *tgt_name;               /* target-uri or target-file, for messages */
    MosaicBlkBitmap *copy;        /* named "__backup-ID" on src, not recording */
    MosaicBlkBitmap *sync_bm;     /* incremental/full with bitmap: frozen */
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
};

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
        mosaic_job_report_error(b->job, op, ret);
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
    if (!b->ret && !mosaic_job_has_error(b->job) && b->tgt_name) {
        g_autofree char *msg = g_strdup_printf("%s to target %s failed: %s%s", op, b->tgt_name,
                                               g_strerror(-ret), target_hint(ret));
        mosaic_job_set_error(b->job, msg);
    }
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
        mosaic_job_kick_later(b->job, 0); /* what comes next may change the graph */
}

static void write_done(void *opaque, int ret)
{
    Chunk *c = opaque;
    chunk_release(c, ret < 0);
    if (ret < 0)
        fail_target(c->b, "write", ret);
    else
        mosaic_job_progress(c->b->job, c->len);
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
    mosaic_blk_node_submit(b->tgt, &c->req, write_done, c);
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
        mosaic_job_skipped(b->job, c->len);
        write_done(c, 0);
        return;
    }
    c->req = (MosaicBlkReq){.size = sizeof c->req, .type = MOSAIC_BLK_WRITE_ZEROES,
                            .flags = MOSAIC_BLK_MAY_UNMAP, .offset = c->offset, .bytes = c->len};
    mosaic_blk_node_submit(b->tgt, &c->req, write_done, c);
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
        mosaic_job_kick_later(b->job, 0);
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
    mosaic_job_kick_later(b->job, 0);
}

/* Issues copies: runs of consecutive clusters to copy, of one kind in the source's block
 * status (data: up to BACKUP_MAX_CHUNK bytes read and written; zeroes: no read). */
static void backup_pump(Backup *b)
{
    MosaicJob *job = b->job;
    guint64 gran = mosaic_blk_bitmap_granularity(b->copy), length = mosaic_blk_node_length(b->src);
    guint64 speed = mosaic_job_speed(job);
    if (b->flushing || b->flushed || mosaic_job_cancelled(job) || b->ret)
        return;
    while (b->inflight < BACKUP_MAX_INFLIGHT) {
        gint64 next = mosaic_blk_bitmap_next_dirty(b->copy, b->cursor);
        if (next < 0 && b->cursor) {
            b->cursor = 0; /* a failed copy elsewhere made a cluster dirty again */
            next = mosaic_blk_bitmap_next_dirty(b->copy, 0);
        }
        if (next < 0)
            return;
        guint64 off = next;
        if (off < b->ext_off || off >= b->ext_off + b->ext_len) {
            if (b->status_busy || !mosaic_job_may_issue(job, 0)) /* e.g. a drained graph */
                return;
            b->status_busy = TRUE;
            b->inflight++;
            b->status_req = (MosaicBlkReq){.size = sizeof b->status_req,
                                           .type = MOSAIC_BLK_BLOCK_STATUS, .offset = off,
                                           .bytes = MIN(length - off, BACKUP_MAX_STATUS)};
            mosaic_blk_node_submit(b->src, &b->status_req, source_status_done, b);
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
            if (speed) {
                /* Chunks of about 1/8 s at the rate limit, so the limit holds smoothly. */
                guint64 cap = MAX(gran, speed / 8 / gran * gran);
                limit = MIN(limit, off + cap);
            }
        }
        /* The whole chunk is accounted before it is issued (zeroes copy nothing). */
        guint64 want = limit - off;
        if (!mosaic_job_may_issue(job, zero ? 0 : want))
            return;
        b->cursor = off + gran;
        guint64 end = off;
        if (mosaic_blk_bitmap_claim(b->copy, off)) {
            end = MIN(off + gran, length);
            while (end < limit && mosaic_blk_bitmap_claim(b->copy, end))
                end = MIN(end + gran, length);
            b->cursor = end;
        }
        if (speed && !zero) /* give back what was not claimed */
            mosaic_job_unissue(job, want - (end - off));
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
            mosaic_blk_node_submit(b->tgt, &c->req, target_status_done, c);
            continue;
        }
        c->buf = buf_get(b);
        c->iov = (struct iovec){c->buf, c->len};
        c->req = (MosaicBlkReq){.size = sizeof c->req, .type = MOSAIC_BLK_READ, .offset = off,
                                .bytes = c->len, .iov = &c->iov, .niov = 1};
        mosaic_blk_node_submit(b->src, &c->req, read_done, c);
    }
}

/* From the job's timer (never inside a completion): issue, or end. */
static void backup_kick(MosaicJob *job)
{
    Backup *b = mosaic_job_opaque(job);
    if (b->flushing)
        return;
    if (b->flushed) {
        mosaic_job_completed(job, b->ret, b->error);
        return;
    }
    backup_pump(b);
    if (b->inflight)
        return;
    if (mosaic_job_cancelled(job) || b->ret) {
        mosaic_job_completed(job, mosaic_job_cancelled(job) ? -ECANCELED : b->ret, b->error);
        return;
    }
    if (mosaic_job_paused(job) || mosaic_blk_bitmap_next_dirty(b->copy, 0) >= 0)
        return; /* paused, or waiting for the rate limit / a drained section */
    if (mosaic_blk_bitmap_claims(b->copy)) {
        mosaic_job_kick_later(job, 1000000); /* the filter is still copying some */
        return;
    }
    static MosaicBlkReq flush = {.size = sizeof flush, .type = MOSAIC_BLK_FLUSH};
    if (b->tgt_defer)
        mosaic_blk_defer_flush_release(b->tgt_defer);
    b->flushing = TRUE;
    b->inflight++;
    mosaic_blk_node_submit(b->tgt, &flush, flush_done, b);
    /* Nothing is copied any more: the buffers are unmapped while the flush runs (it
     * took milliseconds on the main loop before the job's end could be reported). */
    g_slist_free_full(b->bufs, free);
    b->bufs = NULL;
}

static void drop_node(MosaicBlkNode **n)
{
    MosaicError *e = mosaic_error_new();
    if (*n && !mosaic_blk_node_delete(*n, e))
        g_warning("backup: %s", mosaic_error_message(e));
    mosaic_error_free(e);
    *n = NULL;
}

/* Closes a node made for a target and everything under it that nothing else uses (its
 * file node, the backing chain qcow2 opened). */
static void drop_tree(MosaicBlkNode *n)
{
    g_autoptr(GPtrArray) kids = g_ptr_array_new();
    for (MosaicBlkNode *k; (k = mosaic_blk_node_child(n, kids->len));)
        g_ptr_array_add(kids, k);
    drop_node(&n);
    for (guint i = 0; i < kids->len; i++) {
        MosaicBlkNode *k = g_ptr_array_index(kids, i);
        if (!mosaic_blk_node_in_use(k))
            drop_tree(k);
    }
}

/* Settles the bitmap once the outcome is known (grouped: of every job of the point).
 * Success keeps only what the successor recorded; failure merges it all back. */
static void backup_settle_bitmap(Backup *b, gboolean success)
{
    if (b->sync_bm) {
        if (success && b->sync != SYNC_DIFFERENTIAL)
            mosaic_blk_bitmap_abdicate(b->sync_bm);
        else
            mosaic_blk_bitmap_reclaim(b->sync_bm);
        b->sync_bm = NULL;
    }
}

/* Undoes everything the start did but the bitmap's freeze (also for a transaction that
 * failed). */
static void backup_teardown(Backup *b)
{
    if (b->cbw) {
        MosaicError *e = mosaic_error_new();
        if (!mosaic_blk_remove_filter(b->cbw, e))
            g_warning("backup: %s", mosaic_error_message(e));
        mosaic_error_free(e);
        drop_node(&b->cbw);
    }
    if (b->copy) {
        mosaic_blk_bitmap_remove(b->copy, NULL);
        b->copy = NULL;
    }
    if (b->tgt_made)
        drop_tree(b->tgt_made);
    b->tgt_made = NULL;
    b->tgt_defer = NULL;
}

static void backup_finish(MosaicJob *job, int ret, bool cancelled)
{
    backup_teardown(mosaic_job_opaque(job));
}

static void backup_commit(MosaicJob *job)
{
    backup_settle_bitmap(mosaic_job_opaque(job), TRUE);
}

static void backup_abort_job(MosaicJob *job)
{
    backup_settle_bitmap(mosaic_job_opaque(job), FALSE);
}

static void backup_free(MosaicJob *job)
{
    Backup *b = mosaic_job_opaque(job);
    g_slist_free_full(b->bufs, free);
    g_free(b->error);
    g_free(b->tgt_name);
    g_free(b);
}

static const MosaicJobOps backup_driver = {
    .size = sizeof(MosaicJobOps),
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

static gboolean label_taken(const char *label, MosaicError *err)
{
    if (!mosaic_blk_node_find(label))
        return FALSE;
    mosaic_error_set(err, "node '%s' already exists (pick another job-id)", label);
    return TRUE;
}

static MosaicBlkNode *open_target_file(Backup *b, const BackupOpts *o, MosaicError *err)
{
    const char *fmt = o->format ? o->format : "raw";
    MosaicError *fe = mosaic_error_new();
    gboolean known = mosaic_blk_format_exists(fmt, fe);
    if (!known)
        mosaic_error_set(err, "target format '%s': %s", fmt, mosaic_error_message(fe));
    mosaic_error_free(fe);
    if (!known)
        return NULL;
    if (!o->target_file || !*o->target_file) {
        mosaic_error_set(err, "target-file is empty");
        return NULL;
    }
    guint64 length = mosaic_blk_node_length(b->src);
    if (!strcmp(fmt, "raw")) {
        /* A new raw target is made the size of the source. */
        int fd = open(o->target_file, O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
                      0644);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 ||
            ((guint64)st.st_size < length && S_ISREG(st.st_mode) && ftruncate(fd, length) < 0)) {
            mosaic_error_set(err, "target-file %s: %s", o->target_file, g_strerror(errno));
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        close(fd);
    } else if (!g_file_test(o->target_file, G_FILE_TEST_EXISTS)) {
        mosaic_error_set(err, "target-file %s does not exist (create a %s target first, e.g. "
                         "qemu-img create -f %s FILE SIZE)", o->target_file, fmt, fmt);
        return NULL;
    }
    g_autofree char *fl = g_strdup_printf("%s-target-file", o->job_id);
    g_autofree char *dl = g_strdup_printf("%s-target-defer", o->job_id);
    g_autofree char *tl = g_strdup_printf("%s-target", o->job_id);
    if (label_taken(fl, err) || label_taken(dl, err) || label_taken(tl, err))
        return NULL;
    /* The new file is durable at the final flush: none before (the core's defer-flush
     * filter says why). */
    const char *file_kv[] = {"filename", o->target_file, NULL};
    /* checksum: the file hashed as it is written (core/block/tree-hash.h), so that the
     * tool need not read the new file again. */
    const char *defer_kv[] = {"file", fl, o->checksum_file ? "checksum" : NULL,
                              o->checksum_file, NULL};
    const char *fmt_kv[] = {"file", dl, NULL};
    MosaicBlkNode *f = mosaic_blk_node_new("backup node", fl, "file", file_kv, err);
    MosaicBlkNode *d = f ? mosaic_blk_node_new("backup node", dl, "defer-flush", defer_kv, err)
                         : NULL;
    MosaicBlkNode *n = d ? mosaic_blk_node_new("backup node", tl, fmt, fmt_kv, err) : NULL;
    if (!n) { /* the format driver refused the file */
        if (d)
            drop_node(&d);
        if (f)
            drop_node(&f);
    }
    b->tgt_made = n;
    b->tgt_defer = d;
    return n;
}

/* A remote export (an nbd:// URI: the block driver declaring its scheme) as the target:
 * a raw image of the disk. */
static MosaicBlkNode *open_target_uri(Backup *b, const BackupOpts *o, MosaicError *err)
{
    const char *u = o->target_uri;
    if (strpbrk(u, "\n\r") || g_ascii_isspace(*u) || strlen(u) > 400) {
        mosaic_error_set(err, "target-uri '%s' is not a URI a block driver can open "
                         "(e.g. nbd://HOST:PORT/EXPORT or nbd+unix:///EXPORT?socket=PATH)", u);
        return NULL;
    }
    /* Whichever protocol driver declares the URI's scheme (block-nbd for nbd://). */
    const char *driver = mosaic_blk_driver_for_uri(u, err);
    if (!driver)
        return NULL;
    if (o->format && strcmp(o->format, "raw")) {
        mosaic_error_set(err, "target-uri takes the remote export as a raw image: format '%s' "
                         "is not supported there", o->format);
        return NULL;
    }
    g_autofree char *tl = g_strdup_printf("%s-target", o->job_id);
    if (label_taken(tl, err))
        return NULL;
    const char *kv[] = {"uri", u, NULL};
    MosaicBlkNode *n = mosaic_blk_node_new("backup node", tl, driver, kv, err);
    b->tgt_made = n;
    return n;
}

Backup *backup_prepare(const BackupOpts *o, MosaicError *err)
{
    const char *id = o->job_id ? o->job_id : o->device;
    g_autofree char *copy_name = NULL, *cl = NULL;
    BackupOpts opts = *o;
    opts.job_id = id;
    if (!o->device || odd_chars(id)) {
        mosaic_error_set(err, "backup: 'device' (a node name) and a plain job-id are required");
        return NULL;
    }
    if (mosaic_job_exists(id)) {
        mosaic_error_set(err, "a job '%s' already exists (pick another job-id)", id);
        return NULL;
    }
    MosaicBlkNode *src = mosaic_blk_node_find(o->device);
    if (!src) {
        mosaic_error_set(err, "no block node '%s'", o->device);
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
        mosaic_error_set(err, "sync '%s' is unknown (full, incremental or differential)", sync_s);
        return NULL;
    }
    MosaicBlkBitmap *sync_bm = NULL;
    if (o->bitmap) {
        sync_bm = mosaic_blk_bitmap_lookup(o->device, o->bitmap, err);
        if (!sync_bm)
            return NULL;
        if (sync != SYNC_FULL &&
            !mosaic_blk_bitmap_check_usable(sync_bm, "an incremental or differential backup", err))
            return NULL;
        if (sync == SYNC_FULL && mosaic_blk_bitmap_frozen(sync_bm)) {
            mosaic_blk_bitmap_check_usable(sync_bm, "a backup", err);
            return NULL;
        }
    } else if (sync != SYNC_FULL) {
        mosaic_error_set(err, "sync=%s needs 'bitmap' (the dirty bitmap of '%s' that tracks "
                         "changes since the last backup)", sync_s, o->device);
        return NULL;
    }
    if (!!o->target + !!o->target_file + !!o->target_uri != 1) {
        mosaic_error_set(err, "backup: give exactly one of 'target' (a node), 'target-file' "
                         "(with 'format') or 'target-uri' (an NBD server)");
        return NULL;
    }
    if (o->checksum_file && (!o->target_file || !*o->checksum_file)) {
        mosaic_error_set(err, "checksum-file goes with target-file (the file whose checksum "
                         "the job writes)");
        return NULL;
    }
    if (o->checksum_file && g_file_test(o->checksum_file, G_FILE_TEST_EXISTS)) {
        mosaic_error_set(err, "checksum-file %s exists: the job writes a new file only",
                         o->checksum_file);
        return NULL;
    }
    if (o->speed < 0) {
        mosaic_error_set(err, "speed must be >= 0 (bytes per second)");
        return NULL;
    }
    guint64 length = mosaic_blk_node_length(src);
    Backup *b = g_new0(Backup, 1);
    b->sync = sync;
    b->src = src;
    if (o->target) {
        b->tgt = mosaic_blk_node_find(o->target);
        if (!b->tgt)
            mosaic_error_set(err, "no target node '%s'", o->target);
        b->tgt_name = g_strdup(o->target);
    } else if (o->target_uri) {
        b->tgt = open_target_uri(b, &opts, err);
        b->tgt_name = g_strdup(o->target_uri);
    } else {
        b->tgt = open_target_file(b, &opts, err);
        b->tgt_name = g_strdup(o->target_file);
    }
    if (b->tgt && (b->tgt == src || mosaic_blk_node_read_only(b->tgt) ||
                   mosaic_blk_node_length(b->tgt) < length)) {
        mosaic_error_set(err, "target '%s' cannot take a backup of '%s' (it is the source, "
                         "read-only or smaller: %" G_GUINT64_FORMAT " < %" G_GUINT64_FORMAT
                         " bytes)", mosaic_blk_node_label(b->tgt), mosaic_blk_node_label(src),
                         mosaic_blk_node_length(b->tgt), length);
        b->tgt = NULL;
    }
    if (!b->tgt)
        goto fail;
    guint64 gran = sync_bm ? mosaic_blk_bitmap_granularity(sync_bm)
                           : MOSAIC_BLK_BITMAP_DEFAULT_GRANULARITY;
    copy_name = g_strdup_printf("__backup-%s", id);
    b->copy = mosaic_blk_bitmap_add(src, copy_name, gran, false, true, err);
    if (!b->copy)
        goto fail;
    if (sync == SYNC_FULL)
        mosaic_blk_bitmap_set(b->copy, 0, length);
    else if (!mosaic_blk_bitmap_merge(b->copy, &sync_bm, 1, err))
        goto fail;
    if (sync_bm && sync != SYNC_DIFFERENTIAL) {
        g_autofree char *owner = g_strdup_printf("backup job '%s' (query-jobs)", id);
        if (!mosaic_blk_bitmap_freeze(sync_bm, owner, err))
            goto fail;
        b->sync_bm = sync_bm;
    }
    cl = g_strdup_printf("%s-cbw", id);
    if (label_taken(cl, err))
        goto fail;
    const char *cbw = mosaic_blk_driver_with_cap(MOSAIC_BLK_CAP_COPY_BEFORE_WRITE,
                                                 "a copy-before-write filter", err);
    if (!cbw)
        goto fail;
    const char *kv[] = {"file", mosaic_blk_node_label(src), "target",
                        mosaic_blk_node_label(b->tgt), "bitmap", copy_name, NULL};
    b->cbw = mosaic_blk_node_new("backup node", cl, cbw, kv, err);
    if (!b->cbw || !mosaic_blk_insert_filter(b->cbw, src, err))
        goto fail;
    b->job = mosaic_job_new(id, mosaic_blk_node_label(src), &backup_driver, b, o->speed, err);
    if (!b->job)
        goto fail;
    mosaic_job_set_total(b->job, mosaic_blk_bitmap_count(b->copy));
    return b;
fail:
    backup_teardown(b);
    backup_settle_bitmap(b, FALSE);
    g_free(b->tgt_name);
    g_free(b);
    return NULL;
}

MosaicJob *backup_job(Backup *b) { return b->job; }

/* A prepared job that a transaction gives up: no events, nothing kept. */
void backup_abort(Backup *b)
{
    mosaic_job_discard(b->job, "transaction aborted");
}
