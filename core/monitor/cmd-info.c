/* query-machine (the resolved configuration) and query-plugins. */
#include <stdio.h>
#include <string.h>
#include "monitor/monitor-internal.h"
#include "monitor/glue.h"
#include "plugin/registry.h"

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
    MosaicMachine *m = glue_machine();
    MosaicConfig *cfg = m && machine_config ? machine_config(m) : NULL;
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

/* The registry prints its own JSON (--list-plugins --json); reuse it as is. */
static JsonNode *query_plugins(const MosaicArgs *a, GError **err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC, "out of memory");
        return NULL;
    }
    plugin_registry_list(f, TRUE);
    fclose(f);
    g_autofree char *owned = text;
    g_autoptr(JsonParser) p = json_parser_new();
    if (!json_parser_load_from_data(p, owned, len, err))
        return NULL;
    JsonNode *root = json_parser_get_root(p);
    if (root && JSON_NODE_HOLDS_OBJECT(root)) {
        JsonNode *plugins = json_object_get_member(json_node_get_object(root), "plugins");
        if (plugins)
            return json_node_copy(plugins);
    }
    return json_node_copy(root);
}

void monitor_register_info_commands(void)
{
    monitor_register_core("query-machine",
                          "The resolved machine configuration (defaults filled in, paths absolute), "
                          "as `mosaic --dump-config` prints it.",
                          NULL,
                          "`{\"type\": MACHINE-TYPE, \"config\": INI-TEXT, \"sections\": "
                          "[{\"kind\", \"label\", \"properties\": {KEY: VALUE}}]}`",
                          query_machine);
    monitor_register_core("query-plugins", "Every plugin found and its state, as `mosaic --list-plugins --json`.",
                          NULL,
                          "`[{\"name\", \"kind\", \"version\", \"abi\", \"path\", \"state\", \"reason\"}, ...]`",
                          query_plugins);
}
