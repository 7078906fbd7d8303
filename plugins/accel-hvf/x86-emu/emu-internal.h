/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the emulator's pieces share: the instruction being executed, its operands, the
 * working copy of the vCPU state, and the helpers every instruction family uses. */
#ifndef X86EMU_INTERNAL_H
#define X86EMU_INTERNAL_H

#include <Zydis/Zydis.h>

#include "x86emu.h"

typedef enum { OPK_NONE, OPK_REG, OPK_MEM, OPK_IMM } OperandKind;

/* One operand, resolved: a general register (or its high byte), a memory location
 * (segment + offset, already wrapped to the address size), or an immediate. */
typedef struct Operand {
    OperandKind kind;
    unsigned size;      /* bytes */
    int reg;
    bool high8;
    int seg;
    uint64_t offset;
    uint64_t imm;
} Operand;

typedef struct Emu {
    const X86EmuCpu *orig;  /* the committed state */
    X86EmuCpu *out;         /* where completed work is written (REP iterations, success) */
    X86EmuCpu st;           /* working copy */
    const X86EmuOps *ops;
    void *opaque;
    X86EmuResult *res;
    uint8_t raw[15];        /* the instruction's bytes */
    ZydisDecodedInstruction in;
    ZydisDecodedOperand zop[ZYDIS_MAX_OPERAND_COUNT];
    Operand op[4];          /* the visible operands */
    unsigned nops;
    unsigned osize;         /* operand size in bytes */
    unsigned asize;         /* address size in bytes */
    bool long64;            /* 64-bit mode */
    uint64_t next_rip;
    bool fetch_short;       /* the fetch stopped at a page it could not read ... */
    X86EmuResult fetch_fault;  /* ... for this reason */
} Emu;

/* Outcomes inside the emulator: false means res already holds a fault or an error. */
bool emu_fault(Emu *e, unsigned vector, bool has_code, uint32_t code);
bool emu_error(Emu *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool emu_unsupported(Emu *e);

static inline uint64_t mask_of(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}
static inline uint64_t sign_bit(unsigned size) { return 1ull << (size * 8 - 1); }
static inline int64_t sext(uint64_t v, unsigned size)
{
    return size >= 8 ? (int64_t)v : (int64_t)(v << (64 - size * 8)) >> (64 - size * 8);
}

/* Registers. */
uint64_t reg_read(const Emu *e, int reg, unsigned size, bool high8);
void reg_write(Emu *e, int reg, unsigned size, bool high8, uint64_t v);

/* Memory through segment + offset (linear checks, page walk, page-crossing split). */
bool mem_read(Emu *e, int seg, uint64_t offset, unsigned size, uint64_t *v);
bool mem_write(Emu *e, int seg, uint64_t offset, unsigned size, uint64_t v);
/* Checks that a write of size bytes at seg:offset would succeed (for instructions that
 * must fault before changing anything). */
bool mem_probe_write(Emu *e, int seg, uint64_t offset, unsigned size);
bool emu_fetch(Emu *e, uint64_t rip, uint8_t *buf, size_t *len);

/* Operands. */
bool operand_read(Emu *e, const Operand *o, uint64_t *v);
bool operand_write(Emu *e, const Operand *o, uint64_t v);

/* Flags: the result of an operation and the status flags it sets. */
uint64_t flags_logic(uint64_t res, unsigned size);
uint64_t flags_add(uint64_t a, uint64_t b, uint64_t carry, unsigned size);
uint64_t flags_sub(uint64_t a, uint64_t b, uint64_t borrow, unsigned size);
static inline void flags_set(Emu *e, uint64_t mask, uint64_t f)
{
    e->st.rflags = (e->st.rflags & ~mask) | (f & mask);
}

/* Instruction families: each returns false with res filled on a fault or an error. */
bool exec_alu(Emu *e);
bool exec_unary(Emu *e);
bool exec_shift(Emu *e);
bool exec_bit(Emu *e);
bool exec_mov(Emu *e);
bool exec_exchange(Emu *e);
bool exec_string(Emu *e);
bool exec_io(Emu *e);

#endif
