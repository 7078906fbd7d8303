/* SPDX-License-Identifier: GPL-2.0-or-later */
/* CSRs, traps and delegation: ecall from M/S/U with and without medeleg, xRET state,
 * privilege checks on CSR access, counters and mcounteren, sstatus as a view of mstatus. */
#include "modes.h"

static volatile uint64_t m_status_at_trap;
static volatile uint64_t probe;

static int m_hook(TrapFrame *f, uint64_t cause, uint64_t tval)
{
    m_status_at_trap = csr_read(mstatus);
    return record_and_skip(f, cause, tval);
}

static void s_ecall(void) { __asm__ volatile("li a7, 1\n ecall" ::: "a7"); }
static void s_read_mstatus(void) { probe = csr_read(mstatus); }
static void s_read_time(void) { probe = csr_read(time); }
static void s_read_sstatus(void) { probe = csr_read(sstatus); }
static void s_set_sscratch(void) { csr_write(sscratch, 0x5a5a); probe = csr_read(sscratch); }

void test_main(void)
{
    put_str("csr\n");
    modes_init(m_hook);

    /* Identification and basic read/write. */
    uint64_t misa = csr_read(misa);
    check_eq("misa MXL=64", misa >> 62, 2);
    for (const char *e = "IMACSU"; *e; e++)
        if (!(misa & (1ull << (*e - 'A'))))
            fail("misa lacks an extension of IMACSU");
    check_eq("mhartid", csr_read(mhartid), 0);
    csr_write(mscratch, 0x123456789abcdef0ull);
    check_eq("mscratch", csr_read(mscratch), 0x123456789abcdef0ull);
    uint64_t old;
    __asm__ volatile("csrrw %0, mscratch, %1" : "=r"(old) : "r"(7ull));
    check_eq("csrrw old", old, 0x123456789abcdef0ull);
    __asm__ volatile("csrrsi %0, mscratch, 8" : "=r"(old));
    check_eq("csrrsi old", old, 7);
    __asm__ volatile("csrrci %0, mscratch, 1" : "=r"(old));
    check_eq("csrrci", csr_read(mscratch), 14);
    uint64_t ms = csr_read(mstatus);
    check_eq("mstatus.UXL", (ms >> 32) & 3, 2);
    check_eq("mstatus.SXL", (ms >> 34) & 3, 2);

    /* M-mode ecall. */
    uint64_t at;
    __asm__ volatile("la %0, 1f\n1: ecall" : "=r"(at));
    check_eq("M ecall cause", last_cause, 11);
    check_eq("M ecall mepc", last_epc, at);
    check_eq("M ecall MPP", (m_status_at_trap >> 11) & 3, 3);
    sig("m-ecall", last_cause);

    /* S-mode ecall, not delegated: M sees cause 9 with MPP = S. */
    csr_write(medeleg, 0);
    run_s(s_ecall);
    check_eq("S ecall cause", last_cause, 9);
    check_eq("S ecall MPP", (m_status_at_trap >> 11) & 3, 1);
    /* After mret back to M the MPP field holds the least-privileged mode (U). */
    check_eq("MPP after mret", (csr_read(mstatus) >> 11) & 3, 0);
    run_u(s_ecall);
    check_eq("U ecall cause", last_cause, 8);
    check_eq("U ecall MPP", (m_status_at_trap >> 11) & 3, 0);

    /* Delegated: S handles ecalls from U and S. */
    csr_write(medeleg, (1ull << 8) | (1ull << 9));
    check_eq("medeleg ecall bits", csr_read(medeleg) & 0x300, 0x300);
    uint64_t n = S_COUNT, mcount = trap_count;
    run_u(s_ecall);
    check_eq("U ecall delegated", S_CAUSE, 8);
    check_eq("delegated SPP=U", (S_STATUS >> 8) & 1, 0);
    check_eq("S handler ran", S_COUNT, n + 1);
    check_eq("M not involved", trap_count, mcount);
    /* ecall from S with bit 9 delegated goes to S (S traps never go down). */
    run_s(s_ecall);
    check_eq("S ecall delegated", S_CAUSE, 9);
    check_eq("delegated SPP=S", (S_STATUS >> 8) & 1, 1);
    /* medeleg bit 11 (ecall from M) "should" be read-only zero (QEMU keeps it
     * writable); either way M traps stay in M. */
    csr_set(medeleg, 1ull << 11);
    info("medeleg11", (csr_read(medeleg) >> 11) & 1 ? "writable" : "zero");
    __asm__ volatile("ecall");
    check_eq("M ecall stays in M", last_cause, 11);
    csr_write(medeleg, 0);

    /* Privilege: S reading mstatus is illegal (cause 2); sstatus is fine. */
    run_s(s_read_mstatus);
    check_eq("S reads mstatus", last_cause, 2);
    probe = 0;
    csr_set(mstatus, 1ull << 1); /* SIE */
    run_s(s_read_sstatus);
    check_eq("sstatus.SIE mirrors mstatus", (probe >> 1) & 1, 1);
    check_eq("sstatus hides MPP", (probe >> 11) & 3, 0);
    csr_clear(mstatus, 1ull << 1);
    run_s(s_set_sscratch);
    check_eq("S sscratch", probe, 0x5a5a);

    /* Counters: mcounteren.TM gates S access to time. */
    csr_write(mcounteren, 0);
    uint64_t tc = trap_count;
    run_s(s_read_time);
    check_eq("S time without TM traps", last_cause, 2);
    check_eq("one trap", trap_count, tc + 1);
    csr_write(mcounteren, 7);
    tc = trap_count;
    run_s(s_read_time);
    check_eq("S time with TM", trap_count, tc);
    uint64_t c1 = csr_read(mcycle), i1 = csr_read(minstret);
    for (volatile int k = 0; k < 100; k++)
        ;
    uint64_t c2 = csr_read(mcycle), i2 = csr_read(minstret);
    CHECK(c2 > c1);
    CHECK(i2 - i1 >= 100);

    /* Writing a read-only CSR is illegal. */
    tc = trap_count;
    __asm__ volatile("csrw mhartid, %0" ::"r"(1ull));
    check_eq("write mhartid", last_cause, 2);
    sig("causes", (uint64_t)trap_count);
    sig("final-medeleg", csr_read(medeleg));
    sig("mstatus-low", csr_read(mstatus) & 0x7fffffffull & ~(3ull << 13) & ~(3ull << 15));
}
