/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Monitor commands of the block layer (QMP-style names). */
#include "block/block-internal.h"
#include <json-glib/json-glib.h>
#include "block/bitmap.h"
#include "block/job.h"

static bool fail(MosaicError *err, GError *e)
{
    mosaic_error_set(err, "%s", e->message);
    g_error_free(e);
    return false;
}

static MosaicBlkNode *node_arg(const MosaicArgs *a, const char *key, MosaicError *err)
{
    const char *label = mosaic_args_get_str(a, key);
    MosaicBlkNode *n = blk_node_find(label);
    if (!n)
        mosaic_error_set(err, "no block node '%s'", label);
    return n;
}

static bool cmd_insert_filter(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    MosaicBlkNode *f = node_arg(a, "filter", err), *n = f ? node_arg(a, "node", err) : NULL;
    GError *e = NULL;
    if (!n)
        return false;
    return blk_insert_filter(f, n, &e) || fail(err, e);
}

static bool cmd_remove_filter(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    MosaicBlkNode *f = node_arg(a, "filter", err);
    GError *e = NULL;
    if (!f)
        return false;
    return blk_remove_filter(f, &e) || fail(err, e);
}

static bool cmd_replace_child(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    MosaicBlkNode *p = node_arg(a, "parent", err), *n = p ? node_arg(a, "node", err) : NULL;
    GError *e = NULL;
    if (!n)
        return false;
    return blk_replace_child(p, mosaic_args_get_str(a, "child"), n, &e) || fail(err, e);
}

/* blockdev-add: options is a flat JSON object of the driver's keys. */
static bool cmd_blockdev_add(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    g_autoptr(GHashTable) opts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (mosaic_args_has(a, "options")) {
        char *json = mosaic_args_get_json(a, "options");
        g_autoptr(JsonParser) p = json_parser_new();
        gboolean ok = json_parser_load_from_data(p, json, -1, NULL);
        mosaic_free(json);
        JsonNode *root = ok ? json_parser_get_root(p) : NULL;
        if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
            mosaic_error_set(err, "'options' must be an object of the driver's keys");
            return false;
        }
        JsonObject *o = json_node_get_object(root);
        g_autoptr(GList) members = json_object_get_members(o);
        for (GList *l = members; l; l = l->next) {
            JsonNode *v = json_object_get_member(o, l->data);
            char *val = NULL;
            if (JSON_NODE_HOLDS_VALUE(v)) {
                GType t = json_node_get_value_type(v);
                if (t == G_TYPE_STRING)
                    val = g_strdup(json_node_get_string(v));
                else if (t == G_TYPE_BOOLEAN)
                    val = g_strdup(json_node_get_boolean(v) ? "on" : "off");
                else if (t == G_TYPE_INT64)
                    val = g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(v));
            }
            if (!val) {
                mosaic_error_set(err, "option '%s' must be a string, integer or boolean",
                                 (char *)l->data);
                return false;
            }
            g_hash_table_insert(opts, g_strdup(l->data), val);
        }
    }
    GError *e = NULL;
    return blk_node_add(mosaic_args_get_str(a, "node-name"), mosaic_args_get_str(a, "driver"),
                        opts, &e) || fail(err, e);
}

static bool cmd_blockdev_del(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    MosaicBlkNode *n = node_arg(a, "node-name", err);
    GError *e = NULL;
    if (!n)
        return false;
    return blk_node_delete(n, &e) || fail(err, e);
}

static bool cmd_query_nodes(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    g_autoptr(GPtrArray) nodes = blk_all_nodes();
    mosaic_json_begin_array(ret, "nodes");
    for (guint i = 0; i < nodes->len; i++) {
        MosaicBlkNode *n = g_ptr_array_index(nodes, i);
        mosaic_json_begin_object(ret, NULL);
        mosaic_json_str(ret, "node-name", n->label);
        mosaic_json_str(ret, "driver", n->desc->name);
        mosaic_json_int(ret, "size", n->length);
        mosaic_json_bool(ret, "read-only", n->read_only);
        if (n->filename)
            mosaic_json_str(ret, "file", n->filename);
        mosaic_json_begin_array(ret, "children");
        for (guint c = 0; c < n->children->len; c++) {
            MosaicBlkChild *ch = g_ptr_array_index(n->children, c);
            mosaic_json_begin_object(ret, NULL);
            mosaic_json_str(ret, "child", ch->name);
            mosaic_json_str(ret, "node-name", ch->node->label);
            mosaic_json_end_object(ret);
        }
        mosaic_json_end_array(ret);
        mosaic_json_begin_array(ret, "parents");
        for (guint c = 0; c < n->parents->len; c++)
            mosaic_json_str(ret, NULL, ((MosaicBlkChild *)g_ptr_array_index(n->parents, c))->parent->label);
        mosaic_json_end_array(ret);
        mosaic_json_int(ret, "users", n->users->len);
        mosaic_json_end_object(ret);
    }
    mosaic_json_end_array(ret);
    return true;
}

static const MosaicArgDesc no_args[] = {{NULL}};
static const MosaicArgDesc add_args[] = {
    {"node-name", MOSAIC_ARG_STR, false, "label of the new node"},
    {"driver", MOSAIC_ARG_STR, false, "block driver or filter (file, raw or a block plugin: --list-plugins)"},
    {"options", MOSAIC_ARG_ANY, true, "the driver's keys as in a [blockdev] section, e.g. "
     "{\"file\": \"disk0\", \"iops-total\": 500}"},
    {NULL},
};
static const MosaicArgDesc del_args[] = {{"node-name", MOSAIC_ARG_STR, false, "node to remove"},
                                         {NULL}};
static const MosaicArgDesc insert_args[] = {
    {"filter", MOSAIC_ARG_STR, false, "filter node (its first child must be `node`)"},
    {"node", MOSAIC_ARG_STR, false, "node the filter goes above"},
    {NULL},
};
static const MosaicArgDesc remove_args[] = {{"filter", MOSAIC_ARG_STR, false, "filter node"}, {NULL}};
static const MosaicArgDesc replace_args[] = {
    {"parent", MOSAIC_ARG_STR, false, "parent node"},
    {"child", MOSAIC_ARG_STR, false, "the parent's child name (its prop key, e.g. file)"},
    {"node", MOSAIC_ARG_STR, false, "the new child node"},
    {NULL},
};

#define CMD(n, h, a, f, r) {.size = sizeof(MosaicCommandDesc), .name = n, .help = h, .args = a, \
                            .handler = f, .returns = r}
static const MosaicCommandDesc cmds[] = {
    CMD("blockdev-insert-filter", "put a filter node above a node (drains first)", insert_args,
        cmd_insert_filter, "{}"),
    CMD("blockdev-remove-filter", "take a filter node out of the graph (drains first)",
        remove_args, cmd_remove_filter, "{}"),
    CMD("blockdev-replace-child", "point a node's child edge at another node (drains first)",
        replace_args, cmd_replace_child, "{}"),
    CMD("blockdev-add", "create a block node while running (validated like the machine file)",
        add_args, cmd_blockdev_add, "{}"),
    CMD("blockdev-del", "close a node nothing uses", del_args, cmd_blockdev_del, "{}"),
    CMD("query-named-block-nodes", "list the block graph", no_args, cmd_query_nodes,
        "{nodes: [{node-name, driver, size, read-only, children, parents, users}]}"),
};

void blk_monitor_register(void)
{
    static gboolean done;
    if (done)
        return;
    done = TRUE;
    for (guint i = 0; i < G_N_ELEMENTS(cmds); i++) {
        MosaicError *err = NULL;
        if (!mosaic_monitor_register(&cmds[i], NULL, err))
            g_warning("block: cannot register monitor command %s", cmds[i].name);
    }
    blk_job_monitor_register();    /* core/block/job*.c */
}
