/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PLIC (0xc000000) with real sources: the UART's THR-empty interrupt (source 10) and
 * the goldfish RTC alarm (source 11), delivered to hart 0's M context as MEIP:
 * priorities, enables, threshold masking, claim/complete, pending bits. */
#include "harness.h"

#define PLIC 0xc000000ul
#define PRIO(s) ((volatile uint32_t *)(PLIC + 4 * (s)))
#define PENDING ((volatile uint32_t *)(PLIC + 0x1000))
#define ENABLE0 ((volatile uint32_t *)(PLIC + 0x2000))
#define THRESHOLD0 ((volatile uint32_t *)(PLIC + 0x200000))
#define CLAIM0 ((volatile uint32_t *)(PLIC + 0x200004))
#define UART ((volatile uint8_t *)0x10000000ul)
#define RTC ((volatile uint32_t *)0x101000ul)

static volatile uint64_t irqs, claimed[8], nclaimed;

static int hook(TrapFrame *f, uint64_t cause, uint64_t tval)
{
    if (cause != ((1ull << 63) | 11))
        return 0;
    irqs++;
    uint32_t id = *CLAIM0;
    if (nclaimed < 8)
        claimed[nclaimed] = id;
    nclaimed++;
    if (id == 10) {
        (void)UART[2]; /* IIR read acknowledges THRE */
        UART[1] = 0;   /* and stop asking */
    } else if (id == 11) {
        RTC[0x1c / 4] = 1; /* clear interrupt */
    }
    *CLAIM0 = id;
    return 1;
}

static void wait_irqs(uint64_t n)
{
    for (volatile int i = 0; i < 200000 && irqs < n; i++)
        ;
}

void test_main(void)
{
    put_str("plic\n");
    trap_hook = hook;
    /* Registers are plain storage where the spec says so. */
    *PRIO(10) = 3;
    check_eq("priority rw", *PRIO(10), 3);
    *PRIO(10) = 0xffffffff;
    CHECK(*PRIO(10) >= 1);
    *PRIO(10) = 1;
    *PRIO(11) = 2;
    ENABLE0[0] = (1u << 10) | (1u << 11);
    check_eq("enable rw", ENABLE0[0], (1u << 10) | (1u << 11));
    *THRESHOLD0 = 0;
    check_eq("no claim when idle", *CLAIM0, 0);

    csr_set(mie, 1ull << 11);
    csr_set(mstatus, 1 << 3);

    /* UART THRE interrupt. */
    UART[1] = 0x02;
    wait_irqs(1);
    check_eq("uart irq taken", irqs, 1);
    check_eq("uart source", claimed[0], 10);

    /* Threshold masks priority <= threshold; pending stays visible. */
    csr_clear(mstatus, 1 << 3);
    *THRESHOLD0 = 1;
    UART[1] = 0x02;
    for (volatile int i = 0; i < 1000; i++)
        ;
    check_eq("pending bit", (PENDING[0] >> 10) & 1, 1);
    check_eq("masked: no MEIP", (csr_read(mip) >> 11) & 1, 0);
    *THRESHOLD0 = 0;
    check_eq("unmasked: MEIP", (csr_read(mip) >> 11) & 1, 1);
    csr_set(mstatus, 1 << 3);
    wait_irqs(2);
    check_eq("uart irq after threshold", irqs, 2);

    /* RTC alarm 2 ms ahead. */
    uint64_t lo = RTC[0], hi = RTC[1];
    uint64_t now = (hi << 32) | lo, alarm = now + 2000000;
    RTC[0x10 / 4] = 1;
    RTC[0x0c / 4] = (uint32_t)(alarm >> 32);
    RTC[0x08 / 4] = (uint32_t)alarm;
    wait_irqs(3);
    for (uint64_t t0 = *CLINT_MTIME; irqs < 3 && *CLINT_MTIME - t0 < 10000000;)
        ;
    check_eq("rtc irq taken", irqs, 3);
    check_eq("rtc source", claimed[2], 11);
    csr_clear(mstatus, 1 << 3);
    CHECK(now > 1600000000ull * 1000000000ull); /* wall-clock time, after 2020 */
    sig("claims", claimed[0] | claimed[1] << 8 | claimed[2] << 16);
}
