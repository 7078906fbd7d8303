/* SPDX-License-Identifier: GPL-2.0-or-later */
/* BT BTS BTR BTC: with a register bit offset and a memory operand the offset addresses a
 * bit string beyond the operand (signed, in operand-sized steps); with an immediate or a
 * register destination it is taken modulo the operand width.  CF is the bit; the other
 * status flags are left as they were (the SDM: ZF unaffected, the rest undefined). */
#include "emu-internal.h"

bool exec_bit(Emu *e)
{
    if (e->nops < 2)
        return emu_unsupported(e);
    Operand d = e->op[0];
    const Operand *s = &e->op[1];
    unsigned size = d.size, w = size * 8;
    uint64_t off, v;
    if (!operand_read(e, s, &off))
        return false;
    if (d.kind == OPK_MEM && s->kind == OPK_REG) {
        int64_t soff = sext(off, s->size);
        int64_t step = soff >> __builtin_ctz(w);          /* floor division by the width */
        d.offset = (d.offset + (uint64_t)step * size) & mask_of(e->asize);
    }
    unsigned bit = off & (w - 1);
    if (!operand_read(e, &d, &v))
        return false;
    uint64_t b = 1ull << bit;
    uint64_t res = v;
    switch (e->in.mnemonic) {
    case ZYDIS_MNEMONIC_BT: break;
    case ZYDIS_MNEMONIC_BTS: res = v | b; break;
    case ZYDIS_MNEMONIC_BTR: res = v & ~b; break;
    case ZYDIS_MNEMONIC_BTC: res = v ^ b; break;
    default: return emu_unsupported(e);
    }
    if (e->in.mnemonic != ZYDIS_MNEMONIC_BT && !operand_write(e, &d, res))
        return false;
    flags_set(e, X86_CF, v & b ? X86_CF : 0);
    return true;
}
