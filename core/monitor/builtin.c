/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Core commands about the protocol itself, and registration of all core commands. */
#include "monitor/monitor-internal.h"
#include "config/config.h"

static JsonNode *empty_object(void)
{
    return monitor_object_node(json_object_new());
}

static const MosaicArgDesc caps_args[] = {
    {"enable", MOSAIC_ARG_ANY, true, "capabilities to enable (none exist; QEMU's 'oob' is refused)"},
    {NULL},
};

static JsonNode *qmp_capabilities(const MosaicArgs *a, GError **err)
{
    JsonNode *en = json_object_get_member(a->obj, "enable");
    if (en && JSON_NODE_HOLDS_ARRAY(en) && json_array_get_length(json_node_get_array(en)) > 0) {
        JsonNode *first = json_array_get_element(json_node_get_array(en), 0);
        const char *name = JSON_NODE_HOLDS_VALUE(first) &&
                                   json_node_get_value_type(first) == G_TYPE_STRING
                               ? json_node_get_string(first) : "?";
        g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC, "Capability '%s' not available", name);
        return NULL;
    }
    if (en && !JSON_NODE_HOLDS_ARRAY(en) && !JSON_NODE_HOLDS_NULL(en)) {
        g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC,
                    "Invalid parameter type for 'enable', expected: array");
        return NULL;
    }
    return empty_object();
}

static JsonNode *query_version(const MosaicArgs *a, GError **err)
{
    unsigned v[3] = {0, 0, 0};
    sscanf(MOSAIC_VERSION, "%u.%u.%u", &v[0], &v[1], &v[2]);
    JsonObject *q = json_object_new();
    json_object_set_int_member(q, "major", v[0]);
    json_object_set_int_member(q, "minor", v[1]);
    json_object_set_int_member(q, "micro", v[2]);
    JsonObject *o = json_object_new();
    json_object_set_object_member(o, "qemu", q);
    json_object_set_string_member(o, "package", "mosaic-" MOSAIC_VERSION);
    json_object_set_string_member(o, "abi", G_STRINGIFY(MOSAIC_ABI_MAJOR) "." G_STRINGIFY(MOSAIC_ABI_MINOR));
    return monitor_object_node(o);
}

static JsonNode *query_commands(const MosaicArgs *a, GError **err)
{
    JsonArray *arr = json_array_new();
    g_autoptr(GPtrArray) list = monitor_command_list();
    for (guint i = 0; i < list->len; i++) {
        const MonitorCommand *c = list->pdata[i];
        JsonObject *o = json_object_new();
        json_object_set_string_member(o, "name", c->desc.name);
        json_array_add_object_element(arr, o);
    }
    return monitor_array_node(arr);
}

static JsonNode *query_schema(const MosaicArgs *a, GError **err)
{
    return monitor_schema();
}

static const MosaicPropDesc monitor_section_props[] = {
    {"socket", MOSAIC_PROP_PATH, NULL, "UNIX socket to listen on (QMP)"},
    {"tcp", MOSAIC_PROP_STRING, NULL, "instead of socket: 127.0.0.1:PORT (loopback only)"},
    {"wait", MOSAIC_PROP_BOOL, "false", "wait for a client to connect before the machine starts"},
    {NULL},
};

void monitor_register_builtins(void)
{
    static gboolean done;
    if (done)
        return;
    done = TRUE;
    config_register_section("monitor", NULL, 0, monitor_section_props, FALSE);
    monitor_register_core("qmp_capabilities",
                          "Leave capabilities negotiation; must be the first command of a session.",
                          caps_args, NULL, qmp_capabilities);
    monitor_register_core("query-version", "Version of the emulator (QEMU's layout, Mosaic's numbers).",
                          NULL, "`{\"qemu\": {\"major\", \"minor\", \"micro\"}, \"package\", \"abi\"}`",
                          query_version);
    monitor_register_core("query-commands", "Every command this monitor accepts, plugins' included.",
                          NULL, "`[{\"name\": NAME}, ...]`", query_commands);
    monitor_register_core("query-schema",
                          "Introspection: every command with its arguments (name, type, optional, "
                          "help) and every core event.",
                          NULL,
                          "`[{\"name\", \"meta-type\": \"command\", \"help\", \"returns\", "
                          "\"arguments\": [{\"name\", \"type\", \"optional\", \"help\"}]}, "
                          "{\"name\", \"meta-type\": \"event\", \"help\", \"data\"}, ...]`",
                          query_schema);
    monitor_register_info_commands();
}
