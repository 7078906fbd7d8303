/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Accelerators: engines that run vCPUs (TCG, KVM, HVF).
 *
 * The core owns one host thread per vCPU.  The thread calls vcpu_run() while the
 * machine runs; vcpu_run() returns when vcpu_kick() was called or when the vCPU
 * halted with mosaic_vcpu_halt() returning true.  The core then handles pause,
 * reset and shutdown requests and calls vcpu_run() again; while a request of
 * mosaic_machine_request_shutdown() is pending it calls no vcpu_run() at all.
 */
#ifndef MOSAIC_ACCEL_H
#define MOSAIC_ACCEL_H

#include <mosaic/device.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MosaicVcpu MosaicVcpu;

/* Register numbers (vcpu_get_reg/vcpu_set_reg, mosaic_vcpu_*_reg) follow GDB's target
 * description of the architecture: see the architecture's header (<mosaic/riscv.h>).
 * Beyond those, this pseudo-register holds the privilege level on every architecture. */
#define MOSAIC_REG_PRIV 0x10000

typedef void MosaicStatFn(void *opaque, const char *name, uint64_t value);

typedef struct MosaicAccelOps {
    uint32_t size;                 /* sizeof(MosaicAccelOps) */
    const char *const *archs;      /* NULL-terminated, e.g. {"riscv64", NULL} */
    void *(*create)(MosaicMachine *m, const MosaicProps *props, MosaicError *err);
    void (*destroy)(void *accel);
    void *(*vcpu_create)(void *accel, MosaicVcpu *vcpu, unsigned index, MosaicError *err);
    void (*vcpu_destroy)(void *cpu);
    void (*vcpu_reset)(void *cpu);        /* architectural reset state */
    void (*vcpu_run)(void *cpu);          /* vCPU thread */
    void (*vcpu_kick)(void *cpu);         /* any thread: make vcpu_run return soon */
    void (*vcpu_set_irq)(void *cpu, unsigned line, bool level); /* any thread */
    bool (*vcpu_get_reg)(void *cpu, unsigned regno, uint64_t *value);
    bool (*vcpu_set_reg)(void *cpu, unsigned regno, uint64_t value);
    /* Optional.  The map of the machine's memory changed while it runs (a region added
     * or removed, dirty tracking switched): any thread, the core lock held.  Drop every
     * cached translation and host pointer of every vCPU before it next touches guest
     * memory through them (TCG: kick each hart to flush its TLB at its next block
     * boundary; KVM: rewrite the memory slots now). */
    void (*memory_changed)(void *accel);
    void (*query_stats)(void *accel, MosaicStatFn *fn, void *opaque);
    /* Optional, for the GDB stub: single-step and breakpoints. */
    bool (*vcpu_set_step)(void *cpu, bool on);
    bool (*breakpoint)(void *accel, uint64_t pc, bool insert);
    /* Since 1.1, optional: registers as a debugger sees them (mosaic/debug.h). */
    const struct MosaicDebugTarget *debug_target;
    /* Since 1.1, optional (ioeventfd): from now on (assign) or no longer, a guest write
     * of `data` (`size` bytes) to guest-physical `addr` signals the eventfd `fd` instead
     * of reaching the device through an exit; false when the accelerator cannot. */
    bool (*notify_fd)(void *accel, uint64_t addr, unsigned size, uint64_t data, int fd,
                      bool assign);
    /* Since 1.1, optional (irqfd): interrupt line `line` (numbered as for vcpu_set_irq)
     * is level-triggered and raised often (a virtio transport's line): from now on (on)
     * or no longer, the accelerator may deliver it on a faster path (KVM: an irqfd into
     * the in-kernel interrupt controller, taken down when the guest acknowledges it and
     * raised again while the level stays high).  vcpu_set_irq keeps its meaning either
     * way; false when the accelerator cannot. */
    bool (*irq_fast)(void *accel, unsigned line, bool on);
    /* Since 1.1, optional (dirty logging): RAM the guest wrote without the core seeing
     * it (KVM's dirty log) is marked dirty now (mosaic_ram_set_dirty) in every region
     * that has dirty tracking on.  Called by mosaic_machine_dirty_sync(), which a
     * client also calls right after switching tracking on: from then on at the latest
     * the accelerator logs. */
    void (*dirty_sync)(void *accel);
    /* Since 1.1, optional: a message-signalled interrupt (the address and data a PCI
     * function wrote) for interrupt controllers the accelerator emulates (KVM's local
     * APICs: KVM_SIGNAL_MSI); false when it cannot.  Boards reach it through
     * mosaic_machine_msi(). */
    bool (*msi)(void *accel, uint64_t addr, uint32_t data);
    /* Since 1.1, optional, for debuggers: the guest-physical address that virtual
     * address `vaddr` of this vCPU maps to through the guest's own page tables (as
     * they are now; identity while paging is off); false when it is not mapped.
     * Main loop thread, vCPU stopped.  Without it, addresses are taken as physical. */
    bool (*vcpu_virt_to_phys)(void *cpu, uint64_t vaddr, uint64_t *paddr);
    /* Since 1.1, optional, for debuggers: a register wider than the 8 bytes of
     * vcpu_get_reg/vcpu_set_reg (x86: st0-7, 10 bytes; xmm0-15, 16 bytes) as `len`
     * bytes, little-endian, the debugger's layout; false when this vCPU has no such
     * register of that size.  Main loop thread, vCPU stopped. */
    bool (*vcpu_get_reg_bytes)(void *cpu, unsigned regno, uint8_t *buf, unsigned len);
    bool (*vcpu_set_reg_bytes)(void *cpu, unsigned regno, const uint8_t *buf, unsigned len);
} MosaicAccelOps;

MOSAIC_API unsigned mosaic_vcpu_index(const MosaicVcpu *vcpu);
MOSAIC_API MosaicMachine *mosaic_vcpu_machine(const MosaicVcpu *vcpu);
/* True when the core wants vcpu_run() to return (pause, reset, shutdown, kick). */
MOSAIC_API bool mosaic_vcpu_exit_requested(const MosaicVcpu *vcpu);
/* Sleeps the vCPU thread (WFI) until mosaic_vcpu_wake() or an exit request; returns
 * false when woken by an exit request.  */
MOSAIC_API bool mosaic_vcpu_halt(MosaicVcpu *vcpu);
MOSAIC_API void mosaic_vcpu_wake(MosaicVcpu *vcpu);
/* Before reading dirty bits (mosaic_ram_test_and_clear_dirty) a client calls this so
 * that pages the guest wrote behind the core's back (a hypervisor's dirty log) are in
 * its bitmaps.  Main loop thread.  Since 1.1. */
MOSAIC_API void mosaic_machine_dirty_sync(MosaicMachine *m);
/* An MSI write (address, data) for the accelerator's interrupt controllers: what a
 * board maps at its MSI address window does with the writes it gets.  False when the
 * accelerator has no such controllers.  Any thread.  Since 1.1. */
MOSAIC_API bool mosaic_machine_msi(MosaicMachine *m, uint64_t addr, uint32_t data);
/* Reported by the accelerator when the vCPU stopped at a breakpoint or step. */
MOSAIC_API void mosaic_vcpu_debug_stop(MosaicVcpu *vcpu);

#ifdef __cplusplus
}
#endif
#endif
