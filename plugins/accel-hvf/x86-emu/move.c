/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Moves (MOV, MOVZX, MOVSX, MOVSXD) and the exchanges (XCHG, XADD, CMPXCHG). */
#include "emu-internal.h"

bool exec_mov(Emu *e)
{
    if (e->nops < 2)
        return emu_unsupported(e);
    const Operand *d = &e->op[0], *s = &e->op[1];
    uint64_t v;
    if (!operand_read(e, s, &v))
        return false;
    if (e->in.mnemonic == ZYDIS_MNEMONIC_MOVSX || e->in.mnemonic == ZYDIS_MNEMONIC_MOVSXD)
        v = (uint64_t)sext(v, s->size);
    return operand_write(e, d, v & mask_of(d->size));
}

bool exec_exchange(Emu *e)
{
    if (e->nops < 2)
        return emu_unsupported(e);
    const Operand *d = &e->op[0], *s = &e->op[1];
    unsigned size = d->size;
    uint64_t a, b;
    if (!operand_read(e, d, &a) || !operand_read(e, s, &b))
        return false;
    switch (e->in.mnemonic) {
    case ZYDIS_MNEMONIC_XCHG:
        if (!operand_write(e, d, b))
            return false;
        return operand_write(e, s, a);
    case ZYDIS_MNEMONIC_XADD:
        /* TEMP = SRC + DEST; SRC = DEST; DEST = TEMP (so `xadd eax, eax` leaves the sum). */
        if (!operand_write(e, s, a) || !operand_write(e, d, a + b))
            return false;
        flags_set(e, X86_STATUS_FLAGS, flags_add(a, b, 0, size));
        return true;
    case ZYDIS_MNEMONIC_CMPXCHG: {
        uint64_t acc = reg_read(e, X86_RAX, size, false);
        uint64_t f = flags_sub(acc, a, 0, size);
        if (acc == a) {
            if (!operand_write(e, d, b))
                return false;
        } else {
            /* A memory destination is written back with its own value, as the processor
             * does (a locked read-modify-write); a register one is left alone, bits 63:32
             * included (measured on the host by test-x86emu-diff).  Then the accumulator
             * gets the destination's value. */
            if (d->kind == OPK_MEM && !operand_write(e, d, a))
                return false;
            reg_write(e, X86_RAX, size, false, a);
        }
        flags_set(e, X86_STATUS_FLAGS, f);
        return true;
    }
    default:
        return emu_unsupported(e);
    }
}
