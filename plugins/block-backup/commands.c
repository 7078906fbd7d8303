/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mosaic-misc-backup-jobs.so: the backup commands, declared in the descriptor, so that
 * query-commands lists them without loading the plugin and their first call loads it
 * (subject to the deployment policy: `disable = backup-jobs` denies them all).  The jobs
 * work through the core's job service (mosaic/job.h) and graph services
 * (mosaic/block.h), over the copy-before-write filter and snapshot-access driver of
 * this folder, which they find by capability. */
#include "backup.h"

static const MosaicArgDesc backup_args[] = {
    {"job-id", MOSAIC_ARG_STR, true, "job id (default: the device)"},
    {"device", MOSAIC_ARG_STR, false, "node to back up"},
    {"target", MOSAIC_ARG_STR, true, "target node (or target-file)"},
    {"target-file", MOSAIC_ARG_STR, true, "target image file (raw: made if missing; qcow2: "
     "must exist, may have a backing file)"},
    {"target-uri", MOSAIC_ARG_STR, true, "NBD server to push the backup to, as a raw image "
     "of the disk (nbd://HOST:PORT/EXPORT or nbd+unix:///EXPORT?socket=PATH)"},
    {"format", MOSAIC_ARG_STR, true, "raw (default) or qcow2, for target-file"},
    {"checksum-file", MOSAIC_ARG_STR, true, "with target-file: when the job ends, write the "
     "target file's checksum (\"xxh128t:HEX\", made while the file was written) here"},
    {"sync", MOSAIC_ARG_STR, true, "full (default), incremental (alias bitmap) or differential"},
    {"bitmap", MOSAIC_ARG_STR, true, "dirty bitmap of device: incremental/differential copy its "
     "dirty clusters; full and incremental reset it when the backup succeeds"},
    {"speed", MOSAIC_ARG_INT, true, "rate limit in bytes per second (0: none)"},
    {NULL},
};
static const MosaicArgDesc transaction_args[] = {
    {"actions", MOSAIC_ARG_ANY, false, "list of {type, data}: block-dirty-bitmap-add/-clear/"
     "-enable/-disable, blockdev-backup"},
    {"properties", MOSAIC_ARG_ANY, true, "{completion-mode: individual (default) or grouped "
     "(the backup jobs succeed or fail together: no bitmap is reset unless all succeed)}"},
    {NULL},
};

static const MosaicArgDesc start_args[] = {
    {"device", MOSAIC_ARG_STR, false, "node to back up"},
    {"id", MOSAIC_ARG_STR, true, "pull id (default: the device); names the nodes ID-fleece*"},
    {"bitmap", MOSAIC_ARG_STR, true, "dirty bitmap of device: frozen while the pull runs and "
     "exported as NBD metadata context qemu:dirty-bitmap:NAME"},
    {"export-name", MOSAIC_ARG_STR, true, "NBD export name (default: the id)"},
    {"socket", MOSAIC_ARG_STR, true, "UNIX socket to serve the export on"},
    {"port", MOSAIC_ARG_INT, true, "loopback TCP port (when no socket is given)"},
    {NULL},
};
static const MosaicArgDesc stop_args[] = {
    {"id", MOSAIC_ARG_STR, false, "pull id"},
    {"reset-bitmap", MOSAIC_ARG_BOOL, true, "the backup succeeded: the bitmap keeps only the "
     "writes made since the start (default false: it keeps everything)"},
    {NULL},
};

#define CMD(n, h, a, f, r) {.size = sizeof(MosaicCommandDesc), .name = n, .help = h, .args = a, \
                            .handler = f, .returns = r, .arg_size = sizeof(MosaicArgDesc)}
static const MosaicCommandDesc commands[] = {
    CMD("blockdev-backup", "start a backup job (copy-before-write; full, incremental or "
        "differential)", backup_args, backup_cmd_backup, "{}"),
    CMD("backup-start", "alias of blockdev-backup", backup_args, backup_cmd_backup, "{}"),
    CMD("transaction", "apply bitmap and backup actions at one point in time, all or none",
        transaction_args, backup_cmd_transaction, "{}"),
    CMD("backup-pull-start", "export a point-in-time view of a node over NBD (fleecing), "
        "with its dirty bitmap as qemu:dirty-bitmap:NAME", start_args, backup_cmd_pull_start,
        "{id, node-name, export-id}"),
    CMD("backup-pull-stop", "end a pull backup: remove its export, filter and temporary "
        "nodes", stop_args, backup_cmd_pull_stop, "{}"),
    {0},
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_MISC, .kind_abi = MOSAIC_MISC_ABI, .name = "backup-jobs",
              .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "backup jobs (blockdev-backup, transaction) and pull backups "
                             "(backup-pull-start/-stop)",
              .commands = commands);
