/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Two-operand arithmetic and logic (ADD OR ADC SBB AND SUB XOR CMP TEST) and the
 * one-operand forms (INC DEC NEG NOT), register or memory destination. */
#include "emu-internal.h"

bool exec_alu(Emu *e)
{
    if (e->nops < 2)
        return emu_unsupported(e);
    const Operand *d = &e->op[0], *s = &e->op[1];
    unsigned size = d->size;
    uint64_t a, b, res, f, cf = e->st.rflags & X86_CF ? 1 : 0;
    if (!operand_read(e, d, &a) || !operand_read(e, s, &b))
        return false;
    b &= mask_of(size);
    bool write = true;
    switch (e->in.mnemonic) {
    case ZYDIS_MNEMONIC_ADD: res = a + b; f = flags_add(a, b, 0, size); break;
    case ZYDIS_MNEMONIC_ADC: res = a + b + cf; f = flags_add(a, b, cf, size); break;
    case ZYDIS_MNEMONIC_SUB: res = a - b; f = flags_sub(a, b, 0, size); break;
    case ZYDIS_MNEMONIC_SBB: res = a - b - cf; f = flags_sub(a, b, cf, size); break;
    case ZYDIS_MNEMONIC_CMP: res = a - b; f = flags_sub(a, b, 0, size); write = false; break;
    case ZYDIS_MNEMONIC_AND: res = a & b; f = flags_logic(res, size); break;
    case ZYDIS_MNEMONIC_TEST: res = a & b; f = flags_logic(res, size); write = false; break;
    case ZYDIS_MNEMONIC_OR: res = a | b; f = flags_logic(res, size); break;
    case ZYDIS_MNEMONIC_XOR: res = a ^ b; f = flags_logic(res, size); break;
    default: return emu_unsupported(e);
    }
    if (write && !operand_write(e, d, res & mask_of(size)))
        return false;
    flags_set(e, X86_STATUS_FLAGS, f);
    return true;
}

bool exec_unary(Emu *e)
{
    if (e->nops < 1)
        return emu_unsupported(e);
    const Operand *d = &e->op[0];
    unsigned size = d->size;
    uint64_t a, res;
    if (!operand_read(e, d, &a))
        return false;
    switch (e->in.mnemonic) {
    case ZYDIS_MNEMONIC_INC:
        res = a + 1;
        if (!operand_write(e, d, res))
            return false;
        flags_set(e, X86_STATUS_FLAGS & ~X86_CF, flags_add(a, 1, 0, size));   /* CF kept */
        return true;
    case ZYDIS_MNEMONIC_DEC:
        res = a - 1;
        if (!operand_write(e, d, res))
            return false;
        flags_set(e, X86_STATUS_FLAGS & ~X86_CF, flags_sub(a, 1, 0, size));
        return true;
    case ZYDIS_MNEMONIC_NEG:
        res = -a;
        if (!operand_write(e, d, res))
            return false;
        flags_set(e, X86_STATUS_FLAGS, flags_sub(0, a, 0, size));   /* CF = (a != 0) */
        return true;
    case ZYDIS_MNEMONIC_NOT:
        return operand_write(e, d, ~a);                             /* no flags */
    default:
        return emu_unsupported(e);
    }
}
