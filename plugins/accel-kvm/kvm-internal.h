/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: runs x86-64 vCPUs on the host's KVM.  Internal header shared by the
 * plugin's files. */
#ifndef ACCEL_KVM_INTERNAL_H
#define ACCEL_KVM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>
#include <mosaic/mosaic.h>
#include <mosaic/x86.h>

#define KVM_LOG "accel-kvm"
#define KVM_MAX_SLOTS 64
#define KVM_MAX_VCPUS 64
#define KVM_MAX_BPS 256 /* int3 breakpoints (the GDB stub allows as many) */

typedef struct KvmSlot {
    uint64_t base, size, host;
    MosaicRegion *region;    /* the RAM region behind it, for the dirty log */
    uint64_t region_offset;
    uint32_t flags;          /* KVM_MEM_READONLY, KVM_MEM_LOG_DIRTY_PAGES */
    bool used;
} KvmSlot;

typedef struct Kvm Kvm;

/* A software breakpoint (debug.c): int3 written over `orig` at guest-physical `gpa`. */
typedef struct KvmSwBp {
    uint64_t pc, gpa;
    uint8_t orig;
} KvmSwBp;

/* An interrupt line delivered through an irqfd (irqfd.c); fd -1: through ioctls. */
typedef struct KvmIrqFd {
    Kvm *k;
    int fd, resample;
    struct MosaicFdWatch *watch;
    _Atomic bool level;      /* what the device holds the line at */
} KvmIrqFd;

struct Kvm {
    MosaicMachine *m;
    MosaicAddressSpace *as, *io;
    char *device;            /* "/dev/kvm" unless [accel] device says otherwise */
    int kvm_fd, vm_fd;
    int run_size;            /* KVM_GET_VCPU_MMAP_SIZE */
    struct kvm_cpuid2 *cpuid; /* what the host supports, adjusted per vCPU */
    bool readonly_mem;       /* KVM_CAP_READONLY_MEM: ROM as read-only slots */
    bool ioeventfd;          /* KVM_CAP_IOEVENTFD: virtio queue notifications without exits */
    bool signal_msi;         /* KVM_CAP_SIGNAL_MSI: MSIs of PCI functions */

    pthread_mutex_t slots_lock;
    uint64_t slots_gen;      /* address-space generation the slots mirror */
    KvmSlot slots[KVM_MAX_SLOTS];
    unsigned max_slots;

    struct KvmCpu *cpus[KVM_MAX_VCPUS];
    unsigned ncpus;
    _Atomic uint64_t stat_io, stat_mmio, stat_unmapped, stat_runs;
    _Atomic int64_t stat_notify_fds; /* ioeventfds in place */
    bool irqfd_ok;           /* KVM_CAP_IRQFD and KVM_CAP_IRQFD_RESAMPLE */
    KvmIrqFd irqfds[MOSAIC_X86_NGSI];
    _Atomic int64_t stat_irq_fds;    /* lines on irqfds */
    _Atomic uint64_t stat_irqfd_signals, stat_irqfd_resamples, stat_irq_ioctls;
    _Atomic uint64_t stat_dirty_pages; /* pages KVM's dirty logs reported */
    _Atomic uint64_t stat_msis;
    KvmSwBp bp[KVM_MAX_BPS]; /* GDB breakpoints (debug.c), under slots_lock */
    _Atomic uint64_t stat_bp_hits;
    unsigned nbp;
    _Atomic unsigned bp_gen;
    /* chips.c: the PIC, IOAPIC and PIT at creation, for resets. */
    bool chips_saved;
    struct kvm_irqchip reset_chip[3];
    struct kvm_pit_state2 reset_pit;
};

typedef struct KvmCpu {
    Kvm *k;
    MosaicVcpu *vcpu;
    unsigned index;
    int fd;
    struct kvm_run *run;
    _Atomic bool have_thread;
    pthread_t thread;

    /* Register cache: loaded on first access while the vCPU is out of KVM_RUN,
     * written back before the next KVM_RUN when changed. */
    bool regs_valid, regs_dirty, sregs_valid, sregs_dirty;
    struct kvm_regs regs;
    struct kvm_sregs sregs;

    /* The state KVM created the vCPU in: what a reset goes back to. */
    struct kvm_regs reset_regs;
    struct kvm_sregs reset_sregs;
    struct kvm_fpu reset_fpu;
    struct kvm_lapic_state reset_lapic;
    struct kvm_msrs *reset_msrs; /* msrs.c; NULL: KVM lists none */
    struct kvm_xcrs reset_xcrs;
    bool have_xcrs;
    unsigned unmapped_reports;

    /* debug.c: the stub's wishes and what KVM has of them. */
    _Atomic bool step;
    bool step_applied;
    unsigned bp_gen_applied;
} KvmCpu;

/* slots.c: mirrors the RAM and ROM sections of the machine's memory into KVM memory
 * slots (MMIO stays unmapped there, so guest accesses to it exit). */
bool kvm_slots_sync(Kvm *k, MosaicError *err);
/* The dirty log of every slot that keeps one, merged into the core's bitmaps. */
void kvm_dirty_sync(void *accel);

/* irqfd.c: interrupt lines, through KVM_IRQ_LINE_STATUS or an irqfd. */
void kvm_irqfd_init(Kvm *k);
void kvm_irqfd_fini(Kvm *k);
void kvm_irq_line(Kvm *k, unsigned line, bool level);
bool kvm_irq_fast(void *accel, unsigned line, bool on);

/* cpuid.c */
bool kvm_cpuid_init(Kvm *k, MosaicError *err);
bool kvm_cpuid_set(KvmCpu *c, MosaicError *err);

/* msrs.c: the MSRs at creation, written back at reset. */
void kvm_msrs_snapshot(KvmCpu *c);
void kvm_msrs_reset(KvmCpu *c);

/* chips.c: the in-kernel PIC, IOAPIC and PIT at creation, put back at reset. */
void kvm_chips_snapshot(Kvm *k);
void kvm_chips_reset(Kvm *k);

/* regs.c */
bool kvm_regs_get(KvmCpu *c, unsigned regno, uint64_t *value);
bool kvm_regs_set(KvmCpu *c, unsigned regno, uint64_t value);
bool kvm_regs_flush(KvmCpu *c);
/* st0-7 and xmm0-15 (MosaicAccelOps.vcpu_get/set_reg_bytes). */
bool kvm_regs_get_bytes(void *cpu, unsigned regno, uint8_t *buf, unsigned len);
bool kvm_regs_set_bytes(void *cpu, unsigned regno, const uint8_t *buf, unsigned len);
void kvm_regs_invalidate(KvmCpu *c);

/* debug.c: single-step and int3 breakpoints (KVM_SET_GUEST_DEBUG), virtual addresses. */
bool kvm_vcpu_set_step(void *cpu, bool on);
bool kvm_breakpoint(void *accel, uint64_t pc, bool insert);
bool kvm_vcpu_virt_to_phys(void *cpu, uint64_t vaddr, uint64_t *paddr);
bool kvm_debug_apply(KvmCpu *c);
bool kvm_exit_debug(KvmCpu *c);

/* exits.c: KVM_EXIT_IO and KVM_EXIT_MMIO through the core's address spaces. */
void kvm_exit_io(KvmCpu *c);
void kvm_exit_mmio(KvmCpu *c);

#endif
