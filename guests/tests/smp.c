/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Several harts (run with 4): IPIs through CLINT msip wake parked harts, and AMOs and
 * LR/SC loops on shared counters stay exact under contention. */
#include "harness.h"

#define NHARTS 4
#define ROUNDS 2000

static volatile uint64_t amo_counter, lrsc_counter, done_mask, hartid_seen[NHARTS];

static void worker(uint64_t id)
{
    hartid_seen[id] = csr_read(mhartid) + 100;
    for (int i = 0; i < ROUNDS; i++) {
        __asm__ volatile("amoadd.d zero, %1, (%0)" ::"r"(&amo_counter), "r"(1ull) : "memory");
        uint64_t tmp, fail;
        __asm__ volatile("1: lr.d %0, (%2)\n addi %0, %0, 1\n sc.d %1, %0, (%2)\n bnez %1, 1b"
                         : "=&r"(tmp), "=&r"(fail) : "r"(&lrsc_counter) : "memory");
    }
    __asm__ volatile("amoor.d zero, %1, (%0)" ::"r"(&done_mask), "r"(1ull << id) : "memory");
}

void test_main(void)
{
    put_str("smp\n");
    for (unsigned h = 1; h < NHARTS; h++) {
        hart_entry[h] = worker;
        __asm__ volatile("fence rw, rw" ::: "memory");
        CLINT_MSIP[h] = 1;
    }
    worker(0);
    uint64_t start = *CLINT_MTIME;
    while (done_mask != (1u << NHARTS) - 1 && *CLINT_MTIME - start < 50000000) /* 5 s */
        ;
    check_eq("all harts done", done_mask, (1u << NHARTS) - 1);
    for (unsigned h = 0; h < NHARTS; h++)
        check_eq("mhartid", hartid_seen[h], 100 + h);
    check_eq("amo counter", amo_counter, NHARTS * ROUNDS);
    check_eq("lr/sc counter", lrsc_counter, NHARTS * ROUNDS);
    sig("counters", amo_counter + (lrsc_counter << 32));
}
