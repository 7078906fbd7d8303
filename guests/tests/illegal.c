/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Illegal instructions: reserved encodings, privileged instructions in lower modes,
 * TVM, FS = off, and nonexistent CSRs.  mtval may hold the instruction bits or 0
 * (both allowed); which one is reported as INFO. */
#include "modes.h"

static volatile uint64_t s_flag;

static int m_hook(TrapFrame *f, uint64_t cause, uint64_t tval)
{
    return record_and_skip(f, cause, tval);
}

#define EXPECT_ILLEGAL(name, asm_text)                          \
    do {                                                        \
        uint64_t n_ = trap_count;                               \
        __asm__ volatile(asm_text ::: "memory", "t0");          \
        check_eq(name " traps", trap_count, n_ + 1);            \
        check_eq(name " cause", last_cause, 2);                 \
    } while (0)

static void s_mret(void) { __asm__ volatile("mret"); }
static void u_sret(void) { __asm__ volatile("sret"); }
static void u_sfence(void) { __asm__ volatile("sfence.vma"); }
static void s_satp(void) { csr_write(satp, 0); }
static void s_sfence(void) { __asm__ volatile("sfence.vma"); }
static void u_csr(void) { s_flag = csr_read(sstatus); }

void test_main(void)
{
    put_str("illegal\n");
    modes_init(m_hook);
    EXPECT_ILLEGAL("all ones", ".word 0xffffffff");
    info("illegal-mtval", last_tval == 0xffffffff ? "instruction-bits" : (last_tval == 0 ? "zero" : "other"));
    EXPECT_ILLEGAL("c.unimp", ".hword 0x0000");
    EXPECT_ILLEGAL("csr 0x7c0", "csrr t0, 0x7c0");
    EXPECT_ILLEGAL("csrw cycle (read-only)", "csrw cycle, zero");

    uint64_t n;
    n = trap_count;
    run_s(s_mret);
    check_eq("mret in S", last_cause, 2);
    n = trap_count;
    run_u(u_sret);
    check_eq("sret in U", last_cause, 2);
    run_u(u_sfence);
    check_eq("sfence.vma in U", last_cause, 2);
    run_u(u_csr);
    check_eq("sstatus from U", last_cause, 2);

    /* TVM: satp and sfence.vma trap in S. */
    csr_set(mstatus, 1ull << 20);
    run_s(s_satp);
    check_eq("satp with TVM", last_cause, 2);
    run_s(s_sfence);
    check_eq("sfence with TVM", last_cause, 2);
    csr_clear(mstatus, 1ull << 20);
    n = trap_count;
    run_s(s_sfence);
    check_eq("sfence without TVM", trap_count, n);

    /* FP with FS = off. */
    csr_clear(mstatus, 3ull << 13);
    EXPECT_ILLEGAL("fadd.d with FS=off", "fadd.d ft0, ft1, ft2");
    EXPECT_ILLEGAL("frcsr with FS=off", "frcsr t0");
    csr_set(mstatus, 1ull << 13);
    n = trap_count;
    __asm__ volatile("fadd.d ft0, ft1, ft2" ::: "ft0");
    check_eq("fadd.d with FS=initial", trap_count, n);

    /* Reserved rounding mode 5 in an FP instruction. */
    __asm__ volatile("fsrmi 0");
    EXPECT_ILLEGAL("rm=5", ".word 0x022050d3"); /* fadd.d ft1, ft0, ft2 with rm=5 */
    sig("illegal-count", trap_count);
}
