/* SPDX-License-Identifier: GPL-2.0-or-later */
/* VMX exits: port I/O, EPT violations (MMIO: the instruction emulator), CPUID, MSRs, HLT,
 * control-register writes, interrupt windows.  Every fault the emulator reports is
 * injected into the guest; an instruction it cannot emulate stops this vCPU with the
 * emulator's message logged, never skipped. */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
#include <x86intrin.h>

#include "hvf.h"
#include "vmx.h"

#define LOG "accel-hvf"

/* --- controls ---------------------------------------------------------------------- */

/* A control value the processor accepts: the allowed-0 settings (low half of the
 * capability) forced on, the allowed-1 settings (high half) as the limit. */
static uint64_t ctrl(hv_vmx_capability_t cap, uint64_t want)
{
    uint64_t v = 0;
    hv_vmx_read_capability(cap, &v);
    return (want | (v & 0xffffffff)) & (v >> 32);
}

void hvf_setup_controls(HvfCpu *c)
{
    hvf_vmcs_set(c, VMCS_CTRL_PIN_BASED, ctrl(HV_VMX_CAP_PINBASED,
                                              PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING));
    hvf_vmcs_set(c, VMCS_CTRL_CPU_BASED, ctrl(HV_VMX_CAP_PROCBASED,
                                              CPU_HLT_EXITING | CPU_UNCONDITIONAL_IO_EXITING |
                                              CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING |
                                              CPU_SECONDARY_CONTROLS));
    hvf_vmcs_set(c, VMCS_CTRL_CPU_BASED2, ctrl(HV_VMX_CAP_PROCBASED2,
                                               CPU2_UNRESTRICTED_GUEST | CPU2_RDTSCP | CPU2_EPT));
    hvf_vmcs_set(c, VMCS_CTRL_VMENTRY_CONTROLS, ctrl(HV_VMX_CAP_ENTRY, ENTRY_LOAD_EFER));
    hvf_vmcs_set(c, VMCS_CTRL_EXC_BITMAP, 0);
    /* Writes to CR0.PE/PG/NE and CR4.VMXE exit: the mode changes they make need the
     * entry controls updated (IA-32e mode), and VMX needs NE and VMXE set underneath. */
    hvf_vmcs_set(c, VMCS_CTRL_CR0_MASK, X86_CR0_PE | X86_CR0_PG | (1ull << 5));
    hvf_vmcs_set(c, VMCS_CTRL_CR4_MASK, 1ull << 13);
    /* MSRs the guest may own outright: the processor switches them on entry and exit. */
    static const uint32_t native[] = { 0x10 /* TSC */, 0x174, 0x175, 0x176 /* SYSENTER */,
                                       0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084 /* syscall */,
                                       0xc0000100, 0xc0000101, 0xc0000102 /* FS/GS/kernel GS base */,
                                       0xc0000103 /* TSC_AUX */ };
    for (size_t i = 0; i < sizeof(native) / sizeof(native[0]); i++)
        hv_vcpu_enable_native_msr(c->id, native[i], true);
}

/* --- interrupts -------------------------------------------------------------------- */

bool hvf_irq_pending(HvfCpu *c)
{
    pthread_mutex_lock(&c->irq_lock);
    bool any = c->pending[0] | c->pending[1] | c->pending[2] | c->pending[3];
    pthread_mutex_unlock(&c->irq_lock);
    return any;
}

/* Injects the highest pending vector when the guest can take it; otherwise asks for an
 * exit as soon as it can (interrupt-window exiting). */
void hvf_inject_pending(HvfCpu *c)
{
    uint64_t cpu_based = hvf_vmcs(c, VMCS_CTRL_CPU_BASED);
    if (!hvf_irq_pending(c)) {
        hvf_vmcs_set(c, VMCS_CTRL_CPU_BASED, cpu_based & ~(uint64_t)CPU_INTERRUPT_WINDOW_EXITING);
        return;
    }
    bool event_queued = hvf_vmcs(c, VMCS_CTRL_VMENTRY_IRQ_INFO) & IRQ_INFO_VALID;
    uint64_t rflags = hvf_vmcs(c, VMCS_GUEST_RFLAGS);
    bool blocked = (hvf_vmcs(c, VMCS_GUEST_INTERRUPTIBILITY) & 3) != 0;
    if (event_queued || !(rflags & X86_IF) || blocked) {
        hvf_vmcs_set(c, VMCS_CTRL_CPU_BASED, cpu_based | CPU_INTERRUPT_WINDOW_EXITING);
        return;
    }
    pthread_mutex_lock(&c->irq_lock);
    int vector = -1;
    for (int w = 3; w >= 0 && vector < 0; w--)
        if (c->pending[w])
            vector = w * 64 + 63 - __builtin_clzll(c->pending[w]);
    if (vector >= 0)
        c->pending[vector / 64] &= ~(1ull << (vector % 64));
    pthread_mutex_unlock(&c->irq_lock);
    if (vector >= 0)
        hvf_vmcs_set(c, VMCS_CTRL_VMENTRY_IRQ_INFO, IRQ_INFO_VALID | IRQ_INFO_TYPE_EXTERNAL | (unsigned)vector);
    hvf_vmcs_set(c, VMCS_CTRL_CPU_BASED, cpu_based & ~(uint64_t)CPU_INTERRUPT_WINDOW_EXITING);
}

static void inject_exception(HvfCpu *c, const X86EmuResult *r)
{
    uint64_t info = IRQ_INFO_VALID | IRQ_INFO_TYPE_HW_EXCEPTION | r->vector;
    if (r->has_error_code) {
        info |= IRQ_INFO_DELIVER_ERROR;
        hvf_vmcs_set(c, VMCS_CTRL_VMENTRY_EXC_ERROR, r->error_code);
    }
    if (r->vector == X86_EXC_PF) {
        c->regs.cr2 = r->fault_addr;
        hv_vcpu_write_register(c->id, HV_X86_CR2, r->fault_addr);
    }
    hvf_vmcs_set(c, VMCS_CTRL_VMENTRY_IRQ_INFO, info);
}

static void stop_vcpu(HvfCpu *c, const char *why)
{
    mosaic_log(LOG, 0, "vCPU %u stopped: %s", c->index, why);
    c->stopped = true;
}

/* --- the emulator's view of the machine ------------------------------------------- */

static bool emu_read(void *opaque, uint64_t gpa, void *buf, unsigned size)
{
    HvfCpu *c = opaque;
    return mosaic_as_rw(c->hvf->as, gpa, buf, size, false) == MOSAIC_MEM_OK;
}

static bool emu_write(void *opaque, uint64_t gpa, const void *buf, unsigned size)
{
    HvfCpu *c = opaque;
    return mosaic_as_rw(c->hvf->as, gpa, (void *)buf, size, true) == MOSAIC_MEM_OK;
}

/* Port I/O through the machine's port space.  Nothing behind a port is not the guest's
 * error: reads see all ones (a floating bus), writes are dropped, as on a PC (and as
 * accel-kvm does). */
static bool emu_in(void *opaque, uint16_t port, unsigned size, uint32_t *val)
{
    HvfCpu *c = opaque;
    uint64_t v = ~0ull;
    if (!c->hvf->io || mosaic_as_read(c->hvf->io, port, size, &v) != MOSAIC_MEM_OK)
        v = ~0ull;
    *val = (uint32_t)v & (size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1);
    return true;
}

static bool emu_out(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
    HvfCpu *c = opaque;
    if (c->hvf->io)
        mosaic_as_write(c->hvf->io, port, size, val);
    return true;
}

static const X86EmuOps emu_ops = { emu_read, emu_write, emu_in, emu_out };

static HvfNext emulate(HvfCpu *c)
{
    X86EmuCpu st;
    X86EmuResult res;
    hvf_regs_load(c);
    hvf_emu_state_from(c, &st);
    atomic_fetch_add(&c->hvf->emulated, 1);
    switch (x86emu_step(&st, &emu_ops, c, &res)) {
    case X86EMU_DONE:
        hvf_emu_state_to(c, &st);
        return HVF_CONTINUE;
    case X86EMU_FAULT:
        hvf_emu_state_to(c, &st);     /* completed REP iterations stay done */
        inject_exception(c, &res);
        return HVF_CONTINUE;
    default:
        stop_vcpu(c, res.message);
        return HVF_RETURN;
    }
}

static void skip_instruction(HvfCpu *c)
{
    hvf_vmcs_set(c, VMCS_GUEST_RIP, hvf_vmcs(c, VMCS_GUEST_RIP) + hvf_vmcs(c, VMCS_RO_EXIT_INSTR_LEN));
}

static uint64_t gpr(HvfCpu *c, hv_x86_reg_t r)
{
    uint64_t v = 0;
    hv_vcpu_read_register(c->id, r, &v);
    return v;
}

static void set_gpr(HvfCpu *c, hv_x86_reg_t r, uint64_t v)
{
    hv_vcpu_write_register(c->id, r, v);
}

/* IN/OUT without a string form take the fast path; INS/OUTS go through the emulator
 * (segments, paging, REP). */
static HvfNext exit_io(HvfCpu *c, uint64_t q)
{
    atomic_fetch_add(&c->hvf->io_exits, 1);
    if (q & (1u << 4))
        return emulate(c);
    unsigned size = (q & 7) + 1;
    uint16_t port = (uint16_t)(q >> 16);
    uint64_t rax = gpr(c, HV_X86_RAX);
    uint64_t m = size == 4 ? 0xffffffffull : (1ull << (size * 8)) - 1;
    if (q & (1u << 3)) {
        uint32_t v;
        emu_in(c, port, size, &v);
        rax = size == 4 ? v : (rax & ~m) | (v & m);
        set_gpr(c, HV_X86_RAX, rax);
    } else {
        emu_out(c, port, size, (uint32_t)(rax & m));
    }
    skip_instruction(c);
    return HVF_CONTINUE;
}

static void exit_cpuid(HvfCpu *c)
{
    uint32_t leaf = (uint32_t)gpr(c, HV_X86_RAX), sub = (uint32_t)gpr(c, HV_X86_RCX);
    uint32_t a = 0, b = 0, cx = 0, d = 0;
    if (leaf == 0x40000000) {                          /* hypervisor vendor leaf */
        a = 0x40000000;
        memcpy(&b, "Mosa", 4), memcpy(&cx, "icHV", 4), memcpy(&d, "F\0\0\0", 4);
    } else {
        __cpuid_count(leaf, sub, a, b, cx, d);
        if (leaf == 1) {
            cx &= ~(1u << 5);                          /* no VMX inside */
            cx |= 1u << 31;                            /* running under a hypervisor */
            b = (b & 0x00ffffff) | (c->index << 24);   /* initial APIC ID */
        }
    }
    set_gpr(c, HV_X86_RAX, a), set_gpr(c, HV_X86_RBX, b);
    set_gpr(c, HV_X86_RCX, cx), set_gpr(c, HV_X86_RDX, d);
    skip_instruction(c);
}

static void inject_gp(HvfCpu *c)
{
    X86EmuResult r = { .vector = X86_EXC_GP, .has_error_code = true, .error_code = 0 };
    inject_exception(c, &r);
}

/* The MSRs not passed through natively; an unknown one is #GP, as on hardware. */
static void exit_msr(HvfCpu *c, bool write)
{
    uint32_t msr = (uint32_t)gpr(c, HV_X86_RCX);
    uint64_t v = (gpr(c, HV_X86_RDX) << 32) | (uint32_t)gpr(c, HV_X86_RAX);
    bool ok = true;
    switch (msr) {
    case 0x1b:                                         /* IA32_APIC_BASE */
        if (write) c->apic_base = v; else v = c->apic_base;
        break;
    case 0x277:                                        /* IA32_PAT */
        if (write) hvf_vmcs_set(c, VMCS_GUEST_PAT, v); else v = hvf_vmcs(c, VMCS_GUEST_PAT);
        break;
    case 0xc0000080: {                                 /* EFER: LMA follows LME and CR0.PG */
        if (!write) {
            v = hvf_vmcs(c, VMCS_GUEST_EFER);
            break;
        }
        hvf_regs_load(c);
        c->regs.efer = v;
        hvf_regs_store(c);
        break;
    }
    case 0xfe: case 0x2ff: case 0x200 ... 0x20f: case 0x250: case 0x258: case 0x259:
    case 0x268 ... 0x26f:                              /* MTRRs: none, reads as 0 */
    case 0x8b:                                         /* microcode revision */
        if (!write) v = 0;
        break;
    default:
        ok = false;
        break;
    }
    if (!ok) {
        inject_gp(c);
        return;
    }
    if (!write) {
        set_gpr(c, HV_X86_RAX, (uint32_t)v);
        set_gpr(c, HV_X86_RDX, v >> 32);
    }
    skip_instruction(c);
}

/* MOV to CR0/CR4 (the masked bits), CLTS, LMSW: update the shadow, then the state the
 * processor runs with (hvf_regs_store recomputes EFER.LMA and the IA-32e entry control). */
static HvfNext exit_mov_cr(HvfCpu *c, uint64_t q)
{
    static const hv_x86_reg_t regs[16] = {
        HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX, HV_X86_RSP, HV_X86_RBP, HV_X86_RSI, HV_X86_RDI,
        HV_X86_R8, HV_X86_R9, HV_X86_R10, HV_X86_R11, HV_X86_R12, HV_X86_R13, HV_X86_R14, HV_X86_R15,
    };
    unsigned cr = q & 15, type = (q >> 4) & 3;
    hvf_regs_load(c);
    uint64_t v = gpr(c, regs[(q >> 8) & 15]);
    if (type == 0 && cr == 0) {
        c->regs.cr0 = v;
    } else if (type == 0 && cr == 4) {
        c->regs.cr4 = v;
    } else if (type == 2) {
        c->regs.cr0 &= ~(1ull << 3);                   /* CLTS */
    } else if (type == 3) {
        c->regs.cr0 = (c->regs.cr0 & ~0xeull) | ((q >> 16) & 0xf) | (c->regs.cr0 & 1);  /* LMSW */
    } else {
        char why[96];
        snprintf(why, sizeof(why), "unexpected control-register exit (CR%u, access type %u)", cr, type);
        stop_vcpu(c, why);
        return HVF_RETURN;
    }
    c->regs.rip += hvf_vmcs(c, VMCS_RO_EXIT_INSTR_LEN);
    hvf_regs_store(c);
    return HVF_CONTINUE;
}

/* An event (interrupt, exception) whose delivery the exit interrupted is delivered again
 * on the next entry, as the SDM (27.2.4) asks of the VMM. */
static void reinject_interrupted_event(HvfCpu *c)
{
    uint64_t info = hvf_vmcs(c, VMCS_RO_IDT_VECTORING_INFO);
    if (!(info & IRQ_INFO_VALID))
        return;
    if (info & IRQ_INFO_DELIVER_ERROR)
        hvf_vmcs_set(c, VMCS_CTRL_VMENTRY_EXC_ERROR, hvf_vmcs(c, VMCS_RO_IDT_VECTORING_ERROR));
    unsigned type = (info >> 8) & 7;
    if (type == 4 || type == 5 || type == 6)       /* software interrupt / exceptions */
        hvf_vmcs_set(c, VMCS_CTRL_VMENTRY_INSTR_LEN, hvf_vmcs(c, VMCS_RO_EXIT_INSTR_LEN));
    hvf_vmcs_set(c, VMCS_CTRL_VMENTRY_IRQ_INFO, info & ~(uint64_t)(1u << 12));   /* bit 12: reserved on entry */
}

HvfNext hvf_handle_exit(HvfCpu *c)
{
    uint64_t reason = hvf_vmcs(c, VMCS_RO_EXIT_REASON) & 0xffff;
    uint64_t q = hvf_vmcs(c, VMCS_RO_EXIT_QUALIFICATION);
    atomic_fetch_add(&c->hvf->exits, 1);
    reinject_interrupted_event(c);
    switch (reason) {
    case EXIT_EXTERNAL_INTERRUPT:     /* the host's, or our own kick */
    case EXIT_INTERRUPT_WINDOW:       /* hvf_inject_pending runs before the next entry */
        return HVF_CONTINUE;
    case EXIT_EPT_VIOLATION: {
        atomic_fetch_add(&c->hvf->mmio_exits, 1);
        uint64_t gpa = hvf_vmcs(c, VMCS_RO_GUEST_PHYSICAL_ADDRESS);
        MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
        /* RAM the map did not cover yet (it changed under us): map it again and retry. */
        if (mosaic_as_lookup(c->hvf->as, gpa, &s) && hvf_section_mappable(&s) && (q & 0x38) == 0) {
            MosaicError *err = mosaic_error_new();
            bool ok = hvf_map_memory(c->hvf, err);
            if (!ok)
                stop_vcpu(c, mosaic_error_message(err));
            mosaic_error_free(err);
            if (!ok)
                return HVF_RETURN;
        }
        return emulate(c);
    }
    case EXIT_IO:
        return exit_io(c, q);
    case EXIT_CPUID:
        exit_cpuid(c);
        return HVF_CONTINUE;
    case EXIT_RDMSR:
    case EXIT_WRMSR:
        exit_msr(c, reason == EXIT_WRMSR);
        return HVF_CONTINUE;
    case EXIT_MOV_CR:
        return exit_mov_cr(c, q);
    case EXIT_HLT:
        skip_instruction(c);
        if (hvf_irq_pending(c))
            return HVF_CONTINUE;
        return mosaic_vcpu_halt(c->vcpu) ? HVF_CONTINUE : HVF_RETURN;
    case EXIT_XSETBV: {
        uint64_t v = (gpr(c, HV_X86_RDX) << 32) | (uint32_t)gpr(c, HV_X86_RAX);
        hv_vcpu_write_register(c->id, HV_X86_XCR0, v);
        skip_instruction(c);
        return HVF_CONTINUE;
    }
    case EXIT_TRIPLE_FAULT:
        mosaic_log(LOG, 1, "vCPU %u: triple fault: resetting the machine", c->index);
        mosaic_machine_request_shutdown(c->hvf->machine, MOSAIC_SHUTDOWN_GUEST_RESET, 0);
        return HVF_RETURN;
    default: {
        char why[128];
        snprintf(why, sizeof(why), "VMX exit reason %llu (qualification 0x%llx) at RIP 0x%llx is not handled",
                 (unsigned long long)reason, (unsigned long long)q,
                 (unsigned long long)hvf_vmcs(c, VMCS_GUEST_RIP));
        stop_vcpu(c, why);
        return HVF_RETURN;
    }
    }
}
