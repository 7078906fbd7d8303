/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Services for debug front ends (mosaic/debug.h): run-state control and the
 * accelerator's debug ops, for plugins that must not reach the machine's internals. */
#include "machine/machine-internal.h"

G_STATIC_ASSERT((int)MOSAIC_RUN_PRELAUNCH == MACHINE_PRELAUNCH &&
                (int)MOSAIC_RUN_RUNNING == MACHINE_RUNNING &&
                (int)MOSAIC_RUN_PAUSED == MACHINE_PAUSED &&
                (int)MOSAIC_RUN_SHUTDOWN == MACHINE_SHUTDOWN);

MOSAIC_API MosaicRunState mosaic_machine_run_state(MosaicMachine *m)
{
    return (MosaicRunState)machine_state(m);
}

MOSAIC_API void mosaic_machine_pause(MosaicMachine *m) { machine_pause(m); }
MOSAIC_API void mosaic_machine_resume(MosaicMachine *m) { machine_resume(m); }
MOSAIC_API void mosaic_machine_quit(MosaicMachine *m, int exit_code) { machine_quit(m, exit_code); }

MOSAIC_API void mosaic_machine_observe(MosaicMachine *m, MosaicMachineEventFn *fn, void *opaque)
{
    machine_add_observer(fn, opaque);
}

MOSAIC_API const MosaicDebugTarget *mosaic_machine_debug_target(MosaicMachine *m)
{
    const MosaicDebugTarget *t = m->aops ? m->aops->debug_target : NULL;
    /* Every field of 1.1 is needed: an accelerator's shorter table offers none. */
    if (!t || t->size < offsetof(MosaicDebugTarget, reg_bytes) + sizeof(t->reg_bytes) ||
        !t->regno || !t->reg_bytes || !t->gdb_xml)
        return NULL;
    return t;
}

MOSAIC_API bool mosaic_vcpu_set_step(MosaicVcpu *vcpu, bool on)
{
    MosaicMachine *m = mosaic_vcpu_machine(vcpu);
    return m->aops && m->aops->vcpu_set_step && m->aops->vcpu_set_step(machine_vcpu_state(vcpu), on);
}

MOSAIC_API bool mosaic_vcpu_virt_to_phys(MosaicVcpu *vcpu, uint64_t vaddr, uint64_t *paddr)
{
    MosaicMachine *m = mosaic_vcpu_machine(vcpu);
    if (!m->aops || !m->aops->vcpu_virt_to_phys) { /* tables are copied to full size */
        *paddr = vaddr;
        return true;
    }
    return m->aops->vcpu_virt_to_phys(machine_vcpu_state(vcpu), vaddr, paddr);
}

MOSAIC_API bool mosaic_vcpu_get_reg_bytes(MosaicVcpu *vcpu, unsigned regno, uint8_t *buf,
                                          unsigned len)
{
    MosaicMachine *m = mosaic_vcpu_machine(vcpu);
    return m->aops && m->aops->vcpu_get_reg_bytes &&
           m->aops->vcpu_get_reg_bytes(machine_vcpu_state(vcpu), regno, buf, len);
}

MOSAIC_API bool mosaic_vcpu_set_reg_bytes(MosaicVcpu *vcpu, unsigned regno, const uint8_t *buf,
                                          unsigned len)
{
    MosaicMachine *m = mosaic_vcpu_machine(vcpu);
    return m->aops && m->aops->vcpu_set_reg_bytes &&
           m->aops->vcpu_set_reg_bytes(machine_vcpu_state(vcpu), regno, buf, len);
}

MOSAIC_API bool mosaic_machine_breakpoint(MosaicMachine *m, uint64_t pc, bool insert)
{
    return m->aops && m->aops->breakpoint && m->aops->breakpoint(m->accel, pc, insert);
}
