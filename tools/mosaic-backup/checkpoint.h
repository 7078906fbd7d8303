/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A repository's change tracking on the machine, as libvirt's checkpoints: for every
 * disk, the persistent dirty bitmap `mosaic-backup.UUID.N` records the writes since
 * point N of the repository UUID.  A point adds the bitmap of the new point in the
 * same transaction that starts its jobs; once the point is in the manifest the older
 * bitmaps of that repository go.  So each repository (a directory, a remote target's
 * manifest) has its own bitmaps, an incremental copies exactly what changed since the
 * repository's own last point, and a failed or interrupted point never resets anything
 * (the jobs only read the bitmap: sync=differential). */
#ifndef MOSAIC_BACKUP_CHECKPOINT_H
#define MOSAIC_BACKUP_CHECKPOINT_H

#include <glib.h>
#include "qmp-client.h"

typedef struct Checkpoint {
    char *node;
    guint point;
    gboolean inconsistent, busy;
    char *name;
    char *owner;   /* busy: who uses it (a pull backup, a job), if the machine says */
} Checkpoint;

char *checkpoint_name(const char *uuid, guint point);
/* The checkpoints of repository `uuid` on `node` (every node if NULL) (Checkpoint*, by
 * point), or NULL + err. */
GPtrArray *checkpoints_list(QmpClient *c, const char *node, const char *uuid, GError **err);
Checkpoint *checkpoints_find(GPtrArray *cps, guint point);
gboolean checkpoint_remove(QmpClient *c, const char *node, const char *name, GError **err);

#endif
