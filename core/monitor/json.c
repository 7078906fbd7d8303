/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Building JSON values for replies and events (the SDK's mosaic_json_*), and reading
 * validated command arguments (mosaic_args_*). */
#include "monitor/monitor-internal.h"

MosaicJson *monitor_json_new(void)
{
    MosaicJson *j = g_new0(MosaicJson, 1);
    j->root = monitor_object_node(json_object_new());
    j->stack = g_ptr_array_new();
    g_ptr_array_add(j->stack, j->root);
    return j;
}

void monitor_json_free(MosaicJson *j)
{
    if (!j)
        return;
    if (j->root)
        json_node_unref(j->root);
    g_ptr_array_free(j->stack, TRUE);
    g_free(j->event);
    g_free(j);
}

JsonNode *monitor_json_finish(MosaicJson *j)
{
    JsonNode *root = j->root;
    j->root = NULL;
    monitor_json_free(j);
    return root;
}

/* Adds `node` (transfer full) to the innermost open container. */
static void add(MosaicJson *j, const char *name, JsonNode *node)
{
    if (!j) {
        json_node_unref(node);
        return;
    }
    JsonNode *top = g_ptr_array_index(j->stack, j->stack->len - 1);
    if (JSON_NODE_HOLDS_ARRAY(top)) {
        json_array_add_element(json_node_get_array(top), node);
    } else if (name) {
        json_object_set_member(json_node_get_object(top), name, node);
    } else {
        g_warning("mosaic_json_*: a member without a name inside an object (ignored)");
        json_node_unref(node);
    }
}

MOSAIC_API void mosaic_json_str(MosaicJson *j, const char *name, const char *value)
{
    JsonNode *n = json_node_alloc();
    if (value)
        json_node_init_string(n, value);
    else
        json_node_init_null(n);
    add(j, name, n);
}

MOSAIC_API void mosaic_json_int(MosaicJson *j, const char *name, int64_t value)
{
    add(j, name, json_node_init_int(json_node_alloc(), value));
}

MOSAIC_API void mosaic_json_bool(MosaicJson *j, const char *name, bool value)
{
    add(j, name, json_node_init_boolean(json_node_alloc(), value));
}

MOSAIC_API void mosaic_json_number(MosaicJson *j, const char *name, double value)
{
    add(j, name, json_node_init_double(json_node_alloc(), value));
}

static void begin(MosaicJson *j, const char *name, JsonNode *n)
{
    if (!j) {
        json_node_unref(n);
        return;
    }
    add(j, name, n);
    g_ptr_array_add(j->stack, n); /* owned by its parent now */
}

MOSAIC_API void mosaic_json_begin_object(MosaicJson *j, const char *name)
{
    begin(j, name, monitor_object_node(json_object_new()));
}

MOSAIC_API void mosaic_json_begin_array(MosaicJson *j, const char *name)
{
    begin(j, name, monitor_array_node(json_array_new()));
}

static void end(MosaicJson *j)
{
    /* The root stays open: an unbalanced end is a plugin bug we survive. */
    if (j && j->stack->len > 1)
        g_ptr_array_set_size(j->stack, j->stack->len - 1);
}

MOSAIC_API void mosaic_json_end_object(MosaicJson *j) { end(j); }
MOSAIC_API void mosaic_json_end_array(MosaicJson *j) { end(j); }

/* ---- arguments ---- */

static JsonNode *arg(const MosaicArgs *a, const char *name)
{
    if (!a || !a->obj || !name)
        return NULL;
    JsonNode *n = json_object_get_member(a->obj, name);
    return n && !JSON_NODE_HOLDS_NULL(n) ? n : NULL;
}

MOSAIC_API bool mosaic_args_has(const MosaicArgs *a, const char *name)
{
    return arg(a, name) != NULL;
}

MOSAIC_API const char *mosaic_args_get_str(const MosaicArgs *a, const char *name)
{
    JsonNode *n = arg(a, name);
    return n && json_node_get_value_type(n) == G_TYPE_STRING ? json_node_get_string(n) : NULL;
}

MOSAIC_API int64_t mosaic_args_get_int(const MosaicArgs *a, const char *name)
{
    JsonNode *n = arg(a, name);
    if (!n || !JSON_NODE_HOLDS_VALUE(n))
        return 0;
    if (json_node_get_value_type(n) == G_TYPE_DOUBLE)
        return (int64_t)json_node_get_double(n);
    return json_node_get_value_type(n) == G_TYPE_INT64 ? json_node_get_int(n) : 0;
}

MOSAIC_API bool mosaic_args_get_bool(const MosaicArgs *a, const char *name)
{
    JsonNode *n = arg(a, name);
    return n && json_node_get_value_type(n) == G_TYPE_BOOLEAN && json_node_get_boolean(n);
}

MOSAIC_API double mosaic_args_get_number(const MosaicArgs *a, const char *name)
{
    JsonNode *n = arg(a, name);
    if (!n || !JSON_NODE_HOLDS_VALUE(n))
        return 0;
    if (json_node_get_value_type(n) == G_TYPE_INT64)
        return (double)json_node_get_int(n);
    return json_node_get_value_type(n) == G_TYPE_DOUBLE ? json_node_get_double(n) : 0;
}

MOSAIC_API char *mosaic_args_get_json(const MosaicArgs *a, const char *name)
{
    JsonNode *n = a && a->obj && name ? json_object_get_member(a->obj, name) : NULL;
    return n ? json_to_string(n, FALSE) : NULL;
}

JsonNode *monitor_args_member(const MosaicArgs *a, const char *name)
{
    return a && a->obj && name ? json_object_get_member(a->obj, name) : NULL;
}

MOSAIC_API void mosaic_free(void *p)
{
    g_free(p);
}
