/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Asynchronous events: built on any thread, timestamped there, delivered on the main
 * loop to every client that finished negotiation. */
#include "monitor/monitor-internal.h"
#include "loop/loop.h"

const MonitorEventDoc monitor_event_docs[] = {
    {"STOP", "The vCPUs stopped (`stop`, or a debugger).", "`{}`"},
    {"RESUME", "The vCPUs run again (`cont`).", "`{}`"},
    {"RESET", "The machine was reset.",
     "`{\"guest\": bool, \"reason\": \"host-qmp-system-reset\"|\"guest-reset\"}`"},
    {"POWERDOWN", "The power button was pressed (`system_powerdown`); the guest decides what to do.", "`{}`"},
    {"SHUTDOWN", "The machine is shutting down; the process exits after this event.",
     "`{\"guest\": bool, \"reason\": \"host-qmp-quit\"|\"host-signal\"|\"guest-shutdown\", \"exit-code\": int}`"},
    {"DEVICE_DELETED", "A device was removed.", "`{\"device\": LABEL, \"path\": QOM-PATH}`"},
    {NULL},
};

typedef struct Pending {
    char *line;
    gsize len;
} Pending;

static gboolean deliver(gpointer data)
{
    Pending *p = data;
    monitor_sessions_broadcast(p->line, p->len);
    g_free(p->line);
    g_free(p);
    return G_SOURCE_REMOVE;
}

static void send_event(const char *name, JsonNode *data, gint64 us)
{
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "event", name);
    json_object_set_member(o, "data",
                           data ? data : monitor_object_node(json_object_new()));
    JsonObject *ts = json_object_new();
    json_object_set_int_member(ts, "seconds", us / G_USEC_PER_SEC);
    json_object_set_int_member(ts, "microseconds", us % G_USEC_PER_SEC);
    json_object_set_object_member(o, "timestamp", ts);
    g_autoptr(JsonNode) n = monitor_object_node(o);
    Pending *p = g_new0(Pending, 1);
    p->line = monitor_json_line(n, &p->len);
    /* Delivered at once by the thread running the loop (in order with replies there);
     * others queue it (g_main_context_invoke could run it on their thread). */
    GMainContext *ctx = loop_context();
    if (g_main_context_is_owner(ctx)) {
        deliver(p);
        return;
    }
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, deliver, p, NULL);
    g_source_attach(src, ctx);
    g_source_unref(src);
}

void monitor_emit_event_node(const char *name, JsonNode *data)
{
    send_event(name, data, g_get_real_time());
}

void monitor_emit_event(const char *name, JsonObject *data)
{
    send_event(name, data ? monitor_object_node(data) : NULL, g_get_real_time());
}

MOSAIC_API MosaicJson *mosaic_event_begin(const char *name)
{
    MosaicJson *j = monitor_json_new();
    j->event = g_strdup(name ? name : "UNNAMED");
    j->time_us = g_get_real_time();
    return j;
}

MOSAIC_API void mosaic_event_emit(MosaicJson *event)
{
    if (!event)
        return;
    if (!event->event) {
        g_warning("mosaic_event_emit: not an event from mosaic_event_begin (ignored)");
        return;
    }
    g_autofree char *name = g_steal_pointer(&event->event);
    gint64 us = event->time_us;
    send_event(name, monitor_json_finish(event), us);
}
