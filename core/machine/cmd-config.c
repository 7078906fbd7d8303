/* SPDX-License-Identifier: GPL-2.0-or-later */
/* query-machine: the resolved configuration of the running machine. */
#include <string.h>
#include "machine/machine.h"
#include "monitor/monitor.h"

/* config_dump's INI text as sections: [{kind, label, properties: {key: value}}].  The
 * dump is canonical (one "key = value" per line, no continuations). */
static JsonArray *sections_of(const char *ini)
{
    JsonArray *arr = json_array_new();
    JsonObject *props = NULL;
    g_auto(GStrv) lines = g_strsplit(ini, "\n", -1);
    for (char **l = lines; *l; l++) {
        char *line = g_strstrip(*l);
        if (!*line || *line == ';' || *line == '#')
            continue;
        if (*line == '[') {
            char *end = strchr(line, ']');
            if (end)
                *end = '\0';
            g_auto(GStrv) kl = g_strsplit(line + 1, " ", 2);
            JsonObject *sec = json_object_new();
            json_object_set_string_member(sec, "kind", kl[0] ? kl[0] : "");
            if (kl[0] && kl[1])
                json_object_set_string_member(sec, "label", g_strstrip(kl[1]));
            else
                json_object_set_null_member(sec, "label");
            props = json_object_new();
            json_object_set_object_member(sec, "properties", props);
            json_array_add_object_element(arr, sec);
            continue;
        }
        char *eq = strchr(line, '=');
        if (!eq || !props)
            continue;
        *eq = '\0';
        json_object_set_string_member(props, g_strstrip(line), g_strstrip(eq + 1));
    }
    return arr;
}

static JsonNode *query_machine(const MosaicArgs *a, GError **err)
{
    MosaicMachine *m = machine_current();
    MosaicConfig *cfg = m ? machine_config(m) : NULL;
    g_autofree char *ini = cfg ? config_dump(cfg) : NULL;
    if (!ini) {
        g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_BAD_STATE, "no machine is running");
        return NULL;
    }
    JsonObject *o = json_object_new();
    const MosaicProps *mp = config_find(cfg, "machine", NULL);
    const char *type = mp ? mosaic_props_get_str(mp, "type") : NULL;
    if (type)
        json_object_set_string_member(o, "type", type);
    json_object_set_string_member(o, "config", ini);
    json_object_set_array_member(o, "sections", sections_of(ini));
    return monitor_object_node(o);
}

void machine_register_config_commands(void)
{
    monitor_register_core("query-machine",
                          "The resolved machine configuration (defaults filled in, paths absolute), "
                          "as `mosaic --dump-config` prints it.",
                          NULL,
                          "`{\"type\": MACHINE-TYPE, \"config\": INI-TEXT, \"sections\": "
                          "[{\"kind\", \"label\", \"properties\": {KEY: VALUE}}]}`",
                          query_machine);
}
