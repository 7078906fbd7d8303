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

/* Core commands: handlers that may return any JSON value and set a GError
 * (MONITOR_ERROR with a MosaicErrorClass code for a class other than GenericError). */
typedef JsonNode *MonitorHandler(const MosaicArgs *args, GError **err);

typedef struct MonitorCommand {
    MosaicCommandDesc desc;   /* copy, zero-filled past the plugin's size */
    const char *owner;        /* "core" or the plugin command's registration order */
    void *opaque;
    MonitorHandler *core;     /* core command (desc.handler is NULL then) */
} MonitorCommand;

void monitor_register_core(const char *name, const char *help, const MosaicArgDesc *args,
                           const char *returns, MonitorHandler *handler);
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

/* A node holding `o` / `a` (transfer full: the node owns the only reference).
 * json_node_init_object() would take a second reference that nobody drops. */
static inline JsonNode *monitor_object_node(JsonObject *o)
{
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
}

static inline JsonNode *monitor_array_node(JsonArray *a)
{
    JsonNode *n = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(n, a);
    return n;
}

/* Input checks (input-check.c): a raw or escaped NUL inside the message's strings;
 * anywhere in a parsed value (depth bounded by the framing), a number that is not
 * finite or a string or member name that is not UTF-8: what is wrong, or NULL. */
gboolean monitor_text_has_nul(const char *text, gsize len);
const char *monitor_node_problem(JsonNode *n);

/* Serializes compactly, with "\r\n" as QEMU does. */
char *monitor_json_line(JsonNode *node, gsize *len);

void monitor_register_machine_commands(void);
void monitor_register_qom_commands(void);
void monitor_register_info_commands(void);

/* Set before the monitor itself asks the machine to reset or quit, so the RESET and
 * SHUTDOWN events say who asked ("host-qmp-quit"); NULL: the guest. */
extern const char *monitor_pending_reason;

#endif
