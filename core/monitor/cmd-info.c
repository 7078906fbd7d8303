/* SPDX-License-Identifier: GPL-2.0-or-later */
/* query-plugins (query-machine is the machine's: core/machine/cmd-config.c). */
#include <stdio.h>
#include <string.h>
#include "monitor/monitor-internal.h"
#include "plugin/registry.h"

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
    monitor_register_core("query-plugins", "Every plugin found and its state, as `mosaic --list-plugins --json`.",
                          NULL,
                          "`[{\"name\", \"kind\", \"version\", \"abi\", \"path\", \"state\", \"reason\"}, ...]`",
                          query_plugins);
}
