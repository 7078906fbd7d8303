/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The status flags of arithmetic and logic results, computed exactly (no lazy state: the
 * emulator runs one instruction between exits). */
#include "emu-internal.h"

static uint64_t szp(uint64_t res, unsigned size)
{
    uint64_t f = 0;
    res &= mask_of(size);
    if (res == 0)
        f |= X86_ZF;
    if (res & sign_bit(size))
        f |= X86_SF;
    if (!__builtin_parity((unsigned)(res & 0xff)))
        f |= X86_PF;
    return f;
}

/* AND, OR, XOR, TEST: CF and OF cleared; AF is undefined, and cleared here. */
uint64_t flags_logic(uint64_t res, unsigned size)
{
    return szp(res, size);
}

uint64_t flags_add(uint64_t a, uint64_t b, uint64_t carry, unsigned size)
{
    uint64_t m = mask_of(size);
    a &= m, b &= m;
    unsigned __int128 wide = (unsigned __int128)a + b + carry;
    uint64_t res = (uint64_t)wide & m;
    uint64_t f = szp(res, size);
    if (wide > m)
        f |= X86_CF;
    if ((a ^ res) & (b ^ res) & sign_bit(size))
        f |= X86_OF;
    if ((a ^ b ^ res) & 0x10)
        f |= X86_AF;
    return f;
}

uint64_t flags_sub(uint64_t a, uint64_t b, uint64_t borrow, unsigned size)
{
    uint64_t m = mask_of(size);
    a &= m, b &= m;
    uint64_t res = (a - b - borrow) & m;
    uint64_t f = szp(res, size);
    if ((unsigned __int128)a < (unsigned __int128)b + borrow)
        f |= X86_CF;
    if ((a ^ b) & (a ^ res) & sign_bit(size))
        f |= X86_OF;
    if ((a ^ b ^ res) & 0x10)
        f |= X86_AF;
    return f;
}
