/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Self-modifying code: code the emulator has already translated (and, in Mosaic,
 * compiled and chained, which takes a few runs) is rewritten by stores; after FENCE.I
 * the new instructions run.  Data stores to the same page that miss the code change
 * nothing.  Differential with QEMU. */
#include "harness.h"

#define ADDI_A0(imm) (((uint32_t)(imm) << 20) | 0x50513u) /* addi a0, a0, imm */
#define ADDI_A1_M1 0xfff58593u                         /* addi a1, a1, -1 */
#define BNEZ_A1_M8 0xfe059ce3u                         /* bnez a1, .-8 */
#define RET 0x00008067u

/* One page: a routine at the start, data the test writes at the end. */
static volatile uint32_t page[1024] __attribute__((aligned(4096)));

typedef uint64_t Fn(uint64_t a0, uint64_t a1);

static uint64_t call(uint64_t a0, uint64_t a1)
{
    return ((Fn *)(uintptr_t)page)(a0, a1);
}

static void fence_i(void)
{
    __asm__ volatile("fence.i" ::: "memory");
}

void test_main(void)
{
    put_str("smc\n");
    /* a loop: a0 += imm, a1 times */
    page[0] = ADDI_A0(1);
    page[1] = ADDI_A1_M1;
    page[2] = BNEZ_A1_M8;
    page[3] = RET;
    fence_i();
    uint64_t sum = 0;
    for (int k = 0; k < 50; k++)
        sum = call(sum, 10);
    check_eq("before", sum, 500);
    sig("before", sum);

    /* Data on the same page, away from the code: the routine is unchanged. */
    for (int k = 0; k < 100; k++)
        page[900 + (k % 100)] = k;
    for (int k = 0; k < 50; k++)
        sum = call(sum, 10);
    check_eq("after data stores", sum, 1000);

    /* Rewrite the increment of the hot, chained loop. */
    page[0] = ADDI_A0(3);
    fence_i();
    for (int k = 0; k < 50; k++)
        sum = call(sum, 10);
    check_eq("after rewrite", sum, 2500);
    sig("after-rewrite", sum);

    /* Rewrite the loop into straight-line code: the branch becomes an addi. */
    page[2] = ADDI_A0(7);
    fence_i();
    sum = 0;
    for (int k = 0; k < 50; k++)
        sum = call(sum, 10);
    check_eq("after removing the branch", sum, 50 * 10);
    sig("straight", sum);
}
