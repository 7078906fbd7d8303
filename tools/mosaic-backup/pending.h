/* SPDX-License-Identifier: GPL-2.0-or-later */
/* DIR/in-progress.json: the backup run that is (or was, if its tool was killed) running into
 * a backup directory: pid, point id, job ids and the files it made.  Written before the
 * jobs start and removed once the run ended (manifest saved, or partial files deleted), so
 * the next run can tell a leftover job from a live one and clean up after it; the manifest
 * never names an unfinished point. */
#ifndef MOSAIC_BACKUP_PENDING_H
#define MOSAIC_BACKUP_PENDING_H

#include <glib.h>

typedef struct Pending {
    gint64 pid;
    guint point;
    GPtrArray *jobs, *files; /* char* */
} Pending;

gboolean pending_save(const char *dir, const Pending *p, GError **err);
/* NULL without error when there is no record. */
Pending *pending_load(const char *dir, GError **err);
void pending_remove(const char *dir);
void pending_free(Pending *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Pending, pending_free)
/* Whether process `pid` is a live mosaic-backup. */
gboolean pending_owner_alive(gint64 pid);

#endif
