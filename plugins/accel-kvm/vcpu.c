/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: one KVM vCPU per core vCPU thread.  KVM_RUN until the core wants the
 * thread back; a kick sets kvm_run.immediate_exit and signals the thread, so a kick
 * that lands just before KVM_RUN is not lost. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include "kvm-internal.h"

#define SIG_KICK (SIGRTMIN + 3)

static void kick_handler(int sig) { (void)sig; }

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;
static void kick_signal_init(void)
{
    struct sigaction sa = {.sa_handler = kick_handler}; /* no SA_RESTART: KVM_RUN returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIG_KICK, &sa, NULL);
}

void *kvm_vcpu_create(void *accel, MosaicVcpu *vcpu, unsigned index, MosaicError *err)
{
    Kvm *k = accel;
    pthread_once(&kick_once, kick_signal_init);
    if (index >= KVM_MAX_VCPUS) {
        mosaic_error_set(err, "accel kvm: vCPU %u: at most %u vCPUs", index, KVM_MAX_VCPUS);
        return NULL;
    }
    KvmCpu *c = calloc(1, sizeof(*c));
    if (!c) {
        mosaic_error_set(err, "accel kvm: out of memory");
        return NULL;
    }
    c->k = k;
    c->vcpu = vcpu;
    c->index = index;
    c->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (c->fd < 0) {
        mosaic_error_set(err, "accel kvm: cannot create vCPU %u: %s", index, strerror(errno));
        free(c);
        return NULL;
    }
    c->run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
    if (c->run == MAP_FAILED) {
        mosaic_error_set(err, "accel kvm: vCPU %u: cannot map kvm_run: %s", index, strerror(errno));
        close(c->fd);
        free(c);
        return NULL;
    }
    if (!kvm_cpuid_set(c, err) ||
        ioctl(c->fd, KVM_GET_REGS, &c->reset_regs) < 0 ||
        ioctl(c->fd, KVM_GET_SREGS, &c->reset_sregs) < 0 ||
        ioctl(c->fd, KVM_GET_FPU, &c->reset_fpu) < 0 ||
        ioctl(c->fd, KVM_GET_LAPIC, &c->reset_lapic) < 0) {
        if (!mosaic_error_is_set(err))
            mosaic_error_set(err, "accel kvm: vCPU %u: reading its initial state: %s", index,
                             strerror(errno));
        munmap(c->run, (size_t)k->run_size);
        close(c->fd);
        free(c);
        return NULL;
    }
    kvm_msrs_snapshot(c);
    c->have_xcrs = ioctl(c->fd, KVM_GET_XCRS, &c->reset_xcrs) == 0;
    k->cpus[index] = c;
    if (index + 1 > k->ncpus)
        k->ncpus = index + 1;
    return c;
}

void kvm_vcpu_destroy(void *cpu)
{
    KvmCpu *c = cpu;
    c->k->cpus[c->index] = NULL;
    free(c->reset_msrs);
    munmap(c->run, (size_t)c->k->run_size);
    close(c->fd);
    free(c);
}

/* MSRs firmware would have set: MTRRs enabled with write-back as the default type
 * (KVM's reset value leaves them off, making all guest memory uncacheable where the
 * host honours guest MTRRs, e.g. under nested SVM), fast strings on. */
static void set_boot_msrs(KvmCpu *c)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e[2];
    } m = {.hdr.nmsrs = 2,
           .e = {{.index = 0x2ff, .data = 1u << 11 | 6}, /* MSR_MTRRdefType: E, WB */
                 {.index = 0x1a0, .data = 1}}};        /* MSR_IA32_MISC_ENABLE: fast strings */
    if (ioctl(c->fd, KVM_SET_MSRS, &m) != 2)
        mosaic_log(KVM_LOG, 1, "vCPU %u: setting the MTRR default type failed", c->index);
}

/* Back to the state KVM created the vCPU in (the x86 power-on state); the BSP runs,
 * the others wait for INIT/SIPI from the guest. */
void kvm_vcpu_reset(void *cpu)
{
    KvmCpu *c = cpu;
    c->regs = c->reset_regs;
    c->sregs = c->reset_sregs;
    c->regs_valid = c->regs_dirty = c->sregs_valid = c->sregs_dirty = true;
    if (c->index == 0) /* the VM's interrupt controllers, once per machine reset */
        kvm_chips_reset(c->k);
    kvm_msrs_reset(c);
    if (c->have_xcrs && ioctl(c->fd, KVM_SET_XCRS, &c->reset_xcrs) < 0)
        mosaic_log(KVM_LOG, 1, "vCPU %u: reset: KVM_SET_XCRS: %s", c->index, strerror(errno));
    /* The APIC base (in sregs: out of x2APIC mode) goes back before the APIC's
     * registers do; the board's boot registers are written over it later. */
    if (ioctl(c->fd, KVM_SET_SREGS, &c->reset_sregs) < 0)
        mosaic_log(KVM_LOG, 1, "vCPU %u: reset: KVM_SET_SREGS: %s", c->index, strerror(errno));
    if (ioctl(c->fd, KVM_SET_FPU, &c->reset_fpu) < 0 ||
        ioctl(c->fd, KVM_SET_LAPIC, &c->reset_lapic) < 0)
        mosaic_log(KVM_LOG, 1, "vCPU %u: reset: %s", c->index, strerror(errno));
    set_boot_msrs(c);
    struct kvm_mp_state mp = {.mp_state = c->index == 0 ? KVM_MP_STATE_RUNNABLE
                                                        : KVM_MP_STATE_UNINITIALIZED};
    if (ioctl(c->fd, KVM_SET_MP_STATE, &mp) < 0)
        mosaic_log(KVM_LOG, 1, "vCPU %u: reset: KVM_SET_MP_STATE: %s", c->index, strerror(errno));
    struct kvm_vcpu_events ev;
    if (ioctl(c->fd, KVM_GET_VCPU_EVENTS, &ev) == 0) {
        memset(&ev.exception, 0, sizeof(ev.exception));
        memset(&ev.interrupt, 0, sizeof(ev.interrupt));
        ev.nmi.injected = ev.nmi.pending = 0;
        ev.flags = 0;
        ioctl(c->fd, KVM_SET_VCPU_EVENTS, &ev);
    }
}

void kvm_vcpu_kick(void *cpu)
{
    KvmCpu *c = cpu;
    __atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (atomic_load(&c->have_thread))
        pthread_kill(c->thread, SIG_KICK);
}

/* A failure KVM_RUN reports: the machine cannot go on.  Like every request that ends
 * or resets the machine, the caller then returns: the core runs no vCPU again before
 * it handled the request (re-entering KVM_RUN would meet the same failure, or after a
 * triple fault run from the reset vector KVM left the vCPU at). */
static void vcpu_fatal(KvmCpu *c, const char *what)
{
    uint64_t rip = 0;
    kvm_regs_get(c, MOSAIC_X86_REG_RIP, &rip);
    mosaic_log(KVM_LOG, 0, "vCPU %u: %s (rip 0x%llx); the machine stops", c->index, what,
               (unsigned long long)rip);
    mosaic_machine_request_shutdown(mosaic_vcpu_machine(c->vcpu), MOSAIC_SHUTDOWN_GUEST_PANIC, 1);
}

void kvm_vcpu_run(void *cpu)
{
    KvmCpu *c = cpu;
    Kvm *k = c->k;
    if (!atomic_load(&c->have_thread)) {
        c->thread = pthread_self();
        atomic_store(&c->have_thread, true);
    }
    if (mosaic_address_space_generation(k->as) != __atomic_load_n(&k->slots_gen, __ATOMIC_ACQUIRE)) {
        MosaicError *e = mosaic_error_new();
        if (!kvm_slots_sync(k, e)) {
            vcpu_fatal(c, mosaic_error_message(e));
            mosaic_error_free(e);
            return;
        }
        mosaic_error_free(e);
    }
    kvm_debug_apply(c);
    if (!kvm_regs_flush(c)) {
        vcpu_fatal(c, "cannot load its registers");
        return;
    }
    while (!mosaic_vcpu_exit_requested(c->vcpu)) {
        int rc = ioctl(c->fd, KVM_RUN, 0);
        int e = errno;
        __atomic_store_n(&c->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        kvm_regs_invalidate(c);
        atomic_fetch_add_explicit(&k->stat_runs, 1, memory_order_relaxed);
        if (rc < 0) {
            if (e == EINTR || e == EAGAIN) {
                continue;
            }
            vcpu_fatal(c, strerror(e));
            return;
        }
        switch (c->run->exit_reason) {
        case KVM_EXIT_IO:
            kvm_exit_io(c);
            break;
        case KVM_EXIT_MMIO:
            kvm_exit_mmio(c);
            break;
        case KVM_EXIT_HLT: /* only without an in-kernel APIC; wait for an interrupt */
            mosaic_vcpu_halt(c->vcpu);
            break;
        case KVM_EXIT_SHUTDOWN: /* triple fault: a reset, as on real hardware.  KVM left
                                 * the vCPU at the reset vector: it must not run before
                                 * the core's reset, which holds every vCPU until then */
            mosaic_log(KVM_LOG, 2, "vCPU %u: triple fault, resetting the machine", c->index);
            mosaic_machine_request_shutdown(mosaic_vcpu_machine(c->vcpu),
                                            MOSAIC_SHUTDOWN_GUEST_RESET, 0);
            return;
        case KVM_EXIT_SYSTEM_EVENT:
            mosaic_machine_request_shutdown(mosaic_vcpu_machine(c->vcpu),
                                            c->run->system_event.type == KVM_SYSTEM_EVENT_RESET
                                                ? MOSAIC_SHUTDOWN_GUEST_RESET
                                                : MOSAIC_SHUTDOWN_GUEST_POWEROFF, 0);
            return;
        case KVM_EXIT_INTR:
            break;
        case KVM_EXIT_DEBUG: /* GDB: a step or a breakpoint (debug.c) */
            if (kvm_exit_debug(c))
                return;
            break;
        case KVM_EXIT_FAIL_ENTRY: {
            char msg[96];
            snprintf(msg, sizeof(msg), "KVM could not enter the guest (hardware reason 0x%llx)",
                     (unsigned long long)c->run->fail_entry.hardware_entry_failure_reason);
            vcpu_fatal(c, msg);
            return;
        }
        case KVM_EXIT_INTERNAL_ERROR: {
            char msg[96];
            snprintf(msg, sizeof(msg), "KVM internal error (suberror %u): the guest did "
                     "something KVM cannot emulate", c->run->internal.suberror);
            vcpu_fatal(c, msg);
            return;
        }
        default: {
            char msg[64];
            snprintf(msg, sizeof(msg), "unexpected KVM exit reason %u", c->run->exit_reason);
            vcpu_fatal(c, msg);
            return;
        }
        }
    }
}
