/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Exact retired-instruction counters: a read of minstret/instret counts every
 * instruction retired before it, including the earlier ones of the same straight-line
 * run (an emulator that counts per block must not miss them), and a write to minstret
 * replaces the count: the writing instruction's own increment is suppressed.
 * Mosaic-only (QEMU without -icount reads host ticks here), self-checking. */
#include "harness.h"

/* rd = minstret after `n` addi following a first read: returns second - first. */
#define DELTA_AFTER(csr, nops) ({                                               \
        uint64_t a_, b_;                                                        \
        __asm__ volatile("csrr %0, " #csr "\n"                                 \
                         ".rept " #nops "\n addi %1, %1, 1\n .endr\n"           \
                         "csrr %1, " #csr                                       \
                         : "=&r"(a_), "=&r"(b_));                               \
        b_ - a_; })

void test_main(void)
{
    put_str("counters\n");
    /* Second read = first read + the first csrr itself + n addi. */
    check_eq("minstret after 0 addi", DELTA_AFTER(minstret, 0), 1);
    check_eq("minstret after 3 addi", DELTA_AFTER(minstret, 3), 4);
    check_eq("minstret after 8 addi", DELTA_AFTER(minstret, 8), 9);
    check_eq("minstret after 200 addi", DELTA_AFTER(minstret, 200), 201);
    check_eq("instret after 5 addi", DELTA_AFTER(instret, 5), 6);

    /* The example: eight addi, read, three addi, read. */
    uint64_t r1, r2;
    __asm__ volatile(".rept 8\n addi %1, %1, 1\n .endr\n"
                     "csrr %0, minstret\n"
                     ".rept 3\n addi %1, %1, 1\n .endr\n"
                     "csrr %1, minstret"
                     : "=&r"(r1), "=&r"(r2));
    check_eq("8 addi, read, 3 addi, read", r2 - r1, 4);

    /* A write suppresses its own increment: the next instruction reads the value. */
    uint64_t w0, w5;
    __asm__ volatile("csrw minstret, %2\n"
                     "csrr %0, minstret\n"
                     : "=&r"(w0) : "0"(0), "r"(1000ull));
    check_eq("read right after csrw minstret", w0, 1000);
    __asm__ volatile("csrw minstret, %2\n"
                     ".rept 5\n addi %0, %0, 1\n .endr\n"
                     "csrr %0, minstret\n"
                     : "=&r"(w5) : "0"(0), "r"(5000ull));
    check_eq("csrw minstret, 5 addi, read", w5, 5005);
    /* csrrw returns the old count (all instructions before it) and writes the new one. */
    uint64_t before, old, after;
    __asm__ volatile("csrr %0, minstret\n"
                     "addi x0, x0, 0\n addi x0, x0, 0\n"
                     "csrrw %1, minstret, %3\n"
                     "csrr %2, minstret\n"
                     : "=&r"(before), "=&r"(old), "=&r"(after) : "r"(77ull));
    check_eq("csrrw minstret old", old - before, 3);
    check_eq("csrrw minstret new", after, 77);
    /* A read that raises no trap but follows a trap-free loop: counts stay monotonic. */
    uint64_t c1 = csr_read(minstret);
    for (volatile int k = 0; k < 1000; k++)
        ;
    CHECK(csr_read(minstret) - c1 >= 1000);
}
