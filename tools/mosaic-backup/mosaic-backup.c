/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mosaic-backup: consistent backups of a running Mosaic machine's disks.
 *
 *   mosaic-backup full        --socket S --to DIR [--disk NODE]... [--speed BYTES/S] [--json] [--no-checksum]
 *   mosaic-backup incremental --socket S --to DIR [--disk NODE]... [--speed BYTES/S] [--json]
 *   mosaic-backup full|incremental --socket S --to nbd://HOST:PORT/EXPORT [--dir DIR] ...
 *   mosaic-backup list    --dir DIR [--json]
 *   mosaic-backup verify  --dir DIR
 *   mosaic-backup restore --dir DIR --at POINT|latest [--disk NODE] --to FILE|DIR [--format raw|qcow2]
 *   mosaic-backup prune   --dir DIR --keep N
 *   mosaic-backup forget  --socket S --dir DIR    (removes DIR's checkpoint bitmaps)
 *
 * Every disk is backed up at one point in time (one `transaction` of the monitor).  Each
 * disk keeps a chain: a full qcow2, then incremental qcow2 overlays (backing file: the
 * previous point) holding the clusters the persistent dirty bitmap `mosaic-backup`
 * recorded since the previous point.  manifest.json lists the points with checksums.
 * With --to nbd://... (or nbd+unix://) the disk is pushed to a remote NBD export instead,
 * as a raw image updated in place (incrementals write only the changed clusters), and
 * the manifest is kept locally (--dir, default $XDG_STATE_HOME/mosaic-backup/<uri>).
 * Uses qemu-img (qemu-utils) to create, convert, check and rebase images.
 *
 * Exit status: 0 success, 1 failure, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "checkpoint.h"
#include "checksum.h"
#include "pending.h"
#include "progress.h"
#include "qmp-client.h"
#include "repo.h"

static struct {
    const char *socket, *to, *dir, *at, *format;
    char **disks;
    gint64 speed;
    gint keep;
    gboolean json, tty, no_checksum;
    guint timeout;
} opt = {.keep = -1, .timeout = 0};

static const char usage_text[] =
    "usage: mosaic-backup full|incremental --socket S --to DIR [--disk NODE]... [--speed B/S] [--json]\n"
    "                                      [--no-checksum]\n"
    "       mosaic-backup full|incremental --socket S --to nbd://HOST:PORT/EXPORT [--dir DIR] ...\n"
    "       mosaic-backup list --dir DIR [--json]\n"
    "       mosaic-backup verify --dir DIR\n"
    "       mosaic-backup restore --dir DIR --at POINT|latest [--disk NODE] --to FILE|DIR [--format raw|qcow2]\n"
    "       mosaic-backup prune --dir DIR --keep N\n"
    "       mosaic-backup forget --socket S --dir DIR   (drop DIR's change tracking)\n"
    "\n"
    "Consistent full and incremental backups of a running machine's disks over its control\n"
    "socket; every disk of one backup is taken at the same point in time.\n"
    "\n"
    "Commands:\n"
    "  full         a new full copy of every disk (qcow2 in DIR, or pushed to an NBD export)\n"
    "  incremental  only the clusters changed since the previous point (a full one if none)\n"
    "  list         the points in DIR, oldest first\n"
    "  verify       check every file of DIR against the manifest's checksums\n"
    "  restore      write the disk(s) as they were at a point to FILE or DIR\n"
    "  prune        keep only the newest N points\n"
    "  forget       remove the machine's change tracking (dirty bitmaps) for DIR\n"
    "\n"
    "Options:\n"
    "  -s, --socket S   the machine's monitor: unix:PATH or PATH (mosaic --qmp unix:PATH,server,wait=off)\n"
    "  -t, --to PATH    backup directory; restore: output file or directory;\n"
    "                   or an NBD URI (nbd://HOST:PORT/EXPORT, nbd+unix:///EXPORT?socket=P) to push\n"
    "                   to; {disk} in the URI is replaced by the node name (needed for several disks)\n"
    "  -d, --dir DIR    backup directory (with --to URI: where the manifest is kept, default\n"
    "                   $XDG_STATE_HOME/mosaic-backup/...)\n"
    "  --disk NODE      back up (or restore) only this block node (repeatable); default: every\n"
    "                   node a device or export uses\n"
    "  --at POINT       restore: a point id from `list`, or latest\n"
    "  --format FMT     restore: raw (default) or qcow2\n"
    "  --speed N        rate limit of the copy, bytes per second\n"
    "  --keep N         prune: points to keep (N >= 1)\n"
    "  --json           JSON lines on stdout instead of text\n"
    "  --no-checksum    do not checksum the new files (verify cannot check them)\n"
    "  -h, --help       print this help and exit\n"
    "\n"
    "Uses qemu-img (qemu-utils).  Exit status: 0 success, 1 failure, 2 usage.  See mosaic-backup(1).\n";

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "mosaic-backup: %s\n", why);
    fputs(usage_text, stderr);
    return 2;
}

static gboolean run(GError **err, const char *const *argv)
{
    g_autofree char *out = NULL, *errs = NULL;
    gint status = 0;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &errs,
                      &status, err))
        return FALSE;
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_autofree char *cmd = g_strjoinv(" ", (char **)argv);
        g_set_error(err, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "`%s` failed: %s", cmd,
                    g_strstrip(errs));
        return FALSE;
    }
    return TRUE;
}

static JsonNode *qmp(QmpClient *c, const char *cmd, JsonObject *args, GError **err)
{
    JsonNode *r = qmp_client_execute(c, cmd, args, err);
    if (args)
        json_object_unref(args);
    return r;
}

/* The disk a used node stands for: below the copy-before-write filters that running
 * backups and pulls put above it; NULL for a pull's point-in-time view (an export of
 * its own, not a disk). */
static JsonObject *disk_below_filters(GHashTable *by_name, JsonObject *n)
{
    for (guint depth = 0; n && depth < 16; depth++) {
        const char *drv = json_object_get_string_member_with_default(n, "driver", "");
        if (!strcmp(drv, "snapshot-access"))
            return NULL;
        if (strcmp(drv, "copy-before-write"))
            return n;
        JsonArray *kids = json_object_get_array_member(n, "children");
        JsonObject *file = NULL;
        for (guint k = 0; kids && k < json_array_get_length(kids); k++) {
            JsonObject *ch = json_array_get_object_element(kids, k);
            if (!strcmp(json_object_get_string_member_with_default(ch, "child", ""), "file"))
                file = g_hash_table_lookup(by_name,
                                           json_object_get_string_member_with_default(ch, "node-name", ""));
        }
        n = file;
    }
    return n;
}

/* The disks to back up: --disk, or every node with users (devices, exports). */
static GPtrArray *pick_disks(QmpClient *c, GHashTable *sizes, GError **err)
{
    g_autoptr(JsonNode) r = qmp(c, "query-named-block-nodes", NULL, err);
    if (!r)
        return NULL;
    JsonArray *nodes = json_object_get_array_member(json_node_get_object(r), "nodes");
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < json_array_get_length(nodes); i++) {
        JsonObject *n = json_array_get_object_element(nodes, i);
        const char *name = json_object_get_string_member(n, "node-name");
        g_hash_table_insert(by_name, (gpointer)name, n);
        g_hash_table_insert(sizes, g_strdup(name),
                            GSIZE_TO_POINTER((gsize)json_object_get_int_member(n, "size")));
    }
    for (guint i = 0; !opt.disks && i < json_array_get_length(nodes); i++) {
        JsonObject *n = json_array_get_object_element(nodes, i);
        if (json_object_get_int_member_with_default(n, "users", 0) <= 0)
            continue;
        n = disk_below_filters(by_name, n);
        const char *name = n ? json_object_get_string_member(n, "node-name") : NULL;
        if (name && !g_ptr_array_find_with_equal_func(out, name, g_str_equal, NULL))
            g_ptr_array_add(out, g_strdup(name));
    }
    for (guint i = 0; opt.disks && opt.disks[i]; i++) {
        if (!g_hash_table_contains(sizes, opt.disks[i])) {
            g_set_error(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_COMMAND, "the machine has no "
                        "block node '%s' (see mosaic-ctl SOCKET query-named-block-nodes)",
                        opt.disks[i]);
            g_ptr_array_free(out, TRUE);
            return NULL;
        }
        g_ptr_array_add(out, g_strdup(opt.disks[i]));
    }
    if (!out->len) {
        g_set_error(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_COMMAND, "no disks to back up "
                    "(no node has a user; name them with --disk)");
        g_ptr_array_free(out, TRUE);
        return NULL;
    }
    return out;
}

static JsonObject *action(JsonArray *acts, const char *type)
{
    JsonObject *a = json_object_new(), *d = json_object_new();
    json_object_set_string_member(a, "type", type);
    json_object_set_object_member(a, "data", d);
    json_array_add_object_element(acts, a);
    return d;
}

static void poll_jobs(QmpClient *c, Progress *pr)
{
    g_autoptr(JsonNode) r = qmp(c, "query-jobs", NULL, NULL);
    if (!r)
        return;
    JsonArray *jobs = json_object_get_array_member(json_node_get_object(r), "jobs");
    for (guint i = 0; i < json_array_get_length(jobs); i++) {
        JsonObject *j = json_array_get_object_element(jobs, i);
        progress_update(pr, json_object_get_string_member(j, "id"),
                        json_object_get_int_member(j, "current-progress"),
                        json_object_get_int_member(j, "total-progress"),
                        json_object_get_int_member_with_default(j, "skipped", 0), FALSE);
    }
}

/* Waits for every job of `ids`; FALSE + err naming the first that failed.  With --json or
 * a terminal, the progress is shown every half second. */
static gboolean wait_jobs(QmpClient *c, GPtrArray *ids, Progress *pr, GError **err)
{
    g_autoptr(GHashTable) left = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < ids->len; i++)
        g_hash_table_add(left, g_ptr_array_index(ids, i));
    GString *failures = g_string_new(NULL);
    gboolean live = opt.json || opt.tty;
    gint64 next = g_get_monotonic_time() + G_USEC_PER_SEC / 2;
    if (opt.tty)
        progress_show(pr);
    while (g_hash_table_size(left)) {
        GError *e = NULL;
        gint64 now = g_get_monotonic_time();
        int timeout = live ? (int)MAX(0, (next - now) / 1000) : -1;
        JsonObject *ev = qmp_client_next_event(c, timeout, &e);
        if (!ev && !g_error_matches(e, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_TIMEOUT)) {
            g_propagate_error(err, e);
            g_string_free(failures, TRUE);
            return FALSE;
        }
        g_clear_error(&e);
        if (live && g_get_monotonic_time() >= next) {
            poll_jobs(c, pr);
            progress_show(pr);
            next = g_get_monotonic_time() + G_USEC_PER_SEC / 2;
        }
        if (!ev)
            continue;
        const char *name = json_object_get_string_member_with_default(ev, "event", "");
        JsonObject *d = json_object_has_member(ev, "data") ? json_object_get_object_member(ev, "data") : NULL;
        const char *id = d ? json_object_get_string_member_with_default(d, "device", "") : "";
        if ((!strcmp(name, "BLOCK_JOB_COMPLETED") || !strcmp(name, "BLOCK_JOB_CANCELLED")) &&
            g_hash_table_contains(left, id)) {
            g_hash_table_remove(left, id);
            const char *error = json_object_get_string_member_with_default(d, "error", NULL);
            if (!strcmp(name, "BLOCK_JOB_CANCELLED"))
                error = "cancelled";
            gint64 len = json_object_get_int_member_with_default(d, "len", 0);
            progress_update(pr, id, error ? json_object_get_int_member_with_default(d, "offset", 0)
                                          : len, len,
                            json_object_get_int_member_with_default(d, "skipped", 0), TRUE);
            if (error)
                g_string_append_printf(failures, "%sjob %s: %s", failures->len ? "; " : "", id, error);
            if (opt.json)
                printf("{\"event\": \"%s\", \"job\": \"%s\", \"len\": %" G_GINT64_FORMAT "%s%s%s}\n",
                       error ? "failed" : "completed", id, len,
                       error ? ", \"error\": \"" : "", error ? error : "", error ? "\"" : "");
            fflush(stdout);
        }
        json_object_unref(ev);
    }
    progress_finish(pr);
    if (failures->len) {
        g_set_error(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_COMMAND, "%s", failures->str);
        g_string_free(failures, TRUE);
        return FALSE;
    }
    g_string_free(failures, TRUE);
    return TRUE;
}

/* A run into `dir` that did not end (its tool was killed) leaves DIR/in-progress.json:
 * its jobs that still run are cancelled and its partial files deleted; the manifest never
 * had the point, and its jobs only read the repository's checkpoint bitmap, so nothing
 * is lost even if one of them ended while no tool watched it (the point's own checkpoint
 * is removed before the next point is taken).  Fails if that run's tool still lives. */
static gboolean recover(QmpClient *c, const char *dir, GError **err)
{
    GError *e = NULL;
    g_autoptr(Pending) p = pending_load(dir, &e);
    if (!p) {
        if (!e)
            return TRUE;
        g_propagate_error(err, e);
        return FALSE;
    }
    if (pending_owner_alive(p->pid)) {
        g_set_error(err, QMP_CLIENT_ERROR, 0, "another mosaic-backup (pid %" G_GINT64_FORMAT
                    ") is backing up point %u into %s: wait for it to end", p->pid, p->point, dir);
        return FALSE;
    }
    g_autoptr(JsonNode) r = qmp(c, "query-jobs", NULL, err);
    if (!r)
        return FALSE;
    JsonArray *jobs = json_object_get_array_member(json_node_get_object(r), "jobs");
    g_autoptr(GHashTable) wait = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint k = 0; k < p->jobs->len; k++) {
        const char *id = g_ptr_array_index(p->jobs, k);
        gboolean running = FALSE;
        for (guint i = 0; i < json_array_get_length(jobs); i++)
            running |= !strcmp(json_object_get_string_member(json_array_get_object_element(jobs, i), "id"), id);
        if (!running)
            continue;
        JsonObject *a = json_object_new();
        json_object_set_string_member(a, "id", id);
        g_autoptr(JsonNode) cr = qmp(c, "job-cancel", a, NULL);
        g_hash_table_add(wait, (gpointer)id);
        fprintf(stderr, "mosaic-backup: cancelling job %s left running by an interrupted run "
                "(pid %" G_GINT64_FORMAT ")\n", id, p->pid);
    }
    while (g_hash_table_size(wait)) {
        JsonObject *ev = qmp_client_next_event(c, 60000, err);
        if (!ev)
            return FALSE;
        const char *name = json_object_get_string_member_with_default(ev, "event", "");
        JsonObject *d = json_object_has_member(ev, "data") ? json_object_get_object_member(ev, "data") : NULL;
        const char *id = d ? json_object_get_string_member_with_default(d, "device", "") : "";
        if (!strcmp(name, "BLOCK_JOB_COMPLETED") || !strcmp(name, "BLOCK_JOB_CANCELLED"))
            g_hash_table_remove(wait, id);
        json_object_unref(ev);
    }
    for (guint k = 0; k < p->files->len; k++)
        unlink(g_ptr_array_index(p->files, k));
    fprintf(stderr, "mosaic-backup: discarded the unfinished point %u of an interrupted run "
            "(pid %" G_GINT64_FORMAT ")\n", p->point, p->pid);
    pending_remove(dir);
    return TRUE;
}

static gboolean is_uri(const char *s)
{
    return s && (g_str_has_prefix(s, "nbd://") || g_str_has_prefix(s, "nbd+unix://") ||
                 g_str_has_prefix(s, "nbds://") || g_str_has_prefix(s, "nbds+unix://"));
}

/* Where the manifest of a remote target lives when --dir is not given. */
static char *remote_manifest_dir(const char *uri)
{
    g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, uri, -1);
    GString *name = g_string_new("nbd-");
    for (const char *p = strstr(uri, "://") + 3; *p && name->len < 60; p++)
        g_string_append_c(name, g_ascii_isalnum(*p) ? *p : '_');
    g_string_append_printf(name, "-%.12s", sum);
    char *dir = g_build_filename(g_get_user_state_dir(), "mosaic-backup", name->str, NULL);
    g_string_free(name, TRUE);
    return dir;
}

/* The URI of `node`'s export: {disk} replaced by the node name. */
static char *disk_uri(const char *uri, const char *node)
{
    g_auto(GStrv) parts = g_strsplit(uri, "{disk}", -1);
    return g_strjoinv(node, parts);
}

/* The checkpoint an incremental of `node` starts from: the one of the repository's last
 * point `last`; refused (never silently wrong) when the machine has no usable one. */
static char *checkpoint_base(const char *node, Repo *repo, guint last, GPtrArray *cps,
                             GError **err)
{
    Checkpoint *cp = checkpoints_find(cps, last);
    Checkpoint *newest = cps->len ? g_ptr_array_index(cps, cps->len - 1) : NULL;
    if (cp && cp->inconsistent) {
        g_set_error(err, QMP_CLIENT_ERROR, 0, "disk '%s': the dirty bitmap '%s' (changes since "
                    "point %u of %s) is inconsistent: the machine was not shut down cleanly, so "
                    "it may have missed writes; a full backup is needed (mosaic-backup full)",
                    node, cp->name, last, repo->dir);
        return NULL;
    }
    if (cp && cp->busy) {
        g_set_error(err, QMP_CLIENT_ERROR, 0, "disk '%s': the dirty bitmap '%s' is in use by "
                    "%s: wait for it to end, then run the incremental again", node, cp->name,
                    cp->owner ? cp->owner : "a job");
        return NULL;
    }
    if (cp)
        return g_strdup(cp->name);
    /* A qcow2 image records a bitmap added while the machine runs at once, in use, so
     * after a kill the checkpoint is found above, inconsistent.  An image written by an
     * older Mosaic stored it only at a clean exit: after a kill only the older
     * checkpoint is there, marked in use: the machine was not shut down cleanly since. */
    for (guint k = 0; k < cps->len; k++) {
        Checkpoint *old = g_ptr_array_index(cps, k);
        if (old->point < last && old->inconsistent) {
            g_autofree char *lost = checkpoint_name(repo->uuid, last);
            g_set_error(err, QMP_CLIENT_ERROR, 0, "disk '%s': the change tracking of %s is "
                        "inconsistent: the machine was not shut down cleanly since point %u "
                        "was taken (its dirty bitmap '%s' was lost and '%s' may have missed "
                        "writes); a full backup is needed (mosaic-backup full)", node, repo->dir,
                        last, lost, old->name);
            return NULL;
        }
    }
    if (newest && newest->point > last) {
        g_set_error(err, QMP_CLIENT_ERROR, 0, "disk '%s': the machine tracks changes for %s "
                    "since point %u, but the repository's last point is %u (its manifest is "
                    "older than the last backup made into it): an incremental on point %u would "
                    "miss changes; run `mosaic-backup full`", node, repo->dir, newest->point,
                    last, last);
        return NULL;
    }
    g_autofree char *want = checkpoint_name(repo->uuid, last);
    g_set_error(err, QMP_CLIENT_ERROR, 0, "disk '%s': the machine has no record of the changes "
                "since point %u of %s (no dirty bitmap '%s': the image was replaced or restored, "
                "or the repository was last written by an older mosaic-backup): a full backup is "
                "needed (mosaic-backup full)", node, last, repo->dir, want);
    return NULL;
}

/* The point is in the manifest: the repository's older checkpoints are not needed any
 * more (a failure here leaves a bitmap that the next run removes). */
static void drop_older_checkpoints(QmpClient *c, Repo *repo, GPtrArray *disks)
{
    RepoPoint *last = g_ptr_array_index(repo->points, repo->points->len - 1);
    for (guint i = 0; i < disks->len; i++) {
        const char *node = g_ptr_array_index(disks, i);
        g_autoptr(GPtrArray) cps = checkpoints_list(c, node, repo->uuid, NULL);
        for (guint k = 0; cps && k < cps->len; k++) {
            Checkpoint *cp = g_ptr_array_index(cps, k);
            if (cp->point < last->id)
                checkpoint_remove(c, node, cp->name, NULL);
        }
    }
}

/* A failed point: its checkpoint goes, the base stays. */
static void drop_checkpoint(QmpClient *c, Repo *repo, GPtrArray *disks, guint point)
{
    g_autofree char *name = checkpoint_name(repo->uuid, point);
    for (guint i = 0; i < disks->len; i++)
        checkpoint_remove(c, g_ptr_array_index(disks, i), name, NULL);
}

static int cmd_backup(gboolean incremental)
{
    GError *e = NULL;
    if (!opt.socket || !opt.to)
        return usage("--socket and --to are needed");
    gboolean remote = is_uri(opt.to);
    g_autofree char *mdir = remote ? (opt.dir ? g_strdup(opt.dir) : remote_manifest_dir(opt.to))
                                   : g_strdup(opt.to);
    g_autoptr(Repo) repo = NULL;
    g_autoptr(QmpClient) c = NULL;
    g_autoptr(GHashTable) sizes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GPtrArray) disks = NULL;
    g_autoptr(JsonArray) acts = json_array_new();
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) made = g_ptr_array_new_with_free_func(g_free);
    RepoPoint *pt = NULL;
    gboolean point_started = FALSE;
    g_autoptr(Progress) pr = NULL;
    repo = repo_load(mdir, !incremental, &e);
    if (!repo)
        goto fail;
    /* A new repository's UUID is kept before any checkpoint bitmap is named after it, so
     * a killed first run's bitmaps are still this repository's leftovers next time. */
    if (!repo->points->len && !repo_save(repo, &e))
        goto fail;
    c = qmp_client_connect(opt.socket, 30, &e);
    if (!c)
        goto fail;
    if (!recover(c, repo->dir, &e))
        goto fail;
    disks = pick_disks(c, sizes, &e);
    if (!disks)
        goto fail;
    if (remote && disks->len > 1 && !strstr(opt.to, "{disk}")) {
        g_set_error(&e, QMP_CLIENT_ERROR, 0, "%u disks but one NBD URI: put {disk} in the URI "
                    "(replaced by each node name) or pick one with --disk", disks->len);
        goto fail;
    }
    pt = repo_point_new(repo, incremental ? "incremental" : "full");
    for (guint i = 0; i < disks->len; i++) {
        const char *node = g_ptr_array_index(disks, i);
        guint64 size = GPOINTER_TO_SIZE(g_hash_table_lookup(sizes, node));
        RepoPoint *prev_pt = NULL;
        RepoDisk *prev = incremental ? repo_last_disk(repo, node, &prev_pt) : NULL;
        g_autofree char *uri = remote ? disk_uri(opt.to, node) : NULL;
        if (incremental && !prev) {
            g_set_error(&e, QMP_CLIENT_ERROR, 0, "disk '%s' has no full backup in %s: run "
                        "`mosaic-backup full` first", node, repo->dir);
            goto fail_point;
        }
        if (incremental && (remote ? g_strcmp0(prev->file, uri) : is_uri(prev->file) != 0)) {
            g_set_error(&e, QMP_CLIENT_ERROR, 0, "disk '%s': the last backup in %s went to %s, "
                        "not to %s: an incremental only updates the same target; run "
                        "`mosaic-backup full` first", node, repo->dir, prev->file,
                        remote ? uri : "this directory");
            goto fail_point;
        }
        g_autoptr(GPtrArray) cps = checkpoints_list(c, node, repo->uuid, &e);
        if (!cps)
            goto fail_point;
        g_autofree char *base = NULL;
        if (incremental) {
            base = checkpoint_base(node, repo, prev_pt->id, cps, &e);
            if (!base)
                goto fail_point; /* refused: nothing changed */
        }
        /* Leftovers of a point that never reached the manifest (a killed run). */
        for (guint k = 0; k < cps->len; k++) {
            Checkpoint *cp = g_ptr_array_index(cps, k);
            if (cp->point >= pt->id && !checkpoint_remove(c, node, cp->name, &e))
                goto fail_point;
        }
        g_autofree char *rel = remote ? g_strdup(uri) :
                               g_strdup_printf("%s/%04u-%s.qcow2", node, pt->id,
                                               incremental ? "inc" : "full");
        g_autofree char *path = remote ? NULL : repo_path(repo, rel);
        g_autofree char *dir = remote ? NULL : g_path_get_dirname(path);
        if (!remote)
            g_mkdir_with_parents(dir, 0755);
        g_autofree char *sz = g_strdup_printf("%" G_GUINT64_FORMAT, size);
        g_autofree char *bname = prev && !remote ? g_path_get_basename(prev->file) : NULL;
        gboolean ok = remote ? TRUE : prev ?
            run(&e, (const char *[]){"qemu-img", "create", "-q", "-f", "qcow2", "-b", bname,
                                     "-F", "qcow2", "-u", path, sz, NULL}) :
            run(&e, (const char *[]){"qemu-img", "create", "-q", "-f", "qcow2", path, sz, NULL});
        if (!ok)
            goto fail_point;
        if (!remote)
            g_ptr_array_add(made, g_strdup(path));
        JsonObject *add = action(acts, "block-dirty-bitmap-add");
        g_autofree char *cp_name = checkpoint_name(repo->uuid, pt->id);
        json_object_set_string_member(add, "node", node);
        json_object_set_string_member(add, "name", cp_name);
        json_object_set_boolean_member(add, "persistent", TRUE);
        char *id = g_strdup_printf("mosaic-backup-%s-%u", node, pt->id);
        g_ptr_array_add(ids, id);
        JsonObject *d = action(acts, "blockdev-backup");
        json_object_set_string_member(d, "job-id", id);
        json_object_set_string_member(d, "device", node);
        if (remote) {
            json_object_set_string_member(d, "target-uri", uri);
        } else {
            json_object_set_string_member(d, "target-file", path);
            json_object_set_string_member(d, "format", "qcow2");
            if (!opt.no_checksum) {
                /* The machine hashes the file as it writes it: no second read here. */
                g_autofree char *sum_path = g_strconcat(path, ".sum", NULL);
                json_object_set_string_member(d, "checksum-file", sum_path);
                g_ptr_array_add(made, g_steal_pointer(&sum_path));
            }
        }
        /* The job only reads the base: a failed point leaves it as it was. */
        json_object_set_string_member(d, "sync", incremental ? "differential" : "full");
        if (base)
            json_object_set_string_member(d, "bitmap", base);
        if (opt.speed)
            json_object_set_int_member(d, "speed", opt.speed);
        RepoDisk *rd = g_new0(RepoDisk, 1);
        rd->node = g_strdup(node);
        rd->file = g_strdup(rel);
        rd->backing = prev && !remote ? g_strdup(prev->file) : NULL;
        rd->size = size;
        g_ptr_array_add(pt->disks, rd);
    }
    {
        Pending rec = {.pid = getpid(), .point = pt->id, .jobs = ids, .files = made};
        if (!pending_save(repo->dir, &rec, &e))
            goto fail_point;
        JsonObject *a = json_object_new(), *props = json_object_new();
        json_object_set_array_member(a, "actions", json_array_ref(acts));
        /* One disk failing fails the point: the others stop too. */
        json_object_set_string_member(props, "completion-mode", "grouped");
        json_object_set_object_member(a, "properties", props);
        g_autoptr(JsonNode) r = qmp(c, "transaction", a, &e);
        if (r)
            point_started = TRUE;
        if (!r)
            goto fail_point;
    }
    if (opt.json)
        printf("{\"event\": \"started\", \"point\": %u, \"kind\": \"%s\", \"disks\": %u}\n", pt->id,
               pt->kind, disks->len);
    fflush(stdout); /* a reader times the point by this line */
    {
        g_autoptr(GPtrArray) nodes = g_ptr_array_new();
        for (guint i = 0; i < pt->disks->len; i++)
            g_ptr_array_add(nodes, ((RepoDisk *)g_ptr_array_index(pt->disks, i))->node);
        pr = progress_new(opt.json ? PROGRESS_JSON : opt.tty ? PROGRESS_TTY : PROGRESS_QUIET, ids, nodes);
    }
    if (!wait_jobs(c, ids, pr, &e))
        goto fail_point;
    for (guint i = 0; i < pt->disks->len; i++) {
        RepoDisk *d = g_ptr_array_index(pt->disks, i);
        if (remote || opt.no_checksum) { /* remote: updated in place, no file to sum */
            d->checksum = g_strdup("");
            continue;
        }
        g_autofree char *path = repo_path(repo, d->file);
        g_autofree char *sum_path = g_strconcat(path, ".sum", NULL);
        /* Made by the machine while it wrote the file; read here if it could not. */
        d->checksum = checksum_take_made(sum_path);
        if (!d->checksum)
            d->checksum = checksum_file(path, CHECKSUM_DEFAULT, &e);
        if (!d->checksum)
            goto fail_point;
    }
    g_ptr_array_add(repo->points, pt);
    pt = NULL;
    if (!repo_save(repo, &e))
        goto fail;
    pending_remove(repo->dir);
    drop_older_checkpoints(c, repo, disks);
    {
        RepoPoint *last = g_ptr_array_index(repo->points, repo->points->len - 1);
        double mib = progress_bytes(pr) / (double)(1 << 20), s = progress_seconds(pr);
        double zero_mib = progress_skipped(pr) / (double)(1 << 20);
        g_autofree char *skipped = zero_mib > 0 ?
            g_strdup_printf(", %.1f MiB of zeroes skipped", zero_mib) : g_strdup("");
        if (opt.json)
            printf("{\"event\": \"done\", \"point\": %u, \"bytes\": %" G_GINT64_FORMAT
                   ", \"skipped\": %" G_GINT64_FORMAT ", \"seconds\": %.3f}\n", last->id,
                   progress_bytes(pr), progress_skipped(pr), s);
        else
            printf("point %u (%s) of %u disk(s) %s %s%s%s: %.1f MiB copied%s in %.1f s "
                   "(%.1f MiB/s)\n", last->id, last->kind, disks->len,
                   remote ? "pushed to" : "in", remote ? opt.to : repo->dir,
                   remote ? ", manifest in " : "", remote ? repo->dir : "", mib, skipped, s,
                   s > 0 ? mib / s : 0);
    }
    return 0;
fail_point:
    for (guint i = 0; made && i < made->len; i++)
        unlink(g_ptr_array_index(made, i));
    if (point_started)
        drop_checkpoint(c, repo, disks, pt->id);
    /* Without an answer from the machine its jobs may still run: keep the record so the
     * next run cancels them. */
    if (!g_error_matches(e, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_IO))
        pending_remove(repo->dir);
fail:
    repo_point_free(pt);
    if (opt.json) {
        g_autofree char *msg = g_strescape(e ? e->message : "failed", NULL);
        printf("{\"event\": \"error\", \"message\": \"%s\"}\n", msg);
        fflush(stdout);
    }
    fprintf(stderr, "mosaic-backup: %s\n", e ? e->message : "failed");
    g_clear_error(&e);
    return 1;
}

/* A repository given up (its directory deleted or moved away): its checkpoint bitmaps
 * would record every write of the machine for nothing. */
static int cmd_forget(void)
{
    GError *e = NULL;
    if (!opt.socket || !opt.dir)
        return usage("forget needs --socket S and --dir DIR");
    g_autoptr(Repo) r = repo_load(opt.dir, FALSE, &e);
    g_autoptr(QmpClient) c = r ? qmp_client_connect(opt.socket, 30, &e) : NULL;
    g_autoptr(GPtrArray) cps = c ? checkpoints_list(c, NULL, r->uuid, &e) : NULL;
    guint n = 0;
    for (guint i = 0; cps && i < cps->len; i++) {
        Checkpoint *cp = g_ptr_array_index(cps, i);
        if (!checkpoint_remove(c, cp->node, cp->name, &e))
            break;
        n++;
    }
    if (e) {
        fprintf(stderr, "mosaic-backup: %s\n", e->message);
        g_error_free(e);
        return 1;
    }
    printf("removed %u checkpoint bitmap(s) of %s; its next backup must be full\n", n, r->dir);
    return 0;
}

static const char *dir_opt(void)
{
    return opt.dir ? opt.dir : opt.to;
}

static int cmd_list(void)
{
    GError *e = NULL;
    if (!opt.dir)
        return usage("--dir is needed");
    g_autoptr(Repo) r = repo_load(opt.dir, FALSE, &e);
    if (!r) {
        fprintf(stderr, "mosaic-backup: %s\n", e->message);
        return 1;
    }
    for (guint i = 0; i < r->points->len; i++) {
        RepoPoint *p = g_ptr_array_index(r->points, i);
        for (guint k = 0; k < p->disks->len; k++) {
            RepoDisk *d = g_ptr_array_index(p->disks, k);
            if (opt.json)
                printf("{\"point\": %u, \"kind\": \"%s\", \"time\": \"%s\", \"disk\": \"%s\", "
                       "\"file\": \"%s\", \"size\": %" G_GUINT64_FORMAT "}\n", p->id, p->kind,
                       p->time, d->node, d->file, d->size);
            else
                printf("%4u  %-11s  %s  %-12s  %s\n", p->id, p->kind, p->time, d->node, d->file);
        }
    }
    return 0;
}

static int cmd_verify(void)
{
    GError *e = NULL;
    if (!opt.dir)
        return usage("--dir is needed");
    g_autoptr(Repo) r = repo_load(opt.dir, FALSE, &e);
    if (!r) {
        fprintf(stderr, "mosaic-backup: %s\n", e->message);
        return 1;
    }
    int bad = 0;
    for (guint i = 0; i < r->points->len; i++) {
        RepoPoint *p = g_ptr_array_index(r->points, i);
        for (guint k = 0; k < p->disks->len; k++) {
            RepoDisk *d = g_ptr_array_index(p->disks, k);
            if (is_uri(d->file)) {
                printf("skip point %u  %s (remote NBD export, not checked)\n", p->id, d->file);
                continue;
            }
            g_autofree char *path = repo_path(r, d->file);
            g_autofree char *sum = checksum_file_like(path, d->checksum, &e);
            const char *why = NULL;
            if (!sum)
                why = e->message;
            else if (*d->checksum && strcmp(sum, d->checksum)) /* "": taken with --no-checksum */
                why = "the checksum differs from the manifest's (the file changed or is damaged)";
            else if (!run(&e, (const char *[]){"qemu-img", "check", "-q", "-f", "qcow2", path, NULL}))
                why = e->message;
            printf("%s  point %u  %s\n", why ? "BAD" : "ok ", p->id, d->file);
            if (why) {
                fprintf(stderr, "mosaic-backup: %s: %s\n", d->file, why);
                bad++;
            }
            g_clear_error(&e);
        }
    }
    return bad ? 1 : 0;
}

static gboolean restore_one(Repo *r, RepoDisk *d, const char *to, GError **err)
{
    const char *fmt = opt.format ? opt.format : "raw";
    if (is_uri(d->file)) {
        /* The export holds only the latest point of the disk (updated in place). */
        if (repo_last_disk(r, d->node, NULL) != d) {
            g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT, "disk '%s': %s holds only the "
                        "latest point (later backups overwrote this one)", d->node, d->file);
            return FALSE;
        }
        return run(err, (const char *[]){"qemu-img", "convert", "-f", "raw", "-O", fmt, d->file, to, NULL});
    }
    g_autofree char *path = repo_path(r, d->file);
    return run(err, (const char *[]){"qemu-img", "convert", "-f", "qcow2", "-O", fmt, path, to, NULL});
}

static int cmd_restore(void)
{
    GError *e = NULL;
    if (!opt.dir || !opt.to)
        return usage("restore needs --dir DIR and --to FILE (or a directory for several disks)");
    g_autoptr(Repo) r = repo_load(opt.dir, FALSE, &e);
    RepoPoint *p = r ? repo_find_point(r, opt.at, &e) : NULL;
    if (!p)
        goto fail;
    if (opt.disks || p->disks->len == 1) {
        const char *node = opt.disks ? opt.disks[0] : ((RepoDisk *)g_ptr_array_index(p->disks, 0))->node;
        RepoDisk *d = repo_point_disk(p, node);
        if (!d) {
            g_set_error(&e, G_FILE_ERROR, G_FILE_ERROR_NOENT, "point %u has no disk '%s'", p->id, node);
            goto fail;
        }
        if (!restore_one(r, d, opt.to, &e))
            goto fail;
        printf("restored %s at point %u to %s\n", node, p->id, opt.to);
        return 0;
    }
    g_mkdir_with_parents(opt.to, 0755);
    for (guint k = 0; k < p->disks->len; k++) {
        RepoDisk *d = g_ptr_array_index(p->disks, k);
        g_autofree char *name = g_strdup_printf("%s.%s", d->node, opt.format ? opt.format : "img");
        g_autofree char *to = g_build_filename(opt.to, name, NULL);
        if (!restore_one(r, d, to, &e))
            goto fail;
        printf("restored %s at point %u to %s\n", d->node, p->id, to);
    }
    return 0;
fail:
    fprintf(stderr, "mosaic-backup: %s\n", e->message);
    g_error_free(e);
    return 1;
}

/* Keeps the newest N points: the oldest kept point of each disk becomes standalone
 * (qemu-img rebase onto nothing copies what it needs from its backing chain). */
static int cmd_prune(void)
{
    GError *e = NULL;
    if (!opt.dir || opt.keep < 1)
        return usage("prune needs --dir DIR and --keep N (N >= 1)");
    g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(Repo) r = repo_load(opt.dir, FALSE, &e);
    if (!r)
        goto fail;
    if ((gint)r->points->len <= opt.keep) {
        printf("nothing to prune (%u points)\n", r->points->len);
        return 0;
    }
    guint first = r->points->len - opt.keep;
    RepoPoint *keep0 = g_ptr_array_index(r->points, first);
    for (guint k = 0; k < keep0->disks->len; k++) {
        RepoDisk *d = g_ptr_array_index(keep0->disks, k);
        if (!d->backing)
            continue;
        g_autofree char *path = repo_path(r, d->file);
        if (!run(&e, (const char *[]){"qemu-img", "rebase", "-q", "-f", "qcow2", "-b", "", path, NULL}))
            goto fail;
        g_free(d->backing);
        d->backing = NULL;
        g_free(d->checksum);
        d->checksum = checksum_file(path, CHECKSUM_DEFAULT, &e);
        if (!d->checksum)
            goto fail;
    }
    g_free(keep0->kind);
    keep0->kind = g_strdup("full");
    /* The manifest is saved before files go, so it never names a missing file. */
    for (guint i = 0; i < first; i++) {
        RepoPoint *p = g_ptr_array_index(r->points, i);
        for (guint k = 0; k < p->disks->len; k++)
            g_ptr_array_add(gone, repo_path(r, ((RepoDisk *)g_ptr_array_index(p->disks, k))->file));
    }
    g_ptr_array_remove_range(r->points, 0, first);
    if (!repo_save(r, &e))
        goto fail;
    for (guint i = 0; i < gone->len; i++)
        unlink(g_ptr_array_index(gone, i));
    printf("pruned %u point(s); %u kept\n", first, r->points->len);
    return 0;
fail:
    fprintf(stderr, "mosaic-backup: %s\n", e->message);
    g_error_free(e);
    return 1;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") || !strcmp(argv[i], "help"))
            return fputs(usage_text, stdout), 0;
    if (argc < 2)
        return usage(NULL);
    const char *cmd = argv[1];
    gchar **disks = NULL;
    gchar *speed = NULL;
    GOptionEntry entries[] = {
        {"socket", 's', 0, G_OPTION_ARG_STRING, &opt.socket, "monitor socket", "S"},
        {"to", 't', 0, G_OPTION_ARG_FILENAME, &opt.to, "backup directory / restore output", "PATH"},
        {"dir", 'd', 0, G_OPTION_ARG_FILENAME, &opt.dir, "backup directory", "DIR"},
        {"disk", 0, 0, G_OPTION_ARG_STRING_ARRAY, &disks, "block node (repeatable)", "NODE"},
        {"at", 0, 0, G_OPTION_ARG_STRING, &opt.at, "point id or latest", "POINT"},
        {"format", 0, 0, G_OPTION_ARG_STRING, &opt.format, "restore format (raw)", "FMT"},
        {"speed", 0, 0, G_OPTION_ARG_STRING, &speed, "rate limit, bytes/s", "N"},
        {"keep", 0, 0, G_OPTION_ARG_INT, &opt.keep, "points to keep", "N"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &opt.json, "JSON lines output", NULL},
        {"no-checksum", 0, 0, G_OPTION_ARG_NONE, &opt.no_checksum, "no checksum of new files", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("COMMAND");
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *e = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &e))
        return usage(e->message);
    opt.disks = disks;
    opt.tty = !opt.json && isatty(STDOUT_FILENO);
    if (speed)
        opt.speed = g_ascii_strtoll(speed, NULL, 10);
    g_free(speed);
    if (!strcmp(cmd, "full"))
        return cmd_backup(FALSE);
    if (!strcmp(cmd, "incremental"))
        return cmd_backup(TRUE);
    if (!opt.dir && strcmp(cmd, "restore"))
        opt.dir = opt.to;
    if (!strcmp(cmd, "list"))
        return cmd_list();
    if (!strcmp(cmd, "verify"))
        return cmd_verify();
    if (!strcmp(cmd, "restore"))
        return cmd_restore();
    if (!strcmp(cmd, "prune"))
        return cmd_prune();
    if (!strcmp(cmd, "forget"))
        return cmd_forget();
    (void)dir_opt;
    return usage("unknown command");
}
