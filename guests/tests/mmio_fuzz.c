/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guests are untrusted: hammer every board device (CLINT, PLIC, UART, RTC, empty
 * virtio-mmio slots, the boot ROM) with pseudo-random reads and writes of every size,
 * aligned and not.  Accesses the board refuses become access faults, which are counted
 * and skipped.  Passing means the emulator survived; there is no signature. */
#include "harness.h"

static uint64_t state = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static volatile uint64_t faults;
static int hook(TrapFrame *f, uint64_t cause, uint64_t tval)
{
    if (cause & (1ull << 63)) {
        csr_write(mie, 0); /* a random write may leave an interrupt pending */
        return 1;
    }
    faults++;
    return record_and_skip(f, cause, tval);
}

static const struct { uint64_t base, len; } regions[] = {
    {0x1000, 0x100},          /* boot ROM (writes must fail or be ignored) */
    {0x101000, 0x20},         /* RTC */
    {0x2000000, 0x10000},     /* CLINT */
    {0xc000000, 0x3000},      /* PLIC sources, pending, enables */
    {0xc200000, 0x2000},      /* PLIC contexts */
    {0x10000000, 0x100},      /* UART */
    {0x10001000, 0x8000},     /* virtio-mmio slots */
    {0x30000000, 0x10000},    /* PCIe ECAM: host bridge and absent functions */
};

void test_main(void)
{
    put_str("mmio-fuzz\n");
    trap_hook = hook;
    for (unsigned round = 0; round < 20000; round++) {
        unsigned r = rnd() % (sizeof regions / sizeof regions[0]);
        uint64_t addr = regions[r].base + rnd() % regions[r].len;
        uint64_t v = rnd();
        unsigned kind = rnd() % 8;
        /* Keep the UART usable for the final report: never enter loopback there. */
        if (r == 5)
            v &= ~0x10ull;
        /* The ROM and ECAM entries are the last ones; keep the index of the UART. */
        switch (kind) {
        case 0: (void)*(volatile uint8_t *)addr; break;
        case 1: (void)*(volatile uint16_t *)(addr & ~1ull); break;
        case 2: (void)*(volatile uint32_t *)(addr & ~3ull); break;
        case 3: (void)*(volatile uint64_t *)(addr & ~7ull); break;
        case 4: *(volatile uint8_t *)addr = (uint8_t)v; break;
        case 5: *(volatile uint16_t *)(addr & ~1ull) = (uint16_t)v; break;
        case 6: *(volatile uint32_t *)(addr & ~3ull) = (uint32_t)v; break;
        default: *(volatile uint64_t *)(addr & ~7ull) = v; break;
        }
    }
    /* Put the UART back into a known state for the report. */
    volatile uint8_t *u = (volatile uint8_t *)0x10000000ul;
    u[3] = 0x03;
    u[4] = 0x03;
    u[1] = 0;
    u[2] = 0x07;
    csr_write(mie, 0);
    put_str("INFO faults ");
    put_dec(faults);
    put_char('\n');
}
