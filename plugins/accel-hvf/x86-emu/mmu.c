/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Linear -> guest-physical: the guest's page tables as the processor walks them (no
 * paging, 32-bit with 4 MiB pages, PAE, 4-level), its permission checks and its
 * accessed/dirty updates; and memory access through segment + offset on top. */
#include <stdio.h>
#include <string.h>

#include "emu-internal.h"

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

static X86EmuStatus set_error(X86EmuResult *res, const char *what, uint64_t addr)
{
    res->status = X86EMU_ERROR;
    snprintf(res->message, sizeof(res->message), "%s at guest-physical 0x%llx", what,
             (unsigned long long)addr);
    return X86EMU_ERROR;
}

static X86EmuStatus page_fault(X86EmuResult *res, uint64_t linear, uint32_t code)
{
    res->status = X86EMU_FAULT;
    res->vector = X86_EXC_PF;
    res->has_error_code = true;
    res->error_code = code;
    res->fault_addr = linear;
    return X86EMU_FAULT;
}

typedef struct Walk {
    const X86EmuCpu *cpu;
    const X86EmuOps *ops;
    void *opaque;
    X86EmuResult *res;
    unsigned esize;          /* entry size: 4 or 8 */
} Walk;

static bool read_entry(Walk *w, uint64_t addr, uint64_t *v)
{
    *v = 0;
    if (!w->ops->read_phys(w->opaque, addr, v, w->esize)) {
        set_error(w->res, "page-table entry not backed by memory", addr);
        return false;
    }
    return true;
}

/* Sets the accessed (and dirty) bit in an entry the way the processor does: only when not
 * yet set, so read-only page tables in ROM are not written needlessly. */
static bool mark_entry(Walk *w, uint64_t addr, uint64_t v, uint64_t bits)
{
    if ((v & bits) == bits)
        return true;
    v |= bits;
    if (!w->ops->write_phys(w->opaque, addr, &v, w->esize)) {
        set_error(w->res, "page-table entry not writable", addr);
        return false;
    }
    return true;
}

X86EmuStatus x86emu_translate(const X86EmuCpu *cpu, const X86EmuOps *ops, void *opaque,
                              uint64_t linear, X86EmuAccess access, uint64_t *gpa,
                              X86EmuResult *res)
{
    if (!(cpu->cr0 & X86_CR0_PG) || !(cpu->cr0 & X86_CR0_PE)) {
        *gpa = linear & 0xffffffffull;
        return X86EMU_DONE;
    }
    bool user = cpu->cpl == 3;
    bool write = access == X86EMU_WRITE, fetch = access == X86EMU_FETCH;
    bool pae = cpu->cr4 & X86_CR4_PAE;
    bool lma = cpu->efer & X86_EFER_LMA;
    bool nxe = pae && (cpu->efer & X86_EFER_NXE);
    uint32_t code = (write ? X86_PF_W : 0) | (user ? X86_PF_U : 0) |
                    (fetch && (nxe || (cpu->cr4 & X86_CR4_SMEP)) ? X86_PF_I : 0);
    Walk w = { cpu, ops, opaque, res, pae ? 8 : 4 };

    if (lma && (cpu->cr4 & X86_CR4_LA57)) {
        res->status = X86EMU_ERROR;
        snprintf(res->message, sizeof(res->message),
                 "5-level paging (CR4.LA57) is not supported by the instruction emulator");
        return X86EMU_ERROR;
    }

    /* The levels to walk: shift of the index, index mask, whether a PS page ends it. */
    int levels, shift;
    uint64_t table;
    if (lma) {
        levels = 4, shift = 39, table = cpu->cr3 & PTE_ADDR;
    } else if (pae) {
        levels = 3, shift = 30, table = cpu->cr3 & 0xffffffe0ull;
    } else {
        levels = 2, shift = 22, table = cpu->cr3 & 0xfffff000ull;
        linear &= 0xffffffffull;
    }

    uint64_t allow_rw = 1, allow_us = 1, nx = 0;
    uint64_t entry = 0, entry_addr = 0;
    for (int level = levels; level >= 1; level--) {
        unsigned bits = pae ? 9 : 10;
        uint64_t index_mask = (1ull << bits) - 1;
        if (pae && !lma && level == 3)
            index_mask = 3;                      /* the four PDPTEs */
        entry_addr = table + ((linear >> shift) & index_mask) * w.esize;
        if (!read_entry(&w, entry_addr, &entry))
            return res->status;
        if (!(entry & PTE_P))
            return page_fault(res, linear, code);
        bool pdpte_legacy = pae && !lma && level == 3;
        if (pae && !nxe && (entry & PTE_NX))
            return page_fault(res, linear, code | X86_PF_P | X86_PF_RSVD);
        if (pdpte_legacy) {
            /* PAE PDPTEs carry no permissions; RW, US, A, D, PS and NX are reserved. */
            if (entry & (PTE_RW | PTE_US | 0x1e0ull | PTE_NX))
                return page_fault(res, linear, code | X86_PF_P | X86_PF_RSVD);
        } else {
            allow_rw &= !!(entry & PTE_RW);
            allow_us &= !!(entry & PTE_US);
            nx |= nxe && (entry & PTE_NX);
        }
        bool large = level > 1 && (entry & PTE_PS) && !pdpte_legacy;
        if (large && lma && level == 4)
            return page_fault(res, linear, code | X86_PF_P | X86_PF_RSVD);
        if (large && !pae && !(cpu->cr4 & X86_CR4_PSE))
            large = false;                       /* PS ignored without CR4.PSE */
        if (level == 1 || large) {
            uint64_t page_mask = (1ull << shift) - 1;
            uint64_t base;
            if (!pae && large) {                 /* 4 MiB page, PSE-36 high bits */
                base = (entry & 0xffc00000ull) | (((entry >> 13) & 0xffull) << 32);
                if (entry & 0x200000ull)            /* reserved with PSE-36 */
                    return page_fault(res, linear, code | X86_PF_P | X86_PF_RSVD);
            } else {
                base = entry & PTE_ADDR & ~page_mask;
                /* A large page's frame must be aligned; bit 12 is PAT there. */
                if (large && (entry & PTE_ADDR & page_mask & ~0x1000ull))
                    return page_fault(res, linear, code | X86_PF_P | X86_PF_RSVD);
            }
            /* Permissions, as the SDM's 4.6 states them. */
            bool wp = cpu->cr0 & X86_CR0_WP;
            if (user && !allow_us)
                return page_fault(res, linear, code | X86_PF_P);
            if (write && !allow_rw && (user || wp))
                return page_fault(res, linear, code | X86_PF_P);
            if (fetch && nx)
                return page_fault(res, linear, code | X86_PF_P);
            if (!user && allow_us) {
                if (fetch && (cpu->cr4 & X86_CR4_SMEP))
                    return page_fault(res, linear, code | X86_PF_P);
                if (!fetch && (cpu->cr4 & X86_CR4_SMAP) && !(cpu->rflags & (1u << 18)))
                    return page_fault(res, linear, code | X86_PF_P);
            }
            if (!mark_entry(&w, entry_addr, entry, PTE_A | (write ? PTE_D : 0)))
                return res->status;
            *gpa = base | (linear & page_mask);
            return X86EMU_DONE;
        }
        if (!pdpte_legacy && !mark_entry(&w, entry_addr, entry, PTE_A))
            return res->status;
        table = entry & (pae ? PTE_ADDR : 0xfffff000ull);
        shift -= pae ? 9 : 10;
        if (pdpte_legacy)
            shift = 21;
    }
    return set_error(res, "page walk ended without a page", entry_addr);  /* not reached */
}

/* Segment + offset -> linear, with 64-bit mode's canonical check. */
static bool linear_of(Emu *e, int seg, uint64_t offset, unsigned size, uint64_t *linear)
{
    if (e->long64) {
        uint64_t lin = offset + (seg == X86_FS || seg == X86_GS ? e->st.seg[seg].base : 0);
        uint64_t last = lin + size - 1;
        if ((uint64_t)((int64_t)(lin << 16) >> 16) != lin ||
            (uint64_t)((int64_t)(last << 16) >> 16) != last)
            return emu_fault(e, seg == X86_SS ? X86_EXC_SS : X86_EXC_GP, true, 0);
        *linear = lin;
        return true;
    }
    *linear = (e->st.seg[seg].base + offset) & 0xffffffffull;
    return true;
}

/* The physical pieces of one access: at most two when it crosses a page. */
typedef struct Pieces {
    unsigned n;
    uint64_t gpa[2];
    unsigned len[2];
} Pieces;

static bool translate_range(Emu *e, uint64_t linear, unsigned size, X86EmuAccess acc, Pieces *p)
{
    unsigned first = 4096 - (linear & 4095);
    p->n = size > first ? 2 : 1;
    p->len[0] = size > first ? first : size;
    p->len[1] = size - p->len[0];
    for (unsigned i = 0; i < p->n; i++) {
        uint64_t lin = i ? linear + p->len[0] : linear;
        if (!e->long64)
            lin &= 0xffffffffull;
        if (x86emu_translate(&e->st, e->ops, e->opaque, lin, acc, &p->gpa[i], e->res) != X86EMU_DONE)
            return false;
    }
    return true;
}

static bool phys_read(Emu *e, uint64_t gpa, void *buf, unsigned len)
{
    if (e->ops->read_phys(e->opaque, gpa, buf, len))
        return true;
    return emu_error(e, "read of %u bytes at guest-physical 0x%llx: no memory or device there",
                     len, (unsigned long long)gpa);
}

static bool phys_write(Emu *e, uint64_t gpa, const void *buf, unsigned len)
{
    if (e->ops->write_phys(e->opaque, gpa, buf, len))
        return true;
    return emu_error(e, "write of %u bytes at guest-physical 0x%llx: no memory or device there",
                     len, (unsigned long long)gpa);
}

bool mem_read(Emu *e, int seg, uint64_t offset, unsigned size, uint64_t *v)
{
    uint64_t linear = 0;
    Pieces p;
    uint8_t buf[8] = { 0 };
    if (!linear_of(e, seg, offset, size, &linear) || !translate_range(e, linear, size, X86EMU_READ, &p))
        return false;
    if (!phys_read(e, p.gpa[0], buf, p.len[0]))
        return false;
    if (p.n == 2 && !phys_read(e, p.gpa[1], buf + p.len[0], p.len[1]))
        return false;
    *v = 0;
    memcpy(v, buf, size);                        /* x86 guests and hosts are little-endian */
    return true;
}

bool mem_probe_write(Emu *e, int seg, uint64_t offset, unsigned size)
{
    uint64_t linear = 0;
    Pieces p;
    return linear_of(e, seg, offset, size, &linear) && translate_range(e, linear, size, X86EMU_WRITE, &p);
}

bool mem_write(Emu *e, int seg, uint64_t offset, unsigned size, uint64_t v)
{
    uint64_t linear = 0;
    Pieces p;
    uint8_t buf[8];
    memcpy(buf, &v, 8);
    if (!linear_of(e, seg, offset, size, &linear) || !translate_range(e, linear, size, X86EMU_WRITE, &p))
        return false;
    if (!phys_write(e, p.gpa[0], buf, p.len[0]))
        return false;
    return p.n == 1 || phys_write(e, p.gpa[1], buf + p.len[0], p.len[1]);
}

/* Fetches up to 15 bytes at CS:rip.  Bytes of a following page that cannot be fetched are
 * left out; the decoder then says whether the instruction needed them (and the fault is
 * reported only then, as on hardware). */
bool emu_fetch(Emu *e, uint64_t rip, uint8_t *buf, size_t *len)
{
    *len = 0;
    unsigned want = 15;
    while (*len < want) {
        uint64_t linear, gpa;
        uint64_t off = rip + *len;
        if (!e->long64)
            off &= e->st.seg[X86_CS].db ? 0xffffffffull : 0xffff;
        if (!linear_of(e, X86_CS, off, 1, &linear))
            return *len > 0;
        unsigned chunk = 4096 - (linear & 4095);
        if (chunk > want - *len)
            chunk = want - *len;
        X86EmuResult saved = *e->res;
        if (x86emu_translate(&e->st, e->ops, e->opaque, linear, X86EMU_FETCH, &gpa, e->res) != X86EMU_DONE ||
            !phys_read(e, gpa, buf + *len, chunk)) {
            if (*len == 0)
                return false;
            e->fetch_fault = *e->res;            /* reported if the decoder needs the bytes */
            e->fetch_short = true;
            *e->res = saved;
            return true;
        }
        *len += chunk;
    }
    return true;
}
