/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit test of accel-kvm's guest page-table walk (pagewalk.c) on tables built here:
 * build/<variant>/tests/unit/test-pagewalk. */
#include <glib.h>
#include "pagewalk.h"

#define P 1ull          /* present */
#define PS (1ull << 7)  /* large page (PD, PDPT); PAT in a page-table entry */
#define MEM_SIZE 0x10000ull

/* Guest RAM of this test: 64 KiB from 0; entries outside it cannot be read. */
typedef struct Mem {
    uint64_t q[MEM_SIZE / 8];
    unsigned reads;
} Mem;

static bool mem_read(void *opaque, uint64_t gpa, uint64_t *entry)
{
    Mem *m = opaque;
    m->reads++;
    if (gpa >= MEM_SIZE || (gpa & 7))
        return false;
    *entry = m->q[gpa / 8];
    return true;
}

static void set(Mem *m, uint64_t table, unsigned index, uint64_t entry)
{
    m->q[(table + index * 8) / 8] = entry;
}

static const KvmPagingState long_mode = {
    .cr0 = 0x80050033, .cr3 = 0x1000, .cr4 = 0x20 /* PAE */, .efer = 0x500 /* LME LMA */,
};

#define KTEXT 0xffffffff81234567ull /* PML4 511, PDPT 510, PD 9, PT 0x34 */

static void build_4k(Mem *m)
{
    set(m, 0x1000, 511, 0x2000 | P | 2);
    set(m, 0x2000, 510, 0x3000 | P | 2);
    set(m, 0x3000, 9, 0x4000 | P | 2);
    set(m, 0x4000, 0x34, 0x0000000abcde000ull | P | (1ull << 63) /* NX */);
}

static void test_paging_off_is_identity(void)
{
    Mem m = {0};
    KvmPagingState st = {.cr0 = 0x11};
    uint64_t pa = 0;
    g_assert_true(kvm_pagewalk(&st, 0x123456789ull, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0x123456789ull);
    g_assert_cmpuint(m.reads, ==, 0);
}

static void test_4k_page_of_kernel_text(void)
{
    Mem m = {0};
    build_4k(&m);
    uint64_t pa = 0;
    g_assert_true(kvm_pagewalk(&long_mode, KTEXT, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0xabcde567ull); /* NX and flag bits are not address bits */
    g_assert_cmpuint(m.reads, ==, 4);
    /* In a page-table entry bit 7 is PAT, not a large page: still a 4 KiB leaf. */
    set(&m, 0x4000, 0x34, 0xabcde000ull | P | PS);
    g_assert_true(kvm_pagewalk(&long_mode, KTEXT, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0xabcde567ull);
}

static void test_cr3_flag_bits_are_ignored(void)
{
    Mem m = {0};
    build_4k(&m);
    KvmPagingState st = long_mode;
    st.cr3 = 0x1000 | 0x18; /* PWT PCD */
    uint64_t pa = 0;
    g_assert_true(kvm_pagewalk(&st, KTEXT, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0xabcde567ull);
}

static void test_2m_and_1g_pages(void)
{
    Mem m = {0};
    set(&m, 0x1000, 0, 0x2000 | P);
    set(&m, 0x2000, 0, 0x3000 | P);               /* 0-1 GiB: a page directory */
    set(&m, 0x3000, 1, 0x40000000ull | P | PS);   /* 2-4 MiB -> 1 GiB + offset */
    set(&m, 0x2000, 3, 0x2c0000000ull | P | PS);  /* 3-4 GiB: one 1 GiB page */
    uint64_t pa = 0;
    g_assert_true(kvm_pagewalk(&long_mode, 0x2fedcbull, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0x400fedcbull);
    g_assert_true(kvm_pagewalk(&long_mode, 0xc1234567ull, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0x2c1234567ull);
}

static void test_not_mapped(void)
{
    Mem m = {0};
    build_4k(&m);
    uint64_t pa = 0x5a5a;
    /* Not present at the PT, the PML4, a table outside RAM, non-canonical. */
    g_assert_false(kvm_pagewalk(&long_mode, KTEXT + 0x1000, mem_read, &m, &pa));
    g_assert_false(kvm_pagewalk(&long_mode, 0x1000, mem_read, &m, &pa));
    set(&m, 0x1000, 0, 0x7fff000ull | P);
    g_assert_false(kvm_pagewalk(&long_mode, 0x1000, mem_read, &m, &pa));
    unsigned before = m.reads;
    g_assert_false(kvm_pagewalk(&long_mode, 0x0000800000000000ull, mem_read, &m, &pa));
    g_assert_cmpuint(m.reads, ==, before); /* refused before any read */
    g_assert_cmphex(pa, ==, 0x5a5a);
}

/* A 4-byte entry of 32-bit paging (at any 4-byte boundary of the 8-byte words). */
static void set32(Mem *m, uint64_t table, unsigned index, uint32_t entry)
{
    uint64_t gpa = table + index * 4, *q = &m->q[gpa / 8];
    unsigned shift = (unsigned)(gpa & 4) * 8;
    *q = (*q & ~(0xffffffffull << shift)) | (uint64_t)entry << shift;
}

/* 32-bit paging without PAE (CR0.PG, CR4.PAE clear): a page directory of 1024 4-byte
 * entries, then a page table; 0xc1234567 is PD index 0x304, PT index 0x234. */
static void test_32bit_4k(void)
{
    Mem m = {0};
    KvmPagingState st = {.cr0 = 0x80000011, .cr3 = 0x1000 | 0x18 /* PWT PCD */};
    set32(&m, 0x1000, 0x304, 0x2000 | P | 2);
    set32(&m, 0x2000, 0x234, 0xabcde000u | P);
    set32(&m, 0x2000, 0x235, 0x00777000u | P); /* the odd neighbour: the high half of a word */
    uint64_t pa = 0;
    g_assert_true(kvm_pagewalk(&st, 0xc1234567ull, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0xabcde567ull);
    g_assert_true(kvm_pagewalk(&st, 0xc1235001ull, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0x777001ull);
    g_assert_cmpuint(m.reads, ==, 4);
    /* Without CR4.PSE, a PDE's bit 7 means nothing: still a page table. */
    set32(&m, 0x1000, 0x304, 0x2000 | P | PS);
    g_assert_true(kvm_pagewalk(&st, 0xc1234567ull, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0xabcde567ull);
    /* Not present; above 4 GiB there is nothing in 32-bit paging. */
    pa = 0x5a5a;
    g_assert_false(kvm_pagewalk(&st, 0xc1236000ull, mem_read, &m, &pa));
    g_assert_false(kvm_pagewalk(&st, 0x1c1234567ull, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0x5a5a);
}

/* CR4.PSE: a PDE with PS maps 4 MiB, PSE-36 puts address bits 32-39 in PDE bits 13-20. */
static void test_32bit_4m_pages(void)
{
    Mem m = {0};
    KvmPagingState st = {.cr0 = 0x80000011, .cr3 = 0x1000, .cr4 = 0x10 /* PSE */};
    set32(&m, 0x1000, 0x304, 0x00c00000u | P | PS);
    set32(&m, 0x1000, 0x305, 0x01000000u | (0x3u << 13) | P | PS); /* 0x3_0100_0000 */
    uint64_t pa = 0;
    g_assert_true(kvm_pagewalk(&st, 0xc1234567ull, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0x00e34567ull);
    g_assert_true(kvm_pagewalk(&st, 0xc1634567ull, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0x301234567ull);
    g_assert_cmpuint(m.reads, ==, 2);
}

/* PAE paging in protected mode (CR4.PAE, EFER.LMA clear): CR3 points at four 8-byte
 * PDPT entries (32-byte aligned), then 8-byte PD and PT entries; 2 MiB pages. */
static void test_32bit_pae(void)
{
    Mem m = {0};
    KvmPagingState st = {.cr0 = 0x80000011, .cr3 = 0x1020 | 0x18, .cr4 = 0x20 /* PAE */};
    /* 0xc1234567: PDPT 3, PD 9, PT 0x34. */
    set(&m, 0x1020, 3, 0x2000 | P);
    set(&m, 0x2000, 9, 0x3000 | P | 2);
    set(&m, 0x3000, 0x34, 0x12abcde000ull | P | (1ull << 63));
    set(&m, 0x2000, 10, 0x40000000ull | P | PS);   /* 0xc1400000: a 2 MiB page */
    uint64_t pa = 0;
    g_assert_true(kvm_pagewalk(&st, 0xc1234567ull, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0x12abcde567ull);    /* PAE reaches above 4 GiB */
    g_assert_true(kvm_pagewalk(&st, 0xc1512345ull, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0x40112345ull);
    /* Not present at the PDPT; above 4 GiB. */
    g_assert_false(kvm_pagewalk(&st, 0x81234567ull, mem_read, &m, &pa));
    g_assert_false(kvm_pagewalk(&st, 0x100001000ull, mem_read, &m, &pa));
}

static void test_5_level(void)
{
    Mem m = {0};
    KvmPagingState st = long_mode;
    st.cr4 |= 1ull << 12; /* LA57 */
    st.cr3 = 0x5000;
    /* 0xff00000000000000 + 4 KiB: PML5 index 256 (bits 48-56), then 0 down to PT 1. */
    uint64_t va = 0xff00000000001234ull;
    set(&m, 0x5000, 256, 0x1000 | P);
    set(&m, 0x1000, 0, 0x2000 | P);
    set(&m, 0x2000, 0, 0x3000 | P);
    set(&m, 0x3000, 0, 0x4000 | P);
    set(&m, 0x4000, 1, 0x9000 | P);
    uint64_t pa = 0;
    g_assert_true(kvm_pagewalk(&st, va, mem_read, &m, &pa));
    g_assert_cmphex(pa, ==, 0x9234);
    /* Canonical for 4 levels, not for 5. */
    g_assert_false(kvm_pagewalk(&st, 0x0100000000000000ull, mem_read, &m, &pa));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kvm/pagewalk/paging-off", test_paging_off_is_identity);
    g_test_add_func("/kvm/pagewalk/4k", test_4k_page_of_kernel_text);
    g_test_add_func("/kvm/pagewalk/cr3-flags", test_cr3_flag_bits_are_ignored);
    g_test_add_func("/kvm/pagewalk/large-pages", test_2m_and_1g_pages);
    g_test_add_func("/kvm/pagewalk/not-mapped", test_not_mapped);
    g_test_add_func("/kvm/pagewalk/32-bit-4k", test_32bit_4k);
    g_test_add_func("/kvm/pagewalk/32-bit-4m", test_32bit_4m_pages);
    g_test_add_func("/kvm/pagewalk/32-bit-pae", test_32bit_pae);
    g_test_add_func("/kvm/pagewalk/5-level", test_5_level);
    return g_test_run();
}
