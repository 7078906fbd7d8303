/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The vCPU's registers: a shadow the core reads and writes while the vCPU is stopped
 * (Hypervisor.framework allows vCPU calls only on the thread that created it), moved
 * in and out of the vCPU by its own thread around hv_vcpu_run_until. */
#include <string.h>

#include "hvf.h"
#include "vmx.h"

/* x86 encoding order (X86_RAX...) -> Hypervisor.framework's register names. */
static const hv_x86_reg_t gpr_names[16] = {
    HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX, HV_X86_RSP, HV_X86_RBP, HV_X86_RSI, HV_X86_RDI,
    HV_X86_R8, HV_X86_R9, HV_X86_R10, HV_X86_R11, HV_X86_R12, HV_X86_R13, HV_X86_R14, HV_X86_R15,
};

uint64_t hvf_vmcs(HvfCpu *c, uint32_t field)
{
    uint64_t v = 0;
    hv_vmx_vcpu_read_vmcs(c->id, field, &v);
    return v;
}

void hvf_vmcs_set(HvfCpu *c, uint32_t field, uint64_t v)
{
    hv_vmx_vcpu_write_vmcs(c->id, field, v);
}

void hvf_regs_load(HvfCpu *c)
{
    HvfRegs *r = &c->regs;
    for (int i = 0; i < 16; i++)
        hv_vcpu_read_register(c->id, gpr_names[i], &r->gpr[i]);
    r->rip = hvf_vmcs(c, VMCS_GUEST_RIP);
    r->rflags = hvf_vmcs(c, VMCS_GUEST_RFLAGS);
    for (int s = 0; s < 6; s++) {
        r->seg[s].sel = (uint16_t)hvf_vmcs(c, VMCS_GUEST_SEL(s));
        r->seg[s].limit = (uint32_t)hvf_vmcs(c, VMCS_GUEST_LIMIT(s));
        r->seg[s].ar = (uint32_t)hvf_vmcs(c, VMCS_GUEST_AR(s));
        r->seg[s].base = hvf_vmcs(c, VMCS_GUEST_BASE(s));
    }
    /* What the guest believes: the masked bits from the read shadows, the rest from
     * the registers the processor runs with. */
    uint64_t m0 = hvf_vmcs(c, VMCS_CTRL_CR0_MASK), m4 = hvf_vmcs(c, VMCS_CTRL_CR4_MASK);
    r->cr0 = (hvf_vmcs(c, VMCS_GUEST_CR0) & ~m0) | (hvf_vmcs(c, VMCS_CTRL_CR0_SHADOW) & m0);
    r->cr4 = (hvf_vmcs(c, VMCS_GUEST_CR4) & ~m4) | (hvf_vmcs(c, VMCS_CTRL_CR4_SHADOW) & m4);
    r->cr3 = hvf_vmcs(c, VMCS_GUEST_CR3);
    hv_vcpu_read_register(c->id, HV_X86_CR2, &r->cr2);
    r->efer = hvf_vmcs(c, VMCS_GUEST_EFER);
}

void hvf_regs_store(HvfCpu *c)
{
    HvfRegs *r = &c->regs;
    for (int i = 0; i < 16; i++)
        hv_vcpu_write_register(c->id, gpr_names[i], r->gpr[i]);
    hvf_vmcs_set(c, VMCS_GUEST_RIP, r->rip);
    hvf_vmcs_set(c, VMCS_GUEST_RFLAGS, r->rflags | 2);
    for (int s = 0; s < 6; s++) {
        hvf_vmcs_set(c, VMCS_GUEST_SEL(s), r->seg[s].sel);
        hvf_vmcs_set(c, VMCS_GUEST_LIMIT(s), r->seg[s].limit);
        hvf_vmcs_set(c, VMCS_GUEST_AR(s), r->seg[s].ar);
        hvf_vmcs_set(c, VMCS_GUEST_BASE(s), r->seg[s].base);
    }
    /* The guest sees its own CR0/CR4 (the shadows); the processor runs with the bits
     * VMX requires (NE; VMXE) added. */
    hvf_vmcs_set(c, VMCS_CTRL_CR0_SHADOW, r->cr0);
    hvf_vmcs_set(c, VMCS_GUEST_CR0, r->cr0 | (1ull << 5));
    hvf_vmcs_set(c, VMCS_CTRL_CR4_SHADOW, r->cr4);
    hvf_vmcs_set(c, VMCS_GUEST_CR4, r->cr4 | (1ull << 13));
    hvf_vmcs_set(c, VMCS_GUEST_CR3, r->cr3);
    hv_vcpu_write_register(c->id, HV_X86_CR2, r->cr2);
    uint64_t efer = r->efer;
    if ((efer & X86_EFER_LME) && (r->cr0 & X86_CR0_PG))
        efer |= X86_EFER_LMA;
    else
        efer &= ~X86_EFER_LMA;
    r->efer = efer;
    hvf_vmcs_set(c, VMCS_GUEST_EFER, efer);
    uint64_t entry = hvf_vmcs(c, VMCS_CTRL_VMENTRY_CONTROLS);
    entry = efer & X86_EFER_LMA ? entry | ENTRY_IA32E_MODE_GUEST : entry & ~(uint64_t)ENTRY_IA32E_MODE_GUEST;
    hvf_vmcs_set(c, VMCS_CTRL_VMENTRY_CONTROLS, entry);
    hv_vcpu_invalidate_tlb(c->id);
    c->dirty = false;
}

/* The processor's state after RESET (SDM vol. 3, 10.1.1): real mode at F000:FFF0. */
void hvf_regs_reset(HvfRegs *r)
{
    memset(r, 0, sizeof(*r));
    r->gpr[X86_RDX] = 0x600;   /* family 6 */
    r->rip = 0xfff0;
    r->rflags = 2;
    for (int s = 0; s < 6; s++)
        r->seg[s] = (HvfSeg){ 0, 0xffff, 0x93, 0 };   /* present, read/write, accessed */
    r->seg[X86_CS] = (HvfSeg){ 0xf000, 0xffff, 0x9b, 0xffff0000 };
    r->cr0 = 0x60000010;
}

bool hvf_reg_get(HvfCpu *c, unsigned regno, uint64_t *v)
{
    static const int gdb_to_x86[16] = { X86_RAX, X86_RBX, X86_RCX, X86_RDX, X86_RSI, X86_RDI,
                                        X86_RBP, X86_RSP, 8, 9, 10, 11, 12, 13, 14, 15 };
    /* GDB's segment order: cs ss ds es fs gs. */
    static const int gdb_seg[6] = { X86_CS, X86_SS, X86_DS, X86_ES, X86_FS, X86_GS };
    HvfRegs *r = &c->regs;
    if (regno < 16) *v = r->gpr[gdb_to_x86[regno]];
    else if (regno == HVF_REG_RIP) *v = r->rip;
    else if (regno == HVF_REG_EFLAGS) *v = r->rflags;
    else if (regno >= HVF_REG_CS && regno <= HVF_REG_GS) *v = r->seg[gdb_seg[regno - HVF_REG_CS]].sel;
    else if (regno >= HVF_REG_SEG_BASE0 && regno < HVF_REG_SEG_BASE0 + 6) *v = r->seg[regno - HVF_REG_SEG_BASE0].base;
    else if (regno >= HVF_REG_SEG_LIMIT0 && regno < HVF_REG_SEG_LIMIT0 + 6) *v = r->seg[regno - HVF_REG_SEG_LIMIT0].limit;
    else if (regno >= HVF_REG_SEG_AR0 && regno < HVF_REG_SEG_AR0 + 6) *v = r->seg[regno - HVF_REG_SEG_AR0].ar;
    else if (regno == HVF_REG_CR0) *v = r->cr0;
    else if (regno == HVF_REG_CR2) *v = r->cr2;
    else if (regno == HVF_REG_CR3) *v = r->cr3;
    else if (regno == HVF_REG_CR4) *v = r->cr4;
    else if (regno == HVF_REG_EFER) *v = r->efer;
    else if (regno == MOSAIC_REG_PRIV) *v = (r->seg[X86_SS].ar >> 5) & 3;
    else return false;
    return true;
}

bool hvf_reg_set(HvfCpu *c, unsigned regno, uint64_t v)
{
    static const int gdb_to_x86[16] = { X86_RAX, X86_RBX, X86_RCX, X86_RDX, X86_RSI, X86_RDI,
                                        X86_RBP, X86_RSP, 8, 9, 10, 11, 12, 13, 14, 15 };
    static const int gdb_seg[6] = { X86_CS, X86_SS, X86_DS, X86_ES, X86_FS, X86_GS };
    HvfRegs *r = &c->regs;
    if (regno < 16) r->gpr[gdb_to_x86[regno]] = v;
    else if (regno == HVF_REG_RIP) r->rip = v;
    else if (regno == HVF_REG_EFLAGS) r->rflags = v | 2;
    else if (regno >= HVF_REG_CS && regno <= HVF_REG_GS) r->seg[gdb_seg[regno - HVF_REG_CS]].sel = (uint16_t)v;
    else if (regno >= HVF_REG_SEG_BASE0 && regno < HVF_REG_SEG_BASE0 + 6) r->seg[regno - HVF_REG_SEG_BASE0].base = v;
    else if (regno >= HVF_REG_SEG_LIMIT0 && regno < HVF_REG_SEG_LIMIT0 + 6) r->seg[regno - HVF_REG_SEG_LIMIT0].limit = (uint32_t)v;
    else if (regno >= HVF_REG_SEG_AR0 && regno < HVF_REG_SEG_AR0 + 6) r->seg[regno - HVF_REG_SEG_AR0].ar = (uint32_t)v;
    else if (regno == HVF_REG_CR0) r->cr0 = v;
    else if (regno == HVF_REG_CR2) r->cr2 = v;
    else if (regno == HVF_REG_CR3) r->cr3 = v;
    else if (regno == HVF_REG_CR4) r->cr4 = v;
    else if (regno == HVF_REG_EFER) r->efer = v;
    else return false;
    c->dirty = true;
    return true;
}

/* The emulator's view of the shadow, and back. */
void hvf_emu_state_from(HvfCpu *c, X86EmuCpu *e)
{
    const HvfRegs *r = &c->regs;
    memset(e, 0, sizeof(*e));
    memcpy(e->gpr, r->gpr, sizeof(e->gpr));
    e->rip = r->rip;
    e->rflags = r->rflags;
    for (int s = 0; s < 6; s++) {
        e->seg[s].base = r->seg[s].base;
        e->seg[s].limit = r->seg[s].limit;
        e->seg[s].selector = r->seg[s].sel;
        e->seg[s].db = (r->seg[s].ar >> 14) & 1;
        e->seg[s].l = (r->seg[s].ar >> 13) & 1;
    }
    e->cr0 = r->cr0, e->cr3 = r->cr3, e->cr4 = r->cr4, e->efer = r->efer;
    e->cpl = (r->rflags & X86_VM) ? 3 : (r->seg[X86_SS].ar >> 5) & 3;
}

void hvf_emu_state_to(HvfCpu *c, const X86EmuCpu *e)
{
    HvfRegs *r = &c->regs;
    memcpy(r->gpr, e->gpr, sizeof(r->gpr));
    r->rip = e->rip;
    r->rflags = e->rflags;
    /* The emulated instructions change no segment or control register. */
    for (int i = 0; i < 16; i++)
        hv_vcpu_write_register(c->id, gpr_names[i], r->gpr[i]);
    hvf_vmcs_set(c, VMCS_GUEST_RIP, r->rip);
    hvf_vmcs_set(c, VMCS_GUEST_RFLAGS, r->rflags | 2);
}
