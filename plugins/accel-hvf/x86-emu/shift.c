/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shifts and rotates (SHL/SAL SHR SAR ROL ROR RCL RCR) by 1, CL or an immediate.  Where
 * the SDM leaves a flag undefined (OF for counts above 1, AF, CF of SHL/SHR past the
 * width) it gets the value of the formula for a count of 1 or is cleared: guests cannot
 * rely on it either way, and the differential tests mask it. */
#include "emu-internal.h"

bool exec_shift(Emu *e)
{
    if (e->nops < 1)
        return emu_unsupported(e);
    const Operand *d = &e->op[0];
    unsigned size = d->size, w = size * 8;
    uint64_t v, count = 1, m = mask_of(size), msb = sign_bit(size);
    if (!operand_read(e, d, &v))
        return false;
    if (e->nops >= 2 && !operand_read(e, &e->op[1], &count))
        return false;
    count &= size == 8 ? 0x3f : 0x1f;
    if (count == 0)   /* no flags; a 32-bit register is still written (bits 63:32 cleared) */
        return d->kind == OPK_REG ? operand_write(e, d, v) : true;
    uint64_t res, cf, of, f = e->st.rflags;
    bool szp_flags = true;
    switch (e->in.mnemonic) {
    case ZYDIS_MNEMONIC_SHL:
   
        res = (v << count) & m;
        cf = count <= w ? (v >> (w - count)) & 1 : 0;
        of = !!(res & msb) ^ cf;
        break;
    case ZYDIS_MNEMONIC_SHR:
        res = v >> count;
        cf = (v >> (count - 1)) & 1;
        of = !!(v & msb);
        break;
    case ZYDIS_MNEMONIC_SAR: {
        int64_t sv = sext(v, size);
        res = (uint64_t)(sv >> count) & m;
        cf = (uint64_t)(sv >> (count - 1)) & 1;
        of = 0;
        break;
    }
    case ZYDIS_MNEMONIC_ROL: {
        unsigned c = count % w;
        res = c ? ((v << c) | (v >> (w - c))) & m : v;
        cf = res & 1;
        of = !!(res & msb) ^ cf;
        szp_flags = false;
        break;
    }
    case ZYDIS_MNEMONIC_ROR: {
        unsigned c = count % w;
        res = c ? ((v >> c) | (v << (w - c))) & m : v;
        cf = !!(res & msb);
        of = cf ^ !!(res & (msb >> 1));
        szp_flags = false;
        break;
    }
    case ZYDIS_MNEMONIC_RCL:
    case ZYDIS_MNEMONIC_RCR: {
        /* Through the carry: a (w+1)-bit rotation, one bit at a time (count <= 63). */
        unsigned c = count % (w + 1);
        cf = e->st.rflags & X86_CF ? 1 : 0;
        res = v;
        bool left = e->in.mnemonic == ZYDIS_MNEMONIC_RCL;
        for (unsigned i = 0; i < c; i++) {
            uint64_t out;
            if (left) {
                out = !!(res & msb);
                res = ((res << 1) | cf) & m;
            } else {
                out = res & 1;
                res = (res >> 1) | (cf ? msb : 0);
            }
            cf = out;
        }
        of = left ? !!(res & msb) ^ cf : !!(res & msb) ^ !!(res & (msb >> 1));
        szp_flags = false;
        break;
    }
    default:
        return emu_unsupported(e);
    }
    if (!operand_write(e, d, res))
        return false;
    f &= ~(uint64_t)(X86_CF | X86_OF);
    f |= (cf ? X86_CF : 0) | (of ? X86_OF : 0);
    if (szp_flags) {
        f &= ~(uint64_t)(X86_SF | X86_ZF | X86_PF | X86_AF);
        f |= flags_logic(res, size);
    }
    e->st.rflags = f;
    return true;
}
