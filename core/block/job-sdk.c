/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The job service of the SDK (mosaic/job.h): job types in plugins drive the core's
 * jobs (job.c, job-txn.c) through these. */
#include <errno.h>
#include "block/job.h"

MOSAIC_API MosaicJob *mosaic_job_new(const char *id, const char *device, const MosaicJobOps *ops,
                                     void *opaque, uint64_t speed, MosaicError *err)
{
    GError *e = NULL;
    if (!ops || !ops->size) {
        mosaic_error_set(err, "job '%s': no ops table (or its size is 0)", id ? id : "");
        return NULL;
    }
    BlkJob *job = blk_job_new(id, device, ops, opaque, speed, &e);
    if (!job) {
        mosaic_error_set(err, "%s", e->message);
        g_error_free(e);
    }
    return job;
}

MOSAIC_API void *mosaic_job_opaque(const MosaicJob *job) { return job->opaque; }
MOSAIC_API bool mosaic_job_exists(const char *id) { return id && blk_job_find(id); }
MOSAIC_API void mosaic_job_start(MosaicJob *job) { blk_job_start(job); }
MOSAIC_API bool mosaic_job_may_issue(MosaicJob *job, uint64_t next_bytes)
{
    return blk_job_may_issue(job, next_bytes);
}
MOSAIC_API void mosaic_job_unissue(MosaicJob *job, uint64_t bytes)
{
    job->rate_bytes -= MIN(job->rate_bytes, bytes);
}
MOSAIC_API void mosaic_job_kick_later(MosaicJob *job, int64_t delay_ns)
{
    blk_job_kick_later(job, delay_ns);
}
MOSAIC_API void mosaic_job_set_total(MosaicJob *job, uint64_t total) { job->total = total; }
MOSAIC_API void mosaic_job_progress(MosaicJob *job, uint64_t done) { blk_job_progress(job, done); }
MOSAIC_API void mosaic_job_skipped(MosaicJob *job, uint64_t skipped) { job->skipped += skipped; }
MOSAIC_API bool mosaic_job_cancelled(const MosaicJob *job) { return job->cancelled; }
MOSAIC_API bool mosaic_job_paused(const MosaicJob *job) { return job->paused; }
MOSAIC_API uint64_t mosaic_job_speed(const MosaicJob *job) { return job->speed; }

MOSAIC_API void mosaic_job_set_error(MosaicJob *job, const char *message)
{
    if (!job->error && message)
        job->error = g_strdup(message);
}

MOSAIC_API bool mosaic_job_has_error(const MosaicJob *job) { return job->error != NULL; }

MOSAIC_API void mosaic_job_report_error(MosaicJob *job, const char *operation, int ret)
{
    blk_job_report_error(job, operation, ret);
}

MOSAIC_API void mosaic_job_completed(MosaicJob *job, int ret, const char *error)
{
    blk_job_completed(job, ret, error);
}

MOSAIC_API void mosaic_job_discard(MosaicJob *job, const char *why)
{
    job->cancelled = TRUE;
    blk_job_completed(job, -ECANCELED, why);
}

MOSAIC_API MosaicJobGroup *mosaic_job_group_new(void) { return blk_job_txn_new(); }
MOSAIC_API void mosaic_job_group_add(MosaicJobGroup *group, MosaicJob *job)
{
    blk_job_txn_add(group, job);
}
