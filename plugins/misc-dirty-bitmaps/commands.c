/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mosaic-misc-dirty-bitmaps.so: the monitor commands for dirty bitmaps (QMP names and
 * arguments as QEMU's): block-dirty-bitmap-add/-remove/-clear/-enable/-disable/-merge,
 * query-dirty-bitmaps.  The bitmaps themselves are a core service (mosaic/bitmap.h:
 * every write marks them, persistence, jobs); these commands are declared in the
 * descriptor, so the first call loads the plugin. */
#include <string.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <mosaic/bitmap.h>
#include <mosaic/monitor.h>

#define MAX_MERGE_SOURCES 1024

/* The bitmap `name` of `node`; NULL + a NotFound error naming what is missing. */
static MosaicBlkBitmap *lookup(const char *node, const char *name, MosaicError *err)
{
    MosaicError *e = mosaic_error_new();
    MosaicBlkBitmap *bm = mosaic_blk_bitmap_lookup(node, name, e);
    if (!bm)
        mosaic_error_set_class(err, MOSAIC_ERRCLASS_NOT_FOUND, "%s", mosaic_error_message(e));
    mosaic_error_free(e);
    return bm;
}

static MosaicBlkBitmap *bm_arg(const MosaicArgs *a, MosaicError *err)
{
    return lookup(mosaic_args_get_str(a, "node"), mosaic_args_get_str(a, "name"), err);
}

static bool cmd_add(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    const char *node = mosaic_args_get_str(a, "node"), *name = mosaic_args_get_str(a, "name");
    MosaicBlkNode *n = mosaic_blk_node_find(node);
    if (!n) {
        mosaic_error_set_class(err, MOSAIC_ERRCLASS_NOT_FOUND, "no block node '%s'", node);
        return false;
    }
    if (g_str_has_prefix(name, "__")) {
        mosaic_error_set(err, "bitmap names starting with '__' are reserved for jobs");
        return false;
    }
    gint64 g = mosaic_args_has(a, "granularity") ? mosaic_args_get_int(a, "granularity") : 0;
    if (g < 0) {
        mosaic_error_set(err, "granularity must be a power of two (bytes)");
        return false;
    }
    bool persistent = mosaic_args_has(a, "persistent") && mosaic_args_get_bool(a, "persistent");
    bool disabled = mosaic_args_has(a, "disabled") && mosaic_args_get_bool(a, "disabled");
    return mosaic_blk_bitmap_add(n, name, g, persistent, disabled, err) != NULL;
}

static bool cmd_remove(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    MosaicBlkBitmap *bm = bm_arg(a, err);
    return bm && mosaic_blk_bitmap_remove(bm, err);
}

static bool cmd_clear(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    MosaicBlkBitmap *bm = bm_arg(a, err);
    return bm && mosaic_blk_bitmap_clear(bm, err);
}

static bool cmd_enable(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    MosaicBlkBitmap *bm = bm_arg(a, err);
    return bm && mosaic_blk_bitmap_enable(bm, true, err);
}

static bool cmd_disable(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    MosaicBlkBitmap *bm = bm_arg(a, err);
    return bm && mosaic_blk_bitmap_enable(bm, false, err);
}

/* bitmaps: ["name", {"node": N, "name": B}, ...]; a plain name is on `node`. */
static bool cmd_merge(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    const char *node = mosaic_args_get_str(a, "node");
    MosaicBlkBitmap *dst = mosaic_blk_bitmap_lookup(node, mosaic_args_get_str(a, "target"), err);
    if (!dst)
        return false;
    g_autofree char *text = mosaic_args_get_json(a, "bitmaps");
    g_autoptr(JsonParser) p = json_parser_new();
    if (!text || !json_parser_load_from_data(p, text, -1, NULL) ||
        !JSON_NODE_HOLDS_ARRAY(json_parser_get_root(p))) {
        mosaic_error_set(err, "'bitmaps' must be a list of names or {node, name}");
        return false;
    }
    JsonArray *arr = json_node_get_array(json_parser_get_root(p));
    guint n = json_array_get_length(arr);
    if (n > MAX_MERGE_SOURCES) {
        mosaic_error_set(err, "'bitmaps' lists %u sources, at most %u are merged at once", n,
                         MAX_MERGE_SOURCES);
        return false;
    }
    g_autoptr(GPtrArray) srcs = g_ptr_array_new();
    for (guint i = 0; i < n; i++) {
        JsonNode *el = json_array_get_element(arr, i);
        const char *sn = node, *bn = NULL;
        if (JSON_NODE_HOLDS_VALUE(el) && json_node_get_value_type(el) == G_TYPE_STRING) {
            bn = json_node_get_string(el);
        } else if (JSON_NODE_HOLDS_OBJECT(el)) {
            JsonObject *ob = json_node_get_object(el);
            sn = json_object_get_string_member_with_default(ob, "node", node);
            bn = json_object_get_string_member_with_default(ob, "name", NULL);
        }
        if (!bn) {
            mosaic_error_set(err, "bitmaps[%u]: a name or {node, name} is needed", i);
            return false;
        }
        MosaicBlkBitmap *s = mosaic_blk_bitmap_lookup(sn, bn, err);
        if (!s)
            return false;
        g_ptr_array_add(srcs, s);
    }
    return mosaic_blk_bitmap_merge(dst, (MosaicBlkBitmap *const *)srcs->pdata, srcs->len, err);
}

static void bitmap_row(MosaicJson *j, MosaicBlkNode *n, MosaicBlkBitmap *bm)
{
    mosaic_json_begin_object(j, NULL);
    mosaic_json_str(j, "node", mosaic_blk_node_label(n));
    mosaic_json_str(j, "name", mosaic_blk_bitmap_name(bm));
    mosaic_json_int(j, "granularity", mosaic_blk_bitmap_granularity(bm));
    mosaic_json_int(j, "count", mosaic_blk_bitmap_count(bm));
    mosaic_json_bool(j, "recording", mosaic_blk_bitmap_recording(bm));
    mosaic_json_bool(j, "busy", mosaic_blk_bitmap_frozen(bm));
    if (mosaic_blk_bitmap_owner(bm))
        mosaic_json_str(j, "busy-owner", mosaic_blk_bitmap_owner(bm));
    mosaic_json_bool(j, "persistent", mosaic_blk_bitmap_persistent(bm));
    mosaic_json_bool(j, "inconsistent", mosaic_blk_bitmap_inconsistent(bm));
    mosaic_json_end_object(j);
}

static bool cmd_query(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    const char *only = mosaic_args_has(a, "node") ? mosaic_args_get_str(a, "node") : NULL;
    if (only && !mosaic_blk_node_find(only)) {
        mosaic_error_set_class(err, MOSAIC_ERRCLASS_NOT_FOUND, "no block node '%s'", only);
        return false;
    }
    mosaic_json_begin_array(ret, "bitmaps");
    MosaicBlkNode *n;
    for (unsigned i = 0; (n = mosaic_blk_node_at(i)); i++) {
        if (only && strcmp(only, mosaic_blk_node_label(n)))
            continue;
        MosaicBlkBitmap *bm;
        for (unsigned k = 0; (bm = mosaic_blk_bitmap_at(n, k)); k++)
            if (!g_str_has_prefix(mosaic_blk_bitmap_name(bm), "__"))
                bitmap_row(ret, n, bm);
    }
    mosaic_json_end_array(ret);
    return true;
}

static const MosaicArgDesc add_args[] = {
    {"node", MOSAIC_ARG_STR, false, "block node"},
    {"name", MOSAIC_ARG_STR, false, "bitmap name (1..1023 bytes)"},
    {"granularity", MOSAIC_ARG_INT, true, "bytes per bit, a power of two (default 65536)"},
    {"persistent", MOSAIC_ARG_BOOL, true, "kept across restarts in IMAGE.bitmaps (default false)"},
    {"disabled", MOSAIC_ARG_BOOL, true, "start without recording (default false)"},
    {NULL},
};
static const MosaicArgDesc nb_args[] = {
    {"node", MOSAIC_ARG_STR, false, "block node"},
    {"name", MOSAIC_ARG_STR, false, "bitmap name"},
    {NULL},
};
static const MosaicArgDesc merge_args[] = {
    {"node", MOSAIC_ARG_STR, false, "block node of the target bitmap"},
    {"target", MOSAIC_ARG_STR, false, "bitmap that receives the bits"},
    {"bitmaps", MOSAIC_ARG_ANY, false, "sources: names on node, or {node, name}"},
    {NULL},
};
static const MosaicArgDesc query_args[] = {
    {"node", MOSAIC_ARG_STR, true, "only this node"},
    {NULL},
};

#define CMD(n, h, a, f, r) {.size = sizeof(MosaicCommandDesc), .name = n, .help = h, .args = a, \
                            .handler = f, .returns = r, .arg_size = sizeof(MosaicArgDesc)}
static const MosaicCommandDesc commands[] = {
    CMD("block-dirty-bitmap-add", "add a dirty bitmap to a node", add_args, cmd_add, "{}"),
    CMD("block-dirty-bitmap-remove", "remove a dirty bitmap", nb_args, cmd_remove, "{}"),
    CMD("block-dirty-bitmap-clear", "clear a dirty bitmap", nb_args, cmd_clear, "{}"),
    CMD("block-dirty-bitmap-enable", "start recording writes", nb_args, cmd_enable, "{}"),
    CMD("block-dirty-bitmap-disable", "stop recording writes", nb_args, cmd_disable, "{}"),
    CMD("block-dirty-bitmap-merge", "or bitmaps into a target bitmap (all or nothing)",
        merge_args, cmd_merge, "{}"),
    CMD("query-dirty-bitmaps", "list dirty bitmaps with their dirty byte counts", query_args,
        cmd_query, "{bitmaps: [{node, name, granularity, count, recording, busy, busy-owner?, persistent, "
        "inconsistent}]}"),
    {0},
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_MISC, .kind_abi = MOSAIC_MISC_ABI, .name = "dirty-bitmaps",
              .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "monitor commands for dirty bitmaps (block-dirty-bitmap-*, "
                             "query-dirty-bitmaps)",
              .commands = commands);
