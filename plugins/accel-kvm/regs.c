/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: register access (numbers of mosaic/x86.h) through a cache of KVM's
 * kvm_regs and kvm_sregs, valid while the vCPU is outside KVM_RUN. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm-internal.h"

static bool load_regs(KvmCpu *c)
{
    if (!c->regs_valid) {
        if (ioctl(c->fd, KVM_GET_REGS, &c->regs) < 0)
            return false;
        c->regs_valid = true;
    }
    return true;
}

static bool load_sregs(KvmCpu *c)
{
    if (!c->sregs_valid) {
        if (ioctl(c->fd, KVM_GET_SREGS, &c->sregs) < 0)
            return false;
        c->sregs_valid = true;
    }
    return true;
}

bool kvm_regs_flush(KvmCpu *c)
{
    if (c->regs_dirty && ioctl(c->fd, KVM_SET_REGS, &c->regs) < 0)
        return false;
    if (c->sregs_dirty && ioctl(c->fd, KVM_SET_SREGS, &c->sregs) < 0)
        return false;
    c->regs_dirty = c->sregs_dirty = false;
    return true;
}

void kvm_regs_invalidate(KvmCpu *c)
{
    c->regs_valid = c->sregs_valid = false;
}

static __u64 *gpr(struct kvm_regs *r, unsigned n)
{
    __u64 *const order[16] = {&r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp,
                              &r->rsp, &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13,
                              &r->r14, &r->r15};
    return order[n];
}

static struct kvm_segment *seg(struct kvm_sregs *s, unsigned n)
{
    struct kvm_segment *const order[MOSAIC_X86_NSEGS] = {&s->cs, &s->ss, &s->ds, &s->es,
                                                         &s->fs, &s->gs, &s->tr, &s->ldt};
    return order[n];
}

static uint64_t seg_attr(const struct kvm_segment *g)
{
    return (uint64_t)(g->type & 15) | (uint64_t)(g->s & 1) << 4 | (uint64_t)(g->dpl & 3) << 5 |
           (uint64_t)(g->present & 1) << 7 | (uint64_t)(g->avl & 1) << 12 |
           (uint64_t)(g->l & 1) << 13 | (uint64_t)(g->db & 1) << 14 | (uint64_t)(g->g & 1) << 15;
}

static void seg_set_attr(struct kvm_segment *g, uint64_t a)
{
    g->type = a & 15;
    g->s = (a >> 4) & 1;
    g->dpl = (a >> 5) & 3;
    g->present = (a >> 7) & 1;
    g->avl = (a >> 12) & 1;
    g->l = (a >> 13) & 1;
    g->db = (a >> 14) & 1;
    g->g = (a >> 15) & 1;
    g->unusable = !g->present;
}

/* The sregs field behind a system register number, or NULL. */
static __u64 *sreg(struct kvm_sregs *s, unsigned regno)
{
    switch (regno) {
    case MOSAIC_X86_REG_CR0: return &s->cr0;
    case MOSAIC_X86_REG_CR2: return &s->cr2;
    case MOSAIC_X86_REG_CR3: return &s->cr3;
    case MOSAIC_X86_REG_CR4: return &s->cr4;
    case MOSAIC_X86_REG_CR8: return &s->cr8;
    case MOSAIC_X86_REG_EFER: return &s->efer;
    case MOSAIC_X86_REG_APIC_BASE: return &s->apic_base;
    case MOSAIC_X86_REG_GDT_BASE: return &s->gdt.base;
    case MOSAIC_X86_REG_IDT_BASE: return &s->idt.base;
    }
    return NULL;
}

/* The x87 control registers and mxcsr (GDB's numbers), read and written through
 * KVM_GET/SET_FPU while the vCPU is out of KVM_RUN. */
static bool fpu_reg(KvmCpu *c, unsigned regno, uint64_t *get, const uint64_t *set)
{
    if (regno < MOSAIC_X86_REG_FCTRL || (regno > MOSAIC_X86_REG_FOP && regno != MOSAIC_X86_REG_MXCSR))
        return false;
    struct kvm_fpu f;
    if (ioctl(c->fd, KVM_GET_FPU, &f) < 0)
        return false;
    uint64_t v = 0;
    switch (regno) {
    case MOSAIC_X86_REG_FCTRL: v = f.fcw; if (set) f.fcw = (uint16_t)*set; break;
    case MOSAIC_X86_REG_FSTAT: v = f.fsw; if (set) f.fsw = (uint16_t)*set; break;
    case MOSAIC_X86_REG_FTAG:
        /* KVM keeps the abridged tag (a bit per register: in use); GDB wants the full
         * word (two bits each: 0 valid, 3 empty). */
        for (unsigned i = 0; i < 8; i++)
            v |= (uint64_t)((f.ftwx >> i) & 1 ? 0 : 3) << (2 * i);
        if (set) {
            f.ftwx = 0;
            for (unsigned i = 0; i < 8; i++)
                f.ftwx |= (uint8_t)(((*set >> (2 * i)) & 3) != 3) << i;
        }
        break;
    case MOSAIC_X86_REG_FIOFF: v = (uint32_t)f.last_ip; if (set) f.last_ip = (uint32_t)*set; break;
    case MOSAIC_X86_REG_FOOFF: v = (uint32_t)f.last_dp; if (set) f.last_dp = (uint32_t)*set; break;
    case MOSAIC_X86_REG_FOP: v = f.last_opcode; if (set) f.last_opcode = (uint16_t)*set; break;
    case MOSAIC_X86_REG_MXCSR: v = f.mxcsr; if (set) f.mxcsr = (uint32_t)*set; break;
    default: v = 0; break; /* fiseg, foseg: 64-bit mode keeps none */
    }
    if (get)
        *get = v;
    return !set || ioctl(c->fd, KVM_SET_FPU, &f) == 0;
}

/* st0-7 (10 bytes each, the 80-bit extended format) and xmm0-15 (16 bytes) in
 * KVM_GET/SET_FPU's FXSAVE layout, which keeps the x87 registers in stack order
 * (fpr[i] is ST(i), GDB's st<i>). */
static uint8_t *fpu_wide(struct kvm_fpu *f, unsigned regno, unsigned len)
{
    if (regno >= MOSAIC_X86_REG_ST0 && regno < MOSAIC_X86_REG_ST0 + 8 && len == 10)
        return f->fpr[regno - MOSAIC_X86_REG_ST0];
    if (regno >= MOSAIC_X86_REG_XMM0 && regno < MOSAIC_X86_REG_XMM0 + 16 && len == 16)
        return f->xmm[regno - MOSAIC_X86_REG_XMM0];
    return NULL;
}

bool kvm_regs_get_bytes(void *cpu, unsigned regno, uint8_t *buf, unsigned len)
{
    KvmCpu *c = cpu;
    struct kvm_fpu f;
    uint8_t *p;
    if (ioctl(c->fd, KVM_GET_FPU, &f) < 0 || !(p = fpu_wide(&f, regno, len)))
        return false;
    memcpy(buf, p, len);
    return true;
}

bool kvm_regs_set_bytes(void *cpu, unsigned regno, const uint8_t *buf, unsigned len)
{
    KvmCpu *c = cpu;
    struct kvm_fpu f;
    uint8_t *p;
    if (ioctl(c->fd, KVM_GET_FPU, &f) < 0 || !(p = fpu_wide(&f, regno, len)))
        return false;
    memcpy(p, buf, len);
    return ioctl(c->fd, KVM_SET_FPU, &f) == 0;
}

bool kvm_regs_get(KvmCpu *c, unsigned regno, uint64_t *value)
{
    if (regno >= MOSAIC_X86_REG_FCTRL && regno <= MOSAIC_X86_REG_MXCSR)
        return fpu_reg(c, regno, value, NULL);
    if (regno <= MOSAIC_X86_REG_EFLAGS) {
        if (!load_regs(c))
            return false;
        *value = regno < 16 ? *gpr(&c->regs, regno)
                 : regno == MOSAIC_X86_REG_RIP ? c->regs.rip : c->regs.rflags;
        return true;
    }
    if (!load_sregs(c))
        return false;
    struct kvm_sregs *s = &c->sregs;
    if (regno >= MOSAIC_X86_REG_CS && regno <= MOSAIC_X86_REG_GS) {
        *value = seg(s, regno - MOSAIC_X86_REG_CS)->selector;
        return true;
    }
    if (regno == MOSAIC_REG_PRIV) {
        *value = s->cs.dpl;
        return true;
    }
    __u64 *p = sreg(s, regno);
    if (p) {
        *value = *p;
        return true;
    }
    for (unsigned i = 0; i < MOSAIC_X86_NSEGS; i++) {
        if (regno == MOSAIC_X86_REG_SEG_BASE(i)) { *value = seg(s, i)->base; return true; }
        if (regno == MOSAIC_X86_REG_SEG_LIMIT(i)) { *value = seg(s, i)->limit; return true; }
        if (regno == MOSAIC_X86_REG_SEG_ATTR(i)) { *value = seg_attr(seg(s, i)); return true; }
    }
    switch (regno) {
    case MOSAIC_X86_REG_GDT_LIMIT: *value = s->gdt.limit; return true;
    case MOSAIC_X86_REG_IDT_LIMIT: *value = s->idt.limit; return true;
    case MOSAIC_X86_REG_TR: *value = s->tr.selector; return true;
    case MOSAIC_X86_REG_LDTR: *value = s->ldt.selector; return true;
    }
    return false;
}

bool kvm_regs_set(KvmCpu *c, unsigned regno, uint64_t value)
{
    if (regno >= MOSAIC_X86_REG_FCTRL && regno <= MOSAIC_X86_REG_MXCSR)
        return fpu_reg(c, regno, NULL, &value);
    if (regno <= MOSAIC_X86_REG_EFLAGS) {
        if (!load_regs(c))
            return false;
        if (regno < 16)
            *gpr(&c->regs, regno) = value;
        else if (regno == MOSAIC_X86_REG_RIP)
            c->regs.rip = value;
        else
            c->regs.rflags = value | 2; /* bit 1 always reads as one */
        c->regs_dirty = true;
        return true;
    }
    if (!load_sregs(c))
        return false;
    struct kvm_sregs *s = &c->sregs;
    bool ok = true;
    __u64 *p = sreg(s, regno);
    if (regno >= MOSAIC_X86_REG_CS && regno <= MOSAIC_X86_REG_GS)
        seg(s, regno - MOSAIC_X86_REG_CS)->selector = (uint16_t)value;
    else if (p)
        *p = value;
    else if (regno == MOSAIC_X86_REG_GDT_LIMIT)
        s->gdt.limit = (uint16_t)value;
    else if (regno == MOSAIC_X86_REG_IDT_LIMIT)
        s->idt.limit = (uint16_t)value;
    else if (regno == MOSAIC_X86_REG_TR)
        s->tr.selector = (uint16_t)value;
    else if (regno == MOSAIC_X86_REG_LDTR)
        s->ldt.selector = (uint16_t)value;
    else {
        ok = false;
        for (unsigned i = 0; i < MOSAIC_X86_NSEGS && !ok; i++) {
            if (regno == MOSAIC_X86_REG_SEG_BASE(i))
                seg(s, i)->base = value, ok = true;
            else if (regno == MOSAIC_X86_REG_SEG_LIMIT(i))
                seg(s, i)->limit = (uint32_t)value, ok = true;
            else if (regno == MOSAIC_X86_REG_SEG_ATTR(i))
                seg_set_attr(seg(s, i), value), ok = true;
        }
    }
    if (ok)
        c->sregs_dirty = true;
    return ok;
}
