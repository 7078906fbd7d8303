/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Commands run by plugins (mosaic_monitor_execute): the same table, argument checks,
 * lazy plugin loading and policy as for a client, without a session. */
#include "monitor/monitor-internal.h"
#include "plugin/error.h"

MOSAIC_API char *mosaic_monitor_execute(const char *command, const char *args_json,
                                        MosaicError *err)
{
    const MonitorCommand *cmd = monitor_command_find(command);
    if (!cmd) {
        mosaic_error_set(err, "no monitor command '%s' (is the plugin that provides it installed "
                         "and allowed? see mosaic --list-commands)", command ? command : "(null)");
        return NULL;
    }
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) e = NULL;
    JsonObject *args = NULL;
    if (args_json) {
        if (!json_parser_load_from_data(parser, args_json, -1, &e)) {
            mosaic_error_set(err, "%s: arguments are not JSON: %s", command, e->message);
            return NULL;
        }
        JsonNode *root = json_parser_get_root(parser);
        if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
            mosaic_error_set(err, "%s: arguments must be a JSON object", command);
            return NULL;
        }
        args = json_node_get_object(root);
    }
    g_autoptr(JsonNode) ret = monitor_command_run(cmd, args, &e);
    if (!ret) {
        mosaic_error_set(err, "%s", e->message);
        return NULL;
    }
    return json_to_string(ret, FALSE);
}
