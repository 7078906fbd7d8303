/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Core commands about the machine's life (stop, cont, reset, quit...) and the events
 * the machine's run-state changes turn into.  Guest memory dumps (pmemsave, memsave)
 * are plugins/misc-memsave. */
#include <stdio.h>
#include "machine/machine-internal.h"
#include "monitor/monitor.h"

/* Set before the host (a monitor command, a signal) asks the machine to reset or quit,
 * so the RESET and SHUTDOWN events say who asked ("host-qmp-quit"); NULL: the guest. */
static const char *pending_reason;

static JsonNode *empty_object(void)
{
    return monitor_object_node(json_object_new());
}

static MosaicMachine *need_machine(GError **err)
{
    MosaicMachine *m = machine_current();
    if (!m)
        g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_BAD_STATE, "no machine is running");
    return m;
}

static const char *status_name(MachineRunState s)
{
    switch (s) {
    case MACHINE_PRELAUNCH: return "prelaunch";
    case MACHINE_RUNNING: return "running";
    case MACHINE_PAUSED: return "paused";
    case MACHINE_SHUTDOWN: return "shutdown";
    }
    return "unknown";
}

static JsonNode *query_status(const MosaicArgs *a, GError **err)
{
    MosaicMachine *m = machine_current();
    MachineRunState st = m ? machine_state(m) : MACHINE_PRELAUNCH;
    JsonObject *o = json_object_new();
    json_object_set_boolean_member(o, "running", st == MACHINE_RUNNING);
    json_object_set_boolean_member(o, "singlestep", FALSE);
    json_object_set_string_member(o, "status", status_name(st));
    return monitor_object_node(o);
}

/* A machine that is not already shutting down, or NULL + err. */
static MosaicMachine *live_machine(GError **err)
{
    MosaicMachine *m = need_machine(err);
    if (m && machine_state(m) == MACHINE_SHUTDOWN) {
        g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_BAD_STATE, "the machine is shutting down");
        return NULL;
    }
    return m;
}

/* One lifecycle request on behalf of the host: `reason` (NULL for stop/cont) goes into
 * the events it causes.  Only quit is accepted while the machine shuts down. */
static JsonNode *lifecycle(void (*request)(MosaicMachine *m), const char *reason,
                           gboolean while_shutting_down, GError **err)
{
    MosaicMachine *m = while_shutting_down ? need_machine(err) : live_machine(err);
    if (!m)
        return NULL;
    pending_reason = reason;
    request(m);
    pending_reason = NULL;
    return empty_object();
}

static void quit_now(MosaicMachine *m)
{
    machine_quit(m, 0); /* the reply is flushed by monitor_stop() before exit */
}

static JsonNode *stop(const MosaicArgs *a, GError **err)
{
    return lifecycle(machine_pause, NULL, FALSE, err);
}

static JsonNode *cont(const MosaicArgs *a, GError **err)
{
    return lifecycle(machine_resume, NULL, FALSE, err);
}

static JsonNode *system_reset(const MosaicArgs *a, GError **err)
{
    return lifecycle(machine_reset, "host-qmp-system-reset", FALSE, err);
}

static JsonNode *system_powerdown(const MosaicArgs *a, GError **err)
{
    /* Boards without a power button quit at once: say who asked. */
    return lifecycle(machine_powerdown, "host-qmp-system-powerdown", FALSE, err);
}

static JsonNode *quit(const MosaicArgs *a, GError **err)
{
    return lifecycle(quit_now, "host-qmp-quit", TRUE, err);
}

static JsonNode *query_cpus_fast(const MosaicArgs *a, GError **err)
{
    JsonArray *arr = json_array_new();
    MosaicMachine *m = machine_current();
    unsigned n = m && machine_has_cpus(m) ? mosaic_machine_ncpus(m) : 0;
    const char *arch = m ? machine_arch(m) : NULL;
    for (unsigned i = 0; i < n; i++) {
        JsonObject *o = json_object_new();
        json_object_set_int_member(o, "cpu-index", i);
        g_autofree char *path = g_strdup_printf("/machine/cpu[%u]", i);
        json_object_set_string_member(o, "qom-path", path);
        int64_t tid = machine_vcpu_thread_id(m, i);
        if (tid >= 0)
            json_object_set_int_member(o, "thread-id", tid);
        if (arch)
            json_object_set_string_member(o, "target", arch);
        json_array_add_object_element(arr, o);
    }
    return monitor_array_node(arr);
}

/* ---- events from the machine's run-state changes ---- */

static void on_machine_event(void *opaque, const char *event, int detail)
{
    JsonObject *data = json_object_new();
    const char *why = pending_reason;
    if (g_str_equal(event, "RESET")) {
        json_object_set_boolean_member(data, "guest", why == NULL);
        json_object_set_string_member(data, "reason", why ? "host-qmp-system-reset" : "guest-reset");
    } else if (g_str_equal(event, "SHUTDOWN")) {
        json_object_set_boolean_member(data, "guest", why == NULL);
        json_object_set_string_member(data, "reason", why ? why : "guest-shutdown");
        json_object_set_int_member(data, "exit-code", detail);
    }
    monitor_emit_event(event, data);
}

void machine_attach_events(MosaicMachine *m)
{
    static MosaicMachine *attached;
    if (!m || m == attached)
        return;
    attached = m;
    machine_add_observer(on_machine_event, NULL);
}

gboolean machine_host_quit(const char *reason)
{
    MosaicMachine *m = machine_current();
    if (!m)
        return FALSE;
    pending_reason = reason;
    machine_quit(m, 0);
    pending_reason = NULL;
    return TRUE;
}

void machine_register_run_commands(void)
{
    monitor_register_core("query-status", "Run state of the machine.", NULL,
                          "`{\"running\": bool, \"singlestep\": false, \"status\": "
                          "\"prelaunch\"|\"running\"|\"paused\"|\"shutdown\"}`",
                          query_status);
    monitor_register_core("stop", "Pause the vCPUs (event STOP). No-op when already paused.", NULL,
                          NULL, stop);
    monitor_register_core("cont", "Resume the vCPUs (event RESUME).", NULL, NULL, cont);
    monitor_register_core("system_reset", "Reset the machine (event RESET).", NULL, NULL, system_reset);
    monitor_register_core("system_powerdown",
                          "Press the power button (event POWERDOWN). Boards without one shut down "
                          "at once (event SHUTDOWN).",
                          NULL, NULL, system_powerdown);
    monitor_register_core("quit", "Stop the machine and exit with status 0 (event SHUTDOWN). "
                          "The reply is sent before the process exits.",
                          NULL, NULL, quit);
    monitor_register_core("query-cpus-fast", "The vCPUs, without stopping them.", NULL,
                          "`[{\"cpu-index\", \"qom-path\", \"thread-id\", \"target\"}, ...]`",
                          query_cpus_fast);
}

void machine_register_commands(void)
{
    static gboolean done;
    if (done)
        return;
    done = TRUE;
    machine_register_run_commands();
    machine_register_config_commands();
    machine_register_accel_commands();
    machine_register_dirty_commands();
    device_register_commands();
}
