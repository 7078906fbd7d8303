/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: the guest's own translation of a virtual address, walked in its page
 * tables the way the CPU does (for the GDB stub: memory reads and breakpoints at kernel
 * virtual addresses).  Pure: guest memory is read through a callback, so a unit test
 * (test-pagewalk.c) feeds it tables of its own. */
#ifndef ACCEL_KVM_PAGEWALK_H
#define ACCEL_KVM_PAGEWALK_H

#include <stdbool.h>
#include <stdint.h>

/* Reads the 8-byte page-table entry at guest-physical `gpa`; false when that is not
 * guest RAM. */
typedef bool KvmPteReadFn(void *opaque, uint64_t gpa, uint64_t *entry);

typedef struct KvmPagingState {
    uint64_t cr0, cr3, cr4, efer;
} KvmPagingState;

/* Paging off: vaddr itself.  Long mode (4-level, or 5-level with CR4.LA57; 1 GiB and
 * 2 MiB pages), PAE paging in protected mode (2 MiB pages) and 32-bit paging without
 * PAE (4 MiB pages with CR4.PSE, PSE-36): the walk, as the CPU does it (a 32-bit guest,
 * or a kernel's own early boot in protected mode).  False when nothing is mapped there
 * (non-present entry, non-canonical address or one above 4 GiB in protected mode, a
 * table outside RAM). */
bool kvm_pagewalk(const KvmPagingState *st, uint64_t vaddr, KvmPteReadFn *read, void *opaque,
                  uint64_t *paddr);

#endif
