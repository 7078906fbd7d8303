/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the files of core/monitor only. */
#ifndef MOSAIC_CORE_MONITOR_INTERNAL_H
#define MOSAIC_CORE_MONITOR_INTERNAL_H

#include "monitor/monitor.h"

struct MosaicArgs {
    JsonObject *obj; /* validated against the command's MosaicArgDesc table */
};

/* A JSON value being built: the root (object, or whatever a core handler sets) and the
 * stack of open containers. */
struct MosaicJson {
    JsonNode *root;
    GPtrArray *stack; /* JsonNode * (borrowed), stack->pdata[0] == root */
    char *event;      /* mosaic_event_begin: the event's name */
    gint64 time_us;
};

MosaicJson *monitor_json_new(void);
/* Returns the root (transfer full) and frees j. */
JsonNode *monitor_json_finish(MosaicJson *j);
void monitor_json_free(MosaicJson *j);

typedef struct MonitorCommand {
    MosaicCommandDesc desc;   /* copy, zero-filled past the plugin's size */
    const char *owner;        /* "core" or the plugin command's registration order */
    void *opaque;
    MonitorHandler *core;     /* core command (desc.handler is NULL then) */
    MosaicArgDesc *args_copy; /* a plugin's desc.args with the core's element size */
    const MosaicPluginDesc *plugin; /* declared in this descriptor: loaded on the first call */
} MonitorCommand;

const MonitorCommand *monitor_command_find(const char *name);
/* Every command sorted by name (free the array, not the elements). */
GPtrArray *monitor_command_list(void);
/* Checks `args` (may be NULL) against the command; then runs it.  Returns the reply
 * value or NULL + err. */
JsonNode *monitor_command_run(const MonitorCommand *cmd, JsonObject *args, GError **err);
const char *monitor_arg_type_name(MosaicArgType t);

/* query-schema's value. */
JsonNode *monitor_schema(void);

/* Core events and their data members, for query-schema and the docs. */
typedef struct MonitorEventDoc {
    const char *name, *help, *data;
} MonitorEventDoc;
extern const MonitorEventDoc monitor_event_docs[];

/* Event delivery to every negotiated session (main thread). */
void monitor_sessions_broadcast(const char *line, gsize len);


/* Input checks (input-check.c): a raw or escaped NUL inside the message's strings;
 * anywhere in a parsed value (depth bounded by the framing), a number that is not
 * finite or a string or member name that is not UTF-8: what is wrong, or NULL. */
gboolean monitor_text_has_nul(const char *text, gsize len);
const char *monitor_node_problem(JsonNode *n);

/* Serializes compactly, with "\r\n" as QEMU does. */
char *monitor_json_line(JsonNode *node, gsize *len);

void monitor_register_info_commands(void);

#endif
