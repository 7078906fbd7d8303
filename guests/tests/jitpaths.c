/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Paths of accel-tcg's code generator that depend on what surrounds an instruction,
 * each run hot (compiled) and checked against the same computation in C:
 * - shift pairs that narrow a value (slli/srli, slli/srai by 32, 48, 56; slliw/srliw,
 *   slliw/sraiw by 16, 24), which become one movzx/movsx/mov;
 * - W ops whose sign extension is left out while only low-bit readers (W ops, andi
 *   with a non-negative mask, slli by 32 or more, a shift count) see the result before
 *   it is written again, next to ones whose result a full-width reader, a branch or a
 *   store sees;
 * - results kept in rax for the next instruction (registers the block keeps in memory:
 *   more live registers than host registers);
 * - stores below the highest code page (a buffer in .text, before code the loop runs),
 *   aligned and misaligned, and above it (the stack);
 * - a compiled store that rewrites translated code on the highest code page (after
 *   FENCE.I the new instruction runs). */
#include "harness.h"

static uint64_t narrow(uint64_t x)
{
    uint64_t r = 0, t;
#define PAIR(a, b, n) \
    __asm__ volatile(a " %0, %1, " #n "\n\t" b " %0, %0, " #n : "=&r"(t) : "r"(x)); \
    r = r * 31 + t;
    PAIR("slli", "srli", 32) PAIR("slli", "srli", 48) PAIR("slli", "srli", 56)
    PAIR("slli", "srai", 32) PAIR("slli", "srai", 48) PAIR("slli", "srai", 56)
    PAIR("slliw", "srliw", 16) PAIR("slliw", "srliw", 24)
    PAIR("slliw", "sraiw", 16) PAIR("slliw", "sraiw", 24)
    PAIR("slli", "srli", 40) PAIR("slli", "srai", 8)
#undef PAIR
    /* rd == rs1 */
    t = x;
    __asm__ volatile("slli %0, %0, 48\n\tsrai %0, %0, 48" : "+r"(t));
    return r * 31 + t;
}

static uint64_t narrow_model(uint64_t x)
{
    uint64_t r = 0;
    r = r * 31 + (uint32_t)x;
    r = r * 31 + (uint16_t)x;
    r = r * 31 + (uint8_t)x;
    r = r * 31 + (uint64_t)(int64_t)(int32_t)x;
    r = r * 31 + (uint64_t)(int64_t)(int16_t)x;
    r = r * 31 + (uint64_t)(int64_t)(int8_t)x;
    r = r * 31 + (uint16_t)x;
    r = r * 31 + (uint8_t)x;
    r = r * 31 + (uint64_t)(int64_t)(int16_t)x;
    r = r * 31 + (uint64_t)(int64_t)(int8_t)x;
    r = r * 31 + (x & 0xffffffull);
    r = r * 31 + (uint64_t)((int64_t)(x << 8) >> 8);
    return r * 31 + (uint64_t)(int64_t)(int16_t)x;
}

/* W results: dead sign extensions, and ones a full reader, branch or store sees. */
static uint64_t wops(uint64_t a, uint64_t b, uint64_t *mem)
{
    uint64_t t0, t1, t2, t3, acc = 0;
    __asm__ volatile(
        "mulw %0, %5, %6\n\t"     /* sign extension dead: */
        "sraw %1, %0, 2\n\t"      /*   low readers */
        "sraw %0, %0, 5\n\t"      /*   ... then written */
        "andi %1, %1, 15\n\t"
        "andi %0, %0, 127\n\t"
        "mulw %0, %1, %0\n\t"
        "addw %4, %4, %0\n\t"
        "addw %2, %5, %6\n\t"     /* a shift count and slli 32 read it, then add (full) */
        "sll %3, %5, %2\n\t"
        "slli %1, %2, 32\n\t"
        "add %4, %4, %1\n\t"
        "add %4, %4, %3\n\t"
        "add %4, %4, %2\n\t"
        "subw %2, %6, %5\n\t"     /* a store sees it */
        "sd %2, 0(%7)\n\t"
        "addiw %3, %5, -7\n\t"    /* a branch sees it */
        "bltz %3, 1f\n\t"
        "addi %4, %4, 3\n"
        "1:\n\t"
        "add %4, %4, %3\n\t"
        : "=&r"(t0), "=&r"(t1), "=&r"(t2), "=&r"(t3), "+r"(acc)
        : "r"(a), "r"(b), "r"(mem)
        : "memory");
    return acc;
}

static uint64_t s32(uint64_t v)
{
    return (uint64_t)(int64_t)(int32_t)v;
}

static uint64_t wops_model(uint64_t a, uint64_t b, uint64_t *mem)
{
    uint64_t acc = 0;
    uint64_t m = s32((uint32_t)a * (uint32_t)b);
    uint64_t t1 = s32((uint32_t)((int32_t)m >> 2)) & 15;
    uint64_t t0 = s32((uint32_t)((int32_t)m >> 5)) & 127;
    acc = s32(acc + s32(t1 * t0));
    uint64_t t2 = s32(a + b);
    uint64_t t3 = a << (t2 & 63);
    acc += t2 << 32;
    acc += t3;
    acc += t2;
    *mem = s32(b - a);
    t3 = s32(a - 7);
    if ((int64_t)t3 >= 0)
        acc += 3;
    return acc + t3;
}

/* Many live registers: the block keeps some in memory, and chains of W ops and shifts
 * on them use the result the previous instruction left in rax. */
static uint64_t pressure(uint64_t x)
{
    register uint64_t s2 __asm__("s2") = x, s3 __asm__("s3") = x * 3, s4 __asm__("s4") = x ^ 5;
    register uint64_t s5 __asm__("s5") = x + 11, s6 __asm__("s6") = x >> 3;
    register uint64_t s7 __asm__("s7") = ~x, s8 __asm__("s8") = x * x;
    __asm__ volatile(
        "addw s2, s2, s3\n\t"
        "slli s2, s2, 3\n\t"
        "srli s2, s2, 1\n\t"
        "xor s4, s4, s2\n\t"
        "addw s5, s5, s4\n\t"
        "sllw s5, s5, s6\n\t"
        "sub s6, s6, s5\n\t"
        "addiw s7, s7, 99\n\t"
        "mul s8, s8, s7\n\t"
        "add s3, s3, s8\n\t"
        "xor s2, s2, s3\n\t"
        "sraiw s6, s6, 3\n\t"
        "add s2, s2, s6\n\t"
        : "+r"(s2), "+r"(s3), "+r"(s4), "+r"(s5), "+r"(s6), "+r"(s7), "+r"(s8));
    return s2 + s3 * 3 + s4 * 5 + s5 * 7 + s6 * 11 + s7 * 13 + s8 * 17;
}

static uint64_t pressure_model(uint64_t x)
{
    uint64_t s2 = x, s3 = x * 3, s4 = x ^ 5, s5 = x + 11, s6 = x >> 3, s7 = ~x, s8 = x * x;
    s2 = s32(s2 + s3);
    s2 <<= 3;
    s2 >>= 1;
    s4 ^= s2;
    s5 = s32(s5 + s4);
    s5 = s32((uint32_t)s5 << (s6 & 31));
    s6 -= s5;
    s7 = s32(s7 + 99);
    s8 *= s7;
    s3 += s8;
    s2 ^= s3;
    s6 = s32((uint32_t)((int32_t)s6 >> 3));
    s2 += s6;
    return s2 + s3 * 3 + s4 * 5 + s5 * 7 + s6 * 11 + s7 * 13 + s8 * 17;
}

/* Below every function but crt0's entry (link.ld puts .text.start first): stores into
 * it are below the highest code page, on pages without code. */
__asm__(".pushsection .text.start, \"ax\", @progbits\n"
        ".balign 4096\n"
        "low_buf: .zero 8192\n"
        ".popsection");
extern uint8_t low_buf[8192];

__attribute__((noinline)) static uint64_t stores(uint64_t x, unsigned i)
{
    volatile uint8_t *b = low_buf;
    unsigned o = (i * 13) & 2047;
    *(volatile uint64_t *)(b + (o & ~7u)) = x;                    /* aligned */
    *(volatile uint32_t *)(b + 4096 + (o | 1)) = (uint32_t)x;     /* misaligned */
    *(volatile uint16_t *)(b + 6144 + ((o + 7) | 1)) = (uint16_t)(x >> 7);
    b[2048 + (o ^ 1)] = (uint8_t)(x >> 3);
    volatile uint64_t stack[4];                                   /* above: the stack */
    stack[i & 3] = x * 5;
    volatile uint8_t *u = (volatile uint8_t *)stack + 8 * ((i + 1) & 3) + 3;
    *(volatile uint32_t *)u = (uint32_t)(x >> 9);                 /* misaligned */
    uint64_t r = stack[i & 3] + b[2048 + (o ^ 1)] + *(volatile uint32_t *)u;
    r += *(volatile uint64_t *)(b + (o & ~7u));
    r += *(volatile uint32_t *)(b + 4096 + (o | 1));
    r += *(volatile uint16_t *)(b + 6144 + ((o + 7) | 1));
    return r;
}

static uint64_t stores_model(uint64_t x)
{
    return x * 5 + (uint8_t)(x >> 3) + (uint32_t)(x >> 9) + x + (uint32_t)x + (uint16_t)(x >> 7);
}

/* A routine on a page of its own, above the program's code: the highest code page. */
static volatile uint32_t routine[1024] __attribute__((aligned(4096)));
#define ADDI_A0(imm) (((uint32_t)(imm) << 20) | 0x50513u) /* addi a0, a0, imm */
#define RET 0x00008067u

__attribute__((noinline)) static void poke32(volatile uint32_t *p, uint32_t v)
{
    *p = v;
}

static uint64_t call_routine(uint64_t a0)
{
    return ((uint64_t (*)(uint64_t))(uintptr_t)routine)(a0);
}

static uint64_t rewrite_code(void)
{
    volatile uint32_t word = 0;
    for (unsigned i = 0; i < 40; i++)       /* poke32 compiled, storing to data */
        poke32(&word, i);
    poke32(&routine[0], ADDI_A0(1));
    poke32(&routine[1], RET);
    __asm__ volatile("fence.i" ::: "memory");
    uint64_t r = 0;
    for (unsigned i = 0; i < 40; i++)       /* the routine translated, compiled */
        r = call_routine(r);
    check_eq("routine before", r, 40);
    /* A new code page made every hart drop its TLB (and direct window); a store to
     * data opens the window again, so the next one is made by the compiled code. */
    poke32(&word, 41);
    poke32(&routine[0], ADDI_A0(5));        /* a compiled store into translated code */
    __asm__ volatile("fence.i" ::: "memory");
    r = call_routine(r);
    check_eq("routine after", r, 45);
    return r + word;
}

void test_main(void)
{
    put_str("jitpaths\n");
    CHECK((uintptr_t)low_buf + 8192 <= ((uintptr_t)stores & ~4095ul));
    uint64_t x = 0x9e3779b97f4a7c15ull, h1 = 0, m1 = 0, h2 = 0, m2 = 0, h3 = 0, m3 = 0;
    uint64_t h4 = 0, m4 = 0, mem = 0, mem_m = 0;
    for (unsigned i = 0; i < 400; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        h1 = h1 * 7 + narrow(x);
        m1 = m1 * 7 + narrow_model(x);
        h2 = h2 * 7 + wops(x, x >> 17, &mem);
        m2 = m2 * 7 + wops_model(x, x >> 17, &mem_m);
        check_eq("w store", mem, mem_m);
        h3 = h3 * 7 + pressure(x);
        m3 = m3 * 7 + pressure_model(x);
        h4 = h4 * 7 + stores(x, i);
        m4 = m4 * 7 + stores_model(x);
    }
    check_eq("narrow", h1, m1);
    check_eq("wops", h2, m2);
    check_eq("pressure", h3, m3);
    check_eq("stores", h4, m4);
    sig("narrow", h1);
    sig("wops", h2);
    sig("pressure", h3);
    sig("stores", h4);
    sig("rewrite", rewrite_code());
}
