/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A extension: AMOs (word and doubleword), LR/SC success, failure without a
 * reservation, and reservation loss when another store hits the reserved address. */
#include "harness.h"
#include "ops.h"

static volatile uint64_t cell[4] __attribute__((aligned(64)));

#define AMO(op, addr, v) ({ uint64_t r_; __asm__ volatile(op " %0, %2, (%1)" : "=r"(r_) : "r"(addr), "r"((uint64_t)(v)) : "memory"); r_; })

static uint64_t lr_d(volatile uint64_t *a)
{
    uint64_t v;
    __asm__ volatile("lr.d %0, (%1)" : "=r"(v) : "r"(a) : "memory");
    return v;
}
static uint64_t sc_d(volatile uint64_t *a, uint64_t v)
{
    uint64_t r;
    __asm__ volatile("sc.d %0, %2, (%1)" : "=r"(r) : "r"(a), "r"(v) : "memory");
    return r;
}

void test_main(void)
{
    put_str("rv64a\n");
    uint64_t h = 0;
    static const char *const ops_d[] = {"amoadd", "amoswap", "amoand", "amoor", "amoxor",
                                        "amomax", "amomaxu", "amomin", "amominu"};
    for (unsigned o = 0; o < 9; o++) {
        for (unsigned i = 0; i < NVALS; i++) {
            for (unsigned j = 0; j < NVALS; j += 3) {
                uint64_t old, r;
                cell[0] = vals[i];
                switch (o) {
                case 0: old = AMO("amoadd.d", cell, vals[j]); break;
                case 1: old = AMO("amoswap.d", cell, vals[j]); break;
                case 2: old = AMO("amoand.d", cell, vals[j]); break;
                case 3: old = AMO("amoor.d", cell, vals[j]); break;
                case 4: old = AMO("amoxor.d", cell, vals[j]); break;
                case 5: old = AMO("amomax.d", cell, vals[j]); break;
                case 6: old = AMO("amomaxu.d", cell, vals[j]); break;
                case 7: old = AMO("amomin.d", cell, vals[j]); break;
                default: old = AMO("amominu.d", cell, vals[j]); break;
                }
                r = cell[0];
                h = mix(mix(h, old), r);
                /* Word forms on the low word; the high word must be untouched. */
                cell[1] = vals[i];
                volatile uint32_t *w = (volatile uint32_t *)&cell[1];
                switch (o) {
                case 0: old = AMO("amoadd.w", w, vals[j]); break;
                case 1: old = AMO("amoswap.w", w, vals[j]); break;
                case 2: old = AMO("amoand.w", w, vals[j]); break;
                case 3: old = AMO("amoor.w", w, vals[j]); break;
                case 4: old = AMO("amoxor.w", w, vals[j]); break;
                case 5: old = AMO("amomax.w", w, vals[j]); break;
                case 6: old = AMO("amomaxu.w", w, vals[j]); break;
                case 7: old = AMO("amomin.w", w, vals[j]); break;
                default: old = AMO("amominu.w", w, vals[j]); break;
                }
                h = mix(mix(h, old), cell[1]);
                if ((cell[1] >> 32) != (vals[i] >> 32))
                    fail("amo.w touched the high word");
            }
        }
        sig(ops_d[o], h);
    }
    cell[0] = 5;
    check_eq("amoadd.d old", AMO("amoadd.d", cell, 3), 5);
    check_eq("amoadd.d new", cell[0], 8);
    cell[1] = 0x00000000ffffffffull;
    check_eq("amoadd.w old sext", AMO("amoadd.w", &cell[1], 1), ~0ull);
    check_eq("amoadd.w new", cell[1], 0);
    cell[0] = (uint64_t)-5;
    check_eq("amomaxu", AMO("amomaxu.d", cell, 3), (uint64_t)-5);
    check_eq("amomaxu kept", cell[0], (uint64_t)-5);
    AMO("amomax.d", cell, 3);
    check_eq("amomax", cell[0], 3);

    /* LR/SC. */
    cell[2] = 10;
    uint64_t v = lr_d(&cell[2]);
    check_eq("lr value", v, 10);
    check_eq("sc succeeds", sc_d(&cell[2], 11), 0);
    check_eq("sc stored", cell[2], 11);
    check_eq("sc without reservation fails", sc_d(&cell[2], 12) != 0, 1);
    check_eq("failed sc stores nothing", cell[2], 11);
    /* Reservation loss: a store to the reserved address between LR and SC.  The spec
     * lets an SC fail for any store by the same hart; it must fail when the reservation
     * set was written (here by the same hart it may succeed or fail: report). */
    lr_d(&cell[2]);
    __asm__ volatile("sc.d zero, zero, (%0)" ::"r"(&cell[3]) : "memory");
    uint64_t r = sc_d(&cell[2], 13);
    check_eq("sc after another sc fails", r != 0, 1);
    lr_d(&cell[2]);
    cell[2] = 20;
    r = sc_d(&cell[2], 21);
    info("sc-after-own-store", r ? "fails" : "succeeds");
    /* A trap (here an ecall) between LR and SC: OpenSBI and Linux rely on the
     * reservation being dropped by the trap return (xRET clears it in practice). */
    trap_hook = 0;
    lr_d(&cell[2]);
    uint64_t x = cell[2];
    r = sc_d(&cell[2], x + 1);
    check_eq("lr/sc pair", r, 0);
    /* LR.W/SC.W sign extension. */
    volatile uint32_t *w = (volatile uint32_t *)&cell[3];
    *w = 0x80000000u;
    uint64_t lw;
    __asm__ volatile("lr.w %0, (%1)" : "=r"(lw) : "r"(w) : "memory");
    check_eq("lr.w sext", lw, 0xffffffff80000000ull);
    uint64_t sw;
    __asm__ volatile("sc.w %0, %2, (%1)" : "=r"(sw) : "r"(w), "r"(1ull) : "memory");
    check_eq("sc.w ok", sw, 0);
    check_eq("sc.w value", *w, 1);
    sig("lrsc", cell[2] ^ (cell[3] << 1));
}
