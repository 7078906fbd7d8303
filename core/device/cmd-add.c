/* SPDX-License-Identifier: GPL-2.0-or-later */
/* device_add: a device hot-plugged while the machine runs, described like a [device]
 * section (type, label, bus, addr and the type's keys) and validated the same way.
 * Only PCI devices on a bus with a hot-plug controller (a root port, a bridge with SHPC)
 * can be added; the section is built with the configuration builder, never as text. */
#include <string.h>
#include "device/device-internal.h"
#include "monitor/monitor.h"
#include "block/block-internal.h"

static const MosaicArgDesc add_args[] = {
    {"driver", MOSAIC_ARG_STR, false, "device type: a device plugin's name (mosaic --list-plugins)"},
    {"id", MOSAIC_ARG_STR, false, "the new device's label"},
    {"bus", MOSAIC_ARG_STR, true, "label of the root port or bridge it plugs into"},
    {"addr", MOSAIC_ARG_INT, true, "slot number on that bus (default: the first free one)"},
    {"options", MOSAIC_ARG_ANY, true, "the type's keys as in a [device] section, e.g. "
     "{\"drive\": \"disk1\"}"},
    {NULL},
};

static gboolean is_word(const char *s)
{
    if (!s || !*s || strlen(s) > 48)
        return FALSE;
    for (; *s; s++)
        if (!g_ascii_isalnum(*s) && *s != '-' && *s != '_' && *s != '.')
            return FALSE;
    return TRUE;
}

static char *scalar(JsonNode *v)
{
    if (!v || !JSON_NODE_HOLDS_VALUE(v))
        return NULL;
    GType t = json_node_get_value_type(v);
    if (t == G_TYPE_STRING) {
        const char *s = json_node_get_string(v);
        for (const char *p = s; *p; p++)
            if ((guchar)*p < 0x20 || *p == 0x7f)
                return NULL;
        return strlen(s) <= CONFIG_MAX_VALUE_CHARS ? g_strdup(s) : NULL;
    }
    if (t == G_TYPE_BOOLEAN)
        return g_strdup(json_node_get_boolean(v) ? "on" : "off");
    if (t == G_TYPE_INT64)
        return g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(v));
    return NULL;
}

static JsonNode *device_add(const MosaicArgs *a, GError **err)
{
    MosaicMachine *m = machine_current();
    const char *type = mosaic_args_get_str(a, "driver"), *label = mosaic_args_get_str(a, "id");
    if (!m) {
        g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC, "no machine");
        return NULL;
    }
    if (!is_word(type) || !is_word(label)) {
        g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC,
                    "driver and id must be words of letters, digits, '-', '_' and '.'");
        return NULL;
    }
    MosaicConfig *cfg = blk_node_config_new("device_add", NULL);
    ConfigSection *s = config_section_get(cfg, "device", label, NULL, NULL);
    config_section_set(s, "type", type, NULL, NULL);
    if (mosaic_args_has(a, "bus"))
        config_section_set(s, "bus", mosaic_args_get_str(a, "bus"), NULL, NULL);
    if (mosaic_args_has(a, "addr")) {
        int64_t addr = mosaic_args_get_int(a, "addr");
        if (addr < 0 || addr > 31) {
            g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC, "addr must be a slot 0-31");
            config_free(cfg);
            return NULL;
        }
        config_section_set_uint(s, "addr", addr);
    }
    JsonNode *opts = monitor_args_member(a, "options");
    if (opts) {
        if (!JSON_NODE_HOLDS_OBJECT(opts)) {
            g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC,
                        "'options' must be an object of the type's keys");
            config_free(cfg);
            return NULL;
        }
        JsonObject *o = json_node_get_object(opts);
        g_autoptr(GList) members = json_object_get_members(o);
        for (GList *l = members; l; l = l->next) {
            g_autofree char *v = scalar(json_object_get_member(o, l->data));
            if (!is_word(l->data) || !v || !strcmp(l->data, "type")) {
                g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC,
                            "option '%s' must be a key of the type with a string, integer or "
                            "boolean value", (char *)l->data);
                config_free(cfg);
                return NULL;
            }
            config_section_set(s, l->data, v, NULL, NULL);
        }
    }
    if (!config_validate(cfg, err)) {
        config_free(cfg);
        return NULL;
    }
    if (!device_hotplug(m, cfg, label, err))
        return NULL;
    return monitor_object_node(json_object_new());
}

void device_register_add_command(void)
{
    monitor_register_core("device_add",
                          "Hot-plug a device into a root port or a bridge with a hot-plug "
                          "controller, described like a [device] section; refused with the "
                          "reason when the slot cannot take it.",
                          add_args, NULL, device_add);
}
