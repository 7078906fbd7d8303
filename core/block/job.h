/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Block jobs (internal): lifecycle, progress, rate limit, events and the job-* /
 * query-jobs commands, exported to job types in plugins as mosaic/job.h (job-sdk.c).
 * A job type (plugins/block-backup) supplies the work; this file keeps
 * the states QMP clients know:
 *   created -> running <-> paused -> (waiting) -> concluded -> null (auto-dismissed)
 *   cancel: running/paused -> aborting -> concluded -> null
 * Events: JOB_STATUS_CHANGE {id, status} on every change; BLOCK_JOB_COMPLETED {type,
 * device, len, offset, skipped, speed[, error]} or BLOCK_JOB_CANCELLED when it ends;
 * BLOCK_JOB_ERROR {device, operation, action} on an I/O error.
 *
 * Ending is two steps, so that jobs can succeed or fail as a group (QEMU's grouped
 * completion, job-txn.c): finish ends the work; then, once the outcome is known (at
 * once for a job alone, when every job of its group has finished otherwise), commit
 * (success) or abort (failure or cancel) settles what must be all or nothing, such as
 * resetting a dirty bitmap. */
#ifndef MOSAIC_CORE_BLOCK_JOB_H
#define MOSAIC_CORE_BLOCK_JOB_H

#include <glib.h>
#include <mosaic/job.h>
#include "block/block-internal.h"

typedef struct MosaicJob BlkJob;
/* The job type's ops (mosaic/job.h), as the core's copy of the plugin's table. */
typedef MosaicJobOps BlkJobDriver;
typedef struct MosaicJobGroup BlkJobTxn;

struct MosaicJob {
    char *id;
    char *device;                    /* the node being worked on */
    BlkJobDriver *drv;               /* copy of the type's table (ops_copy), owned */
    void *opaque;                    /* the driver's state */
    const char *status;              /* "created", "running", ... */
    gboolean paused;
    gboolean cancelled;
    guint64 current, total;          /* progress in bytes */
    guint64 skipped;                 /* of current: needed no copy (zeroes already there) */
    guint64 speed;                   /* bytes/s, 0: unlimited */
    gint64 rate_start_ns;
    guint64 rate_bytes;
    MosaicTimer *timer;              /* rate limit and drained sections */
    char *error;
    gboolean finished;               /* work over, waiting for the group's outcome */
    int ret;                         /* of the work, once finished */
    BlkJobTxn *txn;                  /* grouped completion, or NULL */
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
/* Cancels a job (a finished one in a group fails the group). */
void blk_job_cancel(BlkJob *job);
/* The group's outcome is known: commit or abort, events, free (job-txn.c's end). */
void blk_job_conclude(BlkJob *job, gboolean success);

/* Grouped completion (job-txn.c): jobs added before they start finish together; if one
 * fails or is cancelled the others are cancelled, and no job commits unless all
 * succeeded.  The group frees itself when its last job concluded. */
BlkJobTxn *blk_job_txn_new(void);
void blk_job_txn_add(BlkJobTxn *txn, BlkJob *job);
/* From blk_job_completed: `job` finished (job->ret set). */
void blk_job_txn_finished(BlkJob *job);
/* Cancel every job and run their finish now (graph close). */
void blk_jobs_shutdown(void);

void blk_job_monitor_register(void);

#endif
