/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Building a machine from its configuration and driving its run state. */
#include <stdio.h>
#include "machine/machine-internal.h"
#include "plugin/registry.h"
#include "plugin/error.h"
#include "loop/loop.h"
#include "memory/memory.h"
#include "util/ops.h"

G_DEFINE_QUARK(mosaic-machine-error-quark, machine_error)

static MosaicMachine *current;

MosaicMachine *machine_current(void) { return current; }

gboolean machine_notify_fd(MosaicRegion *container, uint64_t addr, unsigned size, uint64_t data,
                           int fd, gboolean assign)
{
    MosaicMachine *m = current;
    if (!m || !m->aops || !m->aops->notify_fd || container != m->sysmem)
        return FALSE;
    return m->aops->notify_fd(m->accel, addr, size, data, fd, assign);
}
MosaicConfig *machine_config(MosaicMachine *m) { return m->cfg; }
MachineRunState machine_state(MosaicMachine *m) { return m->state; }
gboolean machine_has_cpus(MosaicMachine *m) { return m->aops != NULL; }
const MosaicAccelOps *machine_accel_ops(MosaicMachine *m) { return m->aops; }
void *machine_accel_state(MosaicMachine *m) { return m->accel; }

const char *machine_state_name(MachineRunState s)
{
    static const char *const names[] = {"prelaunch", "running", "paused", "shutdown"};
    return s < G_N_ELEMENTS(names) ? names[s] : "unknown";
}

typedef struct Observer {
    MachineEventFn *fn;
    void *opaque;
} Observer;

void machine_add_observer(MachineEventFn *fn, void *opaque)
{
    MosaicMachine *m = current;
    if (!m)
        return;
    Observer o = {fn, opaque};
    g_array_append_val(m->observers, o);
}

static void notify(MosaicMachine *m, const char *event, int detail)
{
    for (guint i = 0; i < m->observers->len; i++) {
        Observer *o = &g_array_index(m->observers, Observer, i);
        o->fn(o->opaque, event, detail);
    }
}

/* ---- SDK accessors ---- */

MOSAIC_API MosaicRegion *mosaic_machine_memory(MosaicMachine *m) { return m->sysmem; }
MOSAIC_API MosaicMachine *mosaic_machine_current(void) { return machine_current(); }
MOSAIC_API MosaicAddressSpace *mosaic_machine_address_space(MosaicMachine *m) { return m->as; }
MOSAIC_API MosaicRegion *mosaic_machine_io_memory(MosaicMachine *m) { return m->iomem; }
MOSAIC_API MosaicAddressSpace *mosaic_machine_io_space(MosaicMachine *m) { return m->io_as; }
MOSAIC_API uint64_t mosaic_machine_ram_size(MosaicMachine *m) { return m->ram_size; }
MOSAIC_API unsigned mosaic_machine_ncpus(MosaicMachine *m) { return m->ncpus; }

MOSAIC_API unsigned mosaic_config_count(MosaicMachine *m, const char *kind)
{
    return config_count(m->cfg, kind);
}

MOSAIC_API const MosaicProps *mosaic_config_section(MosaicMachine *m, const char *kind,
                                                    unsigned index)
{
    return config_get(m->cfg, kind, index);
}

MOSAIC_API const MosaicProps *mosaic_config_find(MosaicMachine *m, const char *kind,
                                                 const char *label)
{
    return config_find(m->cfg, kind, label);
}

MOSAIC_API void mosaic_machine_request_shutdown(MosaicMachine *m, MosaicShutdownCause cause,
                                                int exit_code)
{
    /* Under run_lock, so that a vCPU thread about to enter vcpu_run either sees the hold
     * or has cleared its exit request before ours is set below. */
    g_mutex_lock(&m->run_lock);
    m->req_hold = TRUE;
    g_atomic_int_set(&m->req_exit_code, exit_code);
    g_atomic_int_set(&m->req_shutdown, 1 + (int)cause);
    g_mutex_unlock(&m->run_lock);
    mosaic_bh_schedule(m->request_bh);
    /* Stop the guest at once: a test device write must not run further guest code, and
     * no vCPU runs again until handle_requests() is done (req_hold). */
    for (unsigned i = 0; m->vcpus && i < m->ncpus; i++) {
        g_atomic_int_set(&m->vcpus[i]->exit_request, 1);
        if (m->aops->vcpu_kick)
            m->aops->vcpu_kick(m->vcpus[i]->state);
    }
}

/* ---- run state ---- */

static void set_state(MosaicMachine *m, MachineRunState s)
{
    g_mutex_lock(&m->run_lock);
    m->state = s;
    /* Running again (resume, reset, start) releases vCPUs held by a debug stop. */
    for (unsigned i = 0; s == MACHINE_RUNNING && m->vcpus && i < m->ncpus; i++)
        if (m->vcpus[i])
            m->vcpus[i]->debug_hold = FALSE;
    g_cond_broadcast(&m->run_cond);
    g_mutex_unlock(&m->run_lock);
}

void machine_pause(MosaicMachine *m)
{
    if (m->state != MACHINE_RUNNING)
        return;
    set_state(m, MACHINE_PAUSED);
    vcpu_threads_park(m);
    mem_reclaim(); /* no vCPU holds a pointer into an old memory map now */
    clock_virtual_pause();
    notify(m, "STOP", 0);
}

void machine_resume(MosaicMachine *m)
{
    if (m->state != MACHINE_PAUSED && m->state != MACHINE_PRELAUNCH)
        return;
    clock_virtual_resume();
    set_state(m, MACHINE_RUNNING);
    notify(m, "RESUME", 0);
}

static void reset_cpus_and_board(MosaicMachine *m)
{
    for (unsigned i = 0; m->vcpus && i < m->ncpus; i++)
        if (m->aops->vcpu_reset)
            m->aops->vcpu_reset(m->vcpus[i]->state);
    devices_reset(m);
    if (m->mops->reset)
        m->mops->reset(m->board);
}

void machine_reset(MosaicMachine *m)
{
    MachineRunState before = m->state;
    if (before == MACHINE_SHUTDOWN)
        return;
    if (before == MACHINE_RUNNING) {
        set_state(m, MACHINE_PAUSED);
        vcpu_threads_park(m);
    }
    reset_cpus_and_board(m);
    notify(m, "RESET", 0);
    if (before == MACHINE_RUNNING)
        set_state(m, MACHINE_RUNNING);
}

void machine_powerdown(MosaicMachine *m)
{
    notify(m, "POWERDOWN", 0);
    if (m->mops->powerdown)
        m->mops->powerdown(m->board);
    else
        machine_quit(m, 0);
}

void machine_quit(MosaicMachine *m, int exit_code)
{
    if (m->quitting)
        return;
    if (m->state == MACHINE_RUNNING) {
        set_state(m, MACHINE_PAUSED);
        vcpu_threads_park(m);
    }
    g_mutex_lock(&m->run_lock);
    m->quitting = TRUE;
    m->exit_code = exit_code;
    m->state = MACHINE_SHUTDOWN;
    g_cond_broadcast(&m->run_cond);
    g_mutex_unlock(&m->run_lock);
    notify(m, "SHUTDOWN", exit_code);
    loop_quit();
}

static void handle_requests(void *opaque)
{
    MosaicMachine *m = opaque;
    int req = g_atomic_int_and(&m->req_shutdown, 0);
    if (req) {
        MosaicShutdownCause cause = req - 1;
        int code = g_atomic_int_get(&m->req_exit_code);
        if (cause == MOSAIC_SHUTDOWN_GUEST_RESET) {
            machine_reset(m);
        } else {
            mosaic_log("mosaic-machine", 2, "guest %s, exit code %d",
                       cause == MOSAIC_SHUTDOWN_GUEST_PANIC ? "failure" : "power-off", code);
            machine_quit(m, code);
        }
        /* The vCPUs may run again, unless another request came meanwhile (this bottom
         * half runs again for that one). */
        g_mutex_lock(&m->run_lock);
        if (!g_atomic_int_get(&m->req_shutdown)) {
            m->req_hold = FALSE;
            g_cond_broadcast(&m->run_cond);
        }
        g_mutex_unlock(&m->run_lock);
    }
    if (g_atomic_int_and(&m->req_debug_stop, 0))
        machine_pause(m);
}

/* ---- building ---- */

static const MosaicPluginDesc *require(MosaicMachine *m, const MosaicProps *props,
                                       const char *key, GError **err)
{
    const MosaicPluginDesc *d = config_props_plugin(props);
    if (!d) {
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0, "%s: no plugin selected by '%s'",
                    mosaic_props_where(props, NULL), key);
        return NULL;
    }
    if (!plugin_registry_require(d, mosaic_props_where(props, key), err))
        return NULL;
    return d;
}

static gboolean accel_supports(const MosaicAccelOps *a, const char *arch)
{
    for (const char *const *p = a->archs; p && *p; p++)
        if (g_str_equal(*p, arch))
            return TRUE;
    return FALSE;
}

typedef struct ArchAccels {
    const char *arch;
    GString *names;
} ArchAccels;

static void add_if_runs_arch(const MosaicPluginDesc *d, void *opaque)
{
    ArchAccels *c = opaque;
    const MosaicAccelOps *o = d->ops;
    for (const char *const *a = o ? o->archs : NULL; a && *a; a++)
        if (g_str_equal(*a, c->arch)) {
            g_string_append_printf(c->names, "%s%s", c->names->len ? ", " : "", d->name);
            return;
        }
}

/* "kvm, hvf" or "none installed": the accelerators that can run `arch`. */
static char *accels_for_arch(const char *arch)
{
    ArchAccels c = {arch, g_string_new(NULL)};
    plugin_registry_foreach_kind(MOSAIC_KIND_ACCEL, FALSE, add_if_runs_arch, &c);
    if (!c.names->len)
        g_string_append(c.names, "none is installed");
    return g_string_free(c.names, FALSE);
}

static gboolean create_accel(MosaicMachine *m, const MosaicProps *mprops, GError **err)
{
    const MosaicProps *aprops = config_find(m->cfg, "accel", NULL);
    const MosaicPluginDesc *d = aprops ? config_props_plugin(aprops) : NULL;
    if (!d) {
        GError *e = NULL;
        d = plugin_registry_find(MOSAIC_KIND_ACCEL, mosaic_props_get_str(mprops, "accel"), &e);
        if (!d) {
            g_propagate_prefixed_error(err, e, "%s: ", mosaic_props_where(mprops, "accel"));
            return FALSE;
        }
    }
    if (!plugin_registry_require(d, mosaic_props_where(mprops, "accel"), err))
        return FALSE;
    m->accel_desc = d;
    m->aops = ops_copy(d->ops, sizeof(MosaicAccelOps));
    if (!accel_supports(m->aops, m->mops->arch)) {
        g_autofree char *can = accels_for_arch(m->mops->arch);
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0,
                    "%s: accelerator '%s' cannot run %s machines (machine type '%s'); "
                    "accelerators that can: %s",
                    mosaic_props_where(mprops, "accel"), d->name, m->mops->arch,
                    m->machine_desc->name, can);
        return FALSE;
    }
    MosaicError me = MOSAIC_ERROR_INIT;
    m->accel = m->aops->create(m, aprops, &me);
    if (!m->accel) {
        GError *e = plugin_error_take(&me, "accelerator create");
        g_propagate_prefixed_error(err, e, "accelerator '%s': ", d->name);
        return FALSE;
    }
    return TRUE;
}

MosaicMachine *machine_create(MosaicConfig *cfg, GError **err)
{
    const MosaicProps *mprops = config_find(cfg, "machine", NULL);
    if (!mprops) {
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0, "the machine file has no [machine] section");
        return NULL;
    }
    MosaicMachine *m = g_new0(MosaicMachine, 1);
    current = m;
    m->cfg = cfg;
    m->devices = g_ptr_array_new();
    m->observers = g_array_new(FALSE, FALSE, sizeof(Observer));
    g_mutex_init(&m->run_lock);
    g_cond_init(&m->run_cond);
    m->request_bh = mosaic_bh_new(handle_requests, m);
    machine_memsync_init(m);
    m->ram_size = mosaic_props_get_uint(mprops, "memory");
    m->ncpus = (unsigned)mosaic_props_get_uint(mprops, "cpus");
    m->sysmem = mosaic_region_new_container("system", UINT64_MAX);
    m->as = mosaic_address_space_new("memory", m->sysmem);
    m->iomem = mosaic_region_new_container("io", 0x10000);
    m->io_as = mosaic_address_space_new("io", m->iomem);

    m->machine_desc = require(m, mprops, "type", err);
    if (!m->machine_desc)
        goto fail;
    m->mops = ops_copy(m->machine_desc->ops, sizeof(MosaicMachineOps));
    if (m->mops->arch && !g_str_equal(m->mops->arch, "none") && !create_accel(m, mprops, err))
        goto fail;
    if (!machine_early_services(m, err))
        goto fail;
    MosaicError me = MOSAIC_ERROR_INIT;
    m->board = m->mops->init(m, mprops, &me);
    if (!m->board) {
        GError *e = plugin_error_take(&me, "machine init");
        g_propagate_prefixed_error(err, e, "%s: machine '%s': ", mosaic_props_where(mprops, "type"),
                                   m->machine_desc->name);
        goto fail;
    }
    if (m->aops && !m->vcpus) {
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0, "machine '%s' created no vCPUs",
                    m->machine_desc->name);
        goto fail;
    }
    if (!devices_create(m, err))
        goto fail;
    if (m->mops->devices_done && !m->mops->devices_done(m->board, &me)) {
        GError *e = plugin_error_take(&me, "machine devices_done");
        g_propagate_prefixed_error(err, e, "machine '%s': ", m->machine_desc->name);
        goto fail;
    }
    if (!machine_late_services(m, err))
        goto fail;
    return m;
fail:
    machine_destroy(m);
    return NULL;
}

void machine_start(MosaicMachine *m, gboolean start_paused)
{
    m->started = TRUE;
    reset_cpus_and_board(m);
    if (m->aops)
        vcpu_threads_start(m);
    if (start_paused) {
        set_state(m, MACHINE_PAUSED);
        clock_virtual_pause();
    } else {
        clock_virtual_resume();
        set_state(m, MACHINE_RUNNING);
    }
}

int machine_run(MosaicMachine *m)
{
    loop_run();
    if (!m->quitting) {
        mosaic_lock();
        machine_quit(m, m->exit_code);
        mosaic_unlock();
    }
    return m->exit_code;
}

void machine_destroy(MosaicMachine *m)
{
    if (!m)
        return;
    if (m->vcpus) {
        g_mutex_lock(&m->run_lock);
        m->quitting = TRUE;
        g_cond_broadcast(&m->run_cond);
        g_mutex_unlock(&m->run_lock);
        for (unsigned i = 0; i < m->ncpus; i++)
            if (m->vcpus[i])
                g_atomic_int_set(&m->vcpus[i]->exit_request, 1);
        vcpu_threads_join(m);
    }
    m->started = FALSE; /* no vCPU runs from here on */
    /* Devices detach from block nodes and chardevs, so they go before those. */
    devices_destroy(m);
    if (m->board && m->mops->fini)
        m->mops->fini(m->board);
    machine_late_services_stop(m);
    for (unsigned i = 0; m->vcpus && i < m->ncpus; i++)
        vcpu_free(m->vcpus[i]);
    g_free(m->vcpus);
    machine_memsync_fini(m);
    if (m->accel && m->aops->destroy)
        m->aops->destroy(m->accel);
    g_free(m->mops);
    g_free(m->aops);
    g_ptr_array_free(m->devices, TRUE);
    g_array_free(m->observers, TRUE);
    if (m->request_bh)
        mosaic_bh_free(m->request_bh);
    if (current == m)
        current = NULL;
    g_free(m);
}

void machine_query_accel_stats(MosaicMachine *m, MosaicStatFn *fn, void *opaque)
{
    if (m->aops && m->aops->query_stats)
        m->aops->query_stats(m->accel, fn, opaque);
}
