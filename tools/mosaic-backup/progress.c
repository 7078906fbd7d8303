/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Progress output of mosaic-backup (see progress.h).  The rate is the average since the
 * jobs started: steadier than a per-tick rate, and what the user compares with a target. */
#include <stdio.h>
#include <string.h>
#include "progress.h"

typedef struct {
    char *id, *disk;
    gint64 current, total, skipped;
    gboolean done;
} Job;

struct Progress {
    ProgressMode mode;
    GArray *jobs; /* Job */
    gint64 t0;
    gboolean drawn;
};

Progress *progress_new(ProgressMode mode, GPtrArray *ids, GPtrArray *disks)
{
    Progress *p = g_new0(Progress, 1);
    p->mode = mode;
    p->jobs = g_array_new(FALSE, TRUE, sizeof(Job));
    for (guint i = 0; i < ids->len; i++) {
        Job j = {.id = g_strdup(g_ptr_array_index(ids, i)),
                 .disk = g_strdup(g_ptr_array_index(disks, i))};
        g_array_append_val(p->jobs, j);
    }
    p->t0 = g_get_monotonic_time();
    return p;
}

void progress_free(Progress *p)
{
    if (!p)
        return;
    for (guint i = 0; i < p->jobs->len; i++) {
        g_free(g_array_index(p->jobs, Job, i).id);
        g_free(g_array_index(p->jobs, Job, i).disk);
    }
    g_array_free(p->jobs, TRUE);
    g_free(p);
}

void progress_update(Progress *p, const char *id, gint64 current, gint64 total,
                     gint64 skipped, gboolean done)
{
    for (guint i = 0; i < p->jobs->len; i++) {
        Job *j = &g_array_index(p->jobs, Job, i);
        if (strcmp(j->id, id))
            continue;
        if (total >= 0)
            j->total = total;
        if (current >= 0)
            j->current = current;
        if (skipped >= 0)
            j->skipped = MIN(skipped, j->current);
        j->done |= done;
    }
}

double progress_seconds(Progress *p)
{
    return (g_get_monotonic_time() - p->t0) / 1e6;
}

gint64 progress_bytes(Progress *p)
{
    gint64 n = 0;
    for (guint i = 0; i < p->jobs->len; i++)
        n += g_array_index(p->jobs, Job, i).current - g_array_index(p->jobs, Job, i).skipped;
    return n;
}

gint64 progress_skipped(Progress *p)
{
    gint64 n = 0;
    for (guint i = 0; i < p->jobs->len; i++)
        n += g_array_index(p->jobs, Job, i).skipped;
    return n;
}

static double rate(Progress *p, const Job *j)
{
    double s = progress_seconds(p);
    return s > 0 ? j->current / s : 0;
}

void progress_show(Progress *p)
{
    if (p->mode == PROGRESS_QUIET)
        return;
    if (p->mode == PROGRESS_TTY && p->drawn)
        printf("\033[%uA", p->jobs->len); /* back to the first bar */
    for (guint i = 0; i < p->jobs->len; i++) {
        const Job *j = &g_array_index(p->jobs, Job, i);
        int pct = j->total > 0 ? (int)(j->current * 100 / j->total) : (j->done ? 100 : 0);
        if (p->mode == PROGRESS_JSON) {
            if (j->done)
                continue; /* its "completed"/"failed" line says the rest */
            printf("{\"event\": \"progress\", \"job\": \"%s\", \"disk\": \"%s\", \"current\": %"
                   G_GINT64_FORMAT ", \"total\": %" G_GINT64_FORMAT ", \"percent\": %d, "
                   "\"bytes_per_second\": %.0f}\n", j->id, j->disk, j->current, j->total, pct,
                   rate(p, j));
            continue;
        }
        enum { W = 30 };
        char bar[W + 1];
        for (int k = 0; k < W; k++)
            bar[k] = k < pct * W / 100 ? '#' : '.';
        bar[W] = 0;
        printf("\r\033[K%-16s [%s] %3d%%  %8.1f MiB/s%s\n", j->disk, bar, pct,
               rate(p, j) / (1 << 20), j->done ? "  done" : "");
    }
    p->drawn = TRUE;
    fflush(stdout);
}

void progress_finish(Progress *p)
{
    if (p->mode == PROGRESS_TTY)
        progress_show(p);
}
