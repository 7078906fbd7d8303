/* SPDX-License-Identifier: GPL-2.0-or-later */
/* backup-pull-start / backup-pull-stop: pull-mode backup ("fleecing").
 *
 * Start, inside one drained section (one point in time): a sparse temporary file in
 * $TMPDIR (unlinked once open) becomes node ID-fleece-tmp; a copy bitmap __fleece-ID of
 * the device (all dirty, not recording) lists the clusters whose old data is not saved
 * yet; a copy-before-write filter ID-fleece-cbw goes above the device (a guest write
 * first copies the old data of its clusters to the temporary node); the user's bitmap,
 * if any, is frozen (its bits stay those of the point, a successor records what comes
 * after); a snapshot-access node ID-fleece (snapshot-access.c) is the view of the device at the
 * point, exported read-only over NBD, with the bitmap as the qemu:dirty-bitmap:NAME
 * metadata context.  Stop undoes everything; the bitmap keeps only the writes made since
 * the start with reset-bitmap=true (the backup succeeded), else everything (nothing lost).
 * Node labels and the export id are derived from the pull id (default: the device). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"


typedef struct Pull {
    char *id, *export_id;
    MosaicBlkNode *src, *tmp, *cbw, *snap;
    MosaicBlkBitmap *copy; /* __fleece-ID on src: not copied yet */
    MosaicBlkBitmap *user; /* frozen */
    char *tmp_path;    /* until unlinked */
} Pull;

static GHashTable *pulls; /* id -> Pull* */

static gboolean odd_chars(const char *s)
{
    return !s || !*s || strpbrk(s, "\n\r;#[]= \t") != NULL || strlen(s) > 180;
}


static void drop_node(MosaicBlkNode **n)
{
    MosaicError *e = mosaic_error_new();
    if (*n && !mosaic_blk_node_delete(*n, e))
        g_warning("backup-pull: %s", mosaic_error_message(e));
    mosaic_error_free(e);
    *n = NULL;
}

/* The pull backup's export goes through whichever export plugin provides the
 * block-export-* commands (loaded on first use, subject to the deployment policy). */
static gboolean run_command(const char *command, JsonBuilder *b, MosaicError *err)
{
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autofree char *args = json_to_string(root, FALSE);
    g_autofree char *reply = mosaic_monitor_execute(command, args, err);
    return reply != NULL;
}

static void member(JsonBuilder *b, const char *name, const char *value)
{
    if (value) {
        json_builder_set_member_name(b, name);
        json_builder_add_string_value(b, value);
    }
}

static gboolean export_add(const char *id, const char *node, const char *name, const char *socket,
                           guint port, const char *bitmap, MosaicError *err)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    member(b, "id", id);
    member(b, "node-name", node);
    member(b, "name", name);
    member(b, "socket", socket);
    member(b, "bitmap", bitmap);
    if (port) {
        json_builder_set_member_name(b, "port");
        json_builder_add_int_value(b, port);
    }
    json_builder_end_object(b);
    return run_command("block-export-add", b, err);
}

static gboolean export_del(const char *id, MosaicError *err)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    member(b, "id", id);
    json_builder_end_object(b);
    return run_command("block-export-del", b, err);
}

/* Undoes what start did, in reverse order (also after a failed start). */
static void pull_teardown(Pull *p, gboolean reset_bitmap)
{
    MosaicError *e = mosaic_error_new();
    if (p->export_id && !export_del(p->export_id, e))
        g_warning("backup-pull: %s", mosaic_error_message(e));
    mosaic_error_free(e);
    drop_node(&p->snap);
    if (p->cbw) {
        if (mosaic_blk_node_in_use(p->cbw)) { /* inserted */
            e = mosaic_error_new();
            if (!mosaic_blk_remove_filter(p->cbw, e))
                g_warning("backup-pull: %s", mosaic_error_message(e));
            mosaic_error_free(e);
        }
        drop_node(&p->cbw);
    }
    if (p->user) {
        if (reset_bitmap)
            mosaic_blk_bitmap_abdicate(p->user);
        else
            mosaic_blk_bitmap_reclaim(p->user);
        p->user = NULL;
    }
    if (p->copy)
        mosaic_blk_bitmap_remove(p->copy, NULL);
    p->copy = NULL;
    drop_node(&p->tmp); /* its bitmaps go with it */
    if (p->tmp_path)
        unlink(p->tmp_path);
}

static void pull_free(Pull *p)
{
    g_free(p->id);
    g_free(p->export_id);
    g_free(p->tmp_path);
    g_free(p);
}

typedef struct PullOpts {
    const char *id, *device, *bitmap, *export_name, *socket;
    guint port;
} PullOpts;

static Pull *pull_prepare(const PullOpts *o, MosaicError *err)
{
    const char *id = o->id ? o->id : o->device;
    if (!o->device || odd_chars(id)) {
        mosaic_error_set(err, "backup-pull-start: 'device' (a node name) and a plain id "
                         "(letters, digits, - and _) are required");
        return NULL;
    }
    if (pulls && g_hash_table_lookup(pulls, id)) {
        mosaic_error_set(err, "a pull backup '%s' is already running (stop it with "
                         "backup-pull-stop id=%s, or pick another id)", id, id);
        return NULL;
    }
    MosaicBlkNode *src = mosaic_blk_node_find(o->device);
    if (!src) {
        mosaic_error_set(err, "no block node '%s'", o->device);
        return NULL;
    }
    GHashTableIter it;
    gpointer k, v;
    if (pulls) {
        g_hash_table_iter_init(&it, pulls);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            if (((Pull *)v)->src == src) {
                mosaic_error_set(err, "node '%s' already has a pull backup ('%s'): stop it "
                                 "first (backup-pull-stop id=%s)", o->device, (char *)k,
                                 (char *)k);
                return NULL;
            }
        }
    }
    if (!o->socket && !o->port) {
        mosaic_error_set(err, "backup-pull-start: give 'socket' (a UNIX socket path) or "
                         "'port' for the NBD export");
        return NULL;
    }
    MosaicBlkBitmap *user = NULL;
    if (o->bitmap) {
        user = mosaic_blk_bitmap_lookup(o->device, o->bitmap, err);
        if (!user || !mosaic_blk_bitmap_check_usable(user, "a pull backup", err))
            return NULL;
    }
    g_autofree char *tl = g_strdup_printf("%s-fleece-tmp", id);
    g_autofree char *cl = g_strdup_printf("%s-fleece-cbw", id);
    g_autofree char *sl = g_strdup_printf("%s-fleece", id);
    g_autofree char *copy_name = g_strdup_printf("__fleece-%s", id);
    if (mosaic_blk_node_find(tl) || mosaic_blk_node_find(cl) || mosaic_blk_node_find(sl)) {
        mosaic_error_set(err, "node '%s' already exists (pick another id)", sl);
        return NULL;
    }
    Pull *p = g_new0(Pull, 1);
    p->id = g_strdup(id);
    p->src = src;
    g_autofree char *eid = NULL;

    /* The temporary target: sparse, as large as the device. */
    GError *fe = NULL;
    guint64 length = mosaic_blk_node_length(src);
    int fd = g_file_open_tmp("mosaic-fleece-XXXXXX.img", &p->tmp_path, &fe);
    if (fd < 0) {
        mosaic_error_set(err, "backup-pull-start: temporary file ($TMPDIR): %s", fe->message);
        g_error_free(fe);
        goto fail;
    }
    if (ftruncate(fd, length) < 0) {
        mosaic_error_set(err, "backup-pull-start: %s: %s (is $TMPDIR full?)", p->tmp_path,
                         g_strerror(errno));
        close(fd);
        goto fail;
    }
    close(fd);
    const char *tmp_kv[] = {"filename", p->tmp_path, NULL};
    p->tmp = mosaic_blk_node_new("pull backup node", tl, "file", tmp_kv, err);
    if (!p->tmp)
        goto fail;
    unlink(p->tmp_path); /* open: nothing is left behind, even after a crash */
    g_clear_pointer(&p->tmp_path, g_free);

    guint64 gran = user ? mosaic_blk_bitmap_granularity(user)
                        : MOSAIC_BLK_BITMAP_DEFAULT_GRANULARITY;
    p->copy = mosaic_blk_bitmap_add(src, copy_name, gran, false, true, err);
    if (!p->copy)
        goto fail;
    mosaic_blk_bitmap_set(p->copy, 0, length);

    const char *cbw = mosaic_blk_driver_with_cap(MOSAIC_BLK_CAP_COPY_BEFORE_WRITE,
                                                 "a copy-before-write filter", err);
    if (!cbw)
        goto fail;
    const char *kv[] = {"file", mosaic_blk_node_label(src), "target", tl, "bitmap", copy_name,
                        NULL};
    p->cbw = mosaic_blk_node_new("pull backup node", cl, cbw, kv, err);
    if (!p->cbw || !mosaic_blk_insert_filter(p->cbw, src, err))
        goto fail;
    if (user) {
        g_autofree char *owner = g_strdup_printf("pull backup '%s' (backup-pull-stop id=%s "
                                                 "ends it)", p->id, p->id);
        if (!mosaic_blk_bitmap_freeze(user, owner, err))
            goto fail;
        p->user = user;
    }
    const char *view = mosaic_blk_driver_with_cap(MOSAIC_BLK_CAP_SNAPSHOT_ACCESS,
                                                  "a snapshot-access driver", err);
    if (!view)
        goto fail;
    p->snap = mosaic_blk_node_new("pull backup node", sl, view, kv, err);
    if (!p->snap)
        goto fail;
    eid = g_strdup_printf("%s-fleece", id);
    if (!export_add(eid, sl, o->export_name ? o->export_name : id, o->socket, o->port, o->bitmap,
                    err))
        goto fail;
    p->export_id = g_steal_pointer(&eid);
    return p;
fail:
    pull_teardown(p, FALSE);
    pull_free(p);
    return NULL;
}

bool backup_cmd_pull_start(void *op, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    gint64 port = mosaic_args_has(a, "port") ? mosaic_args_get_int(a, "port") : 0;
    if (port < 0 || port > 65535) {
        mosaic_error_set(err, "port %" G_GINT64_FORMAT " is out of range (1..65535)", port);
        return false;
    }
    PullOpts o = {.id = backup_arg(a, "id"), .device = backup_arg(a, "device"), .bitmap = backup_arg(a, "bitmap"),
                  .export_name = backup_arg(a, "export-name"), .socket = backup_arg(a, "socket"),
                  .port = port};
    mosaic_blk_drain_begin();
    Pull *p = pull_prepare(&o, err);
    mosaic_blk_drain_end();
    if (!p)
        return false;
    if (!pulls)
        pulls = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(pulls, p->id, p);
    mosaic_json_str(ret, "id", p->id);
    mosaic_json_str(ret, "node-name", mosaic_blk_node_label(p->snap));
    mosaic_json_str(ret, "export-id", p->export_id);
    return true;
}

bool backup_cmd_pull_stop(void *op, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    const char *id = backup_arg(a, "id");
    Pull *p = pulls && id ? g_hash_table_lookup(pulls, id) : NULL;
    if (!p) {
        mosaic_error_set(err, "no pull backup '%s' (backup-pull-start returned its id; the "
                         "default id is the device)", id ? id : "");
        return false;
    }
    gboolean reset = mosaic_args_has(a, "reset-bitmap") && mosaic_args_get_bool(a, "reset-bitmap");
    g_hash_table_remove(pulls, id);
    mosaic_blk_drain_begin();
    pull_teardown(p, reset);
    mosaic_blk_drain_end();
    pull_free(p);
    return true;
}

