/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The running machine (internal): built from a validated configuration, owns the
 * board, the accelerator, the vCPU threads and the run state. */
#ifndef MOSAIC_CORE_MACHINE_H
#define MOSAIC_CORE_MACHINE_H

#include <glib.h>
#include <mosaic/mosaic.h>
#include "config/config.h"

typedef enum MachineRunState {
    MACHINE_PRELAUNCH = 0,
    MACHINE_RUNNING,
    MACHINE_PAUSED,
    MACHINE_SHUTDOWN, /* quitting: vCPUs stopped for good */
} MachineRunState;

/* Builds everything the configuration describes (plugins required, board, devices,
 * block graph) without starting vCPUs.  Sets the process-wide current machine. */
MosaicMachine *machine_create(MosaicConfig *cfg, GError **err);
/* Starts vCPU threads (running, or paused when start_paused). */
void machine_start(MosaicMachine *m, gboolean start_paused);
/* Runs the main loop until the machine quits; returns the process exit code. */
int machine_run(MosaicMachine *m);
void machine_destroy(MosaicMachine *m);

MosaicMachine *machine_current(void);
MosaicConfig *machine_config(MosaicMachine *m);
MachineRunState machine_state(MosaicMachine *m);
const char *machine_state_name(MachineRunState s);
gboolean machine_has_cpus(MosaicMachine *m);

/* Lifecycle, main loop thread with the core lock held. */
void machine_pause(MosaicMachine *m);
void machine_resume(MosaicMachine *m);
void machine_reset(MosaicMachine *m);
void machine_powerdown(MosaicMachine *m);
void machine_quit(MosaicMachine *m, int exit_code);

/* Accelerator access for the monitor and GDB stub. */
void machine_query_accel_stats(MosaicMachine *m, MosaicStatFn *fn, void *opaque);
const MosaicAccelOps *machine_accel_ops(MosaicMachine *m);
void *machine_accel_state(MosaicMachine *m);
void *machine_vcpu_state(MosaicVcpu *vcpu);

/* Observers of run-state changes (monitor events): called on the main loop thread. */
typedef void MachineEventFn(void *opaque, const char *event, int detail);
void machine_add_observer(MachineEventFn *fn, void *opaque);

#endif

#define MOSAIC_CORE_MACHINE_ERROR (machine_error_quark())
GQuark machine_error_quark(void);

/* Core services around the board (core/machine/services.c): chardevs and the block
 * graph before the board, exports and monitors after the devices. */
gboolean machine_early_services(MosaicMachine *m, GError **err);
gboolean machine_late_services(MosaicMachine *m, GError **err);
void machine_late_services_stop(MosaicMachine *m);

/* "riscv64" (MosaicMachineOps.arch), or NULL when the board has no CPUs. */
const char *machine_arch(MosaicMachine *m);
/* Asks the running machine's accelerator to turn guest writes of `data` to the
 * guest-physical `addr` into signals of eventfd `fd` (accel notify_fd); false when
 * there is no machine, its accelerator cannot, or `container` is not its memory. */
gboolean machine_notify_fd(MosaicRegion *container, uint64_t addr, unsigned size, uint64_t data,
                           int fd, gboolean assign);
/* The interrupt line `irq` (one a board got from mosaic_vcpu_irq) is level-triggered
 * and raised often: ask the accelerator for its fast path (irqfd) or give it back.
 * FALSE when the line is not a vCPU's or the accelerator has none. */
gboolean machine_irq_fast(const MosaicIrq *irq, gboolean on);
/* Host thread id (gettid()) of vCPU `index`, or -1 when unknown/not started. */
int64_t machine_vcpu_thread_id(MosaicMachine *m, unsigned index);

/* The builtin "none" machine (storage only).  Idempotent. */
void machine_register_builtins(void);

/* Registers the monitor commands of the machine and its devices (stop, cont, quit,
 * query-status, query-cpus-fast, pmemsave, query-machine, qom-*, device_del,
 * query-accel-stats) with the monitor.  Idempotent. */
void machine_register_commands(void);
/* Turns the machine's run-state changes into monitor events (STOP, RESUME, RESET,
 * POWERDOWN, SHUTDOWN), once the machine exists. */
void machine_attach_events(MosaicMachine *m);
/* Quits on behalf of the host (`reason`, e.g. "host-signal", goes into the SHUTDOWN
 * event).  FALSE when no machine is running. */
gboolean machine_host_quit(const char *reason);
