/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Debug front ends (plugins of kind debug, e.g. debug-gdb) and the services they use.
 *
 * `mosaic MACHINE.ini --NAME SPEC` starts the debug plugin named NAME once the machine
 * exists (the machine then starts paused): the core knows no debugger by name.  The
 * plugin speaks its protocol; what the target looks like (registers, their numbers
 * and sizes, the debugger's description) comes from the accelerator through
 * MosaicAccelOps.debug_target, so one front end serves every architecture.
 * Everything here runs on the main loop thread with the core lock held.
 * Since ABI 1.1. */
#ifndef MOSAIC_DEBUG_H
#define MOSAIC_DEBUG_H

#include <mosaic/accel.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a debugger needs to know about the vCPUs of an accelerator. */
typedef struct MosaicDebugTarget {
    uint32_t size;           /* sizeof(MosaicDebugTarget) */
    const char *gdb_xml;     /* GDB target description (target.xml) */
    unsigned ngeneral;       /* registers of GDB's 'g' packet: numbers 0..ngeneral-1 */
    unsigned pc_regno;       /* register number of the program counter */
    /* A debugger register number to the accelerator's; false when unknown. */
    bool (*regno)(uint64_t debugger_regno, unsigned *accel_regno);
    /* Size in bytes of a register in the debugger's packets. */
    unsigned (*reg_bytes)(unsigned accel_regno);
} MosaicDebugTarget;

typedef struct MosaicDebugOps {
    uint32_t size;           /* sizeof(MosaicDebugOps) */
    const char *spec_help;   /* the SPEC of --NAME SPEC, for --help: "tcp:127.0.0.1:PORT" */
    /* Starts serving `m`; false + err (naming --NAME SPEC) on a bad spec. */
    bool (*start)(MosaicMachine *m, const char *spec, MosaicError *err);
    /* At exit, with the machine shut down: close everything. */
    void (*stop)(void);
} MosaicDebugOps;

typedef enum MosaicRunState {
    MOSAIC_RUN_PRELAUNCH = 0,
    MOSAIC_RUN_RUNNING,
    MOSAIC_RUN_PAUSED,
    MOSAIC_RUN_SHUTDOWN,
} MosaicRunState;

MOSAIC_API MosaicRunState mosaic_machine_run_state(MosaicMachine *m);
/* Pause all vCPUs (event STOP), resume them (event RESUME), quit (event SHUTDOWN). */
MOSAIC_API void mosaic_machine_pause(MosaicMachine *m);
MOSAIC_API void mosaic_machine_resume(MosaicMachine *m);
MOSAIC_API void mosaic_machine_quit(MosaicMachine *m, int exit_code);

/* Run-state changes: event is "STOP", "RESUME", "RESET", "POWERDOWN" or "SHUTDOWN"
 * (detail: the exit code).  Observers are never removed: keep `opaque` alive, or
 * make fn check that it is still wanted. */
typedef void MosaicMachineEventFn(void *opaque, const char *event, int detail);
MOSAIC_API void mosaic_machine_observe(MosaicMachine *m, MosaicMachineEventFn *fn, void *opaque);

/* The accelerator's target description; NULL when it offers none. */
MOSAIC_API const MosaicDebugTarget *mosaic_machine_debug_target(MosaicMachine *m);
/* Single-step one vCPU on the next resume; false when the accelerator cannot. */
MOSAIC_API bool mosaic_vcpu_set_step(MosaicVcpu *vcpu, bool on);
/* The guest-physical address behind virtual address `vaddr` as `vcpu` sees it now
 * (MosaicAccelOps.vcpu_virt_to_phys); vaddr itself when the accelerator does not
 * translate; false when the guest's page tables map nothing there. */
MOSAIC_API bool mosaic_vcpu_virt_to_phys(MosaicVcpu *vcpu, uint64_t vaddr, uint64_t *paddr);
/* A register wider than 8 bytes (MosaicDebugTarget.reg_bytes > 8: x87 and SSE
 * registers), `len` bytes little-endian (MosaicAccelOps.vcpu_get/set_reg_bytes);
 * false when the accelerator has no such register. */
MOSAIC_API bool mosaic_vcpu_get_reg_bytes(MosaicVcpu *vcpu, unsigned regno, uint8_t *buf,
                                          unsigned len);
MOSAIC_API bool mosaic_vcpu_set_reg_bytes(MosaicVcpu *vcpu, unsigned regno, const uint8_t *buf,
                                          unsigned len);
/* Insert or remove a breakpoint at a guest pc (a virtual address when the guest pages);
 * false when the accelerator cannot. */
MOSAIC_API bool mosaic_machine_breakpoint(MosaicMachine *m, uint64_t pc, bool insert);

#ifdef __cplusplus
}
#endif
#endif
