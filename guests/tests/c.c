/* SPDX-License-Identifier: GPL-2.0-or-later */
/* C extension: compressed forms (built with -march=rv64imac; the explicit c.* forms
 * below must decode exactly like their 32-bit expansions). */
#include "harness.h"
#include "ops.h"

static uint64_t stack_area[8];

void test_main(void)
{
    put_str("rv64c\n");
    uint64_t a, b;
    uint64_t h = 0;
/* One compressed instruction on s0 (= x) and s1 (= y), result from a0. */
#define C2(insn) ({ uint64_t r_; __asm__ volatile("mv s0, %1\n mv s1, %2\n mv a0, s0\n " insn "\n mv %0, a0" \
                   : "=r"(r_) : "r"(x), "r"(y) : "s0", "s1", "a0"); r_; })
    for (unsigned i = 0; i < NVALS; i++) {
        uint64_t x = vals[i];
        for (unsigned j = 0; j < NVALS; j++) {
            uint64_t y = vals[j];
            h = mix(h, C2("c.add a0, s1"));
            h = mix(h, C2("c.sub a0, s1"));
            h = mix(h, C2("c.and a0, s1"));
            h = mix(h, C2("c.or a0, s1"));
            h = mix(h, C2("c.xor a0, s1"));
            h = mix(h, C2("c.addw a0, s1"));
            h = mix(h, C2("c.subw a0, s1"));
            h = mix(h, C2("c.mv a0, s1"));
        }
        uint64_t y = 0;
        h = mix(h, C2("c.addi a0, -32"));
        h = mix(h, C2("c.addiw a0, 31"));
        h = mix(h, C2("c.slli a0, 63"));
        h = mix(h, C2("c.srli a0, 1"));
        h = mix(h, C2("c.srai a0, 17"));
        h = mix(h, C2("c.andi a0, -1"));
        h = mix(h, C2("c.andi a0, 21"));
        h = mix(h, C2("c.li a0, -32"));
    }
    sig("calu", h);
    {
        uint64_t x = 0x7fffffff, y = 1;
        check_eq("c.addw sext", C2("c.addw a0, s1"), 0xffffffff80000000ull);
        check_eq("c.srai", ({ x = 0x8000000000000000ull; C2("c.srai a0, 63"); }), ~0ull);
    }
    __asm__ volatile("c.lui %0, 0xfffff" : "=r"(a));
    check_eq("c.lui", a, 0xfffffffffffff000ull);
    __asm__ volatile("c.li %0, 31" : "=r"(a));
    check_eq("c.li", a, 31);

    /* Loads/stores: c.sd/c.ld/c.sw/c.lw and the sp-relative forms. */
    uint64_t val = 0xfedcba9876543210ull, r1, r2;
    __asm__ volatile("mv a4, %2\n mv a5, %3\n c.sd a5, 8(a4)\n c.sw a5, 16(a4)\n c.ld a0, 8(a4)\n c.lw a1, 16(a4)\n"
                     "mv %0, a0\n mv %1, a1"
                     : "=r"(r1), "=r"(r2) : "r"(stack_area), "r"(val) : "a0", "a1", "a4", "a5", "memory");
    check_eq("c.ld", r1, val);
    check_eq("c.lw sext", r2, 0x0000000076543210ull);
    val = 0x89abcdef01234567ull;
    __asm__ volatile("mv a4, %2\n mv a5, %3\n mv t0, sp\n mv sp, a4\n c.sdsp a5, 24(sp)\n c.ldsp a0, 24(sp)\n"
                     "c.swsp a5, 32(sp)\n c.lwsp a1, 32(sp)\n mv sp, t0\n mv %0, a0\n mv %1, a1"
                     : "=r"(r1), "=r"(r2) : "r"(stack_area), "r"(val) : "t0", "a0", "a1", "a4", "a5", "memory");
    check_eq("c.ldsp", r1, val);
    check_eq("c.lwsp sext", r2, 0x0000000001234567ull);
    /* c.addi16sp / c.addi4spn */
    __asm__ volatile("mv t0, sp\n c.addi16sp sp, -64\n mv %0, sp\n c.addi4spn a1, sp, 16\n mv %1, a1\n mv sp, t0"
                     : "=r"(a), "=r"(b) : : "t0", "a1");
    uint64_t sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    check_eq("c.addi16sp", sp - a, 64);
    check_eq("c.addi4spn", b - a, 16);

    /* Control flow: c.j, c.jal is RV32-only, c.jr, c.jalr, c.beqz, c.bnez. */
    uint64_t t = 0;
    __asm__ volatile("li %0, 0\n c.j 1f\n li %0, 1\n1:" : "=&r"(t));
    check_eq("c.j", t, 0);
    __asm__ volatile("li s1, 0\n li %0, 0\n c.beqz s1, 1f\n li %0, 1\n1:" : "=&r"(t) : : "s1");
    check_eq("c.beqz taken", t, 0);
    __asm__ volatile("li s1, 0\n li %0, 0\n c.bnez s1, 1f\n li %0, 1\n1:" : "=&r"(t) : : "s1");
    check_eq("c.bnez not taken", t, 1);
    uint64_t link, tgt;
    __asm__ volatile("la t1, 1f\n mv %1, t1\n c.jalr t1\n1: mv %0, ra" : "=r"(link), "=r"(tgt) : : "t1", "ra");
    check_eq("c.jalr link", link, tgt);
    __asm__ volatile("la t1, 1f\n c.jr t1\n li %0, 1\n j 2f\n1: li %0, 2\n2:" : "=r"(t) : : "t1");
    check_eq("c.jr", t, 2);
    /* c.ebreak traps with cause 3, mepc at the 2-byte instruction. */
    trap_hook = record_and_skip;
    uint64_t at;
    __asm__ volatile("la %0, 1f\n1: c.ebreak" : "=r"(at));
    check_eq("c.ebreak cause", last_cause, 3);
    check_eq("c.ebreak epc", last_epc, at);
    trap_hook = 0;
}
