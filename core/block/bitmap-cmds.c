/* Monitor commands for dirty bitmaps (QMP names and arguments as QEMU's):
 * block-dirty-bitmap-add/-remove/-clear/-enable/-disable/-merge, query-dirty-bitmaps. */
#include <string.h>
#include <json-glib/json-glib.h>

#include "block/block-internal.h"
#include "block/bitmap.h"

static bool fail(MosaicError *err, GError *e)
{
    mosaic_error_set(err, "%s", e->message);
    g_error_free(e);
    return false;
}

static BlkBitmap *bm_arg(const MosaicArgs *a, MosaicError *err)
{
    GError *e = NULL;
    BlkBitmap *bm = blk_bitmap_lookup(mosaic_args_get_str(a, "node"),
                                      mosaic_args_get_str(a, "name"), &e);
    if (!bm) {
        mosaic_error_set_class(err, MOSAIC_ERRCLASS_NOT_FOUND, "%s", e->message);
        g_error_free(e);
    }
    return bm;
}

static bool cmd_add(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    const char *node = mosaic_args_get_str(a, "node"), *name = mosaic_args_get_str(a, "name");
    MosaicBlkNode *n = blk_node_find(node);
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
    GError *e = NULL;
    gboolean persistent = mosaic_args_has(a, "persistent") && mosaic_args_get_bool(a, "persistent");
    gboolean disabled = mosaic_args_has(a, "disabled") && mosaic_args_get_bool(a, "disabled");
    return blk_bitmap_add(n, name, g, persistent, disabled, &e) || fail(err, e);
}

static bool cmd_remove(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    BlkBitmap *bm = bm_arg(a, err);
    GError *e = NULL;
    return bm && (blk_bitmap_remove(bm, &e) || fail(err, e));
}

static bool cmd_clear(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    BlkBitmap *bm = bm_arg(a, err);
    GError *e = NULL;
    return bm && (blk_bitmap_clear(bm, &e) || fail(err, e));
}

static bool cmd_enable(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    BlkBitmap *bm = bm_arg(a, err);
    GError *e = NULL;
    return bm && (blk_bitmap_enable(bm, TRUE, &e) || fail(err, e));
}

static bool cmd_disable(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    BlkBitmap *bm = bm_arg(a, err);
    GError *e = NULL;
    return bm && (blk_bitmap_enable(bm, FALSE, &e) || fail(err, e));
}

/* bitmaps: ["name", {"node": N, "name": B}, ...]; a plain name is on `node`. */
static bool cmd_merge(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    const char *node = mosaic_args_get_str(a, "node");
    GError *e = NULL;
    BlkBitmap *dst = blk_bitmap_lookup(node, mosaic_args_get_str(a, "target"), &e);
    if (!dst)
        return fail(err, e);
    g_autofree char *text = mosaic_args_get_json(a, "bitmaps");
    g_autoptr(JsonParser) p = json_parser_new();
    if (!text || !json_parser_load_from_data(p, text, -1, NULL) ||
        !JSON_NODE_HOLDS_ARRAY(json_parser_get_root(p))) {
        mosaic_error_set(err, "'bitmaps' must be a list of names or {node, name}");
        return false;
    }
    JsonArray *arr = json_node_get_array(json_parser_get_root(p));
    g_autoptr(GPtrArray) srcs = g_ptr_array_new();
    for (guint i = 0; i < json_array_get_length(arr); i++) {
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
        BlkBitmap *s = blk_bitmap_lookup(sn, bn, &e);
        if (!s)
            return fail(err, e);
        g_ptr_array_add(srcs, s);
    }
    return blk_bitmap_merge(dst, srcs, &e) || fail(err, e);
}

static void bitmap_row(MosaicJson *j, MosaicBlkNode *n, BlkBitmap *bm)
{
    mosaic_json_begin_object(j, NULL);
    mosaic_json_str(j, "node", n->label);
    mosaic_json_str(j, "name", blk_bitmap_name(bm));
    mosaic_json_int(j, "granularity", mosaic_blk_bitmap_granularity(bm));
    mosaic_json_int(j, "count", mosaic_blk_bitmap_count(bm));
    mosaic_json_bool(j, "recording", blk_bitmap_enabled(bm));
    mosaic_json_bool(j, "busy", blk_bitmap_busy(bm));
    if (blk_bitmap_owner(bm))
        mosaic_json_str(j, "busy-owner", blk_bitmap_owner(bm));
    mosaic_json_bool(j, "persistent", blk_bitmap_persistent(bm));
    mosaic_json_bool(j, "inconsistent", blk_bitmap_inconsistent(bm));
    mosaic_json_end_object(j);
}

static bool cmd_query(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    const char *only = mosaic_args_has(a, "node") ? mosaic_args_get_str(a, "node") : NULL;
    if (only && !blk_node_find(only)) {
        mosaic_error_set_class(err, MOSAIC_ERRCLASS_NOT_FOUND, "no block node '%s'", only);
        return false;
    }
    g_autoptr(GPtrArray) nodes = blk_all_nodes();
    mosaic_json_begin_array(ret, "bitmaps");
    for (guint i = 0; i < nodes->len; i++) {
        MosaicBlkNode *n = g_ptr_array_index(nodes, i);
        if (only && strcmp(only, n->label))
            continue;
        g_autoptr(GPtrArray) bms = blk_node_bitmaps(n);
        for (guint k = 0; k < bms->len; k++) {
            BlkBitmap *bm = g_ptr_array_index(bms, k);
            if (!g_str_has_prefix(blk_bitmap_name(bm), "__"))
                bitmap_row(ret, n, bm);
        }
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
                            .handler = f, .returns = r}
static const MosaicCommandDesc cmds[] = {
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
};

void blk_bitmap_monitor_register(void)
{
    for (guint i = 0; i < G_N_ELEMENTS(cmds); i++)
        if (!mosaic_monitor_register(&cmds[i], NULL, NULL))
            g_warning("block: cannot register monitor command %s", cmds[i].name);
}
