/* SPDX-License-Identifier: GPL-2.0-or-later */
/* RV64I: arithmetic, logic, shifts, compares, branches, loads and stores. */
#include "harness.h"
#include "ops.h"

static volatile uint8_t buf[64] __attribute__((aligned(16)));

static int branch(const char *kind, uint64_t a, uint64_t b)
{
    int t = 0;
#define BR(op) __asm__ volatile(op " %1, %2, 1f\n li %0, 0\n j 2f\n1: li %0, 1\n2:" : "=r"(t) : "r"(a), "r"(b))
    switch (kind[0]) {
    case 'e': BR("beq"); break;
    case 'n': BR("bne"); break;
    case 'l': if (kind[2] == 'u') BR("bltu"); else BR("blt"); break;
    case 'g': if (kind[2] == 'u') BR("bgeu"); else BR("bge"); break;
    }
    return t;
}

void test_main(void)
{
    put_str("rv64i\n");
    /* Known values. */
    check_eq("add", RR("add", 0x7fffffffffffffffull, 1), 0x8000000000000000ull);
    check_eq("sub", RR("sub", 0, 1), ~0ull);
    check_eq("sra", RR("sra", 0x8000000000000000ull, 63), ~0ull);
    check_eq("srl", RR("srl", 0x8000000000000000ull, 63), 1);
    check_eq("sll 64 wraps", RR("sll", 1, 64), 1);
    check_eq("slt", RR("slt", ~0ull, 0), 1);
    check_eq("sltu", RR("sltu", ~0ull, 0), 0);
    check_eq("addw sign", RR("addw", 0x7fffffff, 1), 0xffffffff80000000ull);
    check_eq("subw", RR("subw", 0, 1), ~0ull);
    check_eq("sllw", RR("sllw", 1, 31), 0xffffffff80000000ull);
    check_eq("srlw", RR("srlw", 0xffffffff80000000ull, 31), 1);
    check_eq("sraw", RR("sraw", 0x80000000, 31), ~0ull);
    check_eq("addiw", RI("addiw", 0xffffffff, 1), 0);
    check_eq("sltiu -1", RI("sltiu", 5, -1), 1);
    check_eq("srai", RI("srai", 0x8000000000000000ull, 4), 0xf800000000000000ull);
    uint64_t lui;
    __asm__ volatile("lui %0, 0x80000" : "=r"(lui));
    check_eq("lui sign", lui, 0xffffffff80000000ull);
    uint64_t pc1, pc2;
    __asm__ volatile("auipc %0, 0\n auipc %1, 1" : "=r"(pc1), "=r"(pc2));
    check_eq("auipc", pc2 - pc1, 0x1004);

    SWEEP_RR("add", "add"); SWEEP_RR("sub", "sub"); SWEEP_RR("and", "and");
    SWEEP_RR("or", "or"); SWEEP_RR("xor", "xor"); SWEEP_RR("sll", "sll");
    SWEEP_RR("srl", "srl"); SWEEP_RR("sra", "sra"); SWEEP_RR("slt", "slt");
    SWEEP_RR("sltu", "sltu"); SWEEP_RR("addw", "addw"); SWEEP_RR("subw", "subw");
    SWEEP_RR("sllw", "sllw"); SWEEP_RR("srlw", "srlw"); SWEEP_RR("sraw", "sraw");
    SWEEP_RI("addi", "addi", -2048); SWEEP_RI("addi2", "addi", 2047);
    SWEEP_RI("andi", "andi", -1); SWEEP_RI("ori", "ori", 0x555); SWEEP_RI("xori", "xori", -1);
    SWEEP_RI("slti", "slti", -1); SWEEP_RI("sltiu", "sltiu", -1);
    SWEEP_RI("slli", "slli", 63); SWEEP_RI("srli", "srli", 33); SWEEP_RI("srai", "srai", 33);
    SWEEP_RI("addiw", "addiw", -1); SWEEP_RI("slliw", "slliw", 31);
    SWEEP_RI("srliw", "srliw", 7); SWEEP_RI("sraiw", "sraiw", 31);

    /* Branches. */
    uint64_t bh = 0;
    static const char *const kinds[] = {"eq", "ne", "lt", "ltu", "ge", "geu"};
    for (unsigned k = 0; k < 6; k++)
        for (unsigned i = 0; i < NVALS; i++)
            for (unsigned j = 0; j < NVALS; j++)
                bh = mix(bh, branch(kinds[k], vals[i], vals[j]));
    sig("branches", bh);
    check_eq("blt", branch("lt", ~0ull, 0), 1);
    check_eq("bltu", branch("ltu", ~0ull, 0), 0);
    check_eq("bge eq", branch("ge", 5, 5), 1);

    /* jal/jalr link values. */
    uint64_t link, target;
    __asm__ volatile("la %1, 1f\n jalr %0, 0(%1)\n1:" : "=r"(link), "=r"(target));
    check_eq("jalr link", link, target);
    __asm__ volatile("la %1, 1f\n addi %1, %1, 1\n jalr %0, -1(%1)\n1:" : "=r"(link), "=r"(target));

    /* Loads and stores: sign/zero extension and byte lanes. */
    for (unsigned i = 0; i < 64; i++)
        buf[i] = (uint8_t)(0x80 + i * 3);
    uint64_t lh = 0, v;
    volatile uint8_t *p = buf;
#define LD(op, off) ({ __asm__ volatile(op " %0, %1(%2)" : "=r"(v) : "i"(off), "r"(p)); v; })
    lh = mix(lh, LD("lb", 0)); lh = mix(lh, LD("lbu", 0));
    lh = mix(lh, LD("lh", 2)); lh = mix(lh, LD("lhu", 2));
    lh = mix(lh, LD("lw", 4)); lh = mix(lh, LD("lwu", 4));
    lh = mix(lh, LD("ld", 8)); lh = mix(lh, LD("ld", 16));
    check_eq("lb sext", LD("lb", 0), 0xffffffffffffff80ull);
    check_eq("lbu", LD("lbu", 0), 0x80);
    check_eq("lw sext", LD("lw", 4), 0xffffffff95928f8cull);
    check_eq("lwu", LD("lwu", 4), 0x95928f8cull);
    uint64_t w = 0x1122334455667788ull;
    __asm__ volatile("sb %0, 32(%1)\n sh %0, 34(%1)\n sw %0, 36(%1)\n sd %0, 40(%1)" ::"r"(w), "r"(p) : "memory");
    check_eq("sb", buf[32], 0x88);
    check_eq("sh", buf[34] | (buf[35] << 8), 0x7788);
    check_eq("sd", *(volatile uint64_t *)(buf + 40), w);
    for (unsigned i = 0; i < 64; i += 8)
        lh = mix(lh, *(volatile uint64_t *)(buf + i));
    sig("loadstore", lh);

    /* x0 stays zero. */
    uint64_t z;
    __asm__ volatile("li x0, 5\n mv %0, x0" : "=r"(z));
    check_eq("x0", z, 0);
}
