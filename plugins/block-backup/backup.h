/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The backup commands of mosaic-misc-backup-jobs.so: push backup jobs (backup-job.c), the
 * transaction command (transaction.c) and pull backups (pull.c), declared in the
 * descriptor (commands.c) so the first call loads the plugin. */
#ifndef BACKUP_H
#define BACKUP_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <mosaic/bitmap.h>
#include <mosaic/block.h>
#include <mosaic/job.h>
#include <mosaic/monitor.h>

typedef struct BackupOpts {
    const char *job_id, *device, *target, *target_file, *target_uri, *format, *sync, *bitmap;
    const char *checksum_file;  /* target-file: where the job's checksum of it goes */
    gint64 speed;
} BackupOpts;

typedef struct Backup Backup;

/* backup-job.c: a job made and its filter in place, not started (call inside a drained
 * section: one point in time); NULL + err, with nothing changed. */
Backup *backup_prepare(const BackupOpts *o, MosaicError *err);
MosaicJob *backup_job(Backup *b);
/* A prepared job a transaction gives up: undone, no events. */
void backup_abort(Backup *b);

/* transaction.c */
const char *backup_json_str(JsonObject *o, const char *k);
void backup_opts_from_json(BackupOpts *o, JsonObject *d);
const char *backup_arg(const MosaicArgs *a, const char *k);
bool backup_cmd_backup(void *op, const MosaicArgs *a, MosaicJson *ret, MosaicError *err);
bool backup_cmd_transaction(void *op, const MosaicArgs *a, MosaicJson *ret, MosaicError *err);

/* pull.c */
bool backup_cmd_pull_start(void *op, const MosaicArgs *a, MosaicJson *ret, MosaicError *err);
bool backup_cmd_pull_stop(void *op, const MosaicArgs *a, MosaicJson *ret, MosaicError *err);

#endif
