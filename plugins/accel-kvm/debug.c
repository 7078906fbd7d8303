/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: single-step, breakpoints and virtual addresses for the GDB stub.
 *
 * Breakpoints are software breakpoints, as QEMU's KVM support does them: the first
 * byte of the instruction is saved and replaced by int3 (0xcc) in guest RAM, and
 * KVM_SET_GUEST_DEBUG with KVM_GUESTDBG_USE_SW_BP makes KVM hand every #BP to us
 * (KVM_EXIT_DEBUG); one that is not ours goes back to the guest.  The address is
 * virtual (GDB's `break start_kernel`): it is translated through the guest's page
 * tables as vCPU 0 sees them when the breakpoint is inserted (pagewalk.c), so it must be
 * mapped then; GDB inserts breakpoints whenever it resumes the machine and removes them
 * when it stops, so a later mapping is picked up on the next resume.
 *
 * GDB's Z1 (hardware breakpoint) reaches the same op: the debug registers DR0-DR3
 * (KVM_GUESTDBG_USE_HW_BP) are not used.  They could not be tested: the only x86 KVM
 * this project's CI has is KVM under QEMU 7.2's TCG emulating SVM, and there QEMU's
 * VMRUN loads the guest's DR7 from the VMCB by assignment instead of through
 * cpu_x86_update_dr7, so the TCG breakpoints behind DR0-DR3 are never armed for the
 * nested guest and never fire (QEMU fixed that in 9.1: "target/i386: disable/enable
 * breakpoints on vmentry/vmexit").  An int3 works at any address that is mapped and in
 * RAM, has no limit of four, and is what GDB asks for first (Z0). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm-internal.h"
#include "pagewalk.h"

#define INT3 0xcc
#define BP_VECTOR 3

bool kvm_vcpu_set_step(void *cpu, bool on)
{
    KvmCpu *c = cpu;
    atomic_store(&c->step, on);
    return true;
}

/* A page-table entry, from guest RAM only (never a device register). */
static bool read_pte(void *opaque, uint64_t gpa, uint64_t *entry)
{
    Kvm *k = opaque;
    MosaicMemSection sec = MOSAIC_MEM_SECTION_INIT;
    if (!mosaic_as_lookup(k->as, gpa, &sec) || !sec.host || gpa + 8 > sec.base + sec.size)
        return false;
    uint8_t b[8];
    memcpy(b, sec.host + (gpa - sec.base), 8);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    *entry = v;
    return true;
}

bool kvm_vcpu_virt_to_phys(void *cpu, uint64_t vaddr, uint64_t *paddr)
{
    KvmCpu *c = cpu;
    KvmPagingState st;
    if (!kvm_regs_get(c, MOSAIC_X86_REG_CR0, &st.cr0) || !kvm_regs_get(c, MOSAIC_X86_REG_CR3, &st.cr3) ||
        !kvm_regs_get(c, MOSAIC_X86_REG_CR4, &st.cr4) || !kvm_regs_get(c, MOSAIC_X86_REG_EFER, &st.efer))
        return false;
    return kvm_pagewalk(&st, vaddr, read_pte, c->k, paddr);
}

/* The byte at guest-physical `gpa`, when it is writable RAM. */
static uint8_t *ram_byte(Kvm *k, uint64_t gpa)
{
    MosaicMemSection sec = MOSAIC_MEM_SECTION_INIT;
    if (!mosaic_as_lookup(k->as, gpa, &sec) || !sec.host || sec.readonly)
        return NULL;
    return sec.host + (gpa - sec.base);
}

static int bp_find(Kvm *k, uint64_t pc)
{
    for (unsigned i = 0; i < k->nbp; i++)
        if (k->bp[i].pc == pc)
            return (int)i;
    return -1;
}

bool kvm_breakpoint(void *accel, uint64_t pc, bool insert)
{
    Kvm *k = accel;
    if (!k->ncpus)
        return false;
    pthread_mutex_lock(&k->slots_lock);
    bool ok = false;
    int i = bp_find(k, pc);
    if (insert && i >= 0) {
        ok = true; /* already there */
    } else if (insert && k->nbp < KVM_MAX_BPS) {
        uint64_t gpa;
        uint8_t *p;
        if (kvm_vcpu_virt_to_phys(k->cpus[0], pc, &gpa) && (p = ram_byte(k, gpa))) {
            k->bp[k->nbp++] = (KvmSwBp){.pc = pc, .gpa = gpa, .orig = *p};
            *p = INT3;
            ok = true;
        }
    } else if (!insert && i >= 0) {
        uint8_t *p = ram_byte(k, k->bp[i].gpa);
        if (p && *p == INT3) /* the guest may have rewritten its code meanwhile */
            *p = k->bp[i].orig;
        k->bp[i] = k->bp[--k->nbp];
        ok = true;
    }
    if (ok)
        atomic_fetch_add(&k->bp_gen, 1);
    pthread_mutex_unlock(&k->slots_lock);
    if (ok)
        mosaic_log(KVM_LOG, 2, "breakpoint %s at 0x%llx", insert ? "inserted" : "removed",
                   (unsigned long long)pc);
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
    pthread_mutex_lock(&k->slots_lock);
    bool bps = k->nbp > 0;
    pthread_mutex_unlock(&k->slots_lock);
    struct kvm_guest_debug d;
    memset(&d, 0, sizeof(d));
    if (bps || step)
        d.control = KVM_GUESTDBG_ENABLE | (bps ? KVM_GUESTDBG_USE_SW_BP : 0) |
                    (step ? KVM_GUESTDBG_SINGLESTEP : 0);
    if (ioctl(c->fd, KVM_SET_GUEST_DEBUG, &d) < 0) {
        mosaic_log(KVM_LOG, 1, "vCPU %u: KVM_SET_GUEST_DEBUG: %s", c->index, strerror(errno));
        return false;
    }
    c->bp_gen_applied = gen;
    c->step_applied = step;
    return true;
}

/* A #BP that is not ours (the guest's own int3: kprobes, text patching) goes back to
 * the guest as if we had not been watching. */
static void reinject_bp(KvmCpu *c)
{
    struct kvm_vcpu_events ev;
    kvm_regs_flush(c);
    if (ioctl(c->fd, KVM_GET_VCPU_EVENTS, &ev) < 0) {
        mosaic_log(KVM_LOG, 1, "vCPU %u: KVM_GET_VCPU_EVENTS: %s", c->index, strerror(errno));
        return;
    }
    ev.flags = 0; /* NMI, SIPI and shadow state as they are */
    ev.exception.injected = 1;
    ev.exception.nr = BP_VECTOR;
    ev.exception.has_error_code = 0;
    ev.exception.error_code = 0;
    if (ioctl(c->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
        mosaic_log(KVM_LOG, 1, "vCPU %u: KVM_SET_VCPU_EVENTS: %s", c->index, strerror(errno));
    kvm_regs_invalidate(c);
}

/* KVM_EXIT_DEBUG: a step finished or an int3 was reached.  True when the machine
 * stops (ours), false when the guest goes on (its own #BP, given back to it). */
bool kvm_exit_debug(KvmCpu *c)
{
    struct kvm_debug_exit_arch *a = &c->run->debug.arch;
    if (a->exception == BP_VECTOR) {
        Kvm *k = c->k;
        pthread_mutex_lock(&k->slots_lock);
        bool ours = bp_find(k, a->pc) >= 0;
        bool after = !ours && bp_find(k, a->pc - 1) >= 0;
        pthread_mutex_unlock(&k->slots_lock);
        uint64_t rip;
        /* KVM reports the int3's own address; should a CPU report the next one, the
         * stop is still at the breakpoint, where GDB looks for it. */
        if (after && kvm_regs_get(c, MOSAIC_X86_REG_RIP, &rip) && rip == a->pc) {
            kvm_regs_set(c, MOSAIC_X86_REG_RIP, a->pc - 1);
            ours = true;
        }
        if (!ours) {
            reinject_bp(c);
            return false;
        }
        atomic_fetch_add_explicit(&k->stat_bp_hits, 1, memory_order_relaxed);
    }
    mosaic_vcpu_debug_stop(c->vcpu);
    return true;
}
