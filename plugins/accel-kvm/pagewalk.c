/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: a guest virtual address through the guest's page tables (pagewalk.h). */
#include "pagewalk.h"

#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LMA (1ull << 10)
#define PTE_P (1ull << 0)
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull /* bits 12-51: the next table or the page */

/* A 4-byte entry of 32-bit paging: the half of the 8-byte word that holds it. */
static bool read32(KvmPteReadFn *read, void *opaque, uint64_t gpa, uint64_t *entry)
{
    uint64_t word;
    if (!read(opaque, gpa & ~7ull, &word))
        return false;
    *entry = (uint32_t)(word >> ((gpa & 4) * 8));
    return true;
}

/* 32-bit paging without PAE: a page directory of 1024 4-byte entries, a 4 MiB page
 * there with CR4.PSE (PSE-36: address bits 32-39 in PDE bits 13-20), or a page table. */
static bool walk_32bit(const KvmPagingState *st, uint32_t vaddr, KvmPteReadFn *read,
                       void *opaque, uint64_t *paddr)
{
    uint64_t pde, pte;
    if (!read32(read, opaque, (st->cr3 & 0xfffff000u) + (vaddr >> 22) * 4, &pde) || !(pde & PTE_P))
        return false;
    if ((pde & PTE_PS) && (st->cr4 & CR4_PSE)) {
        *paddr = (pde & 0xffc00000u) | ((pde >> 13) & 0xff) << 32 | (vaddr & 0x3fffff);
        return true;
    }
    if (!read32(read, opaque, (pde & 0xfffff000u) + ((vaddr >> 12) & 1023) * 4, &pte) ||
        !(pte & PTE_P))
        return false;
    *paddr = (pte & 0xfffff000u) | (vaddr & 0xfff);
    return true;
}

/* The tables of PAE and long mode: 512 8-byte entries each, `levels` deep, large pages
 * at levels 2 (2 MiB) and 3 (1 GiB). */
static bool walk_tables(uint64_t table, unsigned levels, uint64_t vaddr, KvmPteReadFn *read,
                        void *opaque, uint64_t *paddr)
{
    for (unsigned level = levels; level >= 1; level--) {
        unsigned shift = 12 + 9 * (level - 1);
        uint64_t entry;
        if (!read(opaque, table + ((vaddr >> shift) & 511) * 8, &entry) || !(entry & PTE_P))
            return false;
        /* A leaf: the page table (level 1), or a large page in a PD (2 MiB) or PDPT (1 GiB). */
        if (level == 1 || ((level == 2 || level == 3) && (entry & PTE_PS))) {
            uint64_t page_mask = (1ull << shift) - 1;
            *paddr = (entry & PTE_ADDR & ~page_mask) | (vaddr & page_mask);
            return true;
        }
        table = entry & PTE_ADDR;
    }
    return false;
}

bool kvm_pagewalk(const KvmPagingState *st, uint64_t vaddr, KvmPteReadFn *read, void *opaque,
                  uint64_t *paddr)
{
    if (!(st->cr0 & CR0_PG)) {
        *paddr = vaddr;
        return true;
    }
    if (!(st->efer & EFER_LMA)) {
        /* Protected mode: 32-bit linear addresses only. */
        if (vaddr >> 32)
            return false;
        if (!(st->cr4 & CR4_PAE))
            return walk_32bit(st, (uint32_t)vaddr, read, opaque, paddr);
        /* PAE: CR3 holds the 32-byte aligned table of four PDPT entries (bits 30-31). */
        uint64_t pdpte;
        if (!read(opaque, (st->cr3 & 0xffffffe0u) + (vaddr >> 30) * 8, &pdpte) || !(pdpte & PTE_P))
            return false;
        return walk_tables(pdpte & PTE_ADDR, 2, vaddr, read, opaque, paddr);
    }
    if (!(st->cr4 & CR4_PAE))
        return false; /* long mode without PAE cannot be entered */
    unsigned levels = st->cr4 & CR4_LA57 ? 5 : 4;
    unsigned va_bits = 12 + 9 * levels; /* 48 or 57 */
    /* Canonical: the bits above the top one the tables index copy it. */
    int64_t sext = (int64_t)(vaddr << (64 - va_bits)) >> (64 - va_bits);
    if ((uint64_t)sext != vaddr)
        return false;
    return walk_tables(st->cr3 & PTE_ADDR, levels, vaddr, read, opaque, paddr);
}
