/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Interrupts: the machine timer through CLINT mtimecmp, the machine software
 * interrupt through msip, mip reflecting both, WFI wake-up, and a supervisor timer
 * interrupt (mip.STIP set by M) delegated to S through mideleg. */
#include "modes.h"

#define MCAUSE_INT (1ull << 63)
static volatile uint64_t irq_cause, irq_count, mip_at_irq;

static int m_hook(TrapFrame *f, uint64_t cause, uint64_t tval)
{
    if (!(cause & MCAUSE_INT))
        return record_and_skip(f, cause, tval);
    irq_cause = cause;
    irq_count++;
    mip_at_irq = csr_read(mip);
    if ((cause & 0xff) == 7)
        *CLINT_MTIMECMP = ~0ull;
    else if ((cause & 0xff) == 3)
        *CLINT_MSIP = 0;
    else
        csr_clear(mie, 1ull << (cause & 0x3f));
    return 1;
}

static void s_wait(void)
{
    for (volatile int i = 0; i < 100000 && S_COUNT == 0; i++)
        ;
}

void test_main(void)
{
    put_str("interrupts\n");
    modes_init(m_hook);
    csr_write(mie, 0);

    /* mtime advances and the time CSR agrees with it. */
    uint64_t t0 = csr_read(time), m0 = *CLINT_MTIME;
    for (volatile int i = 0; i < 20000; i++)
        ;
    uint64_t m1 = *CLINT_MTIME, t1 = csr_read(time);
    CHECK(m1 > m0);
    CHECK(t0 <= m0 + 1000 && m1 <= t1 + 1000);

    /* mip.MTIP follows the comparator even with the interrupt masked. */
    *CLINT_MTIMECMP = 0;
    for (volatile int i = 0; i < 100 && !(csr_read(mip) & (1 << 7)); i++)
        ;
    check_eq("MTIP pending", (csr_read(mip) >> 7) & 1, 1);
    *CLINT_MTIMECMP = ~0ull;
    for (volatile int i = 0; i < 100 && (csr_read(mip) & (1 << 7)); i++)
        ;
    check_eq("MTIP clear", (csr_read(mip) >> 7) & 1, 0);

    /* Timer interrupt 1 ms ahead, waited for with WFI. */
    irq_count = 0;
    uint64_t start = *CLINT_MTIME;
    *CLINT_MTIMECMP = start + 10000;
    csr_set(mie, 1 << 7);
    csr_set(mstatus, 1 << 3);
    while (!irq_count && *CLINT_MTIME < start + 10000000)
        __asm__ volatile("wfi");
    csr_clear(mstatus, 1 << 3);
    check_eq("timer irq", irq_count, 1);
    check_eq("timer cause", irq_cause, MCAUSE_INT | 7);
    CHECK(*CLINT_MTIME >= start + 10000);

    /* Software interrupt. */
    irq_count = 0;
    csr_set(mie, 1 << 3);
    *CLINT_MSIP = 1;
    check_eq("MSIP pending", (csr_read(mip) >> 3) & 1, 1);
    csr_set(mstatus, 1 << 3);
    for (volatile int i = 0; i < 1000 && !irq_count; i++)
        ;
    csr_clear(mstatus, 1 << 3);
    check_eq("soft irq", irq_count, 1);
    check_eq("soft cause", irq_cause, MCAUSE_INT | 3);
    check_eq("msip cleared", *CLINT_MSIP, 0);

    /* Masked interrupt stays pending and is not taken. */
    irq_count = 0;
    csr_clear(mie, 1 << 3);
    *CLINT_MSIP = 1;
    csr_set(mstatus, 1 << 3);
    for (volatile int i = 0; i < 1000; i++)
        ;
    csr_clear(mstatus, 1 << 3);
    check_eq("masked not taken", irq_count, 0);
    *CLINT_MSIP = 0;

    /* SSIP delegated to S: M sets mip.SSIP, S takes it through stvec.  (SSIP rather
     * than STIP: with Sstc, mip.STIP may be read-only.) */
    csr_write(mie, 0);
    csr_write(mideleg, 1 << 1);
    check_eq("mideleg SSIP", (csr_read(mideleg) >> 1) & 1, 1);
    S_COUNT = 0;
    csr_set(mip, 1 << 1);
    csr_set(mie, 1 << 1);
    csr_set(mstatus, 1 << 1); /* SIE: S interrupts enabled while in S */
    run_s(s_wait);
    csr_clear(mip, 1 << 1);
    check_eq("S soft taken", S_COUNT, 1);
    check_eq("S soft cause", S_CAUSE, MCAUSE_INT | 1);
    csr_write(mideleg, 0);
    csr_write(mie, 0);
    csr_clear(mstatus, 1 << 1);
    sig("irq-causes", irq_cause ^ (S_CAUSE << 1));
}
