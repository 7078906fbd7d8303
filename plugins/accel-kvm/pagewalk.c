/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: a guest virtual address through the guest's page tables (pagewalk.h). */
#include "pagewalk.h"

#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LMA (1ull << 10)
#define PTE_P (1ull << 0)
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull /* bits 12-51: the next table or the page */

bool kvm_pagewalk(const KvmPagingState *st, uint64_t vaddr, KvmPteReadFn *read, void *opaque,
                  uint64_t *paddr)
{
    if (!(st->cr0 & CR0_PG)) {
        *paddr = vaddr;
        return true;
    }
    if (!(st->cr4 & CR4_PAE) || !(st->efer & EFER_LMA))
        return false;
    unsigned levels = st->cr4 & CR4_LA57 ? 5 : 4;
    unsigned va_bits = 12 + 9 * levels; /* 48 or 57 */
    /* Canonical: the bits above the top one the tables index copy it. */
    int64_t sext = (int64_t)(vaddr << (64 - va_bits)) >> (64 - va_bits);
    if ((uint64_t)sext != vaddr)
        return false;
    uint64_t table = st->cr3 & PTE_ADDR;
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
