/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Block jobs: long-running work on block nodes (a backup) that QMP clients see in
 * query-jobs and drive with job-pause/-resume/-cancel/block-job-set-speed.
 *
 * The core keeps the states, events, rate limit and grouped completion; a job type (a
 * plugin, e.g. plugins/block-backup) supplies the work through MosaicJobOps:
 *   created -> running <-> paused -> (waiting) -> concluded -> null
 *   cancel: running/paused -> aborting -> concluded -> null
 * Events: JOB_STATUS_CHANGE on every change; BLOCK_JOB_COMPLETED or BLOCK_JOB_CANCELLED
 * when it ends; BLOCK_JOB_ERROR from mosaic_job_report_error.
 *
 * Ending is two steps, so that jobs can succeed or fail as a group: the job calls
 * mosaic_job_completed when its work is over (ops.finish runs, releasing what it
 * holds); once the outcome is known (at once alone, when every job of its group has
 * finished otherwise) ops.commit (success) or ops.abort (failure or cancel) settles
 * what must be all or nothing, such as resetting a dirty bitmap; then ops.free.
 *
 * Everything here runs on the main loop thread.  Since ABI 1.1.
 *
 * Changelog
 *   1.1  first version.
 */
#ifndef MOSAIC_JOB_H
#define MOSAIC_JOB_H

#include <mosaic/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MosaicJob MosaicJob;           /* opaque */
typedef struct MosaicJobGroup MosaicJobGroup; /* jobs that succeed or fail together */

typedef struct MosaicJobOps {
    uint32_t size;    /* sizeof(MosaicJobOps); the core keeps a copy */
    const char *type; /* "backup": the `type` of BLOCK_JOB_COMPLETED */
    /* Issue work (from the job's timer, never inside a completion).  Also called on a
     * cancelled job so that it winds down. */
    void (*kick)(MosaicJob *job);
    /* Ends the job's work and releases what it holds; ret 0 or -errno.  Called once,
     * from mosaic_job_completed, with nothing of the job in flight. */
    void (*finish)(MosaicJob *job, int ret, bool cancelled);
    /* Exactly one of these, after finish: the job (and its whole group) succeeded, or not. */
    void (*commit)(MosaicJob *job);
    void (*abort)(MosaicJob *job);
    /* Frees the job type's state (mosaic_job_opaque); the job is gone after it. */
    void (*free)(MosaicJob *job);
} MosaicJobOps;

/* A new job in state `created`; `device` is the node worked on, `speed` bytes/s (0:
 * unlimited).  NULL + err when the id is empty, too long or taken.  `ops` must stay
 * valid for the job's life (a static table). */
MOSAIC_API MosaicJob *mosaic_job_new(const char *id, const char *device, const MosaicJobOps *ops,
                                     void *opaque, uint64_t speed, MosaicError *err);
MOSAIC_API void *mosaic_job_opaque(const MosaicJob *job);
MOSAIC_API bool mosaic_job_exists(const char *id);
/* Starts running: ops.kick soon. */
MOSAIC_API void mosaic_job_start(MosaicJob *job);
/* Whether the job may issue `next_bytes` more now (counted against the rate limit);
 * when not (paused, cancelled, a drained graph, the rate limit) it arranges to be kicked
 * again later. */
MOSAIC_API bool mosaic_job_may_issue(MosaicJob *job, uint64_t next_bytes);
/* Gives back bytes counted by mosaic_job_may_issue that were not issued after all. */
MOSAIC_API void mosaic_job_unissue(MosaicJob *job, uint64_t bytes);
MOSAIC_API void mosaic_job_kick_later(MosaicJob *job, int64_t delay_ns);
/* Progress: `total` bytes to do, `done` more done, of which `skipped` needed no copy. */
MOSAIC_API void mosaic_job_set_total(MosaicJob *job, uint64_t total);
MOSAIC_API void mosaic_job_progress(MosaicJob *job, uint64_t done);
MOSAIC_API void mosaic_job_skipped(MosaicJob *job, uint64_t skipped);
MOSAIC_API bool mosaic_job_cancelled(const MosaicJob *job);
MOSAIC_API bool mosaic_job_paused(const MosaicJob *job);
MOSAIC_API uint64_t mosaic_job_speed(const MosaicJob *job);
/* The error the job will end with, unless one was already given (the first wins). */
MOSAIC_API void mosaic_job_set_error(MosaicJob *job, const char *message);
MOSAIC_API bool mosaic_job_has_error(const MosaicJob *job);
/* BLOCK_JOB_ERROR {operation} and, unless one was given, the job's error. */
MOSAIC_API void mosaic_job_report_error(MosaicJob *job, const char *operation, int ret);
/* The job's work is over, nothing of it in flight: ret 0 or -errno (error: its
 * message, NULL for strerror).  A job never started (a transaction that failed) ends
 * by mosaic_job_discard instead. */
MOSAIC_API void mosaic_job_completed(MosaicJob *job, int ret, const char *error);
/* Ends a job that was made but never started, as cancelled (`why` for the record). */
MOSAIC_API void mosaic_job_discard(MosaicJob *job, const char *why);

/* Grouped completion: jobs added before they start finish together; if one fails or is
 * cancelled the others are cancelled, and no job commits unless all succeeded.  The
 * group frees itself when its last job concluded. */
MOSAIC_API MosaicJobGroup *mosaic_job_group_new(void);
MOSAIC_API void mosaic_job_group_add(MosaicJobGroup *group, MosaicJob *job);

#ifdef __cplusplus
}
#endif
#endif
