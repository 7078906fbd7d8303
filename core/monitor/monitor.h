/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Control protocol server (internal API of the core; the SDK part, used by plugins, is
 * sdk/include/mosaic/monitor.h).  QMP-compatible JSON over UNIX (or loopback TCP)
 * sockets, served on the main loop (loop_context()); see docs/commands.md.
 *
 * Start-up order, as core/cli/startup.c does it:
 *   monitor_register_builtins()              before config_validate (registers the
 *                                            [monitor LABEL] section and core commands)
 *   monitor_start(qmp_specs, cfg, &err)      once the machine exists (opens the sockets
 *                                            and waits for a client on every wait=on
 *                                            socket; the machine subscribes its own
 *                                            run-state events: machine_attach_events)
 *   monitor_stop()                           at exit: flushes replies (e.g. to `quit`),
 *                                            closes clients, unlinks socket files
 * Everything here runs on the main loop thread with the core lock held, except
 * monitor_emit_event (any thread). */
#ifndef MOSAIC_CORE_MONITOR_H
#define MOSAIC_CORE_MONITOR_H

#include <stdio.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <mosaic/monitor.h>

#define MONITOR_LOG_DOMAIN "mosaic-monitor"

/* Limits per client: one JSON message being received, and output not yet read by the
 * client (events pile up there).  Over the first: error, then disconnect.  Over the
 * second: disconnect. */
#define MONITOR_MAX_INPUT (1u << 20)
#define MONITOR_MAX_OUTPUT (16u << 20)
/* A client with this much unread output is not read from until it catches up. */
#define MONITOR_OUTPUT_BACKPRESSURE (1u << 20)
#define MONITOR_MAX_NESTING 64
/* Clients at once (all listeners); one more is told so and closed. */
#define MONITOR_MAX_CLIENTS 64
/* A closing client (EOF, oversized input) that does not read its last replies is
 * dropped after this long. */
#define MONITOR_LINGER_SECONDS 5

#define MONITOR_ERROR (monitor_error_quark())
GQuark monitor_error_quark(void);
/* Codes of MONITOR_ERROR are MosaicErrorClass values (QMP error classes), plus: */
#define MONITOR_ERRCLASS_COMMAND_NOT_FOUND 100
const char *monitor_error_class_name(int cls);

struct MosaicConfig;

/* Idempotent.  Registers the core's commands and the [monitor LABEL] section kind. */
void monitor_register_builtins(void);

/* Commands of the core's other subsystems (the machine's stop/cont, the devices' qom-*),
 * registered by each subsystem at start-up: handlers that may return any JSON value and
 * set a GError (MONITOR_ERROR with a MosaicErrorClass code for a class other than
 * GenericError).  The monitor itself knows no machine. */
typedef JsonNode *MonitorHandler(const MosaicArgs *args, GError **err);
void monitor_register_core(const char *name, const char *help, const MosaicArgDesc *args,
                           const char *returns, MonitorHandler *handler);
/* A validated argument as JSON (borrowed), or NULL when absent. */
JsonNode *monitor_args_member(const MosaicArgs *a, const char *name);

/* Opens one listener.  spec: "unix:PATH[,server][,wait=on|off][,nowait]" or
 * "tcp:127.0.0.1:PORT" / "tcp:[::1]:PORT" / "tcp:localhost:PORT" (loopback only; PORT 0
 * picks one, see monitor_listener_port).  A bare PATH is unix:PATH.  `,server` alone
 * means wait=on as in QEMU; otherwise wait defaults to off. */
gboolean monitor_add_listener(const char *spec, GError **err);
/* The TCP port of the most recently added TCP listener (0: none). Tests. */
guint16 monitor_listener_port(void);
/* Listeners of every [monitor LABEL] section of a validated config. */
gboolean monitor_add_from_config(const struct MosaicConfig *cfg, GError **err);
/* Blocks (iterating the main loop) until every wait=on listener had a client. */
void monitor_wait_for_clients(void);

/* All of the above for `mosaic MACHINE.ini --qmp ...` (qmp: NULL-terminated or NULL). */
gboolean monitor_start(const char *const *qmp, const struct MosaicConfig *cfg, GError **err);
void monitor_stop(void);

/* Sends {"event": NAME, "data": DATA, "timestamp": {...}} to every negotiated client.
 * Any thread (marshalled to the main loop; the timestamp is taken here).  Takes
 * ownership of data (NULL: empty object).  Core events: STOP, RESUME, RESET
 * {guest, reason}, POWERDOWN, SHUTDOWN {guest, reason, exit-code}, DEVICE_DELETED
 * {device, path}. */
void monitor_emit_event(const char *name, JsonObject *data);
/* The same, from already serialized member text. */
void monitor_emit_event_node(const char *name, JsonNode *data);

/* --list-commands: Markdown (docs/commands.md) or JSON (the query-schema reply). */
char *monitor_commands_markdown(void);
int monitor_list_commands(FILE *out, gboolean json);

/* ---- Protocol engine without sockets (used by the server and the unit tests) ---- */
typedef struct MonitorSession MonitorSession;
/* Called when output was queued outside monitor_session_feed (events), or when the
 * session must be closed at once (output over MONITOR_MAX_OUTPUT). */
typedef void MonitorWakeFn(void *opaque);

/* Queues the greeting. */
MonitorSession *monitor_session_new(MonitorWakeFn *wake, void *opaque);
void monitor_session_free(MonitorSession *s);
/* Processes received bytes: every complete JSON message is executed and its reply
 * queued.  Stops consuming once the session is closing. */
void monitor_session_feed(MonitorSession *s, const char *buf, gsize len);
/* The peer closed its sending side: a message cut short is dropped. */
void monitor_session_eof(MonitorSession *s);
/* Output waiting to be sent, and consuming it. */
const char *monitor_session_output(MonitorSession *s, gsize *len);
void monitor_session_consume(MonitorSession *s, gsize n);
gsize monitor_session_output_len(MonitorSession *s);
/* Bytes of input held (never above MONITOR_MAX_INPUT). */
gsize monitor_session_input_len(MonitorSession *s);
/* Flush the output, then close (oversized input, EOF). */
gboolean monitor_session_closing(MonitorSession *s);
/* Close now, dropping output (client fell MONITOR_MAX_OUTPUT behind). */
gboolean monitor_session_dead(MonitorSession *s);
gboolean monitor_session_negotiated(MonitorSession *s);

/* Number of connected socket clients (tests). */
guint monitor_client_count(void);

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

#endif
