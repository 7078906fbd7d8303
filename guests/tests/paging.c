/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sv39 paging from S-mode: gigapages and a 3-level walk, permission faults (R/W/X/U,
 * SUM), invalid PTEs, the reserved W-without-R encoding, satp WARL behaviour, and the
 * accessed/dirty bits.  For A/D the spec allows either a hardware update of the PTE
 * or a page fault that software resolves: the test accepts both, checks the final
 * PTE either way and reports which one happened as INFO ad-update. */
#include "modes.h"

#define PTE_V 1ull
#define PTE_R 2ull
#define PTE_W 4ull
#define PTE_X 8ull
#define PTE_U 16ull
#define PTE_A 64ull
#define PTE_D 128ull
#define PTE_PPN(pa) (((uint64_t)(pa) >> 12) << 10)
#define VA_BASE 0x40000000ull
#define VA(i) (VA_BASE + (i) * 0x1000ull)

extern char __scratch_start[];
static uint64_t *root, *l1, *l0;
static uint8_t *page[8];
static volatile uint64_t sv, ad_faults;
static volatile uint64_t fault_cause[16], fault_tval[16], nfault;

static int m_hook(TrapFrame *f, uint64_t cause, uint64_t tval)
{
    if ((cause == 13 || cause == 15) && tval >= VA(1) && tval < VA(2) && !(l0[1] & (cause == 15 ? PTE_D : PTE_A))) {
        /* Software A/D management: set the bit and retry the access. */
        l0[1] |= PTE_A | (cause == 15 ? PTE_D : 0);
        ad_faults++;
        __asm__ volatile("sfence.vma" ::: "memory");
        return 1;
    }
    if (cause == 12) {
        /* The faulting pc is not mapped in M: resume at the caller (ra). */
        last_cause = cause;
        last_tval = tval;
        if (nfault < 16) {
            fault_cause[nfault] = cause;
            fault_tval[nfault] = tval;
        }
        nfault++;
        trap_count++;
        f->mepc = f->x[1];
        return 1;
    }
    if (nfault < 16) {
        fault_cause[nfault] = cause;
        fault_tval[nfault] = tval;
    }
    nfault++;
    return record_and_skip(f, cause, tval);
}

static void s_read_a(void) { sv = *(volatile uint64_t *)VA(0); }
static void s_write_a(void) { *(volatile uint64_t *)VA(0) = 0x1111222233334444ull; }
static void s_read_b(void) { sv = *(volatile uint64_t *)VA(1); }
static void s_write_b(void) { *(volatile uint64_t *)(VA(1) + 8) = 0xabcdull; }
static void s_write_ro(void) { *(volatile uint64_t *)VA(2) = 1; }
static void s_read_user(void) { sv = *(volatile uint64_t *)VA(3); }
static void s_exec_nx(void) { ((void (*)(void))VA(4))(); }
static void s_read_invalid(void) { sv = *(volatile uint64_t *)VA(5); }
static void s_read_wonly(void) { sv = *(volatile uint64_t *)VA(6); }
static void s_sfence(void) { __asm__ volatile("sfence.vma" ::: "memory"); }

static uint64_t faults_since(uint64_t n0) { return nfault - n0; }

void test_main(void)
{
    put_str("paging\n");
    modes_init(m_hook);
    uint8_t *s = (uint8_t *)(((uint64_t)__scratch_start + 0xfff) & ~0xfffull);
    for (unsigned i = 0; i < 0x1000 * 11; i++)
        s[i] = 0;
    root = (uint64_t *)s;
    l1 = (uint64_t *)(s + 0x1000);
    l0 = (uint64_t *)(s + 0x2000);
    for (unsigned i = 0; i < 8; i++)
        page[i] = s + 0x3000 + i * 0x1000;

    root[0] = PTE_PPN(0) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;            /* MMIO */
    root[2] = PTE_PPN(0x80000000ull) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    root[1] = PTE_PPN(l1) | PTE_V;
    l1[0] = PTE_PPN(l0) | PTE_V;
    l0[0] = PTE_PPN(page[0]) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
    l0[1] = PTE_PPN(page[1]) | PTE_V | PTE_R | PTE_W;                        /* A=D=0 */
    l0[2] = PTE_PPN(page[2]) | PTE_V | PTE_R | PTE_A | PTE_D;                /* read only */
    l0[3] = PTE_PPN(page[3]) | PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D;
    l0[4] = PTE_PPN(page[4]) | PTE_V | PTE_R | PTE_A;                        /* not executable */
    l0[5] = 0;                                                               /* invalid */
    l0[6] = PTE_PPN(page[6]) | PTE_V | PTE_W | PTE_A | PTE_D;                /* reserved W&!R */
    *(uint64_t *)page[0] = 0x0123456789abcdefull;
    *(uint64_t *)page[1] = 0x5555aaaa5555aaaaull;
    *(uint64_t *)page[3] = 0x3333ull;
    *(uint32_t *)page[4] = 0x00008067; /* ret */

    /* satp is WARL: an unsupported mode leaves it unchanged. */
    uint64_t root_ppn = (uint64_t)root >> 12;
    csr_write(satp, 0);
    csr_write(satp, (10ull << 60) | root_ppn);
    uint64_t s57 = csr_read(satp);
    CHECK(s57 == 0 || s57 == ((10ull << 60) | root_ppn));
    info("sv57", s57 ? "supported" : "unsupported");
    csr_write(satp, 0);
    csr_write(satp, (9ull << 60) | root_ppn);
    info("sv48", csr_read(satp) ? "supported" : "unsupported");
    csr_write(satp, (8ull << 60) | root_ppn);
    check_eq("satp sv39", csr_read(satp), (8ull << 60) | root_ppn);
    __asm__ volatile("sfence.vma" ::: "memory");

    uint64_t n0 = nfault;
    run_s(s_read_a);
    check_eq("read via 4K page", sv, 0x0123456789abcdefull);
    run_s(s_write_a);
    check_eq("write via 4K page", *(uint64_t *)page[0], 0x1111222233334444ull);
    check_eq("no faults", faults_since(n0), 0);

    /* A/D. */
    run_s(s_read_b);
    check_eq("A/D page read", sv, 0x5555aaaa5555aaaaull);
    check_eq("A set after read", (l0[1] & PTE_A) != 0, 1);
    check_eq("D clear after read", (l0[1] & PTE_D) != 0, 0);
    run_s(s_write_b);
    check_eq("A/D page write", *(uint64_t *)(page[1] + 8), 0xabcd);
    check_eq("D set after write", (l0[1] & PTE_D) != 0, 1);
    info("ad-update", ad_faults ? "page-fault" : "hardware");

    n0 = nfault;
    run_s(s_write_ro);
    check_eq("store to read-only", last_cause, 15);
    check_eq("store tval", last_tval, VA(2));
    check_eq("read-only unchanged", *(uint64_t *)page[2], 0);
    run_s(s_read_user);
    check_eq("S reads U page, SUM=0", last_cause, 13);
    csr_set(mstatus, 1ull << 18);
    sv = 0;
    uint64_t n1 = nfault;
    run_s(s_read_user);
    check_eq("SUM=1 allows", sv, 0x3333);
    check_eq("SUM=1 no fault", nfault, n1);
    csr_clear(mstatus, 1ull << 18);
    run_s(s_exec_nx);
    check_eq("fetch from NX", last_cause, 12);
    check_eq("fetch tval", last_tval, VA(4));
    run_s(s_read_invalid);
    check_eq("invalid PTE", last_cause, 13);
    check_eq("invalid tval", last_tval, VA(5));
    run_s(s_read_wonly);
    check_eq("W without R", last_cause, 13);

    /* A changed PTE is seen after sfence.vma. */
    l0[5] = PTE_PPN(page[0]) | PTE_V | PTE_R | PTE_A;
    run_s(s_sfence);
    n1 = nfault;
    run_s(s_read_invalid);
    check_eq("after sfence", nfault, n1);
    check_eq("remapped value", sv, 0x1111222233334444ull);

    uint64_t h = 0;
    for (uint64_t i = 0; i < nfault && i < 16; i++)
        h = h * 31 + fault_cause[i] * 1000003 + fault_tval[i];
    sig("faults", h);
    sig("nfault", nfault - n0);
    csr_write(satp, 0);
    __asm__ volatile("sfence.vma" ::: "memory");
}
