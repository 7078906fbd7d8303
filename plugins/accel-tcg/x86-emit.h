/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: a small x86-64 instruction encoder for the code generator (jit.c).
 *
 * Only the forms jit.c uses: 64/32-bit ALU, shifts, multiplies, moves between a register
 * and [base + disp32] or [rcx + rsi], setcc/cmovcc, short forward jumps, push/pop/ret.
 * Every emitter writes at most 16 bytes; the caller checks room once per guest
 * instruction (jit.c reserves JIT_MAX_INSN_BYTES). */
#ifndef TCG_X86_EMIT_H
#define TCG_X86_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7,
       R12 = 12, R13 = 13, R14 = 14, R15 = 15 };
/* Condition codes (low nibble of Jcc/SETcc/CMOVcc). */
enum { CC_B = 2, CC_AE = 3, CC_E = 4, CC_NE = 5, CC_L = 0xc, CC_GE = 0xd, CC_LE = 0xe, CC_G = 0xf };
/* Group-1 ALU extensions (opcode 0x81 /ext) and the matching reg,r/m opcodes. */
enum { ALU_ADD = 0, ALU_OR = 1, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7 };
/* Group-2 shift extensions (0xC1 / 0xD3 /ext). */
enum { SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 };

typedef struct Emit {
    uint8_t *p;
} Emit;

static inline void e8(Emit *e, uint8_t b) { *e->p++ = b; }
static inline void e32(Emit *e, uint32_t v) { memcpy(e->p, &v, 4); e->p += 4; }
static inline void e64(Emit *e, uint64_t v) { memcpy(e->p, &v, 8); e->p += 8; }

/* REX prefix; emitted only when needed (w, or an extended register). */
static inline void rex(Emit *e, int w, int reg, int index, int base)
{
    uint8_t r = 0x40 | (w << 3) | ((reg >> 3) << 2) | ((index >> 3) << 1) | (base >> 3);
    if (r != 0x40)
        e8(e, r);
}

/* ModRM (and SIB) for [base + index + disp]; index < 0: none.  disp8 when it fits;
 * rsp/r12 as base need a SIB byte, rbp/r13 as base an explicit displacement. */
static inline void modrm_mem(Emit *e, int reg, int base, int index, int32_t disp)
{
    int mod = disp == 0 && (base & 7) != RBP ? 0 : disp >= -128 && disp <= 127 ? 1 : 2;
    if (index >= 0 || (base & 7) == RSP) {
        e8(e, (uint8_t)((mod << 6) | ((reg & 7) << 3) | 4));
        e8(e, (uint8_t)(((index >= 0 ? index & 7 : 4) << 3) | (base & 7)));
    } else {
        e8(e, (uint8_t)((mod << 6) | ((reg & 7) << 3) | (base & 7)));
    }
    if (mod == 1)
        e8(e, (uint8_t)disp);
    else if (mod == 2)
        e32(e, (uint32_t)disp);
}

/* [66] [REX] [0F] op reg, [base + index + disp].  byte: an 8-bit register operand
 * (spl/bpl/sil/dil need a REX prefix even when it would otherwise be empty). */
static inline void op_m(Emit *e, int w, int p66, int esc, uint8_t op, int reg, int base,
                        int index, int32_t disp, int byte)
{
    if (p66)
        e8(e, 0x66);
    int ix = index < 0 ? 0 : index;
    uint8_t r = (uint8_t)(0x40 | (w << 3) | ((reg >> 3) << 2) | ((ix >> 3) << 1) | (base >> 3));
    if (r != 0x40 || (byte && reg >= 4))
        e8(e, r);
    if (esc)
        e8(e, 0x0f);
    e8(e, op);
    modrm_mem(e, reg, base, index, disp);
}

/* REX.W op reg, [base + index * 2^scale + disp32] (base not rbp/r13). */
static inline void op_m_scaled(Emit *e, uint8_t op, int reg, int base, int index, int scale,
                               int32_t disp)
{
    e8(e, (uint8_t)(0x48 | ((reg >> 3) << 2) | ((index >> 3) << 1) | (base >> 3)));
    e8(e, op);
    e8(e, (uint8_t)(0x80 | ((reg & 7) << 3) | 4));
    e8(e, (uint8_t)((scale << 6) | ((index & 7) << 3) | (base & 7)));
    e32(e, (uint32_t)disp);
}

/* op reg, [base + disp]. */
static inline void op_mem(Emit *e, int w, uint8_t op, int reg, int base, int32_t disp)
{
    op_m(e, w, 0, 0, op, reg, base, -1, disp, 0);
}

/* op reg, rm (register form). */
static inline void op_rr(Emit *e, int w, uint8_t op, int reg, int rm)
{
    rex(e, w, reg, 0, rm);
    e8(e, op);
    e8(e, 0xc0 | ((reg & 7) << 3) | (rm & 7));
}

/* Two-byte opcode 0x0F op reg, rm (register form). */
static inline void op0f_rr(Emit *e, int w, uint8_t op, int reg, int rm)
{
    rex(e, w, reg, 0, rm);
    e8(e, 0x0f);
    e8(e, op);
    e8(e, 0xc0 | ((reg & 7) << 3) | (rm & 7));
}

static inline void mov_load(Emit *e, int reg, int base, int32_t disp) { op_mem(e, 1, 0x8b, reg, base, disp); }
static inline void mov_store(Emit *e, int reg, int base, int32_t disp) { op_mem(e, 1, 0x89, reg, base, disp); }
static inline void lea(Emit *e, int reg, int base, int32_t disp) { op_mem(e, 1, 0x8d, reg, base, disp); }
/* mov dst, src (64-bit). */
static inline void mov_rr(Emit *e, int dst, int src) { op_rr(e, 1, 0x89, src, dst); }
/* movsxd dst, src32. */
static inline void movsxd_rr(Emit *e, int dst, int src) { op_rr(e, 1, 0x63, dst, src); }

/* ALU reg, imm (imm8 form when it fits). */
static inline void alu_imm(Emit *e, int w, int ext, int reg, int32_t imm)
{
    rex(e, w, 0, 0, reg);
    bool i8 = imm >= -128 && imm <= 127;
    e8(e, i8 ? 0x83 : 0x81);
    e8(e, 0xc0 | (ext << 3) | (reg & 7));
    if (i8)
        e8(e, (uint8_t)imm);
    else
        e32(e, (uint32_t)imm);
}

/* ALU dword [base + disp], imm (imm8 form when it fits). */
static inline void alu_mem_imm32(Emit *e, int ext, int base, int32_t disp, int32_t imm)
{
    bool i8 = imm >= -128 && imm <= 127;
    op_m(e, 0, 0, 0, i8 ? 0x83 : 0x81, ext, base, -1, disp, 0);
    if (i8)
        e8(e, (uint8_t)imm);
    else
        e32(e, (uint32_t)imm);
}

static inline void shift_imm(Emit *e, int w, int ext, int reg, uint8_t n)
{
    rex(e, w, 0, 0, reg);
    e8(e, 0xc1);
    e8(e, 0xc0 | (ext << 3) | (reg & 7));
    e8(e, n);
}

static inline void shift_cl(Emit *e, int w, int ext, int reg)
{
    rex(e, w, 0, 0, reg);
    e8(e, 0xd3);
    e8(e, 0xc0 | (ext << 3) | (reg & 7));
}

/* mov reg, imm: the shortest of imm32 zero-extended, imm32 sign-extended, imm64. */
static inline void mov_imm(Emit *e, int reg, uint64_t v)
{
    if (v <= 0xffffffffull) {
        rex(e, 0, 0, 0, reg);
        e8(e, 0xb8 + (reg & 7));
        e32(e, (uint32_t)v);
    } else if ((int64_t)v == (int32_t)v) {
        rex(e, 1, 0, 0, reg);
        e8(e, 0xc7);
        e8(e, 0xc0 | (reg & 7));
        e32(e, (uint32_t)v);
    } else {
        rex(e, 1, 0, 0, reg);
        e8(e, 0xb8 + (reg & 7));
        e64(e, v);
    }
}

/* setcc al; movzx dst32, al. */
static inline void setcc_to(Emit *e, int cc, int dst)
{
    e8(e, 0x0f); e8(e, 0x90 + cc); e8(e, 0xc0);
    rex(e, 0, dst, 0, 0);
    e8(e, 0x0f); e8(e, 0xb6); e8(e, 0xc0 | ((dst & 7) << 3));
}

static inline void cmovcc_rr(Emit *e, int cc, int dst, int src)
{
    rex(e, 1, dst, 0, src);
    e8(e, 0x0f);
    e8(e, 0x40 + cc);
    e8(e, 0xc0 | ((dst & 7) << 3) | (src & 7));
}

/* jcc rel8 forward; returns where to patch the displacement. */
static inline uint8_t *jcc8(Emit *e, int cc)
{
    e8(e, 0x70 + cc);
    e8(e, 0);
    return e->p - 1;
}

/* jmp rel8 forward; returns where to patch the displacement. */
static inline uint8_t *jmp8(Emit *e)
{
    e8(e, 0xeb);
    e8(e, 0);
    return e->p - 1;
}

static inline void patch8(Emit *e, uint8_t *at)
{
    ptrdiff_t d = e->p - (at + 1);
    if (d > 127)
        __builtin_trap(); /* a generator bug: the sequences jumped over are fixed and short */
    *at = (uint8_t)d;
}

/* jmp (cc < 0) or jcc rel32 with the displacement left for patch32; returns where. */
static inline uint8_t *jmp32(Emit *e, int cc)
{
    if (cc < 0) {
        e8(e, 0xe9);
    } else {
        e8(e, 0x0f);
        e8(e, (uint8_t)(0x80 + cc));
    }
    e32(e, 0);
    return e->p - 4;
}

/* Points the rel32 at `at` to target. */
static inline void patch32_to(uint8_t *at, const uint8_t *target)
{
    int32_t d = (int32_t)(target - (at + 4));
    memcpy(at, &d, 4);
}

/* Points the rel32 at `at` to the current position. */
static inline void patch32(Emit *e, uint8_t *at)
{
    patch32_to(at, e->p);
}

/* jmp / jcc rel32 to a target already emitted. */
static inline void jmp_to(Emit *e, int cc, const uint8_t *target)
{
    patch32_to(jmp32(e, cc), target);
}

static inline void push_r(Emit *e, int r)
{
    if (r >= 8)
        e8(e, 0x41);
    e8(e, (uint8_t)(0x50 + (r & 7)));
}

static inline void pop_r(Emit *e, int r)
{
    if (r >= 8)
        e8(e, 0x41);
    e8(e, (uint8_t)(0x58 + (r & 7)));
}

#endif
