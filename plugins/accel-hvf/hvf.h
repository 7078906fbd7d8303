/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-hvf: shared state of the plugin's files. */
#ifndef HVF_H
#define HVF_H

#include <mosaic/accel.h>
#include <mosaic/machine.h>
#include <mosaic/memory.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <Hypervisor/hv.h>
#include <Hypervisor/hv_vmx.h>

#include "x86emu.h"

#define HVF_MAX_VCPUS 64
#define HVF_MAX_MAPPINGS 64

/* Register numbers for vcpu_get_reg/vcpu_set_reg: GDB's amd64 order for the first 24,
 * then the state a board needs to start a guest in any mode.  They move to
 * <mosaic/x86.h> when the x86 machine (the KVM issue) adds that header. */
enum {
    HVF_REG_RAX, HVF_REG_RBX, HVF_REG_RCX, HVF_REG_RDX, HVF_REG_RSI, HVF_REG_RDI,
    HVF_REG_RBP, HVF_REG_RSP, HVF_REG_R8, HVF_REG_R15 = HVF_REG_R8 + 7,
    HVF_REG_RIP = 16, HVF_REG_EFLAGS, HVF_REG_CS, HVF_REG_SS, HVF_REG_DS, HVF_REG_ES,
    HVF_REG_FS, HVF_REG_GS,
    HVF_REG_SEG_BASE0 = 0x1000,   /* + X86_ES..X86_GS */
    HVF_REG_SEG_LIMIT0 = 0x1010,
    HVF_REG_SEG_AR0 = 0x1020,     /* VMX access-rights format */
    HVF_REG_CR0 = 0x1030, HVF_REG_CR2, HVF_REG_CR3, HVF_REG_CR4, HVF_REG_EFER,
};

typedef struct HvfSeg {
    uint16_t sel;
    uint32_t limit, ar;
    uint64_t base;
} HvfSeg;

/* The registers as the core sees them while the vCPU is not running; written into the
 * vCPU before it runs again when `dirty`. */
typedef struct HvfRegs {
    uint64_t gpr[16];          /* x86 encoding order (X86_RAX...) */
    uint64_t rip, rflags;
    HvfSeg seg[6];
    uint64_t cr0, cr2, cr3, cr4, efer;
} HvfRegs;

typedef struct HvfMapping {
    uint64_t gpa, size;
} HvfMapping;

typedef struct Hvf {
    MosaicMachine *machine;
    MosaicAddressSpace *as;
    MosaicAddressSpace *io;     /* the machine's port space (SDK 1.1) */
    pthread_mutex_t map_lock;
    HvfMapping maps[HVF_MAX_MAPPINGS];
    unsigned nmaps;
    atomic_ulong exits, mmio_exits, io_exits, emulated;
} Hvf;

typedef struct HvfCpu {
    Hvf *hvf;
    MosaicVcpu *vcpu;
    unsigned index;
    bool created;              /* hv_vcpu_create ran (on this vCPU's thread) */
    hv_vcpuid_t id;
    HvfRegs regs;
    bool dirty;
    bool stopped;              /* an instruction could not be emulated: stays stopped until reset */
    atomic_bool kicked;
    /* Interrupt vectors raised by the machine's interrupt controller and not yet taken. */
    pthread_mutex_t irq_lock;
    uint64_t pending[4];
    uint64_t apic_base;
} HvfCpu;

/* hvf-memory.c */
bool hvf_section_mappable(const MosaicMemSection *s);
bool hvf_map_memory(Hvf *h, MosaicError *err);
void hvf_unmap_memory(Hvf *h);

/* hvf-regs.c: moving state between the shadow and the vCPU (its own thread only). */
void hvf_regs_load(HvfCpu *c);
void hvf_regs_store(HvfCpu *c);
void hvf_regs_reset(HvfRegs *r);
bool hvf_reg_get(HvfCpu *c, unsigned regno, uint64_t *v);
bool hvf_reg_set(HvfCpu *c, unsigned regno, uint64_t v);
void hvf_emu_state_from(HvfCpu *c, X86EmuCpu *e);
void hvf_emu_state_to(HvfCpu *c, const X86EmuCpu *e);
uint64_t hvf_vmcs(HvfCpu *c, uint32_t field);
void hvf_vmcs_set(HvfCpu *c, uint32_t field, uint64_t v);

/* hvf-exit.c */
typedef enum { HVF_CONTINUE, HVF_RETURN } HvfNext;
HvfNext hvf_handle_exit(HvfCpu *c);
void hvf_setup_controls(HvfCpu *c);
void hvf_inject_pending(HvfCpu *c);
bool hvf_irq_pending(HvfCpu *c);

#endif
