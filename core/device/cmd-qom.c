/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qom-list / qom-get / qom-set: the devices of the machine file and their properties.
 * Paths: "/", "/machine", "/machine/peripheral", "/machine/peripheral/LABEL" (or just
 * LABEL).  Only keys the device plugin declares MOSAIC_PROP_RUNTIME can be set, through
 * its MosaicDeviceOps.set_prop; values read back are the last ones set, else the
 * machine file's (or the default). */
#include <stddef.h>
#include <string.h>
#include "device/device-internal.h"
#include "monitor/monitor.h"
#include "plugin/error.h"
#include "plugin/registry.h"

#define PERIPHERAL "/machine/peripheral"

static GHashTable *overrides; /* "LABEL/KEY" -> value set by qom-set */

static MosaicDevice *find_device(const char *path, GError **err)
{
    const char *label = g_str_has_prefix(path, PERIPHERAL "/") ? path + strlen(PERIPHERAL "/") : path;
    MosaicDevice *d = machine_current() ? device_find(machine_current(), label) : NULL;
    if (d)
        return d;
    g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_NOT_FOUND, "Device '%s' not found", path);
    return NULL;
}

static const MosaicPluginDesc *device_desc(MosaicDevice *d)
{
    const char *type = mosaic_device_type(d);
    return type ? plugin_registry_find(MOSAIC_KIND_DEVICE, type, NULL) : NULL;
}

static const MosaicPropDesc *find_prop(MosaicDevice *d, const char *key, GError **err)
{
    const MosaicPluginDesc *desc = device_desc(d);
    for (const MosaicPropDesc *p = desc ? desc->props : NULL; p && p->key; p++)
        if (g_str_equal(p->key, key))
            return p;
    g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC, "Property '%s' not found on device '%s'",
                key, mosaic_device_label(d));
    return NULL;
}

static const char *type_name(MosaicPropType t)
{
    static const char *names[] = {"", "bool", "int", "uint64", "size", "rate", "str", "enum", "link", "path"};
    return t > 0 && t < G_N_ELEMENTS(names) ? names[t] : "str";
}

static const MosaicArgDesc list_args[] = {
    {"path", MOSAIC_ARG_STR, false, "\"/\", \"/machine\", \"/machine/peripheral\" or a device's path or label"},
    {NULL},
};

static void add_entry(JsonArray *arr, const char *name, const char *type)
{
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "name", name);
    json_object_set_string_member(o, "type", type);
    json_array_add_object_element(arr, o);
}

static JsonNode *qom_list(const MosaicArgs *a, GError **err)
{
    const char *path = mosaic_args_get_str(a, "path");
    JsonArray *arr = json_array_new();
    JsonNode *ret = monitor_array_node(arr);
    if (g_str_equal(path, "/")) {
        add_entry(arr, "machine", "child<machine>");
    } else if (g_str_equal(path, "/machine")) {
        add_entry(arr, "peripheral", "child<container>");
    } else if (g_str_equal(path, PERIPHERAL)) {
        MosaicMachine *m = machine_current();
        unsigned n = m ? mosaic_machine_device_count(m) : 0;
        for (unsigned i = 0; i < n; i++) {
            MosaicDevice *d = mosaic_machine_device(m, i);
            if (d->board)
                continue; /* the board's own (its UART): not a peripheral */
            g_autofree char *t = g_strdup_printf("child<%s>", mosaic_device_type(d));
            add_entry(arr, mosaic_device_label(d), t);
        }
    } else {
        MosaicDevice *d = find_device(path, err);
        if (!d) {
            json_node_unref(ret);
            return NULL;
        }
        add_entry(arr, "type", "string");
        const MosaicPluginDesc *desc = device_desc(d);
        for (const MosaicPropDesc *p = desc ? desc->props : NULL; p && p->key; p++) {
            JsonObject *o = json_object_new();
            json_object_set_string_member(o, "name", p->key);
            json_object_set_string_member(o, "type", type_name(p->type));
            if (p->help)
                json_object_set_string_member(o, "description", p->help);
            json_object_set_boolean_member(o, "runtime", (p->flags & MOSAIC_PROP_RUNTIME) != 0);
            json_array_add_object_element(arr, o);
        }
    }
    return ret;
}

static const MosaicArgDesc get_args[] = {
    {"path", MOSAIC_ARG_STR, false, "the device's path or label"},
    {"property", MOSAIC_ARG_STR, false, "property name (qom-list shows them)"},
    {NULL},
};

static JsonNode *typed(MosaicPropType t, const char *v)
{
    JsonNode *n = json_node_alloc();
    if (!v)
        return json_node_init_null(n);
    char *end = NULL;
    switch (t) {
    case MOSAIC_PROP_BOOL:
        return json_node_init_boolean(n, g_str_equal(v, "true") || g_str_equal(v, "on") ||
                                             g_str_equal(v, "yes") || g_str_equal(v, "1"));
    case MOSAIC_PROP_INT: {
        gint64 x = g_ascii_strtoll(v, &end, 0);
        return end && !*end ? json_node_init_int(n, x) : json_node_init_string(n, v);
    }
    default:
        return json_node_init_string(n, v);
    }
}

static JsonNode *qom_get(const MosaicArgs *a, GError **err)
{
    const char *path = mosaic_args_get_str(a, "path"), *key = mosaic_args_get_str(a, "property");
    MosaicDevice *d = find_device(path, err);
    if (!d)
        return NULL;
    if (g_str_equal(key, "type"))
        return json_node_init_string(json_node_alloc(), mosaic_device_type(d));
    const MosaicPropDesc *p = find_prop(d, key, err);
    if (!p)
        return NULL;
    g_autofree char *ok = g_strdup_printf("%s/%s", mosaic_device_label(d), key);
    const char *v = overrides ? g_hash_table_lookup(overrides, ok) : NULL;
    if (v)
        return typed(p->type, v);
    MosaicMachine *m = machine_current();
    MosaicConfig *cfg = m ? machine_config(m) : NULL;
    const MosaicProps *props = cfg ? config_find(cfg, "device", mosaic_device_label(d)) : NULL;
    JsonNode *n = json_node_alloc();
    if (!props || !mosaic_props_has(props, key))
        return json_node_init_null(n);
    switch (p->type) {
    case MOSAIC_PROP_BOOL: return json_node_init_boolean(n, mosaic_props_get_bool(props, key));
    case MOSAIC_PROP_INT: return json_node_init_int(n, mosaic_props_get_int(props, key));
    case MOSAIC_PROP_UINT: case MOSAIC_PROP_SIZE: case MOSAIC_PROP_RATE:
        return json_node_init_int(n, (gint64)mosaic_props_get_uint(props, key));
    default: return json_node_init_string(n, mosaic_props_get_str(props, key));
    }
}

static const MosaicArgDesc set_args[] = {
    {"path", MOSAIC_ARG_STR, false, "the device's path or label"},
    {"property", MOSAIC_ARG_STR, false, "a property declared MOSAIC_PROP_RUNTIME"},
    {"value", MOSAIC_ARG_ANY, false, "new value: bool, integer or string (\"10M\" for sizes)"},
    {NULL},
};

/* The value as the text a machine file would hold, checked against the prop's type. */
static char *value_text(const MosaicPropDesc *p, JsonNode *v, GError **err)
{
    GType vt = JSON_NODE_HOLDS_VALUE(v) ? json_node_get_value_type(v) : G_TYPE_INVALID;
    gboolean numeric = p->type == MOSAIC_PROP_INT || p->type == MOSAIC_PROP_UINT ||
                       p->type == MOSAIC_PROP_SIZE || p->type == MOSAIC_PROP_RATE;
    if (p->type == MOSAIC_PROP_BOOL && vt == G_TYPE_BOOLEAN)
        return g_strdup(json_node_get_boolean(v) ? "true" : "false");
    if (numeric && vt == G_TYPE_INT64) {
        gint64 x = json_node_get_int(v);
        if (p->min < p->max && (x < p->min || x > p->max)) {
            g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC,
                        "Property '%s' must be in [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]",
                        p->key, p->min, p->max);
            return NULL;
        }
        if (x < 0 && p->type != MOSAIC_PROP_INT) {
            g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC, "Property '%s' cannot be negative", p->key);
            return NULL;
        }
        return g_strdup_printf("%" G_GINT64_FORMAT, x);
    }
    if (vt == G_TYPE_STRING && p->type != MOSAIC_PROP_BOOL && p->type != MOSAIC_PROP_INT) {
        const char *s = json_node_get_string(v);
        if (p->type == MOSAIC_PROP_ENUM && p->choices) {
            g_auto(GStrv) c = g_strsplit(p->choices, "|", -1);
            if (!g_strv_contains((const char *const *)c, s)) {
                g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC,
                            "Property '%s' must be one of %s", p->key, p->choices);
                return NULL;
            }
        }
        return g_strdup(s); /* sizes with suffixes: the device parses them */
    }
    g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC,
                "Invalid value type for property '%s', expected: %s", p->key, type_name(p->type));
    return NULL;
}

static JsonNode *qom_set(const MosaicArgs *a, GError **err)
{
    const char *path = mosaic_args_get_str(a, "path"), *key = mosaic_args_get_str(a, "property");
    MosaicDevice *d = find_device(path, err);
    if (!d)
        return NULL;
    const MosaicPropDesc *p = find_prop(d, key, err);
    if (!p)
        return NULL;
    const char *label = mosaic_device_label(d);
    if (!(p->flags & MOSAIC_PROP_RUNTIME)) {
        g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC,
                    "Property '%s' of device '%s' cannot be changed while running (set it in the "
                    "machine file)", key, label);
        return NULL;
    }
    const MosaicPluginDesc *desc = device_desc(d);
    const MosaicDeviceOps *ops = desc ? desc->ops : NULL;
    const size_t need = offsetof(MosaicDeviceOps, set_prop) + sizeof(ops->set_prop);
    if (!ops || ops->size < need || !ops->set_prop) {
        g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC,
                    "device type '%s' does not support changing properties while running", desc ? desc->name : "?");
        return NULL;
    }
    g_autofree char *text = value_text(p, monitor_args_member(a, "value"), err);
    if (!text)
        return NULL;
    if (!device_set_prop(d, key, text, err))
        return NULL;
    if (!overrides)
        overrides = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_hash_table_insert(overrides, g_strdup_printf("%s/%s", label, key), g_steal_pointer(&text));
    return monitor_object_node(json_object_new());
}

static const MosaicArgDesc del_args[] = {
    {"id", MOSAIC_ARG_STR, false, "the device's label (or path)"},
    {NULL},
};

static JsonNode *device_del(const MosaicArgs *a, GError **err)
{
    MosaicDevice *d = find_device(mosaic_args_get_str(a, "id"), err);
    if (!d)
        return NULL;
    g_autofree char *label = g_strdup(mosaic_device_label(d));
    gboolean pending;
    if (!device_unplug(d, &pending, err))
        return NULL;
    if (!pending)
        device_deleted_event(label); /* else once the guest released it */
    return monitor_object_node(json_object_new());
}

void device_deleted_event(const char *label)
{
    if (overrides) {
        g_autofree char *prefix = g_strdup_printf("%s/", label);
        GHashTableIter it;
        gpointer k;
        g_hash_table_iter_init(&it, overrides);
        while (g_hash_table_iter_next(&it, &k, NULL))
            if (g_str_has_prefix(k, prefix))
                g_hash_table_iter_remove(&it);
    }
    JsonObject *data = json_object_new();
    json_object_set_string_member(data, "device", label);
    g_autofree char *path = g_strdup_printf(PERIPHERAL "/%s", label);
    json_object_set_string_member(data, "path", path);
    monitor_emit_event("DEVICE_DELETED", data);
}

void device_register_commands(void)
{
    device_register_add_command();
    monitor_register_core("device_del",
                          "Unplug a device (if its bus and the device allow it); event "
                          "DEVICE_DELETED once it is gone: for a PCI device in a hot-plug "
                          "slot, once the guest has released it.",
                          del_args, NULL, device_del);
    monitor_register_core("qom-list", "Children of a path, or the properties of a device.", list_args,
                          "`[{\"name\", \"type\", \"description\", \"runtime\": bool}, ...]`", qom_list);
    monitor_register_core("qom-get", "Current value of a device property.", get_args,
                          "the value (bool, integer, string or null when unset)", qom_get);
    monitor_register_core("qom-set",
                          "Change a device property declared MOSAIC_PROP_RUNTIME (the device's "
                          "set_prop decides whether the value is acceptable).",
                          set_args, NULL, qom_set);
}
