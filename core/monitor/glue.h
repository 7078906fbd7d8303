/* The machine-side functions the monitor calls (see monitor-machine.h), referenced
 * weakly: while the machine code (or one of these functions) is absent, the pointer is
 * NULL and the monitor answers "no machine" instead of failing to link.  Also lets the
 * unit tests link the protocol engine without a machine. */
#ifndef MOSAIC_CORE_MONITOR_GLUE_H
#define MOSAIC_CORE_MONITOR_GLUE_H

#include "machine/machine.h"
#include "monitor/monitor-machine.h"
#include "device/device-internal.h"

#pragma weak machine_current
#pragma weak machine_config
#pragma weak machine_state
#pragma weak machine_has_cpus
#pragma weak machine_pause
#pragma weak machine_resume
#pragma weak machine_reset
#pragma weak machine_powerdown
#pragma weak machine_quit
#pragma weak machine_add_observer
#pragma weak machine_arch
#pragma weak machine_vcpu_thread_id
#pragma weak mosaic_machine_address_space
#pragma weak mosaic_machine_ncpus
#pragma weak mosaic_machine_device_count
#pragma weak mosaic_machine_device
#pragma weak mosaic_device_label
#pragma weak mosaic_device_type
#pragma weak mosaic_device_state
#pragma weak device_find
#pragma weak device_set_prop
#pragma weak device_unplug

/* The current machine, or NULL (no machine code linked, or none created). */
static inline MosaicMachine *glue_machine(void)
{
    return machine_current ? machine_current() : NULL;
}

#endif
