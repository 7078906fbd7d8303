/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest registers that live in host registers across blocks (accel-tcg's code generator
 * keeps a0-a5 in fixed host registers; a block that does not use some of them borrows
 * their host registers for its own, e.g. a loop over t-registers, and must give the
 * values back when it leaves).  The loop block below uses only t0-t3 and is hot, so it
 * is compiled and borrows; the block after it reads and writes a0-a5, which must hold
 * what they held before the loop.  Run often enough for every block to be compiled. */
#include "harness.h"

typedef struct Regs {
    uint64_t a[6], t1, t2;
} Regs;

static void run(Regs *r, uint64_t n)
{
    register uint64_t a0 __asm__("a0") = r->a[0];
    register uint64_t a1 __asm__("a1") = r->a[1];
    register uint64_t a2 __asm__("a2") = r->a[2];
    register uint64_t a3 __asm__("a3") = r->a[3];
    register uint64_t a4 __asm__("a4") = r->a[4];
    register uint64_t a5 __asm__("a5") = r->a[5];
    register uint64_t t0 __asm__("t0") = n;
    register uint64_t t1 __asm__("t1");
    register uint64_t t2 __asm__("t2");
    __asm__ volatile(
        "    li t1, 1\n"
        "    li t2, 7\n"
        "    j 1f\n"
        "1:  add t1, t1, t2\n"
        "    xor t2, t2, t1\n"
        "    slli t3, t1, 3\n"
        "    add t2, t2, t3\n"
        "    srli t3, t2, 5\n"
        "    xor t1, t1, t3\n"
        "    addi t0, t0, -1\n"
        "    bnez t0, 1b\n"
        "    j 2f\n"
        "2:  add a0, a0, t1\n"
        "    add a1, a1, t2\n"
        "    xor a2, a2, a0\n"
        "    addi a3, a3, 1\n"
        "    add a4, a4, a5\n"
        "    sub a5, a5, a1\n"
        : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3), "+r"(a4), "+r"(a5), "+r"(t0),
          "=&r"(t1), "=&r"(t2)
        :
        : "t3", "memory");
    r->a[0] = a0; r->a[1] = a1; r->a[2] = a2;
    r->a[3] = a3; r->a[4] = a4; r->a[5] = a5;
    r->t1 = t1; r->t2 = t2;
}

/* The same computation in C. */
static void model(Regs *r, uint64_t n)
{
    uint64_t t1 = 1, t2 = 7, t3;
    do {
        t1 += t2;
        t2 ^= t1;
        t3 = t1 << 3;
        t2 += t3;
        t3 = t2 >> 5;
        t1 ^= t3;
    } while (--n);
    r->a[0] += t1;
    r->a[1] += t2;
    r->a[2] ^= r->a[0];
    r->a[3] += 1;
    r->a[4] += r->a[5];
    r->a[5] -= r->a[1];
    r->t1 = t1;
    r->t2 = t2;
}

void test_main(void)
{
    put_str("jitregs\n");
    Regs got = { { 0x1111111111111111ull, 0x2222222222222222ull, 0x3333333333333333ull,
                   0x4444444444444444ull, 0x5555555555555555ull, 0x6666666666666666ull },
                 0, 0 };
    Regs want = got;
    for (unsigned round = 0; round < 40; round++) {
        uint64_t n = 50 + round;
        run(&got, n);
        model(&want, n);
    }
    static const char *const names[6] = { "a0", "a1", "a2", "a3", "a4", "a5" };
    for (int i = 0; i < 6; i++) {
        check_eq(names[i], got.a[i], want.a[i]);
        sig(names[i], got.a[i]);
    }
    check_eq("t1", got.t1, want.t1);
    check_eq("t2", got.t2, want.t2);
    sig("t1", got.t1);
    sig("t2", got.t2);
}
