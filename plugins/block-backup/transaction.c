/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The backup commands' arguments, blockdev-backup, and the transaction command: bitmap
 * and backup actions applied at one point in time (one drained section), all or none. */
#include <errno.h>
#include <string.h>

#include "backup.h"

const char *backup_json_str(JsonObject *o, const char *k)
{
    JsonNode *n = json_object_get_member(o, k);
    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING ?
           json_node_get_string(n) : NULL;
}

void backup_opts_from_json(BackupOpts *o, JsonObject *d)
{
    o->job_id = backup_json_str(d, "job-id");
    o->device = backup_json_str(d, "device");
    o->target = backup_json_str(d, "target");
    o->target_file = backup_json_str(d, "target-file");
    o->target_uri = backup_json_str(d, "target-uri");
    o->format = backup_json_str(d, "format");
    o->checksum_file = backup_json_str(d, "checksum-file");
    o->sync = backup_json_str(d, "sync");
    o->bitmap = backup_json_str(d, "bitmap");
    o->speed = json_object_get_int_member_with_default(d, "speed", 0);
}

const char *backup_arg(const MosaicArgs *a, const char *k)
{
    return mosaic_args_has(a, k) ? mosaic_args_get_str(a, k) : NULL;
}

bool backup_cmd_backup(void *op, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    BackupOpts o = {
        .job_id = backup_arg(a, "job-id"), .device = backup_arg(a, "device"), .target = backup_arg(a, "target"),
        .target_file = backup_arg(a, "target-file"), .target_uri = backup_arg(a, "target-uri"), .format = backup_arg(a, "format"), .sync = backup_arg(a, "sync"),
        .checksum_file = backup_arg(a, "checksum-file"), .bitmap = backup_arg(a, "bitmap"),
        .speed = mosaic_args_has(a, "speed") ? mosaic_args_get_int(a, "speed") : 0,
    };
    mosaic_blk_drain_begin();
    Backup *b = backup_prepare(&o, err);
    mosaic_blk_drain_end();
    if (!b)
        return false;
    mosaic_job_start(backup_job(b));
    return true;
}

/* ---- transaction ---- */

typedef struct Undo {
    enum { U_ADD, U_CLEAR, U_BACKUP, U_ENABLE } kind;
    MosaicBlkBitmap *bm;
    MosaicBlkBitmap *saved; /* U_CLEAR: the bits before */
    gboolean was;       /* U_ENABLE */
    Backup *backup;
} Undo;

static gboolean bitmap_action(const char *type, JsonObject *d, GArray *undo, MosaicError *err)
{
    const char *node = backup_json_str(d, "node"), *name = backup_json_str(d, "name");
    if (!node || !name) {
        mosaic_error_set(err, "%s needs 'node' and 'name'", type);
        return FALSE;
    }
    if (!strcmp(type, "block-dirty-bitmap-add")) {
        MosaicBlkNode *n = mosaic_blk_node_find(node);
        if (!n) {
            mosaic_error_set(err, "no block node '%s'", node);
            return FALSE;
        }
        if (g_str_has_prefix(name, "__")) {
            mosaic_error_set(err, "bitmap names starting with '__' are reserved");
            return FALSE;
        }
        MosaicBlkBitmap *bm = mosaic_blk_bitmap_add(n, name,
                                       json_object_get_int_member_with_default(d, "granularity", 0),
                                       json_object_get_boolean_member_with_default(d, "persistent", FALSE),
                                       json_object_get_boolean_member_with_default(d, "disabled", FALSE),
                                       err);
        if (!bm)
            return FALSE;
        Undo u = {.kind = U_ADD, .bm = bm};
        g_array_append_val(undo, u);
        return TRUE;
    }
    MosaicBlkBitmap *bm = mosaic_blk_bitmap_lookup(node, name, err);
    if (!bm)
        return FALSE;
    if (!strcmp(type, "block-dirty-bitmap-clear")) {
        MosaicBlkBitmap *saved = mosaic_blk_bitmap_copy(bm);
        if (!mosaic_blk_bitmap_clear(bm, err)) {
            mosaic_blk_bitmap_free(saved);
            return FALSE;
        }
        Undo u = {.kind = U_CLEAR, .bm = bm, .saved = saved};
        g_array_append_val(undo, u);
        return TRUE;
    }
    gboolean en = !strcmp(type, "block-dirty-bitmap-enable");
    if (en || !strcmp(type, "block-dirty-bitmap-disable")) {
        gboolean was = mosaic_blk_bitmap_recording(bm);
        if (!mosaic_blk_bitmap_enable(bm, en, err))
            return FALSE;
        Undo u = {.kind = U_ENABLE, .bm = bm, .was = was};
        g_array_append_val(undo, u);
        return TRUE;
    }
    mosaic_error_set(err, "transaction action '%s' is not supported (use "
                     "block-dirty-bitmap-add/-clear/-enable/-disable, blockdev-backup)", type);
    return FALSE;
}

static void undo_all(GArray *undo)
{
    for (guint i = undo->len; i-- > 0;) {
        Undo *u = &g_array_index(undo, Undo, i);
        switch (u->kind) {
        case U_ADD:
            mosaic_blk_bitmap_remove(u->bm, NULL);
            break;
        case U_CLEAR:
            mosaic_blk_bitmap_merge(u->bm, &u->saved, 1, NULL);
            mosaic_blk_bitmap_free(u->saved);
            break;
        case U_ENABLE:
            mosaic_blk_bitmap_enable(u->bm, u->was, NULL);
            break;
        case U_BACKUP:
            backup_abort(u->backup);
            break;
        }
    }
}

/* properties.completion-mode: individual (QEMU's default: each job ends on its own) or
 * grouped (the jobs succeed or fail together, job-txn.c). */
static gboolean completion_mode(const MosaicArgs *a, gboolean *grouped, MosaicError *err)
{
    if (!mosaic_args_has(a, "properties"))
        return TRUE;
    g_autofree char *text = mosaic_args_get_json(a, "properties");
    g_autoptr(JsonParser) p = json_parser_new();
    JsonObject *o = text && json_parser_load_from_data(p, text, -1, NULL) &&
                    JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)) ?
                    json_node_get_object(json_parser_get_root(p)) : NULL;
    const char *mode = o ? backup_json_str(o, "completion-mode") : NULL;
    if (!o || (json_object_has_member(o, "completion-mode") && !mode) ||
        json_object_get_size(o) > (mode ? 1u : 0u) ||
        (mode && strcmp(mode, "individual") && strcmp(mode, "grouped"))) {
        mosaic_error_set(err, "transaction: 'properties' must be {\"completion-mode\": "
                         "\"individual\" or \"grouped\"}");
        return FALSE;
    }
    *grouped = mode && !strcmp(mode, "grouped");
    return TRUE;
}

bool backup_cmd_transaction(void *op, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    g_autofree char *text = mosaic_args_get_json(a, "actions");
    g_autoptr(JsonParser) p = json_parser_new();
    if (!text || !json_parser_load_from_data(p, text, -1, NULL) ||
        !JSON_NODE_HOLDS_ARRAY(json_parser_get_root(p))) {
        mosaic_error_set(err, "transaction: 'actions' must be a list of {type, data}");
        return false;
    }
    JsonArray *acts = json_node_get_array(json_parser_get_root(p));
    gboolean grouped = FALSE;
    if (!completion_mode(a, &grouped, err))
        return false;
    g_autoptr(GArray) undo = g_array_new(FALSE, TRUE, sizeof(Undo));
    MosaicError *e = mosaic_error_new();
    /* One point in time: nothing is in flight while every action is applied. */
    mosaic_blk_drain_begin();
    for (guint i = 0; i < json_array_get_length(acts); i++) {
        JsonNode *an = json_array_get_element(acts, i);
        JsonObject *ao = JSON_NODE_HOLDS_OBJECT(an) ? json_node_get_object(an) : NULL;
        const char *type = ao ? backup_json_str(ao, "type") : NULL;
        JsonNode *dn = ao ? json_object_get_member(ao, "data") : NULL;
        JsonObject *d = dn && JSON_NODE_HOLDS_OBJECT(dn) ? json_node_get_object(dn) : NULL;
        if (!type || !d) {
            mosaic_error_set(e, "action %u is not {\"type\": ..., \"data\": {...}}", i);
        } else if (!strcmp(type, "blockdev-backup") || !strcmp(type, "backup-start")) {
            BackupOpts o;
            backup_opts_from_json(&o, d);
            Backup *b = backup_prepare(&o, e);
            if (b) {
                Undo u = {.kind = U_BACKUP, .backup = b};
                g_array_append_val(undo, u);
            }
        } else {
            bitmap_action(type, d, undo, e);
        }
        if (mosaic_error_is_set(e)) {
            undo_all(undo);
            mosaic_blk_drain_end();
            mosaic_error_set(err, "transaction action %u (%s): %s (nothing was changed)", i,
                             type ? type : "?", mosaic_error_message(e));
            mosaic_error_free(e);
            return false;
        }
    }
    mosaic_error_free(e);
    MosaicJobGroup *txn = NULL;
    for (guint i = 0; grouped && i < undo->len; i++) {
        Undo *u = &g_array_index(undo, Undo, i);
        if (u->kind == U_BACKUP) {
            txn = txn ? txn : mosaic_job_group_new();
            mosaic_job_group_add(txn, backup_job(u->backup));
        }
    }
    for (guint i = 0; i < undo->len; i++) {
        Undo *u = &g_array_index(undo, Undo, i);
        if (u->kind == U_CLEAR)
            mosaic_blk_bitmap_free(u->saved);
        if (u->kind == U_BACKUP)
            mosaic_job_start(backup_job(u->backup));
    }
    mosaic_blk_drain_end();
    return true;
}

