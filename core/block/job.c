/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Block job lifecycle, events and commands (see job.h). */
#include <errno.h>
#include <string.h>

#include "block/job.h"
#include "block/block.h"
#include "util/ops.h"
#include <mosaic/loop.h>
#include <mosaic/monitor.h>

static GPtrArray *jobs; /* BlkJob*, in creation order */

BlkJob *blk_job_find(const char *id)
{
    for (guint i = 0; jobs && i < jobs->len; i++) {
        BlkJob *j = g_ptr_array_index(jobs, i);
        if (!strcmp(j->id, id))
            return j;
    }
    return NULL;
}

/* The first job whose work is not over, or NULL. */
static BlkJob *first_running(void)
{
    for (guint i = 0; jobs && i < jobs->len; i++) {
        BlkJob *j = g_ptr_array_index(jobs, i);
        if (!j->finished)
            return j;
    }
    return NULL;
}

static void set_status(BlkJob *job, const char *status)
{
    if (job->status && !strcmp(job->status, status))
        return;
    job->status = status;
    MosaicJson *ev = mosaic_event_begin("JOB_STATUS_CHANGE");
    mosaic_json_str(ev, "id", job->id);
    mosaic_json_str(ev, "status", status);
    mosaic_event_emit(ev);
}

static void timer_cb(void *opaque)
{
    BlkJob *job = opaque;
    if (job->finished)
        return; /* waits for its group */
    /* A cancelled job is kicked too: it lets the driver notice and wind down. */
    if (job->drv->kick && (!job->paused || job->cancelled))
        job->drv->kick(job);
}

BlkJob *blk_job_new(const char *id, const char *device, const BlkJobDriver *drv, void *opaque,
                    guint64 speed, GError **err)
{
    if (!id || !*id || strlen(id) > 128) {
        g_set_error(err, BLK_ERROR, 0, "job-id must be 1..128 characters");
        return NULL;
    }
    if (blk_job_find(id)) {
        g_set_error(err, BLK_ERROR, 0, "a job '%s' already exists (pick another job-id)", id);
        return NULL;
    }
    if (!jobs)
        jobs = g_ptr_array_new();
    BlkJob *job = g_new0(BlkJob, 1);
    job->id = g_strdup(id);
    job->device = g_strdup(device);
    job->drv = ops_copy(drv, sizeof(BlkJobDriver));
    job->opaque = opaque;
    job->speed = speed;
    job->timer = mosaic_timer_new(MOSAIC_CLOCK_HOST, timer_cb, job);
    g_ptr_array_add(jobs, job);
    set_status(job, "created");
    return job;
}

void blk_job_kick_later(BlkJob *job, gint64 delay_ns)
{
    mosaic_timer_mod(job->timer, mosaic_clock_ns(MOSAIC_CLOCK_HOST) + delay_ns);
}

void blk_job_start(BlkJob *job)
{
    job->rate_start_ns = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    set_status(job, "running");
    blk_job_kick_later(job, 0);
}

gboolean blk_job_may_issue(BlkJob *job, guint64 next_bytes)
{
    if (job->cancelled || job->paused)
        return FALSE;
    if (blk_is_drained()) {
        /* A graph change is waiting for everything in flight: issue nothing meanwhile. */
        blk_job_kick_later(job, 1000000);
        return FALSE;
    }
    if (job->speed) {
        gint64 now = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
        gint64 allowed_at = job->rate_start_ns +
                            (gint64)((double)(job->rate_bytes + next_bytes) * 1e9 / job->speed);
        if (allowed_at > now) {
            blk_job_kick_later(job, MIN(allowed_at - now, (gint64)100000000));
            return FALSE;
        }
        job->rate_bytes += next_bytes;
    }
    return TRUE;
}

void blk_job_progress(BlkJob *job, guint64 bytes)
{
    job->current += bytes;
}

static void job_free(BlkJob *job)
{
    g_ptr_array_remove(jobs, job);
    mosaic_timer_del(job->timer);
    mosaic_timer_free(job->timer);
    if (job->drv->free)
        job->drv->free(job);
    g_free(job->drv);
    g_free(job->error);
    g_free(job->device);
    g_free(job->id);
    g_free(job);
}

void blk_job_completed(BlkJob *job, int ret, const char *error)
{
    if (ret < 0 && !job->cancelled)
        set_status(job, "aborting");
    else if (!job->cancelled)
        set_status(job, "waiting");
    if (job->drv->finish)
        job->drv->finish(job, ret, job->cancelled);
    if (ret < 0 && !job->error)
        job->error = g_strdup(error ? error : g_strerror(-ret));
    job->finished = TRUE;
    job->ret = job->cancelled && ret >= 0 ? -ECANCELED : ret;
    if (job->txn)
        blk_job_txn_finished(job);
    else
        blk_job_conclude(job, job->ret == 0);
}

void blk_job_conclude(BlkJob *job, gboolean success)
{
    if (success && job->drv->commit)
        job->drv->commit(job);
    else if (!success && job->drv->abort)
        job->drv->abort(job);
    set_status(job, "concluded");
    MosaicJson *ev = mosaic_event_begin(job->cancelled ? "BLOCK_JOB_CANCELLED"
                                                       : "BLOCK_JOB_COMPLETED");
    mosaic_json_str(ev, "type", job->drv->type ? job->drv->type : "?");
    mosaic_json_str(ev, "device", job->id);
    mosaic_json_str(ev, "node", job->device);
    mosaic_json_int(ev, "len", job->total);
    mosaic_json_int(ev, "offset", job->current);
    mosaic_json_int(ev, "skipped", job->skipped);
    mosaic_json_int(ev, "speed", job->speed);
    if (job->error && !job->cancelled)
        mosaic_json_str(ev, "error", job->error);
    mosaic_event_emit(ev);
    set_status(job, "null");
    job_free(job);
}

void blk_job_report_error(BlkJob *job, const char *operation, int ret)
{
    MosaicJson *ev = mosaic_event_begin("BLOCK_JOB_ERROR");
    mosaic_json_str(ev, "device", job->id);
    mosaic_json_str(ev, "operation", operation);
    mosaic_json_str(ev, "action", "report");
    mosaic_event_emit(ev);
    if (!job->error)
        job->error = g_strdup_printf("%s error: %s", operation, g_strerror(-ret));
}

void blk_jobs_shutdown(void)
{
    for (guint i = 0; jobs && i < jobs->len; i++)
        ((BlkJob *)g_ptr_array_index(jobs, i))->cancelled = TRUE;
    /* A finished job waits for its group: the last of the group to end concludes it. */
    BlkJob *job;
    while ((job = first_running())) {
        /* Let what is in flight complete; the driver then calls blk_job_completed. */
        blk_drain_begin();
        blk_drain_end();
        if (first_running() == job && job->drv->kick)
            job->drv->kick(job);
        if (first_running() == job)
            blk_job_completed(job, -ECANCELED, "emulator shutting down");
    }
}

/* ---- commands ---- */

static BlkJob *job_arg(const MosaicArgs *a, MosaicError *err)
{
    const char *id = mosaic_args_get_str(a, "id");
    BlkJob *j = blk_job_find(id);
    if (!j)
        mosaic_error_set_class(err, MOSAIC_ERRCLASS_NOT_FOUND, "no job '%s' (see query-jobs)", id);
    return j;
}

static bool cmd_pause(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    BlkJob *j = job_arg(a, err);
    if (!j)
        return false;
    if (j->cancelled) {
        mosaic_error_set_class(err, MOSAIC_ERRCLASS_BAD_STATE, "job '%s' is being cancelled", j->id);
        return false;
    }
    if (j->finished) {
        mosaic_error_set_class(err, MOSAIC_ERRCLASS_BAD_STATE, "job '%s' has finished its work "
                               "and waits for the other jobs of its transaction", j->id);
        return false;
    }
    j->paused = TRUE;
    set_status(j, "paused");
    return true;
}

static bool cmd_resume(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    BlkJob *j = job_arg(a, err);
    if (!j)
        return false;
    if (!j->paused) {
        mosaic_error_set_class(err, MOSAIC_ERRCLASS_BAD_STATE, "job '%s' is not paused", j->id);
        return false;
    }
    j->paused = FALSE;
    j->rate_start_ns = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    j->rate_bytes = 0;
    set_status(j, "running");
    blk_job_kick_later(j, 0);
    return true;
}

void blk_job_cancel(BlkJob *job)
{
    job->cancelled = TRUE;
    job->paused = FALSE;
    if (job->finished) {
        blk_job_txn_finished(job); /* fails the group it waits for */
        return;
    }
    set_status(job, "aborting");
    blk_job_kick_later(job, 0);
}

static bool cmd_cancel(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    BlkJob *j = job_arg(a, err);
    if (!j)
        return false;
    if (!j->cancelled || !j->finished)
        blk_job_cancel(j);
    return true;
}

static bool cmd_set_speed(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    BlkJob *j = job_arg(a, err);
    if (!j)
        return false;
    gint64 s = mosaic_args_get_int(a, "speed");
    if (s < 0) {
        mosaic_error_set(err, "speed must be >= 0 (bytes per second; 0: unlimited)");
        return false;
    }
    j->speed = s;
    j->rate_start_ns = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    j->rate_bytes = 0;
    blk_job_kick_later(j, 0);
    return true;
}

static bool cmd_query(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    mosaic_json_begin_array(ret, "jobs");
    for (guint i = 0; jobs && i < jobs->len; i++) {
        BlkJob *j = g_ptr_array_index(jobs, i);
        mosaic_json_begin_object(ret, NULL);
        mosaic_json_str(ret, "id", j->id);
        mosaic_json_str(ret, "type", j->drv->type ? j->drv->type : "?");
        mosaic_json_str(ret, "status", j->status);
        mosaic_json_str(ret, "device", j->device);
        mosaic_json_int(ret, "current-progress", j->current);
        mosaic_json_int(ret, "total-progress", j->total);
        mosaic_json_int(ret, "skipped", j->skipped);
        mosaic_json_int(ret, "speed", j->speed);
        if (j->error)
            mosaic_json_str(ret, "error", j->error);
        mosaic_json_end_object(ret);
    }
    mosaic_json_end_array(ret);
    return true;
}

static const MosaicArgDesc id_args[] = {{"id", MOSAIC_ARG_STR, false, "job id"}, {NULL}};
static const MosaicArgDesc speed_args[] = {
    {"id", MOSAIC_ARG_STR, false, "job id"},
    {"speed", MOSAIC_ARG_INT, false, "bytes per second (0: unlimited)"},
    {NULL},
};
static const MosaicArgDesc no_args[] = {{NULL}};

#define CMD(n, h, a, f, r) {.size = sizeof(MosaicCommandDesc), .name = n, .help = h, .args = a, \
                            .handler = f, .returns = r}
static const MosaicCommandDesc cmds[] = {
    CMD("job-pause", "pause a block job (work in flight finishes)", id_args, cmd_pause, "{}"),
    CMD("job-resume", "resume a paused block job", id_args, cmd_resume, "{}"),
    CMD("job-cancel", "cancel a block job (an incremental backup's bitmap loses nothing)",
        id_args, cmd_cancel, "{}"),
    CMD("block-job-set-speed", "change a job's rate limit", speed_args, cmd_set_speed, "{}"),
    CMD("query-jobs", "list block jobs with their progress", no_args, cmd_query,
        "{jobs: [{id, type, status, device, current-progress, total-progress, skipped, speed, "
        "error?}]}"),
};

void blk_job_monitor_register(void)
{
    for (guint i = 0; i < G_N_ELEMENTS(cmds); i++)
        if (!mosaic_monitor_register(&cmds[i], NULL, NULL))
            g_warning("block: cannot register monitor command %s", cmds[i].name);
}
