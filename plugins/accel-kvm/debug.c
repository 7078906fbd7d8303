/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: single-step and breakpoints for the GDB stub, through KVM_SET_GUEST_DEBUG.
 * Single-step is offered (vcpu_set_step, tested); kvm_breakpoint is not wired into the
 * ops yet: under nested SVM on TCG the debug registers never fired, and a breakpoint
 * GDB believes inserted but that never stops is worse than GDB's own error.
 * Breakpoints are the CPU's own debug registers (DR0-DR3, instruction breakpoints on a
 * linear address): nothing is written into guest memory, so there is no page to find
 * and no int3 to hide, and at most four exist at once.  Every vCPU takes the current
 * set (and its own step flag) before its next KVM_RUN. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm-internal.h"

#define RFLAGS_RF (1ull << 16) /* resume flag: no instruction breakpoint for one insn */

bool kvm_vcpu_set_step(void *cpu, bool on)
{
    KvmCpu *c = cpu;
    atomic_store(&c->step, on);
    return true;
}

bool kvm_breakpoint(void *accel, uint64_t pc, bool insert)
{
    Kvm *k = accel;
    pthread_mutex_lock(&k->slots_lock);
    bool ok = false;
    unsigned i;
    for (i = 0; i < k->nbp && k->bp[i] != pc; i++)
        ;
    if (insert) {
        if (i < k->nbp)
            ok = true; /* already there */
        else if (k->nbp < KVM_MAX_BPS) {
            k->bp[k->nbp++] = pc;
            ok = true;
        }
    } else if (i < k->nbp) {
        k->bp[i] = k->bp[--k->nbp];
        ok = true;
    }
    if (ok)
        atomic_fetch_add(&k->bp_gen, 1);
    pthread_mutex_unlock(&k->slots_lock);
    return ok;
}

/* Before KVM_RUN: this vCPU's debug state as the stub wants it. */
bool kvm_debug_apply(KvmCpu *c)
{
    Kvm *k = c->k;
    bool step = atomic_load(&c->step);
    unsigned gen = atomic_load(&k->bp_gen);
    if (gen == c->bp_gen_applied && step == c->step_applied)
        return true;
    struct kvm_guest_debug d;
    memset(&d, 0, sizeof(d));
    pthread_mutex_lock(&k->slots_lock);
    unsigned n = k->nbp;
    for (unsigned i = 0; i < n; i++) {
        d.arch.debugreg[i] = k->bp[i];
        d.arch.debugreg[7] |= 1ull << (2 * i); /* Ln: enabled, R/W 00 (execute), LEN 00 */
    }
    pthread_mutex_unlock(&k->slots_lock);
    if (n || step)
        d.control = KVM_GUESTDBG_ENABLE | (n ? KVM_GUESTDBG_USE_HW_BP : 0) |
                    (step ? KVM_GUESTDBG_SINGLESTEP : 0);
    if (ioctl(c->fd, KVM_SET_GUEST_DEBUG, &d) < 0) {
        mosaic_log(KVM_LOG, 1, "vCPU %u: KVM_SET_GUEST_DEBUG: %s", c->index, strerror(errno));
        return false;
    }
    c->bp_gen_applied = gen;
    c->step_applied = step;
    /* Resuming at the breakpoint it stopped on: let that instruction run once. */
    uint64_t rip, fl;
    if (c->stopped_at_bp && kvm_regs_get(c, MOSAIC_X86_REG_RIP, &rip) && rip == c->bp_pc &&
        kvm_regs_get(c, MOSAIC_X86_REG_EFLAGS, &fl))
        kvm_regs_set(c, MOSAIC_X86_REG_EFLAGS, fl | RFLAGS_RF);
    c->stopped_at_bp = false;
    return true;
}

/* KVM_EXIT_DEBUG: a step finished or a breakpoint was reached; the machine stops. */
void kvm_exit_debug(KvmCpu *c)
{
    struct kvm_debug_exit_arch *a = &c->run->debug.arch;
    bool bp = (a->dr6 & 0xf) != 0 && !(a->dr6 & (1u << 14)); /* B0-B3, not BS (a step) */
    c->stopped_at_bp = bp;
    c->bp_pc = a->pc;
    c->bp_gen_applied = ~0u; /* re-apply (and set RF) before the next entry */
    mosaic_vcpu_debug_stop(c->vcpu);
}
