/* What the monitor needs from the machine (core/machine/, the integrator's).
 *
 * Most of it is already declared in core/machine/machine.h and the SDK; the monitor uses:
 *   machine_current, machine_config, machine_state, machine_has_cpus,
 *   machine_pause, machine_resume, machine_reset, machine_powerdown, machine_quit,
 *   machine_add_observer      events "STOP" "RESUME" "RESET" "POWERDOWN" "SHUTDOWN"
 *                             (QMP names; detail = exit code for SHUTDOWN) and
 *                             "DEVICE_DELETED" (detail = index of the device, looked up
 *                             before it is gone is not possible: emit that one with
 *                             monitor_emit_event("DEVICE_DELETED", {device, path}))
 *   mosaic_machine_address_space, mosaic_machine_ncpus,
 *   mosaic_machine_device_count, mosaic_machine_device, mosaic_device_label,
 *   mosaic_device_type, mosaic_device_state (qom-*: props come from the device plugin's
 *   descriptor and the [device LABEL] section; qom-set calls MosaicDeviceOps.set_prop)
 * and the two functions below, which the integrator implements.
 *
 * The monitor references all of these weakly (core/monitor/glue.c), so it links and
 * reports "no machine" while any is missing; nothing else needs to change. */
#ifndef MOSAIC_CORE_MONITOR_MACHINE_H
#define MOSAIC_CORE_MONITOR_MACHINE_H

#include <stdint.h>
#include <mosaic/mosaic.h>

/* "riscv64" (MosaicMachineOps.arch), or NULL when the board has no CPUs. */
const char *machine_arch(MosaicMachine *m);
/* Host thread id (gettid()) of vCPU `index`, or -1 when unknown/not started. */
int64_t machine_vcpu_thread_id(MosaicMachine *m, unsigned index);

#endif
