/* Block jobs (internal): lifecycle, progress, rate limit, events and the job-* /
 * query-jobs commands.  A job type (job-backup.c) supplies the work; this file keeps
 * the states QMP clients know:
 *   created -> running <-> paused -> (waiting) -> concluded -> null (auto-dismissed)
 *   cancel: running/paused -> aborting -> concluded -> null
 * Events: JOB_STATUS_CHANGE {id, status} on every change; BLOCK_JOB_COMPLETED {type,
 * device, len, offset, speed[, error]} or BLOCK_JOB_CANCELLED when it ends;
 * BLOCK_JOB_ERROR {device, operation, action} on an I/O error. */
#ifndef MOSAIC_CORE_BLOCK_JOB_H
#define MOSAIC_CORE_BLOCK_JOB_H

#include <glib.h>
#include "block/block-internal.h"

typedef struct BlkJob BlkJob;

typedef struct BlkJobDriver {
    const char *type;                /* "backup" */
    void (*kick)(BlkJob *job);       /* issue work (running, not paused) */
    /* Ends the job's work and releases what it holds; ret 0 (success) or -errno;
     * cancelled says why it ended.  Called once, with nothing in flight. */
    void (*finish)(BlkJob *job, int ret, gboolean cancelled);
    void (*free)(BlkJob *job);
} BlkJobDriver;

struct BlkJob {
    char *id;
    char *device;                    /* the node being worked on */
    const BlkJobDriver *drv;
    void *opaque;                    /* the driver's state */
    const char *status;              /* "created", "running", ... */
    gboolean paused;
    gboolean cancelled;
    guint64 current, total;          /* progress in bytes */
    guint64 speed;                   /* bytes/s, 0: unlimited */
    gint64 rate_start_ns;
    guint64 rate_bytes;
    MosaicTimer *timer;              /* rate limit and drained sections */
    char *error;
};

BlkJob *blk_job_new(const char *id, const char *device, const BlkJobDriver *drv, void *opaque,
                    guint64 speed, GError **err);
BlkJob *blk_job_find(const char *id);
/* Starts running (kick soon). */
void blk_job_start(BlkJob *job);
/* Whether the job may issue more work now; when not (paused, cancelled, drained graph,
 * rate limit) it arranges to be kicked again later. */
gboolean blk_job_may_issue(BlkJob *job, guint64 next_bytes);
void blk_job_kick_later(BlkJob *job, gint64 delay_ns);
void blk_job_progress(BlkJob *job, guint64 bytes);
/* The job's work is over (nothing in flight): ret 0 or -errno. */
void blk_job_completed(BlkJob *job, int ret, const char *error);
void blk_job_report_error(BlkJob *job, const char *operation, int ret);
/* Cancel every job and run their finish now (graph close). */
void blk_jobs_shutdown(void);

void blk_job_monitor_register(void);
/* job-backup.c */
void blk_backup_monitor_register(void);

#endif
