/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NS16550A receive path: 200 bytes arrive on the console input (more than the 16-byte
 * FIFO, so the chardev must hold back while the FIFO is full); the receive-data
 * interrupt (IER.RDI) through the PLIC drains the FIFO.  Also scratch, LCR/divisor
 * latch and loopback. */
#include "harness.h"

#define UART ((volatile uint8_t *)0x10000000ul)
#define PLIC 0xc000000ul
#define N 200

static volatile uint8_t rx[N + 16];
static volatile uint64_t nrx, nirq;

static int hook(TrapFrame *f, uint64_t cause, uint64_t tval)
{
    if (cause == ((1ull << 63) | 7)) { /* the watchdog: disarm; the loop sees the time */
        *CLINT_MTIMECMP = ~0ull;
        return 1;
    }
    if (cause != ((1ull << 63) | 11))
        return 0;
    nirq++;
    volatile uint32_t *claim = (volatile uint32_t *)(PLIC + 0x200004);
    uint32_t id = *claim;
    while ((UART[5] & 1) && nrx < sizeof rx)
        rx[nrx++] = UART[0];
    *claim = id;
    return 1;
}

void test_main(void)
{
    put_str("uart\n");
    UART[7] = 0xa5;
    check_eq("scratch", UART[7], 0xa5);
    UART[3] = 0x83; /* DLAB */
    UART[0] = 0x01;
    UART[1] = 0x00;
    check_eq("dll", UART[0], 1);
    UART[3] = 0x03; /* 8N1 */
    check_eq("lcr", UART[3], 3);
    /* Loopback: a transmitted byte comes back as received data. */
    UART[4] = 0x10;
    UART[0] = 'L';
    for (volatile int i = 0; i < 1000 && !(UART[5] & 1); i++)
        ;
    check_eq("loopback data ready", UART[5] & 1, 1);
    check_eq("loopback byte", UART[0], 'L');
    UART[4] = 0x03; /* DTR | RTS, loopback off */
    UART[2] = 0x07; /* FIFO on, clear */
    check_eq("IIR says FIFO", UART[2] & 0xc0, 0xc0);

    *(volatile uint32_t *)(PLIC + 4 * 10) = 1;
    *(volatile uint32_t *)(PLIC + 0x2000) = 1u << 10;
    trap_hook = hook;
    /* The wait loop tests nrx and sleeps with mstatus.MIE off: an interrupt taken
     * between the test and the wfi (it may bring the last bytes) would leave the hart
     * asleep for good.  WFI still wakes for an interrupt enabled in mie, and the
     * MIE window after it takes the interrupt.  The timer is a watchdog: lost input
     * fails the test after 10 s instead of hanging it. */
    uint64_t t0 = *CLINT_MTIME;
    *CLINT_MTIMECMP = t0 + 100000000;
    csr_set(mie, (1ull << 11) | (1ull << 7));
    put_str("READY\n");
    UART[1] = 0x01; /* RDI */
    while (nrx < N && *CLINT_MTIME - t0 < 100000000) {
        __asm__ volatile("wfi");
        csr_set(mstatus, 1 << 3);
        csr_clear(mstatus, 1 << 3);
    }
    csr_clear(mie, 1ull << 7);
    *CLINT_MTIMECMP = ~0ull;
    UART[1] = 0;
    check_eq("received", nrx, N);
    CHECK(nirq >= 1); /* input may keep arriving while the handler drains */
    uint64_t h = 0;
    for (unsigned i = 0; i < N; i++) {
        if (rx[i] != (uint8_t)('a' + i % 26))
            fail("wrong byte");
        h = h * 31 + rx[i];
    }
    sig("rx", h);
}
