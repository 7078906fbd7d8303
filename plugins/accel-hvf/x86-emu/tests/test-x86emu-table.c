/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The emulator against expectations computed here, independently of it: arithmetic in
 * wide signed and unsigned integers for the ALU (not the emulator's XOR formulas),
 * bit-at-a-time loops for shifts and rotates, byte-addressed bit strings for BT*; over
 * a table of values, every operand size and every processor mode (real, 16- and 32-bit
 * protected, 32-bit, PAE and 4-level paging, compatibility and 64-bit mode), each
 * instruction encoded with a memory operand the way that mode addresses it.  Then
 * literal cases: every 16- and 32-bit addressing form, port I/O and the string forms,
 * REP chunks, page walks and the faults they report, #GP, #UD, unsupported instructions
 * and unbacked addresses. */
#include <stdio.h>

#include "machine.h"

/* --- encoding an instruction with a memory operand in each mode -------------------- */

typedef struct Enc {
    uint8_t code[24];
    unsigned len;
    uint64_t data;      /* linear address of the memory operand */
    int reg;            /* the ModRM.reg register this mode uses */
} Enc;

static bool is16(const TestMachine *t) { return mode_is16(t->mode); }

/* op [mem], reg (or /digit when digit >= 0), operand size `size`, then imm bytes. */
static void encode(TestMachine *t, unsigned size, const uint8_t *op, unsigned oplen, int digit,
                   uint64_t imm, unsigned immlen, Enc *e)
{
    X86EmuCpu *c = &t->cpu;
    memset(e, 0, sizeof(*e));
    bool long64 = t->mode == MODE_LONG64;
    if ((is16(t) && size == 4) || (!is16(t) && size == 2))
        e->code[e->len++] = 0x66;
    e->reg = is16(t) ? X86_RCX : long64 ? X86_R11 : X86_RDX;
    unsigned regf = digit >= 0 ? (unsigned)digit : (unsigned)(e->reg & 7);
    if (long64)
        e->code[e->len++] = 0x40 | (size == 8) << 3 | 1 << 2 | 1 << 1 | 1;
    memcpy(e->code + e->len, op, oplen);
    e->len += oplen;
    if (is16(t)) {                    /* [bx+si+0x10] */
        e->code[e->len++] = 0x40 | regf << 3 | 0;
        e->code[e->len++] = 0x10;
        c->gpr[X86_RBX] = 0x200, c->gpr[X86_RSI] = 0x30;
        e->data = machine_linear(t, X86_DS, 0x240);
    } else if (!long64) {             /* [ebx+ecx*4+0x1234] */
        e->code[e->len++] = 0x84 | regf << 3;
        e->code[e->len++] = 0x8b;
        uint32_t d = 0x1234;
        memcpy(e->code + e->len, &d, 4);
        e->len += 4;
        c->gpr[X86_RBX] = 0x3000, c->gpr[X86_RCX] = 0x10;
        e->data = machine_linear(t, X86_DS, 0x3000 + 0x40 + 0x1234);
    } else {                          /* [r9+r10*8-0x20] */
        e->code[e->len++] = 0x44 | regf << 3;
        e->code[e->len++] = 0xd1;
        e->code[e->len++] = 0xe0;
        c->gpr[X86_R10] = 5, c->gpr[X86_R9] = 0x3000 + 0x20 - 40;
        e->data = 0x3000;
    }
    for (unsigned i = 0; i < immlen; i++)
        e->code[e->len++] = (uint8_t)(imm >> (8 * i));
}

static unsigned sizes_of(const TestMachine *t, unsigned *sizes)
{
    unsigned n = 0;
    sizes[n++] = 1, sizes[n++] = 2, sizes[n++] = 4;
    if (t->mode == MODE_LONG64)
        sizes[n++] = 8;
    return n;
}

static uint64_t m_of(unsigned size) { return size == 8 ? ~0ull : (1ull << (size * 8)) - 1; }

static void poke(TestMachine *t, uint64_t lin, uint64_t v, unsigned size)
{
    memcpy(t->mem.ram + lin, &v, size);
}

static uint64_t peek(TestMachine *t, uint64_t lin, unsigned size)
{
    uint64_t v = 0;
    memcpy(&v, t->mem.ram + lin, size);
    return v;
}

static void run_ok(TestMachine *t, const Enc *e, const char *what)
{
    uint64_t rip = t->cpu.rip;
    X86EmuStatus s = machine_run(t, e->code, e->len);
    if (s != X86EMU_DONE)
        g_error("%s: %s: status %d vector %u %s", mode_names[t->mode], what, s, t->res.vector,
                t->res.message);
    uint64_t want = (rip + e->len) & (is16(t) ? 0xffff : ~0ull);
    if (t->cpu.rip != want)
        g_error("%s: %s: RIP 0x%llx, expected 0x%llx", mode_names[t->mode], what,
                (unsigned long long)t->cpu.rip, (unsigned long long)want);
    t->cpu.rip = rip;
}

static unsigned long long cases;

static void check_flags(TestMachine *t, uint32_t want, uint32_t undef, const char *what)
{
    uint32_t m = X86_STATUS_FLAGS & ~undef;
    if ((t->cpu.rflags & m) != (want & m))
        g_error("%s: %s: flags 0x%03llx, expected 0x%03x (compared 0x%03x)", mode_names[t->mode],
                what, (unsigned long long)(t->cpu.rflags & m), want & m, m);
}

/* --- the oracle --------------------------------------------------------------------- */

static const uint64_t values[] = {
    0, 1, 2, 0xf, 0x10, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
    0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull,
    0x123456789abcdef0ull, 0x0f0f0f0f0f0f0f0full,
};

static __int128 s_of(uint64_t v, unsigned size)
{
    unsigned sh = 64 - size * 8;
    return (__int128)((int64_t)(v << sh) >> sh);
}

static uint32_t szp_of(uint64_t r, unsigned size)
{
    uint32_t f = 0;
    r &= m_of(size);
    if (r == 0) f |= X86_ZF;
    if (r >> (size * 8 - 1)) f |= X86_SF;
    unsigned ones = 0;
    for (int i = 0; i < 8; i++)
        ones += (r >> i) & 1;
    if (ones % 2 == 0) f |= X86_PF;
    return f;
}

enum { O_ADD, O_OR, O_ADC, O_SBB, O_AND, O_SUB, O_XOR, O_CMP, O_TEST };

static void oracle_alu(int op, uint64_t a, uint64_t b, unsigned cin, unsigned size,
                       uint64_t *res, uint32_t *flags, uint32_t *undef)
{
    __int128 smin = -((__int128)1 << (size * 8 - 1)), smax = ((__int128)1 << (size * 8 - 1)) - 1;
    unsigned __int128 ua = a & m_of(size), ub = b & m_of(size);
    __int128 sa = s_of(a, size), sb = s_of(b, size);
    uint32_t f = 0;
    *undef = 0;
    unsigned c = (op == O_ADC || op == O_SBB) ? cin : 0;
    switch (op) {
    case O_ADD: case O_ADC: {
        unsigned __int128 u = ua + ub + c;
        __int128 s = sa + sb + c;
        *res = (uint64_t)u & m_of(size);
        if (u > m_of(size)) f |= X86_CF;
        if (s < smin || s > smax) f |= X86_OF;
        if ((ua & 15) + (ub & 15) + c > 15) f |= X86_AF;
        break;
    }
    case O_SUB: case O_SBB: case O_CMP: {
        __int128 s = sa - sb - c;
        *res = (uint64_t)(ua - ub - c) & m_of(size);
        if (ua < ub + c) f |= X86_CF;
        if (s < smin || s > smax) f |= X86_OF;
        if ((ua & 15) < (ub & 15) + c) f |= X86_AF;
        break;
    }
    default:
        *res = (uint64_t)(op == O_OR ? ua | ub : op == O_XOR ? ua ^ ub : ua & ub);
        *undef = X86_AF;
        break;
    }
    *flags = f | szp_of(*res, size);
}

/* --- ALU, unary, shifts, bits, moves over the value table --------------------------- */

static uint32_t noise(unsigned i)
{
    return i & 1 ? X86_SF | X86_ZF | X86_OF | X86_PF | X86_AF : 0;
}

static void test_alu(gconstpointer p)
{
    TestMachine *t = machine_new(GPOINTER_TO_INT(p));
    unsigned sizes[4], ns = sizes_of(t, sizes);
    static const char *names[] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "test" };
    for (int op = O_ADD; op <= O_TEST; op++)
        for (unsigned si = 0; si < ns; si++)
            for (size_t i = 0; i < G_N_ELEMENTS(values); i++)
                for (size_t j = 0; j < G_N_ELEMENTS(values); j++)
                    for (unsigned cin = 0; cin < 2; cin++) {
                        unsigned size = sizes[si];
                        uint8_t opc = op == O_TEST ? (size == 1 ? 0x84 : 0x85) : (uint8_t)(op * 8 + (size > 1));
                        Enc e;
                        encode(t, size, &opc, 1, -1, 0, 0, &e);
                        uint64_t a = values[i] & m_of(size), b = values[j];
                        poke(t, e.data, a, size);
                        poke(t, e.data + size, 0x5a5a5a5a5a5a5a5aull, 8);
                        t->cpu.gpr[e.reg] = b;
                        t->cpu.rflags = 2 | (cin ? X86_CF : 0) | noise(i + j);
                        char what[96];
                        snprintf(what, sizeof(what), "%s%u [mem]=0x%llx, reg=0x%llx, CF=%u", names[op],
                                 size * 8, (unsigned long long)a, (unsigned long long)b, cin);
                        run_ok(t, &e, what);
                        uint64_t res;
                        uint32_t f, undef;
                        oracle_alu(op, a, b, cin, size, &res, &f, &undef);
                        uint64_t want = op == O_CMP || op == O_TEST ? a : res;
                        if (peek(t, e.data, size) != want || peek(t, e.data + size, 8) != 0x5a5a5a5a5a5a5a5aull)
                            g_error("%s: %s: memory 0x%llx, expected 0x%llx", mode_names[t->mode], what,
                                    (unsigned long long)peek(t, e.data, size), (unsigned long long)want);
                        check_flags(t, f, undef, what);
                        cases++;
                    }
    machine_free(t);
}

/* The other ALU forms: reg, [mem] (the result in the register), [mem], imm of the
 * operand size (imm32 sign-extended for 64-bit), [mem], imm8 sign-extended (83). */
static void test_alu_forms(gconstpointer p)
{
    TestMachine *t = machine_new(GPOINTER_TO_INT(p));
    unsigned sizes[4], ns = sizes_of(t, sizes);
    static const char *names[] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "test" };
    static const char *forms[] = { "reg, [mem]", "[mem], imm", "[mem], imm8" };
    for (int form = 0; form < 3; form++)
        for (int op = O_ADD; op <= O_TEST; op++)
            for (unsigned si = 0; si < ns; si++)
                for (size_t i = 0; i < G_N_ELEMENTS(values); i++)
                    for (size_t j = 0; j < G_N_ELEMENTS(values); j++) {
                        unsigned size = sizes[si], cin = (i + j) & 1;
                        if ((form == 0 && op == O_TEST) || (form == 2 && (size == 1 || op == O_TEST)))
                            continue;
                        uint64_t a = values[i] & m_of(size), b = values[j], old = 0xdeadbeefcafef00dull;
                        unsigned immlen = form == 1 ? (size > 4 ? 4 : size) : form == 2 ? 1 : 0;
                        uint8_t opc;
                        int digit = -1;
                        if (form == 0)
                            opc = (uint8_t)(op * 8 + 2 + (size > 1));
                        else if (op == O_TEST)
                            opc = size == 1 ? 0xf6 : 0xf7, digit = 0;
                        else
                            opc = form == 2 ? 0x83 : size == 1 ? 0x80 : 0x81, digit = op;
                        /* The immediate as the instruction takes it: sign-extended. */
                        if (form == 1 && size == 8)
                            b = (uint64_t)(int64_t)(int32_t)b;
                        if (form == 2)
                            b = (uint64_t)(int64_t)(int8_t)b;
                        Enc e;
                        encode(t, size, &opc, 1, digit, b, immlen, &e);
                        uint64_t dst = form == 0 ? b & m_of(size) : a, src = form == 0 ? a : b;
                        poke(t, e.data, a, size);
                        poke(t, e.data + size, 0x5a5a5a5a5a5a5a5aull, 8);
                        t->cpu.gpr[e.reg] = form == 0 ? (old & ~m_of(size)) | dst : old;
                        t->cpu.rflags = 2 | (cin ? X86_CF : 0) | noise(i + j);
                        char what[96];
                        snprintf(what, sizeof(what), "%s%u %s: 0x%llx, 0x%llx, CF=%u", names[op], size * 8,
                                 forms[form], (unsigned long long)dst, (unsigned long long)src, cin);
                        run_ok(t, &e, what);
                        uint64_t res;
                        uint32_t f, undef;
                        oracle_alu(op, dst, src, cin, size, &res, &f, &undef);
                        bool writes = op != O_CMP && op != O_TEST;
                        if (form == 0) {
                            uint64_t want = !writes ? (old & ~m_of(size)) | dst
                                          : size == 4 ? res : (old & ~m_of(size)) | res;
                            if (t->cpu.gpr[e.reg] != want || peek(t, e.data, size) != a)
                                g_error("%s: %s: reg 0x%llx, expected 0x%llx", mode_names[t->mode], what,
                                        (unsigned long long)t->cpu.gpr[e.reg], (unsigned long long)want);
                        } else {
                            uint64_t want = writes ? res : a;
                            if (peek(t, e.data, size) != want || t->cpu.gpr[e.reg] != old)
                                g_error("%s: %s: memory 0x%llx, expected 0x%llx", mode_names[t->mode], what,
                                        (unsigned long long)peek(t, e.data, size), (unsigned long long)want);
                        }
                        g_assert_cmphex(peek(t, e.data + size, 8), ==, 0x5a5a5a5a5a5a5a5aull);
                        check_flags(t, f, undef, what);
                        cases++;
                    }
    machine_free(t);
}

static void test_unary(gconstpointer p)
{
    TestMachine *t = machine_new(GPOINTER_TO_INT(p));
    unsigned sizes[4], ns = sizes_of(t, sizes);
    static const struct { const char *name; uint8_t op8, op; int digit; } ops[] = {
        { "inc", 0xfe, 0xff, 0 }, { "dec", 0xfe, 0xff, 1 }, { "not", 0xf6, 0xf7, 2 }, { "neg", 0xf6, 0xf7, 3 },
    };
    for (size_t k = 0; k < G_N_ELEMENTS(ops); k++)
        for (unsigned si = 0; si < ns; si++)
            for (size_t i = 0; i < G_N_ELEMENTS(values); i++)
                for (unsigned cin = 0; cin < 2; cin++) {
                    unsigned size = sizes[si];
                    uint8_t opc = size == 1 ? ops[k].op8 : ops[k].op;
                    Enc e;
                    encode(t, size, &opc, 1, ops[k].digit, 0, 0, &e);
                    uint64_t a = values[i] & m_of(size), res;
                    uint32_t in = 2 | (cin ? X86_CF : 0) | noise(i), f, undef;
                    poke(t, e.data, a, size);
                    t->cpu.rflags = in;
                    char what[64];
                    snprintf(what, sizeof(what), "%s%u 0x%llx", ops[k].name, size * 8, (unsigned long long)a);
                    run_ok(t, &e, what);
                    switch (ops[k].digit) {
                    case 0: oracle_alu(O_ADD, a, 1, 0, size, &res, &f, &undef); f = (f & ~X86_CF) | (in & X86_CF); break;
                    case 1: oracle_alu(O_SUB, a, 1, 0, size, &res, &f, &undef); f = (f & ~X86_CF) | (in & X86_CF); break;
                    case 2: res = ~a & m_of(size); f = in; undef = 0; break;
                    default: oracle_alu(O_SUB, 0, a, 0, size, &res, &f, &undef); break;
                    }
                    if (peek(t, e.data, size) != res)
                        g_error("%s: %s: memory 0x%llx, expected 0x%llx", mode_names[t->mode], what,
                                (unsigned long long)peek(t, e.data, size), (unsigned long long)res);
                    check_flags(t, f, undef, what);
                    cases++;
                }
    machine_free(t);
}

/* Shifts and rotates one bit at a time, as the SDM's pseudo-code loops. */
static void oracle_shift(int digit, uint64_t v, unsigned count, unsigned cin, unsigned size,
                         uint64_t *res, uint32_t in, uint32_t *flags, uint32_t *undef)
{
    unsigned w = size * 8;
    uint64_t msb = 1ull << (w - 1), m = m_of(size);
    unsigned c = count & (size == 8 ? 63 : 31);
    unsigned cf = cin;
    uint64_t orig = v;
    *undef = 0;
    if (c == 0) {
        *res = v, *flags = in;
        return;
    }
    for (unsigned i = 0; i < c; i++) {
        unsigned top = !!(v & msb), low = v & 1;
        switch (digit) {
        case 0: v = ((v << 1) | top) & m; cf = top; break;                    /* ROL */
        case 1: v = (v >> 1) | (low ? msb : 0); cf = low; break;              /* ROR */
        case 2: v = ((v << 1) | cf) & m; cf = top; break;                     /* RCL */
        case 3: v = (v >> 1) | (cf ? msb : 0); cf = low; break;               /* RCR */
        case 4: case 6: v = (v << 1) & m; cf = top; break;                    /* SHL/SAL */
        case 5: v >>= 1; cf = low; break;                                     /* SHR */
        default: v = (v >> 1) | (top ? msb : 0); cf = low; break;             /* SAR */
        }
    }
    *res = v;
    unsigned of;
    unsigned rtop = !!(v & msb), rnext = !!(v & (msb >> 1));
    switch (digit) {
    case 0: case 2: case 4: case 6: of = rtop ^ cf; break;
    case 1: of = rtop ^ rnext; break;
    case 3: of = !!(orig & msb) ^ cin; break;
    case 5: of = !!(orig & msb); break;
    default: of = 0; break;
    }
    uint32_t f = in & ~(X86_CF | X86_OF);
    f |= (cf ? X86_CF : 0) | (of ? X86_OF : 0);
    if (digit >= 4) {
        f = (f & ~(X86_SF | X86_ZF | X86_PF)) | szp_of(v, size);
        *undef |= X86_AF;
        if (c >= w)
            *undef |= X86_CF | X86_OF;
    }
    if (c != 1)
        *undef |= X86_OF;
    *flags = f;
}

static void test_shift(gconstpointer p)
{
    TestMachine *t = machine_new(GPOINTER_TO_INT(p));
    unsigned sizes[4], ns = sizes_of(t, sizes);
    static const unsigned counts[] = { 0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 255 };
    static const char *names[] = { "rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar" };
    static const char *forms[] = { "imm8", "CL", "1" };
    for (int form = 0; form < 3; form++)
        for (int digit = 0; digit < 8; digit++)
            for (unsigned si = 0; si < ns; si++)
                for (size_t i = 0; i < G_N_ELEMENTS(values); i += 2)
                    for (size_t k = 0; k < G_N_ELEMENTS(counts); k++)
                        for (unsigned cin = 0; cin < 2; cin++) {
                            unsigned size = sizes[si], count = counts[k];
                            if (form == 2 && count != 1)
                                continue;
                            uint8_t opc = (uint8_t)((form == 0 ? 0xc0 : form == 1 ? 0xd2 : 0xd0) + (size > 1));
                            Enc e;
                            encode(t, size, &opc, 1, digit, count, form == 0 ? 1 : 0, &e);
                            if (form == 1) {
                                /* Only CL counts.  In the 32-bit modes ECX is also the
                                 * operand's index: move EBX to keep the address. */
                                if (!is16(t) && t->mode != MODE_LONG64) {
                                    t->cpu.gpr[X86_RBX] -= (uint64_t)(count - 0x10) * 4;
                                    t->cpu.gpr[X86_RCX] = count;
                                } else {
                                    t->cpu.gpr[X86_RCX] = 0xabcd00 | count;
                                }
                            }
                            uint64_t a = (values[i] ^ (k * 0x1111111111111111ull)) & m_of(size), res;
                            uint32_t in = 2 | (cin ? X86_CF : 0) | noise(i + k), f, undef;
                            poke(t, e.data, a, size);
                            t->cpu.rflags = in;
                            char what[80];
                            snprintf(what, sizeof(what), "%s%u 0x%llx by %u (%s), CF=%u", names[digit], size * 8,
                                     (unsigned long long)a, count, forms[form], cin);
                            run_ok(t, &e, what);
                            oracle_shift(digit, a, count, cin, size, &res, in, &f, &undef);
                            if (peek(t, e.data, size) != res)
                                g_error("%s: %s: memory 0x%llx, expected 0x%llx", mode_names[t->mode], what,
                                        (unsigned long long)peek(t, e.data, size), (unsigned long long)res);
                            check_flags(t, f, undef, what);
                            cases++;
                        }
    machine_free(t);
}

static void test_bits(gconstpointer p)
{
    TestMachine *t = machine_new(GPOINTER_TO_INT(p));
    unsigned sizes[4], ns = sizes_of(t, sizes);
    static const char *names[] = { "bt", "bts", "btr", "btc" };
    static const uint8_t ops[] = { 0xa3, 0xab, 0xb3, 0xbb };
    for (int k = 0; k < 4; k++)
        for (unsigned si = 1; si < ns; si++)
            for (int off = -130; off <= 130; off += 3) {
                unsigned size = sizes[si];
                uint8_t opc[2] = { 0x0f, ops[k] };
                Enc e;
                encode(t, size, opc, 2, -1, 0, 0, &e);
                for (int i = -32; i < 32; i++)
                    t->mem.ram[e.data + i] = (uint8_t)(0x5a ^ (i * 37));
                t->cpu.gpr[e.reg] = (uint64_t)(int64_t)off;
                t->cpu.rflags = 2 | noise(off & 1);
                /* The bit string, byte-addressed: bit `off` of the string starting at data. */
                uint64_t byte = e.data + (uint64_t)((int64_t)off >> 3);
                unsigned bit = off & 7;
                uint8_t before = t->mem.ram[byte];
                char what[64];
                snprintf(what, sizeof(what), "%s%u [mem], %d", names[k], size * 8, off);
                run_ok(t, &e, what);
                uint8_t want = k == 0 ? before : k == 1 ? before | 1 << bit : k == 2 ? before & ~(1 << bit)
                                                                             : before ^ 1 << bit;
                if (t->mem.ram[byte] != want)
                    g_error("%s: %s: byte 0x%02x, expected 0x%02x", mode_names[t->mode], what,
                            t->mem.ram[byte], want);
                check_flags(t, (before >> bit) & 1 ? X86_CF : 0, X86_STATUS_FLAGS & ~X86_CF, what);
                cases++;
            }
    machine_free(t);
}

static void test_moves(gconstpointer p)
{
    TestMachine *t = machine_new(GPOINTER_TO_INT(p));
    unsigned sizes[4], ns = sizes_of(t, sizes);
    for (unsigned si = 1; si < ns; si++)
        for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
            unsigned size = sizes[si];
            uint64_t v = values[i] ^ 0x8421000000000000ull, old = 0xdeadbeefcafef00dull;
            static const struct { uint8_t op; unsigned src; bool sx; } x[] = {
                { 0xb6, 1, false }, { 0xb7, 2, false }, { 0xbe, 1, true }, { 0xbf, 2, true },
            };
            for (size_t k = 0; k < G_N_ELEMENTS(x); k++) {
                if (x[k].src >= size)
                    continue;
                uint8_t opc[2] = { 0x0f, x[k].op };
                Enc e;
                encode(t, size, opc, 2, -1, 0, 0, &e);
                poke(t, e.data, v, 8);
                t->cpu.gpr[e.reg] = old;
                run_ok(t, &e, "movzx/movsx");
                uint64_t s = v & m_of(x[k].src);
                uint64_t ext = x[k].sx ? (uint64_t)s_of(s, x[k].src) : s;
                uint64_t want = size == 4 ? (ext & 0xffffffff) : size == 8 ? ext
                                          : (old & ~m_of(size)) | (ext & m_of(size));
                if (t->cpu.gpr[e.reg] != want)
                    g_error("%s: 0f %02x size %u of 0x%llx: reg 0x%llx, expected 0x%llx", mode_names[t->mode],
                            x[k].op, size, (unsigned long long)v, (unsigned long long)t->cpu.gpr[e.reg],
                            (unsigned long long)want);
                cases++;
            }
            /* XADD [mem], reg and CMPXCHG [mem], reg (equal and not). */
            uint8_t xadd[2] = { 0x0f, 0xc1 }, cmpx[2] = { 0x0f, 0xb1 };
            Enc e;
            encode(t, size, xadd, 2, -1, 0, 0, &e);
            uint64_t a = v & m_of(size), b = values[(i + 3) % G_N_ELEMENTS(values)], res;
            uint32_t f, undef;
            poke(t, e.data, a, size);
            t->cpu.gpr[e.reg] = b;
            run_ok(t, &e, "xadd");
            oracle_alu(O_ADD, a, b, 0, size, &res, &f, &undef);
            g_assert_cmphex(peek(t, e.data, size), ==, res);
            g_assert_cmphex(t->cpu.gpr[e.reg] & m_of(size), ==, a);
            check_flags(t, f, 0, "xadd");
            for (int eq = 0; eq < 2; eq++) {
                encode(t, size, cmpx, 2, -1, 0, 0, &e);
                poke(t, e.data, a, size);
                t->cpu.gpr[X86_RAX] = eq ? a : a ^ 1;
                t->cpu.gpr[e.reg] = b;
                run_ok(t, &e, "cmpxchg");
                g_assert_cmphex(peek(t, e.data, size), ==, eq ? b & m_of(size) : a);
                g_assert_cmphex(t->cpu.gpr[X86_RAX] & m_of(size), ==, eq ? a : a);
                g_assert_cmpuint(!!(t->cpu.rflags & X86_ZF), ==, eq);
                cases += 2;
            }
        }
    machine_free(t);
}

/* BT* with an immediate bit offset: taken modulo the operand width, no bit string. */
static void test_bits_imm(gconstpointer p)
{
    TestMachine *t = machine_new(GPOINTER_TO_INT(p));
    unsigned sizes[4], ns = sizes_of(t, sizes);
    static const char *names[] = { "bt", "bts", "btr", "btc" };
    for (int k = 0; k < 4; k++)
        for (unsigned si = 1; si < ns; si++)
            for (unsigned imm = 0; imm < 256; imm += 5) {
                unsigned size = sizes[si];
                uint8_t opc[2] = { 0x0f, 0xba };
                Enc e;
                encode(t, size, opc, 2, 4 + k, imm, 1, &e);
                uint64_t v = 0x8badf00ddeadbeefull * (imm + 1) & m_of(size);
                poke(t, e.data, v, size);
                t->cpu.rflags = 2 | noise(imm);
                char what[64];
                snprintf(what, sizeof(what), "%s%u [mem], %u", names[k], size * 8, imm);
                run_ok(t, &e, what);
                unsigned bit = imm % (size * 8);
                uint64_t b = 1ull << bit;
                uint64_t want = k == 0 ? v : k == 1 ? v | b : k == 2 ? v & ~b : v ^ b;
                if (peek(t, e.data, size) != want)
                    g_error("%s: %s: memory 0x%llx, expected 0x%llx", mode_names[t->mode], what,
                            (unsigned long long)peek(t, e.data, size), (unsigned long long)want);
                check_flags(t, v & b ? X86_CF : 0, X86_STATUS_FLAGS & ~X86_CF, what);
                cases++;
            }
    machine_free(t);
}

/* encode() with a segment-override prefix in front: the memory operand then lives in
 * segment `seg` (the bases differ in real mode and prot32, so a wrong segment shows). */
static void encode_seg(TestMachine *t, int seg, unsigned size, const uint8_t *op, unsigned oplen,
                       int digit, uint64_t imm, unsigned immlen, Enc *e)
{
    static const uint8_t pfx[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };
    encode(t, size, op, oplen, digit, imm, immlen, e);
    if (seg < 0)
        return;
    memmove(e->code + 1, e->code, e->len++);
    e->code[0] = pfx[seg];
    if (t->mode != MODE_LONG64 || seg >= X86_FS)
        e->data = e->data - machine_linear(t, X86_DS, 0) + machine_linear(t, seg, 0);
}

/* MOV in each direction (register, immediate, moffs), XCHG (with and without LOCK) and
 * MOVSXD, through the mode's memory form, with and without a segment override. */
static void test_mov_xchg(gconstpointer p)
{
    TestMachine *t = machine_new(GPOINTER_TO_INT(p));
    unsigned sizes[4], ns = sizes_of(t, sizes);
    static const int segs[] = { -1, X86_ES, X86_SS };
    for (unsigned si = 0; si < ns; si++)
        for (size_t i = 0; i < G_N_ELEMENTS(values); i++)
            for (size_t sg = 0; sg < G_N_ELEMENTS(segs); sg++) {
                unsigned size = sizes[si];
                uint64_t v = values[i] ^ (0x1111111111111111ull * sg), old = 0xdeadbeefcafef00dull;
                uint64_t m = m_of(size);
                bool b = size == 1;
                Enc e;
                char what[80];
                /* mov [mem], reg */
                uint8_t st = b ? 0x88 : 0x89, ld = b ? 0x8a : 0x8b, xc = b ? 0x86 : 0x87;
                encode_seg(t, segs[sg], size, &st, 1, -1, 0, 0, &e);
                poke(t, e.data, old, 8);
                t->cpu.gpr[e.reg] = v;
                snprintf(what, sizeof(what), "mov%u [mem], 0x%llx seg %d", size * 8, (unsigned long long)v, segs[sg]);
                run_ok(t, &e, what);
                if (peek(t, e.data, 8) != ((old & ~m) | (v & m)))
                    g_error("%s: %s: memory 0x%llx", mode_names[t->mode], what, (unsigned long long)peek(t, e.data, 8));
                /* mov reg, [mem] */
                encode_seg(t, segs[sg], size, &ld, 1, -1, 0, 0, &e);
                poke(t, e.data, v, 8);
                t->cpu.gpr[e.reg] = old;
                run_ok(t, &e, "mov reg, [mem]");
                uint64_t want = size == 4 ? (v & m) : (old & ~m) | (v & m);
                if (t->cpu.gpr[e.reg] != want)
                    g_error("%s: mov%u reg, [mem] 0x%llx: reg 0x%llx, expected 0x%llx", mode_names[t->mode], size * 8,
                            (unsigned long long)v, (unsigned long long)t->cpu.gpr[e.reg], (unsigned long long)want);
                /* mov [mem], imm (imm32 sign-extended for 64-bit) */
                uint8_t mi = b ? 0xc6 : 0xc7;
                unsigned il = size > 4 ? 4 : size;
                encode_seg(t, segs[sg], size, &mi, 1, 0, v, il, &e);
                poke(t, e.data, old, 8);
                run_ok(t, &e, "mov [mem], imm");
                uint64_t imm = size == 8 ? (uint64_t)(int64_t)(int32_t)v : v & m;
                g_assert_cmphex(peek(t, e.data, 8), ==, (old & ~m) | (imm & m));
                /* xchg [mem], reg, plain and locked */
                for (int lock = 0; lock < 2; lock++) {
                    encode_seg(t, segs[sg], size, &xc, 1, -1, 0, 0, &e);
                    if (lock) {
                        memmove(e.code + 1, e.code, e.len++);
                        e.code[0] = 0xf0;
                    }
                    poke(t, e.data, v, 8);
                    t->cpu.gpr[e.reg] = old;
                    run_ok(t, &e, "xchg [mem], reg");
                    g_assert_cmphex(peek(t, e.data, 8), ==, (v & ~m) | (old & m));
                    g_assert_cmphex(t->cpu.gpr[e.reg], ==, size == 4 ? (v & m) : (old & ~m) | (v & m));
                }
                cases += 5;
            }
    /* moffs: A0-A3 with the mode's address size, DS-relative. */
    for (unsigned si = 0; si < ns; si++) {
        unsigned size = sizes[si], asz = is16(t) ? 2 : t->mode == MODE_LONG64 ? 8 : 4;
        uint64_t m = m_of(size), off = 0x2468, v = 0x0123456789abcdefull;
        for (int store = 0; store < 2; store++) {
            uint8_t code[16];
            unsigned len = 0;
            if ((is16(t) && size == 4) || (!is16(t) && size == 2))
                code[len++] = 0x66;
            if (size == 8)
                code[len++] = 0x48;
            code[len++] = (uint8_t)(0xa0 + 2 * store + (size > 1));
            for (unsigned k = 0; k < asz; k++)
                code[len++] = (uint8_t)(off >> (8 * k));
            uint64_t lin = machine_linear(t, X86_DS, off);
            poke(t, lin, store ? ~v : v, 8);
            t->cpu.gpr[X86_RAX] = store ? v : ~v;
            Enc e = { .len = len };
            memcpy(e.code, code, len);
            run_ok(t, &e, store ? "mov moffs, eAX" : "mov eAX, moffs");
            if (store)
                g_assert_cmphex(peek(t, lin, 8), ==, (~v & ~m) | (v & m));
            else
                g_assert_cmphex(t->cpu.gpr[X86_RAX], ==, size == 4 ? (v & m) : (~v & ~m) | (v & m));
            cases++;
        }
    }
    /* MOVSXD (64-bit mode only: 63 is ARPL elsewhere). */
    if (t->mode == MODE_LONG64)
        for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
            uint8_t op = 0x63;
            Enc e;
            encode(t, 8, &op, 1, -1, 0, 0, &e);
            poke(t, e.data, values[i], 8);
            t->cpu.gpr[e.reg] = 0x5555;
            run_ok(t, &e, "movsxd");
            g_assert_cmphex(t->cpu.gpr[e.reg], ==, (uint64_t)(int64_t)(int32_t)values[i]);
            cases++;
        }
    machine_free(t);
}

/* The string instructions with and without REP, DF either way, the mode's address size
 * and the other one (67), a segment override (which moves the source, never ES:rDI),
 * every element size; expectations by replaying the iterations byte by byte here. */
static uint8_t pattern_at(uint64_t lin) { return (uint8_t)((lin * 0x9e3779b97f4a7c15ull) >> 56); }

static void test_strings(gconstpointer p)
{
    TestMachine *t = machine_new(GPOINTER_TO_INT(p));
    X86EmuCpu *c = &t->cpu;
    bool long64 = t->mode == MODE_LONG64;
    static const struct { const char *name; uint8_t op; bool src, dst, port; } ops[] = {
        { "movs", 0xa4, true, true, false }, { "stos", 0xaa, false, true, false },
        { "lods", 0xac, true, false, false }, { "ins", 0x6c, false, true, true },
        { "outs", 0x6e, true, false, true },
    };
    unsigned def_as = is16(t) ? 2 : long64 ? 8 : 4;
    unsigned alt_as = is16(t) ? 4 : long64 ? 4 : 2;
    for (size_t k = 0; k < G_N_ELEMENTS(ops); k++)
        for (unsigned esize = 1; esize <= 8; esize *= 2)
            for (int a67 = 0; a67 < 2; a67++)
                for (int rep = 0; rep < 3; rep++)       /* none, F3, F2 (a REP for these too) */
                    for (int df = 0; df < 2; df++)
                        for (int ovr = 0; ovr < 2; ovr++) {
                            if (esize == 8 && (!long64 || ops[k].port))
                                continue;
                            unsigned asz = a67 ? alt_as : def_as;
                            uint64_t am = m_of(asz);
                            uint8_t code[8];
                            unsigned len = 0;
                            if (ovr)
                                code[len++] = 0x36;          /* SS: */
                            if (a67)
                                code[len++] = 0x67;
                            if ((esize == 2 && !is16(t)) || (esize == 4 && is16(t)))
                                code[len++] = 0x66;
                            if (rep)
                                code[len++] = rep == 2 ? 0xf2 : 0xf3;
                            if (esize == 8)
                                code[len++] = 0x48;
                            code[len++] = (uint8_t)(ops[k].op + (esize > 1));
                            int src_seg = ovr ? X86_SS : X86_DS;
                            unsigned n = rep ? 3 : 1;
                            int64_t delta = df ? -(int64_t)esize : (int64_t)esize;
                            /* Garbage above the address size must be ignored (and kept
                             * for 16-bit addresses). */
                            uint64_t hi = 0xa5a5a5a500000000ull | (asz == 2 ? 0x5a0000 : 0);
                            if (!long64)
                                hi &= 0xffffffffull;
                            uint64_t si0 = 0x400, di0 = 0x800;
                            c->gpr[X86_RSI] = (hi & ~am) | si0;
                            c->gpr[X86_RDI] = (hi & ~am) | di0;
                            c->gpr[X86_RCX] = (hi & ~am) | (rep ? n : 77);
                            c->gpr[X86_RAX] = 0x1122334455667788ull;
                            c->gpr[X86_RDX] = 0x3f8;
                            c->rflags = 2 | (df ? X86_DF : 0);
                            uint64_t srcb = machine_linear(t, src_seg, 0), dstb = machine_linear(t, X86_ES, 0);
                            for (uint64_t o = 0x300; o < 0x900; o++) {
                                t->mem.ram[srcb + o] = pattern_at(srcb + o);
                                t->mem.ram[dstb + o] = pattern_at(dstb + o);
                            }
                            t->mem.nio = 0;
                            t->mem.in_value = 0xc0debead;
                            char what[96];
                            snprintf(what, sizeof(what), "%s%s%u a%u%s%s", rep == 2 ? "repne " : rep ? "rep " : "", ops[k].name, esize * 8,
                                     asz * 8, df ? " DF" : "", ovr ? " ss:" : "");
                            Enc e = { .len = len };
                            memcpy(e.code, code, len);
                            run_ok(t, &e, what);
                            /* Replay. */
                            uint64_t last = 0;
                            for (unsigned it = 0; it < n; it++) {
                                uint64_t so = (si0 + it * delta) & am, dof = (di0 + it * delta) & am, v = 0;
                                if (ops[k].src)
                                    for (unsigned b = 0; b < esize; b++)
                                        v |= (uint64_t)pattern_at(srcb + so + b) << (8 * b);
                                if (ops[k].op == 0xaa)
                                    v = c->gpr[X86_RAX] & m_of(esize);
                                if (ops[k].op == 0x6c)
                                    v = (t->mem.in_value + it) & m_of(esize);
                                if (ops[k].dst && peek(t, dstb + dof, esize) != v)
                                    g_error("%s: %s: iteration %u wrote 0x%llx at ES:0x%llx, expected 0x%llx",
                                            mode_names[t->mode], what, it, (unsigned long long)peek(t, dstb + dof, esize),
                                            (unsigned long long)dof, (unsigned long long)v);
                                if (ops[k].op == 0x6e)
                                    g_assert_true(t->mem.io[it].out && t->mem.io[it].port == 0x3f8 &&
                                                  t->mem.io[it].size == esize && t->mem.io[it].val == v);
                                last = v;
                            }
                            /* Nothing written beyond the elements. */
                            if (ops[k].dst) {
                                uint64_t lo = df ? di0 - (n - 1) * esize : di0, hi_ = df ? di0 + esize : di0 + n * esize;
                                g_assert_cmphex(t->mem.ram[dstb + lo - 1], ==, pattern_at(dstb + lo - 1));
                                g_assert_cmphex(t->mem.ram[dstb + hi_], ==, pattern_at(dstb + hi_));
                            }
                            if (ops[k].src && !ops[k].dst && ops[k].op == 0xac) {
                                uint64_t want = esize == 4 ? last : (0x1122334455667788ull & ~m_of(esize)) | last;
                                g_assert_cmphex(c->gpr[X86_RAX], ==, want);
                            }
                            g_assert_cmpuint(t->mem.nio, ==, ops[k].port ? n : 0);
                            uint64_t adv = (uint64_t)(n * delta);
                            uint64_t want_si = ops[k].src ? (si0 + adv) & am : si0;
                            uint64_t want_di = ops[k].dst ? (di0 + adv) & am : di0;
                            /* A 32-bit address-size update zero-extends; a 16-bit one keeps the rest. */
                            uint64_t keep = asz == 2 ? (hi & ~am) : asz == 4 ? 0 : 0;
                            if (asz == 4 && !ops[k].src)
                                want_si |= hi & ~am;   /* untouched */
                            else
                                want_si |= keep;
                            if (asz == 4 && !ops[k].dst)
                                want_di |= hi & ~am;
                            else
                                want_di |= keep;
                            g_assert_cmphex(c->gpr[X86_RSI], ==, want_si);
                            g_assert_cmphex(c->gpr[X86_RDI], ==, want_di);
                            g_assert_cmphex(c->gpr[X86_RCX], ==, rep ? keep : (hi & ~am) | 77);
                            g_assert_cmphex(c->rflags, ==, 2 | (df ? X86_DF : 0));
                            cases++;
                        }
    machine_free(t);
}

/* Every mnemonic the emulator executes has completed in this run's table cases, in every
 * mode where it exists (MOVSXD and the 64-bit string forms only in 64-bit mode). */
static void test_coverage(void)
{
    const char *names[128];
    size_t n = x86emu_mnemonics(names, G_N_ELEMENTS(names));
    g_assert_cmpuint(n, <=, G_N_ELEMENTS(names));
    g_assert_cmpuint(n, >=, 40);
    static const char *const only64[] = { "movsxd", "movsq", "stosq", "lodsq" };
    GString *missing = g_string_new(NULL);
    for (int m = 0; m < MODE_COUNT; m++)
        for (size_t i = 0; i < n; i++) {
            bool needed = true;
            for (size_t k = 0; k < G_N_ELEMENTS(only64); k++)
                if (m != MODE_LONG64 && !strcmp(names[i], only64[k]))
                    needed = false;
            if (needed && !(machine_covered[m] && g_hash_table_contains(machine_covered[m], names[i])))
                g_string_append_printf(missing, " %s/%s", mode_names[m], names[i]);
        }
    if (missing->len)
        g_error("supported but never executed by a table case:%s", missing->str);
    g_string_free(missing, TRUE);
}

/* --- literal cases ---------------------------------------------------------------- */

/* All 24 memory forms of 16-bit ModRM, default segments included (BP -> SS). */
static void test_addressing16(void)
{
    TestMachine *t = machine_new(MODE_REAL16);
    X86EmuCpu *c = &t->cpu;
    for (unsigned mod = 0; mod < 3; mod++)
        for (unsigned rm = 0; rm < 8; rm++) {
            c->gpr[X86_RBX] = 0x1000, c->gpr[X86_RSI] = 0x0200, c->gpr[X86_RDI] = 0x0300;
            c->gpr[X86_RBP] = 0xfff0;
            static const int base[8][2] = { { X86_RBX, X86_RSI }, { X86_RBX, X86_RDI }, { X86_RBP, X86_RSI },
                                            { X86_RBP, X86_RDI }, { X86_RSI, -1 }, { X86_RDI, -1 },
                                            { X86_RBP, -1 }, { X86_RBX, -1 } };
            uint8_t code[5] = { 0x8b, (uint8_t)(mod << 6 | rm) };   /* mov ax, [..] */
            unsigned len = 2;
            uint16_t off = 0, disp = 0;
            if (mod == 1) disp = (uint16_t)(int8_t)0xf0, code[len++] = 0xf0;
            if (mod == 2 || (mod == 0 && rm == 6)) disp = 0x0123, code[len++] = 0x23, code[len++] = 0x01;
            int seg = X86_DS;
            if (mod == 0 && rm == 6) {
                off = disp;
            } else {
                off = (uint16_t)(c->gpr[base[rm][0]] + (base[rm][1] >= 0 ? c->gpr[base[rm][1]] : 0) + disp);
                if (base[rm][0] == X86_RBP)
                    seg = X86_SS;
            }
            uint64_t lin = machine_linear(t, seg, off);
            poke(t, lin, 0xbeef ^ (mod * 8 + rm), 2);
            c->gpr[X86_RAX] = 0x12345678;
            c->rip = CODE_ADDR;
            g_assert_cmpint(machine_run(t, code, len), ==, X86EMU_DONE);
            if ((c->gpr[X86_RAX] & 0xffff) != (0xbeefu ^ (mod * 8 + rm)))
                g_error("16-bit mod %u rm %u: loaded 0x%llx from the wrong address (expected %s:0x%x)", mod, rm,
                        (unsigned long long)c->gpr[X86_RAX], seg == X86_SS ? "ss" : "ds", off);
            g_assert_cmphex(c->gpr[X86_RAX] >> 16, ==, 0x1234);    /* upper half kept */
            g_assert_cmphex(c->rip, ==, CODE_ADDR + len);
            poke(t, lin, 0, 2);
            cases++;
        }
    machine_free(t);
}

/* 32-bit ModRM and SIB: each base (EBP/ESP -> SS), each index with each scale, no base. */
static void test_addressing32(void)
{
    TestMachine *t = machine_new(MODE_PROT32);
    X86EmuCpu *c = &t->cpu;
    c->seg[X86_SS].base = 0x8000;
    for (unsigned mod = 0; mod < 3; mod++)
        for (unsigned rm = 0; rm < 8; rm++)
            for (unsigned sib = 0; sib < (rm == 4 ? 256u : 1u); sib += (rm == 4 ? 7 : 1)) {
                for (int r = 0; r < 8; r++)
                    c->gpr[r] = 0x10000 + r * 0x1000;
                uint8_t code[12] = { 0x8b, (uint8_t)(mod << 6 | rm) };
                unsigned len = 2;
                uint32_t disp = 0;
                int base = rm, index = -1;
                unsigned scale = 1;
                if (rm == 4) {
                    code[len++] = (uint8_t)sib;
                    base = sib & 7, scale = 1u << (sib >> 6);
                    if (((sib >> 3) & 7) != 4)
                        index = (sib >> 3) & 7;
                    if (base == 5 && mod == 0)
                        base = -1;
                } else if (rm == 5 && mod == 0) {
                    base = -1;
                }
                if (mod == 1) disp = (uint32_t)(int8_t)0x84, code[len++] = 0x84;
                if (mod == 2 || base < 0) {
                    disp = 0x00012345;
                    memcpy(code + len, &disp, 4);
                    len += 4;
                }
                if (index == 0 || base == 0)
                    continue;       /* EAX receives the load: keep it out of the address */
                uint32_t off = disp + (base >= 0 ? (uint32_t)c->gpr[base] : 0) +
                               (index >= 0 ? (uint32_t)c->gpr[index] * scale : 0);
                int seg = base == X86_RBP || base == X86_RSP ? X86_SS : X86_DS;
                uint64_t lin = machine_linear(t, seg, off);
                g_assert_cmpuint(lin + 4, <, RAM_BYTES);
                poke(t, lin, 0xfeed0000u | (mod << 11 | rm << 8 | sib), 4);
                c->rip = CODE_ADDR;
                g_assert_cmpint(machine_run(t, code, len), ==, X86EMU_DONE);
                if (c->gpr[X86_RAX] != (0xfeed0000u | (mod << 11 | rm << 8 | sib)))
                    g_error("32-bit mod %u rm %u sib 0x%02x: loaded 0x%llx (expected from %s:0x%x)", mod, rm, sib,
                            (unsigned long long)c->gpr[X86_RAX], seg == X86_SS ? "ss" : "ds", off);
                poke(t, lin, 0, 4);
                cases++;
            }
    machine_free(t);
}

/* 64-bit forms: RIP- and EIP-relative, REX.B/X/R registers (R12 needs a SIB, R13 a
 * displacement), 67 with garbage above 32 bits, moffs64, negative disp32, SIB without a
 * base. */
static void test_addressing64(void)
{
    TestMachine *t = machine_new(MODE_LONG64);
    X86EmuCpu *c = &t->cpu;
    static const struct {
        const char *what;
        uint8_t code[12];
        unsigned len;
        int dst;
    } forms[] = {
        { "mov eax, [rip+d32]", { 0x8b, 0x05, 0xfa, 0xdf, 0xff, 0xff }, 6, X86_RAX },     /* 0x5006 - 0x2006 */
        { "mov eax, [eip+d32]", { 0x67, 0x8b, 0x05, 0xf9, 0xdf, 0xff, 0xff }, 7, X86_RAX },
        { "mov eax, [r13+8]", { 0x41, 0x8b, 0x45, 0x08 }, 4, X86_RAX },
        { "mov eax, [rbx+r12*4]", { 0x42, 0x8b, 0x04, 0xa3 }, 4, X86_RAX },
        { "mov eax, [r12]", { 0x41, 0x8b, 0x04, 0x24 }, 4, X86_RAX },
        { "mov eax, [ebx] (67)", { 0x67, 0x8b, 0x03 }, 3, X86_RAX },
        { "mov rax, [moffs64]", { 0x48, 0xa1, 0x00, 0x30, 0, 0, 0, 0, 0, 0 }, 10, X86_RAX },
        { "mov r9d, [rsi]", { 0x44, 0x8b, 0x0e }, 3, X86_R9 },
        { "mov eax, [rdi-0x100]", { 0x8b, 0x87, 0x00, 0xff, 0xff, 0xff }, 6, X86_RAX },
        { "mov eax, [rcx*4+d32]", { 0x8b, 0x04, 0x8d, 0x00, 0x20, 0x00, 0x00 }, 7, X86_RAX },
    };
    poke(t, 0x3000, 0x0123456789abcdefull, 8);
    for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
        memset(c->gpr, 0x55, sizeof(c->gpr));
        c->gpr[X86_R13] = 0x3000 - 8;
        c->gpr[X86_RBX] = 0x1000, c->gpr[X86_R12] = 0x800;          /* 0x1000 + 0x2000 */
        if (i == 4)
            c->gpr[X86_R12] = 0x3000;
        if (i == 5)
            c->gpr[X86_RBX] = 0xffffffff00003000ull;                  /* 67: only EBX counts */
        c->gpr[X86_RSI] = 0x3000, c->gpr[X86_RDI] = 0x3100, c->gpr[X86_RCX] = 0x400;
        c->rip = CODE_ADDR;
        Enc e = { .len = forms[i].len };
        memcpy(e.code, forms[i].code, e.len);
        run_ok(t, &e, forms[i].what);
        uint64_t want = forms[i].code[0] == 0x48 ? 0x0123456789abcdefull : 0x89abcdefull;
        if (c->gpr[forms[i].dst] != want)
            g_error("long64: %s: loaded 0x%llx, expected 0x%llx", forms[i].what,
                    (unsigned long long)c->gpr[forms[i].dst], (unsigned long long)want);
        cases++;
    }
    machine_free(t);
}

static void test_port_io(gconstpointer p)
{
    TestMachine *t = machine_new(GPOINTER_TO_INT(p));
    X86EmuCpu *c = &t->cpu;
    bool s16 = is16(t);
    t->mem.in_value = 0x11223344;
    /* in al, 0x60 ; in ax/eax, dx ; out 0x80, al ; out dx, eax */
    uint8_t in8[] = { 0xe4, 0x60 };
    c->gpr[X86_RAX] = 0xffffffffffffffffull;
    g_assert_cmpint(machine_run(t, in8, 2), ==, X86EMU_DONE);
    g_assert_cmphex(c->gpr[X86_RAX], ==, 0xffffffffffffff44ull);
    g_assert_true(!t->mem.io[0].out && t->mem.io[0].port == 0x60 && t->mem.io[0].size == 1);
    uint8_t in32[] = { 0x66, 0xed };         /* the other size than the mode's default */
    c->gpr[X86_RDX] = 0x3f8;
    g_assert_cmpint(machine_run(t, in32, 2), ==, X86EMU_DONE);
    unsigned sz = s16 ? 4 : 2;
    g_assert_cmpuint(t->mem.io[1].size, ==, sz);
    g_assert_cmpuint(t->mem.io[1].port, ==, 0x3f8);
    g_assert_cmphex(c->gpr[X86_RAX] & m_of(sz), ==, (0x11223344u + 1) & m_of(sz));
    uint8_t out8[] = { 0xe6, 0x80 };
    c->gpr[X86_RAX] = 0xab;
    g_assert_cmpint(machine_run(t, out8, 2), ==, X86EMU_DONE);
    g_assert_true(t->mem.io[2].out && t->mem.io[2].port == 0x80 && t->mem.io[2].val == 0xab);
    uint8_t outd[] = { 0xef };
    c->gpr[X86_RAX] = 0x1234567887654321ull;
    g_assert_cmpint(machine_run(t, outd, 1), ==, X86EMU_DONE);
    unsigned dsz = s16 ? 2 : 4;
    g_assert_cmpuint(t->mem.io[3].size, ==, dsz);
    g_assert_cmphex(t->mem.io[3].val, ==, 0x87654321u & m_of(dsz));

    /* rep insb to ES:DI, rep outsw from DS:SI, forwards and backwards. */
    t->mem.nio = 0;
    c->gpr[X86_RDI] = 0x100, c->gpr[X86_RCX] = 5, c->gpr[X86_RDX] = 0x1f0;
    uint8_t insb[] = { 0xf3, 0x6c };
    g_assert_cmpint(machine_run(t, insb, 2), ==, X86EMU_DONE);
    g_assert_cmpuint(t->mem.nio, ==, 5);
    for (int i = 0; i < 5; i++)
        g_assert_cmphex(t->mem.ram[machine_linear(t, X86_ES, 0x100 + i)], ==, (0x44 + i) & 0xff);
    g_assert_cmphex(c->gpr[X86_RDI], ==, 0x105);
    g_assert_cmphex(c->gpr[X86_RCX], ==, 0);
    c->rflags |= X86_DF;
    c->gpr[X86_RSI] = 0x208, c->gpr[X86_RCX] = 3;
    for (int i = 0; i < 6; i++)
        t->mem.ram[machine_linear(t, X86_DS, 0x204 + i)] = (uint8_t)(0xa0 + i);
    uint8_t outsw[] = { 0xf3, 0x66, 0x6f };   /* 66: words in 32-bit code, dwords in 16-bit */
    if (s16)
        outsw[1] = 0x90, outsw[0] = 0xf3;     /* nop; then rep outsw at +1 */
    t->mem.nio = 0;
    if (s16) {
        uint8_t seq[] = { 0xf3, 0x6f };
        g_assert_cmpint(machine_run(t, seq, 2), ==, X86EMU_DONE);
    } else {
        g_assert_cmpint(machine_run(t, outsw, 3), ==, X86EMU_DONE);
    }
    g_assert_cmpuint(t->mem.nio, ==, 3);
    g_assert_true(t->mem.io[0].out && t->mem.io[0].size == 2 && t->mem.io[0].val == 0xa5a4);
    g_assert_cmphex(t->mem.io[1].val, ==, 0xa3a2);
    g_assert_cmphex(c->gpr[X86_RSI] & 0xffff, ==, 0x202);
    c->rflags &= ~(uint64_t)X86_DF;

    /* A port nothing answers: an error naming it, state unchanged. */
    X86EmuCpu before = *c;
    c->gpr[X86_RDX] = 0xdead;
    before.gpr[X86_RDX] = 0xdead;
    uint8_t ind[] = { 0xec };
    g_assert_cmpint(machine_run(t, ind, 1), ==, X86EMU_ERROR);
    g_assert_nonnull(strstr(t->res.message, "port 0xdead"));
    g_assert_true(memcmp(&before, c, sizeof(before)) == 0);
    cases += 8;
    machine_free(t);
}

/* A REP instruction longer than a chunk comes back with RIP on it and goes on. */
static void test_rep_chunks(void)
{
    TestMachine *t = machine_new(MODE_LONG64);
    X86EmuCpu *c = &t->cpu;
    uint8_t stosb[] = { 0xf3, 0xaa };
    c->gpr[X86_RDI] = 0x10000, c->gpr[X86_RCX] = X86EMU_REP_CHUNK + 100, c->gpr[X86_RAX] = 0x77;
    g_assert_cmpint(machine_run(t, stosb, 2), ==, X86EMU_DONE);
    g_assert_cmphex(c->rip, ==, CODE_ADDR);
    g_assert_cmpuint(c->gpr[X86_RCX], ==, 100);
    g_assert_cmphex(t->mem.ram[0x10000 + X86EMU_REP_CHUNK - 1], ==, 0x77);
    g_assert_cmphex(t->mem.ram[0x10000 + X86EMU_REP_CHUNK], ==, 0);
    g_assert_cmpint(machine_run(t, stosb, 2), ==, X86EMU_DONE);
    g_assert_cmphex(c->rip, ==, CODE_ADDR + 2);
    g_assert_cmpuint(c->gpr[X86_RCX], ==, 0);
    g_assert_cmphex(t->mem.ram[0x10000 + X86EMU_REP_CHUNK + 99], ==, 0x77);
    g_assert_cmphex(t->mem.ram[0x10000 + X86EMU_REP_CHUNK + 100], ==, 0);
    /* A count of zero does nothing but advance RIP. */
    c->gpr[X86_RDI] = 0x20000;
    g_assert_cmpint(machine_run(t, stosb, 2), ==, X86EMU_DONE);
    g_assert_cmphex(c->gpr[X86_RDI], ==, 0x20000);
    g_assert_cmphex(c->rip, ==, CODE_ADDR + 4);
    cases += 3;
    machine_free(t);
}

/* 4 KiB mappings for the fault tests in 64-bit mode: linear 0x400000 + i * 4096 -> PT
 * entry i, given by the test; the PD's entry 2 points at the PT. */
#define FT_LIN 0x400000ull
static void map4k(TestMachine *t, unsigned i, uint64_t pte)
{
    put64(t, PT_BASE + 0x2000 + 8 * 2, (PT_BASE + 0x3000) | 7);
    put64(t, PT_BASE + 0x3000 + 8 * i, pte);
}

static void expect_pf(TestMachine *t, const uint8_t *code, size_t len, uint64_t addr, uint32_t ec)
{
    X86EmuCpu before = t->cpu;
    X86EmuStatus s = machine_run(t, code, len);
    if (s != X86EMU_FAULT || t->res.vector != X86_EXC_PF || t->res.fault_addr != addr ||
        t->res.error_code != ec || !t->res.has_error_code)
        g_error("expected #PF(0x%x) at 0x%llx: status %d vector %u code 0x%x addr 0x%llx %s", ec,
                (unsigned long long)addr, s, t->res.vector, t->res.error_code,
                (unsigned long long)t->res.fault_addr, t->res.message);
    g_assert_true(memcmp(&before, &t->cpu, sizeof(before)) == 0);
    cases++;
}

static void test_page_faults(void)
{
    TestMachine *t = machine_new(MODE_LONG64);
    X86EmuCpu *c = &t->cpu;
    uint8_t load[] = { 0x8b, 0x03 };          /* mov eax, [rbx] */
    uint8_t store[] = { 0x89, 0x03 };         /* mov [rbx], eax */
    map4k(t, 0, 0);                           /* not present */
    map4k(t, 1, 0x100000 | 5);                /* user, read-only */
    map4k(t, 2, 0x101000 | 3);                /* supervisor, writable */
    map4k(t, 3, 0x102000 | 7 | (1ull << 51)); /* reserved physical-address bit?  (MAXPHYADDR 52: none) */
    map4k(t, 4, 0x103000 | 7);                /* fine */
    c->gpr[X86_RBX] = FT_LIN + 0x10;
    expect_pf(t, load, 2, FT_LIN + 0x10, 0);
    c->cpl = 3;
    expect_pf(t, load, 2, FT_LIN + 0x10, X86_PF_U);
    c->gpr[X86_RBX] = FT_LIN + 0x1008;
    g_assert_cmpint(machine_run(t, load, 2), ==, X86EMU_DONE);   /* user read of a user page */
    c->rip = CODE_ADDR;
    expect_pf(t, store, 2, FT_LIN + 0x1008, X86_PF_P | X86_PF_W | X86_PF_U);
    c->gpr[X86_RBX] = FT_LIN + 0x2ffc;
    expect_pf(t, load, 2, FT_LIN + 0x2ffc, X86_PF_P | X86_PF_U);
    c->cpl = 0;
    g_assert_cmpint(machine_run(t, store, 2), ==, X86EMU_DONE);  /* supervisor write */
    c->rip = CODE_ADDR;
    /* Supervisor write to a read-only page: allowed only without CR0.WP. */
    c->gpr[X86_RBX] = FT_LIN + 0x1000;
    expect_pf(t, store, 2, FT_LIN + 0x1000, X86_PF_P | X86_PF_W);
    c->cr0 &= ~X86_CR0_WP;
    g_assert_cmpint(machine_run(t, store, 2), ==, X86EMU_DONE);
    c->rip = CODE_ADDR;
    c->cr0 |= X86_CR0_WP;
    /* NX set while EFER.NXE is clear is a reserved bit. */
    map4k(t, 5, 0x104000 | 7 | (1ull << 63));
    c->gpr[X86_RBX] = FT_LIN + 0x5000;
    c->efer &= ~X86_EFER_NXE;
    expect_pf(t, load, 2, FT_LIN + 0x5000, X86_PF_P | X86_PF_RSVD);
    c->efer |= X86_EFER_NXE;
    g_assert_cmpint(machine_run(t, load, 2), ==, X86EMU_DONE);   /* NX only stops fetches */
    c->rip = CODE_ADDR;
    /* A write across a page boundary into a not-present page changes nothing. */
    c->gpr[X86_RBX] = FT_LIN + 0x4ffe;
    c->gpr[X86_RAX] = 0xaabbccdd;
    memset(t->mem.ram + 0x103ffe, 0x11, 2);
    map4k(t, 5, 0);
    expect_pf(t, store, 2, FT_LIN + 0x5000, X86_PF_W);
    g_assert_cmphex(t->mem.ram[0x103ffe], ==, 0x11);
    /* Accessed and dirty bits: set by a write through the walk. */
    uint64_t pte;
    c->gpr[X86_RBX] = FT_LIN + 0x4000;
    g_assert_cmpint(machine_run(t, store, 2), ==, X86EMU_DONE);
    c->rip = CODE_ADDR;
    memcpy(&pte, t->mem.ram + PT_BASE + 0x3000 + 8 * 4, 8);
    g_assert_cmphex(pte & 0x60, ==, 0x60);
    g_assert_cmphex(peek(t, 0x103000, 4), ==, 0xaabbccdd);
    /* An instruction running into a not-present page: #PF for the fetch (I/D set). */
    uint8_t far[] = { 0x8b, 0x83, 0x00, 0x01, 0x00, 0x00 };   /* mov eax, [rbx+0x100] */
    memcpy(t->mem.ram + 0x103ffd, far, 3);
    map4k(t, 5, 0);
    c->rip = FT_LIN + 0x4ffd;
    X86EmuStatus s = x86emu_step(c, &testmem_ops, &t->mem, &t->res);
    g_assert_cmpint(s, ==, X86EMU_FAULT);
    g_assert_cmpuint(t->res.vector, ==, X86_EXC_PF);
    g_assert_cmphex(t->res.fault_addr, ==, FT_LIN + 0x5000);
    g_assert_cmphex(t->res.error_code, ==, X86_PF_I);
    /* ... and when it ends before that page, it runs. */
    uint8_t near[] = { 0x8b, 0x03, 0x90 };
    memcpy(t->mem.ram + 0x103ffe, near, 2);
    c->rip = FT_LIN + 0x4ffe;
    g_assert_cmpint(x86emu_step(c, &testmem_ops, &t->mem, &t->res), ==, X86EMU_DONE);
    c->rip = CODE_ADDR;
    /* INS into a page it cannot write: #PF before the port is read (a read has side
     * effects); the iterations before it stay done. */
    uint8_t insb[] = { 0xf3, 0x6c };
    map4k(t, 5, 0);
    c->gpr[X86_RDI] = FT_LIN + 0x4ffe, c->gpr[X86_RCX] = 5, c->gpr[X86_RDX] = 0x60;
    t->mem.nio = 0;
    g_assert_cmpint(machine_run(t, insb, 2), ==, X86EMU_FAULT);
    g_assert_cmpuint(t->res.vector, ==, X86_EXC_PF);
    g_assert_cmphex(t->res.fault_addr, ==, FT_LIN + 0x5000);
    g_assert_cmpuint(t->mem.nio, ==, 2);                 /* two bytes went in, the third never read */
    g_assert_cmphex(c->gpr[X86_RCX], ==, 3);
    g_assert_cmphex(c->gpr[X86_RDI], ==, FT_LIN + 0x5000);
    g_assert_cmphex(c->rip, ==, CODE_ADDR);
    cases += 7;
    machine_free(t);
}

/* Permissions through every level of 4 KiB page tables, in 32-bit, PAE and 4-level
 * paging: random RW/US/NX bits per level, CPL, CR0.WP, EFER.NXE, CR4.SMEP/SMAP and
 * EFLAGS.AC, each access kind, against the rules of the SDM (4.6) restated here: the
 * error code, CR2, the accessed bits on every level and the dirty bit on the leaf only
 * after a write that succeeded.  Some go through x86emu_step too (the fault leaves the
 * state alone). */
static void test_page_permissions(gconstpointer p)
{
    TestMode mode = GPOINTER_TO_INT(p);
    TestMachine *t = machine_new(mode);
    X86EmuCpu *c = &t->cpu;
    g_autoptr(GRand) r = g_rand_new_with_seed(0x5eed + mode);
    bool pae = mode != MODE_PAGED32, lma = mode == MODE_LONG64;
    unsigned es = pae ? 8 : 4;
    const uint64_t T = PT_BASE + 0x10000, PHYS = 0x123000;
    uint64_t lin;
    /* entry addresses, top level first; PAE's PDPTE has no permission bits */
    uint64_t ent[4];
    int levels;
    if (mode == MODE_PAGED32) {
        lin = (3ull << 22) | (3ull << 12);
        ent[0] = PT_BASE + 4 * 3, ent[1] = T + 4 * 3, levels = 2;
    } else if (mode == MODE_PAE32) {
        lin = (1ull << 30) | (3ull << 21) | (3ull << 12);
        ent[0] = PT_BASE + 8 * 1, ent[1] = T + 8 * 3, ent[2] = T + 0x1000 + 8 * 3, levels = 3;
    } else {
        lin = (1ull << 39) | (1ull << 30) | (3ull << 21) | (3ull << 12);
        ent[0] = PT_BASE + 8 * 1, ent[1] = T + 8 * 1, ent[2] = T + 0x1000 + 8 * 3;
        ent[3] = T + 0x2000 + 8 * 3, levels = 4;
    }
    static const char *const kinds[] = { "read", "write", "fetch" };
    for (int trial = 0; trial < 6000; trial++) {
        bool user = g_rand_boolean(r), wp = g_rand_boolean(r), nxe = pae && g_rand_boolean(r);
        bool smep = g_rand_boolean(r), smap = g_rand_boolean(r), ac = g_rand_boolean(r);
        X86EmuAccess acc = g_rand_int_range(r, 0, 3);
        bool rw_all = true, us_all = true, nx_any = false, rsvd = false;
        for (int l = 0; l < levels; l++) {
            uint64_t next = l == levels - 1 ? PHYS : T + 0x1000 * (uint64_t)l;
            uint64_t e = next | 1;
            if (!(pae && !lma && l == 0)) {
                bool rw = g_rand_int_range(r, 0, 4) != 0, us = g_rand_int_range(r, 0, 4) != 0;
                bool nx = pae && g_rand_int_range(r, 0, 4) == 0;
                e |= (rw ? 2 : 0) | (us ? 4 : 0) | (nx ? 1ull << 63 : 0);
                rw_all &= rw, us_all &= us, nx_any |= nx;
            }
            if (es == 8)
                put64(t, ent[l], e);
            else
                put32(t, ent[l], (uint32_t)e);
        }
        if (pae && !nxe && nx_any)
            rsvd = true;                       /* NX with EFER.NXE clear is reserved */
        bool write = acc == X86EMU_WRITE, fetch = acc == X86EMU_FETCH;
        bool fault = rsvd || (user && !us_all) || (write && !rw_all && (user || wp)) ||
                     (fetch && nxe && nx_any) || (!user && us_all && fetch && smep) ||
                     (!user && us_all && !fetch && smap && !ac);
        uint32_t code = X86_PF_P | (write ? X86_PF_W : 0) | (user ? X86_PF_U : 0) |
                        (fetch && (nxe || smep) ? X86_PF_I : 0) | (rsvd ? X86_PF_RSVD : 0);
        c->cpl = user ? 3 : 0;
        c->cr0 = (c->cr0 & ~X86_CR0_WP) | (wp ? X86_CR0_WP : 0);
        c->efer = (c->efer & ~X86_EFER_NXE) | (nxe ? X86_EFER_NXE : 0);
        c->cr4 = (c->cr4 & ~(X86_CR4_SMEP | X86_CR4_SMAP)) | (smep ? X86_CR4_SMEP : 0) | (smap ? X86_CR4_SMAP : 0);
        c->rflags = 2 | (ac ? 1u << 18 : 0);
        uint64_t off = g_rand_int_range(r, 0, 4096 - 8), gpa = 0;
        X86EmuResult res;
        char what[160];
        snprintf(what, sizeof(what), "%s: %s %s, WP %d NXE %d SMEP %d SMAP %d AC %d; RW %d US %d NX %d",
                 mode_names[mode], user ? "user" : "supervisor", kinds[acc], wp, nxe, smep, smap, ac, rw_all,
                 us_all, nx_any);
        X86EmuStatus st = x86emu_translate(c, &testmem_ops, &t->mem, lin + off, acc, &gpa, &res);
        if (fault) {
            if (st != X86EMU_FAULT || res.vector != X86_EXC_PF || res.error_code != code ||
                res.fault_addr != lin + off)
                g_error("%s: status %d vector %u code 0x%x addr 0x%llx, expected #PF(0x%x) at 0x%llx", what, st,
                        res.vector, res.error_code, (unsigned long long)res.fault_addr, code,
                        (unsigned long long)(lin + off));
        } else if (st != X86EMU_DONE || gpa != PHYS + off) {
            g_error("%s: status %d (code 0x%x), gpa 0x%llx, expected 0x%llx", what, st, res.error_code,
                    (unsigned long long)gpa, (unsigned long long)(PHYS + off));
        }
        for (int l = 0; l < levels; l++) {
            uint64_t e = 0;
            memcpy(&e, t->mem.ram + ent[l], es);
            bool leaf = l == levels - 1, pdpte = pae && !lma && l == 0;
            if (!fault && !pdpte && !(e & 0x20))
                g_error("%s: level %d's accessed bit not set", what, l);
            if ((e & 0x40) && !(leaf && write && !fault))
                g_error("%s: level %d's dirty bit set", what, l);
            if (leaf && write && !fault && !(e & 0x40))
                g_error("%s: the leaf's dirty bit not set by the write", what);
        }
        /* The same access by an instruction: a fault leaves the state as it was. */
        if (acc != X86EMU_FETCH && (!smep || user) && !(smap && !user && !ac)) {
            uint8_t load[] = { 0x8b, 0x03 }, store[] = { 0x89, 0x03 };   /* mov eax,[ebx] / mov [ebx],eax */
            c->gpr[X86_RBX] = lin + off;
            c->gpr[X86_RAX] = 0x600dcafe;
            c->rip = CODE_ADDR;
            for (int l = 0; l < levels; l++)
                if (!(pae && !lma && l == 0)) {
                    uint64_t e = 0;
                    memcpy(&e, t->mem.ram + ent[l], es);
                    e &= ~0x60ull;
                    memcpy(t->mem.ram + ent[l], &e, es);
                }
            X86EmuCpu before = *c;
            X86EmuStatus s2 = machine_run(t, write ? store : load, 2);
            if (fault) {
                if (s2 != X86EMU_FAULT || t->res.vector != X86_EXC_PF || t->res.error_code != code ||
                    t->res.fault_addr != lin + off || memcmp(&before, c, sizeof(before)) != 0)
                    g_error("%s: by an instruction: status %d vector %u code 0x%x", what, s2, t->res.vector,
                            t->res.error_code);
            } else if (s2 != X86EMU_DONE || c->rip != CODE_ADDR + 2 ||
                       (write && peek(t, PHYS + off, 4) != 0x600dcafe)) {
                g_error("%s: by an instruction: status %d %s", what, s2, t->res.message);
            }
            cases++;
        }
        cases++;
    }
    machine_free(t);
}

/* The bytes the caller fetched itself (x86emu_step_bytes) run like fetched ones; too few
 * bytes are an error, not a guess. */
static void test_step_bytes(void)
{
    TestMachine *t = machine_new(MODE_LONG64);
    X86EmuCpu *c = &t->cpu;
    uint8_t add[] = { 0x48, 0x01, 0x03 };               /* add [rbx], rax */
    c->gpr[X86_RBX] = 0x3000, c->gpr[X86_RAX] = 5;
    poke(t, 0x3000, 37, 8);
    g_assert_cmpint(x86emu_step_bytes(c, &testmem_ops, &t->mem, add, 3, &t->res), ==, X86EMU_DONE);
    g_assert_cmphex(peek(t, 0x3000, 8), ==, 42);
    g_assert_cmphex(c->rip, ==, CODE_ADDR + 3);
    g_assert_cmpint(x86emu_step_bytes(c, &testmem_ops, &t->mem, add, 2, &t->res), ==, X86EMU_ERROR);
    g_assert_nonnull(strstr(t->res.message, "longer than the 2 bytes"));
    g_assert_cmphex(c->rip, ==, CODE_ADDR + 3);
    cases += 2;
    machine_free(t);
}

/* SIB base 101 with mod 00 is "no base, disp32" whatever REX.B says, with 32-bit
 * addressing too (Zydis 4.0 decodes 67+REX.B as R13D there: step.c corrects it). */
static void test_sib_no_base(void)
{
    TestMachine *t = machine_new(MODE_LONG64);
    X86EmuCpu *c = &t->cpu;
    static const uint8_t forms[][9] = {
        { 0x67, 0x41, 0x8b, 0x04, 0x25, 0x00, 0x30, 0x00, 0x00 },   /* mov eax, [0x3000] (67, REX.B) */
        { 0x41, 0x8b, 0x04, 0x25, 0x00, 0x30, 0x00, 0x00, 0x90 },   /* the same, 64-bit addressing */
        { 0x67, 0x8b, 0x04, 0x25, 0x00, 0x30, 0x00, 0x00, 0x90 },   /* 67 without REX */
    };
    static const unsigned lens[] = { 9, 8, 8 };
    poke(t, 0x3000, 0x600dcafe, 4);
    c->gpr[X86_R13] = 0x100;                 /* would shift the address if used */
    for (int i = 0; i < 3; i++) {
        c->rip = CODE_ADDR;
        c->gpr[X86_RAX] = 0;
        g_assert_cmpint(machine_run(t, forms[i], lens[i]), ==, X86EMU_DONE);
        g_assert_cmphex(c->gpr[X86_RAX], ==, 0x600dcafe);
        g_assert_cmphex(c->rip, ==, CODE_ADDR + lens[i]);
        cases++;
    }
    machine_free(t);
}

/* 32-bit paging with 4 KiB tables, and the PAE walk's PDPTE checks. */
static void test_legacy_walks(void)
{
    TestMachine *t = machine_new(MODE_PAGED32);
    X86EmuCpu *c = &t->cpu;
    put32(t, PT_BASE + 4 * 2, (PT_BASE + 0x1000) | 7);      /* 8..12 MiB: a page table */
    put32(t, PT_BASE + 0x1000 + 4 * 3, 0x123000 | 7);        /* 0x803000 -> 0x123000 */
    uint64_t gpa;
    X86EmuResult r;
    g_assert_cmpint(x86emu_translate(c, &testmem_ops, &t->mem, 0x803abc, X86EMU_READ, &gpa, &r), ==, X86EMU_DONE);
    g_assert_cmphex(gpa, ==, 0x123abc);
    g_assert_cmpint(x86emu_translate(c, &testmem_ops, &t->mem, 0x804abc, X86EMU_WRITE, &gpa, &r), ==, X86EMU_FAULT);
    g_assert_cmphex(r.error_code, ==, X86_PF_W);
    g_assert_cmpint(x86emu_translate(c, &testmem_ops, &t->mem, 0x400123, X86EMU_READ, &gpa, &r), ==, X86EMU_DONE);
    g_assert_cmphex(gpa, ==, 0x400123);                      /* the 4 MiB page */
    c->cr4 &= ~X86_CR4_PSE;                                  /* PS ignored: PDE 0 is then a table */
    put32(t, 0, 0x55000 | 7);
    g_assert_cmpint(x86emu_translate(c, &testmem_ops, &t->mem, 0x123, X86EMU_READ, &gpa, &r), ==, X86EMU_DONE);
    g_assert_cmphex(gpa, ==, 0x55123);
    machine_free(t);

    t = machine_new(MODE_PAE32);
    c = &t->cpu;
    g_assert_cmpint(x86emu_translate(c, &testmem_ops, &t->mem, 0x654321, X86EMU_READ, &gpa, &r), ==, X86EMU_DONE);
    g_assert_cmphex(gpa, ==, 0x654321);
    put64(t, PT_BASE, (PT_BASE + 0x1000) | 1 | 2);           /* RW in a PDPTE is reserved */
    g_assert_cmpint(x86emu_translate(c, &testmem_ops, &t->mem, 0x1000, X86EMU_READ, &gpa, &r), ==, X86EMU_FAULT);
    g_assert_cmphex(r.error_code, ==, X86_PF_P | X86_PF_RSVD);
    g_assert_cmpint(x86emu_translate(c, &testmem_ops, &t->mem, 0x40000000, X86EMU_READ, &gpa, &r), ==, X86EMU_FAULT);
    g_assert_cmphex(r.error_code, ==, 0);                    /* PDPTE 1 not present */
    machine_free(t);

    /* 4-level with a 1 GiB page; a misaligned one has reserved bits set. */
    t = machine_new(MODE_LONG64);
    c = &t->cpu;
    put64(t, PT_BASE + 0x1000 + 8 * 1, 0x40000000ull | 0x87);
    g_assert_cmpint(x86emu_translate(c, &testmem_ops, &t->mem, 0x40012345, X86EMU_READ, &gpa, &r), ==, X86EMU_DONE);
    g_assert_cmphex(gpa, ==, 0x40012345);
    put64(t, PT_BASE + 0x1000 + 8 * 1, 0x40200000ull | 0x87);
    g_assert_cmpint(x86emu_translate(c, &testmem_ops, &t->mem, 0x40012345, X86EMU_READ, &gpa, &r), ==, X86EMU_FAULT);
    g_assert_cmphex(r.error_code, ==, X86_PF_P | X86_PF_RSVD);
    /* A page table outside memory is an error for the caller, not a crash. */
    put64(t, PT_BASE + 8 * 5, 0x7000000000ull | 7);
    g_assert_cmpint(x86emu_translate(c, &testmem_ops, &t->mem, 5ull << 39, X86EMU_READ, &gpa, &r), ==, X86EMU_ERROR);
    g_assert_nonnull(strstr(r.message, "page-table entry"));
    cases += 12;
    machine_free(t);
}

static void test_faults_and_errors(void)
{
    TestMachine *t = machine_new(MODE_LONG64);
    X86EmuCpu *c = &t->cpu;
    uint8_t load[] = { 0x8b, 0x03 }, loadbp[] = { 0x8b, 0x45, 0x00 };
    c->gpr[X86_RBX] = 0x0000800000000000ull;                /* not canonical */
    g_assert_cmpint(machine_run(t, load, 2), ==, X86EMU_FAULT);
    g_assert_cmpuint(t->res.vector, ==, X86_EXC_GP);
    g_assert_true(t->res.has_error_code && t->res.error_code == 0);
    c->gpr[X86_RBP] = 0xffff7ffffffffffcull;
    g_assert_cmpint(machine_run(t, loadbp, 3), ==, X86EMU_FAULT);
    g_assert_cmpuint(t->res.vector, ==, X86_EXC_SS);         /* through SS */
    /* #UD: UD2, LOCK where it may not be, an invalid encoding. */
    uint8_t ud2[] = { 0x0f, 0x0b }, lockcmp[] = { 0xf0, 0x39, 0x03 }, lockreg[] = { 0xf0, 0x01, 0xc0 };
    c->gpr[X86_RBX] = 0x3000;
    const uint8_t *uds[] = { ud2, lockcmp, lockreg };
    size_t udl[] = { 2, 3, 3 };
    for (int i = 0; i < 3; i++) {
        g_assert_cmpint(machine_run(t, uds[i], udl[i]), ==, X86EMU_FAULT);
        g_assert_cmpuint(t->res.vector, ==, X86_EXC_UD);
        g_assert_cmphex(c->rip, ==, CODE_ADDR);
    }
    /* More than 15 bytes: #GP(0). */
    uint8_t longi[17];
    memset(longi, 0x66, 16);
    longi[16] = 0x90;
    g_assert_cmpint(machine_run(t, longi, 17), ==, X86EMU_FAULT);
    g_assert_cmpuint(t->res.vector, ==, X86_EXC_GP);
    /* Something it does not emulate: an error naming it, never a skip. */
    uint8_t cpuid[] = { 0x0f, 0xa2 }, movcr[] = { 0x0f, 0x22, 0xc0 }, lea[] = { 0x48, 0x8d, 0x03 };
    g_assert_cmpint(machine_run(t, cpuid, 2), ==, X86EMU_ERROR);
    g_assert_nonnull(strstr(t->res.message, "cpuid"));
    g_assert_nonnull(strstr(t->res.message, "0f a2"));
    g_assert_cmphex(c->rip, ==, CODE_ADDR);
    g_assert_cmpint(machine_run(t, movcr, 3), ==, X86EMU_ERROR);
    g_assert_nonnull(strstr(t->res.message, "mov"));
    g_assert_cmpint(machine_run(t, lea, 3), ==, X86EMU_ERROR);
    g_assert_nonnull(strstr(t->res.message, "lea"));
    /* An address with no memory and no device behind it. */
    put64(t, PT_BASE + 0x2000 + 8 * 3, 0x7fe00000ull | 0xe7);   /* 6..8 MiB -> beyond RAM */
    put64(t, PT_BASE + 0x1000 + 8 * 3, 0xc0000000ull | 0x87);   /* 3 GiB -> 3 GiB: nothing */
    c->gpr[X86_RBX] = 0xc0000000ull;
    g_assert_cmpint(machine_run(t, load, 2), ==, X86EMU_ERROR);
    g_assert_nonnull(strstr(t->res.message, "0xc0000000"));
    /* 5-level paging is not claimed: an error saying so, never a 4-level walk. */
    c->gpr[X86_RBX] = 0x3000;
    c->cr4 |= X86_CR4_LA57;
    X86EmuCpu before = *c;
    g_assert_cmpint(machine_run(t, load, 2), ==, X86EMU_ERROR);
    g_assert_nonnull(strstr(t->res.message, "5-level paging"));
    g_assert_true(memcmp(&before, c, sizeof(before)) == 0);
    c->cr4 &= ~X86_CR4_LA57;
    cases += 11;
    machine_free(t);
}

/* What the emulator does not execute, in every mode: an error naming the instruction and
 * its bytes, the state unchanged, no memory or port touched (never skipped, never half
 * done).  The memory forms point at the MMIO page. */
static void test_unsupported(gconstpointer p)
{
    TestMachine *t = machine_new(GPOINTER_TO_INT(p));
    X86EmuCpu *c = &t->cpu;
    static const struct { const char *name; uint8_t code[4]; unsigned len; } insns[] = {
        { "cmpsb", { 0xa6 }, 1 }, { "scasb", { 0xae }, 1 }, { "mul", { 0xf7, 0x27 }, 2 },
        { "div", { 0xf7, 0x37 }, 2 }, { "push", { 0xff, 0x37 }, 2 }, { "lea", { 0x8d, 0x07 }, 2 },
        { "movaps", { 0x0f, 0x28, 0x07 }, 3 }, { "fld", { 0xd9, 0x07 }, 2 }, { "cpuid", { 0x0f, 0xa2 }, 2 },
        { "hlt", { 0xf4 }, 1 }, { "rdmsr", { 0x0f, 0x32 }, 2 }, { "int3", { 0xcc }, 1 },
        { "cmpxchg8b", { 0x0f, 0xc7, 0x0f }, 3 }, { "mov", { 0x8e, 0x1f }, 2 },     /* mov ds, [m] */
        { "mov", { 0x0f, 0x22, 0xc0 }, 3 },                                            /* mov cr0, eax */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(insns); i++) {
        c->rip = CODE_ADDR;
        c->gpr[X86_RDI] = c->gpr[X86_RSI] = c->gpr[X86_RBX] =
            t->mode == MODE_LONG64 || t->mode == MODE_PROT32 ? TESTMEM_MMIO : 0x100;
        c->gpr[X86_RCX] = 4;
        t->mem.mmio_accesses = 0;
        t->mem.nio = 0;
        X86EmuCpu before = *c;
        X86EmuStatus st = machine_run(t, insns[i].code, insns[i].len);
        char bytes[16] = "";
        for (unsigned k = 0; k < insns[i].len; k++)
            snprintf(bytes + strlen(bytes), sizeof(bytes) - strlen(bytes), k ? " %02x" : "%02x", insns[i].code[k]);
        if (st != X86EMU_ERROR || !strstr(t->res.message, insns[i].name) || !strstr(t->res.message, bytes))
            g_error("%s: %s (%s): status %d, message \"%s\"", mode_names[t->mode], insns[i].name, bytes, st,
                    t->res.message);
        g_assert_true(memcmp(&before, c, sizeof(before)) == 0);
        g_assert_cmpuint(t->mem.mmio_accesses, ==, 0);
        g_assert_cmpuint(t->mem.nio, ==, 0);
        cases++;
    }
    machine_free(t);
}

/* MMIO: the access reaches the device page once, with its size; MOVS to/from it. */
static void test_mmio(void)
{
    TestMachine *t = machine_new(MODE_PROT32);
    X86EmuCpu *c = &t->cpu;
    c->seg[X86_DS].base = 0;
    uint8_t store[] = { 0x89, 0x03 }, load[] = { 0x66, 0x0f, 0xb7, 0x43, 0x02 };  /* movzx ax, word [ebx+2] */
    c->gpr[X86_RBX] = TESTMEM_MMIO + 0x300;
    c->gpr[X86_RAX] = 0xcafebabe;
    g_assert_cmpint(machine_run(t, store, 2), ==, X86EMU_DONE);
    g_assert_cmpuint(t->mem.mmio_accesses, ==, 1);
    g_assert_cmphex(peek(t, 0, 0) + *(uint32_t *)(t->mem.mmio + 0x300), ==, 0xcafebabe);
    c->rip = CODE_ADDR;
    g_assert_cmpint(machine_run(t, load, 5), ==, X86EMU_DONE);
    g_assert_cmphex(c->gpr[X86_RAX], ==, 0xcafecafe);
    c->rip = CODE_ADDR;
    /* rep movsd from MMIO into RAM */
    c->gpr[X86_RSI] = TESTMEM_MMIO + 0x300, c->gpr[X86_RDI] = 0x9000, c->gpr[X86_RCX] = 2;
    t->mem.mmio_accesses = 0;
    uint8_t movsd[] = { 0xf3, 0xa5 };
    g_assert_cmpint(machine_run(t, movsd, 2), ==, X86EMU_DONE);
    g_assert_cmpuint(t->mem.mmio_accesses, ==, 2);
    g_assert_cmphex(peek(t, 0x9000, 4), ==, 0xcafebabe);
    cases += 3;
    machine_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    static const struct { const char *name; GTestDataFunc fn; } fam[] = {
        { "alu", test_alu }, { "alu-forms", test_alu_forms }, { "unary", test_unary }, { "shift", test_shift },
        { "bits", test_bits }, { "bits-imm", test_bits_imm }, { "moves", test_moves },
        { "mov-xchg", test_mov_xchg }, { "strings", test_strings }, { "port-io", test_port_io },
        { "unsupported", test_unsupported },
    };
    for (size_t f = 0; f < G_N_ELEMENTS(fam); f++)
        for (int m = 0; m < MODE_COUNT; m++) {
            char *path = g_strdup_printf("/x86emu/table/%s/%s", fam[f].name, mode_names[m]);
            g_test_add_data_func(path, GINT_TO_POINTER(m), fam[f].fn);
            g_free(path);
        }
    g_test_add_func("/x86emu/table/addressing16", test_addressing16);
    g_test_add_func("/x86emu/table/addressing32", test_addressing32);
    g_test_add_func("/x86emu/table/addressing64", test_addressing64);
    g_test_add_func("/x86emu/table/rep-chunks", test_rep_chunks);
    g_test_add_func("/x86emu/table/page-faults", test_page_faults);
    static const TestMode paged[] = { MODE_PAGED32, MODE_PAE32, MODE_LONG64 };
    for (size_t i = 0; i < G_N_ELEMENTS(paged); i++) {
        char *path = g_strdup_printf("/x86emu/table/page-permissions/%s", mode_names[paged[i]]);
        g_test_add_data_func(path, GINT_TO_POINTER(paged[i]), test_page_permissions);
        g_free(path);
    }
    g_test_add_func("/x86emu/table/legacy-walks", test_legacy_walks);
    g_test_add_func("/x86emu/table/faults-and-errors", test_faults_and_errors);
    g_test_add_func("/x86emu/table/mmio", test_mmio);
    g_test_add_func("/x86emu/table/step-bytes", test_step_bytes);
    g_test_add_func("/x86emu/table/sib-no-base", test_sib_no_base);
    /* Last (a suite after "table": GLib runs a suite's own cases before its sub-suites):
     * it checks what the cases above executed. */
    g_test_add_func("/x86emu/coverage/table", test_coverage);
    int rc = g_test_run();
    printf("# %llu cases checked\n", cases);
    return rc;
}
