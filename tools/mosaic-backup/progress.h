/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Progress output of a running backup: --json lines, a bar per disk on a terminal, or
 * nothing until the summary (pipes and logs). */
#ifndef MOSAIC_BACKUP_PROGRESS_H
#define MOSAIC_BACKUP_PROGRESS_H

#include <glib.h>

typedef enum { PROGRESS_QUIET, PROGRESS_JSON, PROGRESS_TTY } ProgressMode;

typedef struct Progress Progress;

/* `ids` are the job ids, `disks` the node of each (same order). */
Progress *progress_new(ProgressMode mode, GPtrArray *ids, GPtrArray *disks);
void progress_free(Progress *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Progress, progress_free)
/* A job's current/total bytes and how many of current needed no copy (query-jobs:
 * skipped, zeroes the target already had); `done` once it concluded. */
void progress_update(Progress *p, const char *id, gint64 current, gint64 total,
                     gint64 skipped, gboolean done);
/* Prints the --json lines or redraws the bars. */
void progress_show(Progress *p);
/* Ends the bars (the cursor goes below them). */
void progress_finish(Progress *p);
/* Bytes copied by every job (skipped zeroes not counted), bytes skipped, and seconds
 * since progress_new. */
gint64 progress_bytes(Progress *p);
gint64 progress_skipped(Progress *p);
double progress_seconds(Progress *p);

#endif
