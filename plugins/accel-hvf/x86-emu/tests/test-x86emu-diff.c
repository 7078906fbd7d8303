/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Differential tests: every supported opcode, in every addressing form of 64-bit mode
 * (ModRM register and memory forms, SIB with and without base/index, R12/R13 bases,
 * RIP-relative, disp8/disp32, moffs), every operand size (8, 16 by 66, 32, 64 by REX.W),
 * 32-bit addressing by 67, segment, LOCK and REP prefixes, runs once on the host CPU on
 * ordinary memory in this process and once in the emulator, from the same registers,
 * flags and memory; the registers, the defined flags, RIP and memory must agree.
 *
 * The host runs the instruction at CODE_LIN on data at DATA_LIN (fixed mappings in this
 * process); the emulator runs it in 64-bit user mode with 4-level page tables mapping
 * the same linear addresses onto guest-physical RAM.  Port I/O cannot run on the host
 * (it is privileged): test-x86emu-table covers IN/OUT/INS/OUTS. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <glib.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testmem.h"

typedef struct HostRegs {
    uint64_t r[16];
    uint64_t rflags;
} HostRegs;
void host_exec(HostRegs *r);
void *host_code;

#define CODE_LIN 0x10000000ull
#define DATA_LIN 0x10001000ull
#define DATA_SIZE 8192u
#define PHYS_CODE 0x8000ull
#define PHYS_DATA 0x9000ull
#define RAM_SIZE 0x10000u

typedef enum {
    F_EV_GV,      /* op r/m, reg */
    F_GV_EV,      /* op reg, r/m */
    F_EV_DIGIT,   /* op r/m (, imm) with /digit */
    F_ACC_IMM,    /* op AL/eAX, imm */
    F_OPC_REG,    /* register in the opcode's low 3 bits (B0+r, B8+r, 90+r) */
    F_MOFFS,      /* A0-A3 */
    F_STRING,     /* MOVS STOS LODS */
} Form;

enum {
    K_LOCK = 1,         /* LOCK allowed with a memory destination */
    K_SHIFT = 2,        /* SHL SHR SAR: flags undefined by count */
    K_ROT = 4,          /* ROL ROR RCL RCR */
    K_BTREG = 8,        /* the reg operand is a bit offset into a bit string */
    K_CMPXCHG = 16,     /* make the comparison succeed half the time */
    K_CL = 32,          /* count in CL */
    K_ONE = 64,         /* count 1 */
    K_NOREGFORM = 128,  /* memory form only */
};

typedef struct Template {
    const char *name;
    uint8_t op[2];
    int oplen;
    Form form;
    int digit;
    int byte;           /* byte-sized operation */
    int imm;            /* 0, 1 (imm8), 'z' (16/32), 'v' (16/32/64) */
    uint32_t undef;     /* flags the SDM leaves undefined */
    int kind;
    int src_size;       /* MOVZX/MOVSX source size */
} Template;

static const Template templates[] = {
#define ALU(n, b, und)                                                                   \
    { n " Eb,Gb", { b + 0 }, 1, F_EV_GV, 0, 1, 0, und, (b == 0x38 ? 0 : K_LOCK), 0 },                         \
    { n " Ev,Gv", { b + 1 }, 1, F_EV_GV, 0, 0, 0, und, (b == 0x38 ? 0 : K_LOCK), 0 },                         \
    { n " Gb,Eb", { b + 2 }, 1, F_GV_EV, 0, 1, 0, und, 0, 0 },                              \
    { n " Gv,Ev", { b + 3 }, 1, F_GV_EV, 0, 0, 0, und, 0, 0 },                              \
    { n " AL,Ib", { b + 4 }, 1, F_ACC_IMM, 0, 1, 1, und, 0, 0 },                            \
    { n " eAX,Iz", { b + 5 }, 1, F_ACC_IMM, 0, 0, 'z', und, 0, 0 },                         \
    { n " Eb,Ib", { 0x80 }, 1, F_EV_DIGIT, b / 8, 1, 1, und, (b == 0x38 ? 0 : K_LOCK), 0 },                   \
    { n " Ev,Iz", { 0x81 }, 1, F_EV_DIGIT, b / 8, 0, 'z', und, (b == 0x38 ? 0 : K_LOCK), 0 },                 \
    { n " Ev,Ib", { 0x83 }, 1, F_EV_DIGIT, b / 8, 0, 1, und, (b == 0x38 ? 0 : K_LOCK), 0 }
    ALU("add", 0x00, 0), ALU("or", 0x08, X86_AF), ALU("adc", 0x10, 0), ALU("sbb", 0x18, 0),
    ALU("and", 0x20, X86_AF), ALU("sub", 0x28, 0), ALU("xor", 0x30, X86_AF), ALU("cmp", 0x38, 0),
    { "test Eb,Gb", { 0x84 }, 1, F_EV_GV, 0, 1, 0, X86_AF, 0, 0 },
    { "test Ev,Gv", { 0x85 }, 1, F_EV_GV, 0, 0, 0, X86_AF, 0, 0 },
    { "test AL,Ib", { 0xa8 }, 1, F_ACC_IMM, 0, 1, 1, X86_AF, 0, 0 },
    { "test eAX,Iz", { 0xa9 }, 1, F_ACC_IMM, 0, 0, 'z', X86_AF, 0, 0 },
    { "test Eb,Ib", { 0xf6 }, 1, F_EV_DIGIT, 0, 1, 1, X86_AF, 0, 0 },
    { "test Ev,Iz", { 0xf7 }, 1, F_EV_DIGIT, 0, 0, 'z', X86_AF, 0, 0 },
    { "not Eb", { 0xf6 }, 1, F_EV_DIGIT, 2, 1, 0, 0, K_LOCK, 0 },
    { "not Ev", { 0xf7 }, 1, F_EV_DIGIT, 2, 0, 0, 0, K_LOCK, 0 },
    { "neg Eb", { 0xf6 }, 1, F_EV_DIGIT, 3, 1, 0, 0, K_LOCK, 0 },
    { "neg Ev", { 0xf7 }, 1, F_EV_DIGIT, 3, 0, 0, 0, K_LOCK, 0 },
    { "inc Eb", { 0xfe }, 1, F_EV_DIGIT, 0, 1, 0, 0, K_LOCK, 0 },
    { "dec Eb", { 0xfe }, 1, F_EV_DIGIT, 1, 1, 0, 0, K_LOCK, 0 },
    { "inc Ev", { 0xff }, 1, F_EV_DIGIT, 0, 0, 0, 0, K_LOCK, 0 },
    { "dec Ev", { 0xff }, 1, F_EV_DIGIT, 1, 0, 0, 0, K_LOCK, 0 },
#define SHIFTS(n, d, k)                                                                  \
    { n " Eb,Ib", { 0xc0 }, 1, F_EV_DIGIT, d, 1, 1, 0, k, 0 },                             \
    { n " Ev,Ib", { 0xc1 }, 1, F_EV_DIGIT, d, 0, 1, 0, k, 0 },                             \
    { n " Eb,1", { 0xd0 }, 1, F_EV_DIGIT, d, 1, 0, 0, k | K_ONE, 0 },                      \
    { n " Ev,1", { 0xd1 }, 1, F_EV_DIGIT, d, 0, 0, 0, k | K_ONE, 0 },                      \
    { n " Eb,CL", { 0xd2 }, 1, F_EV_DIGIT, d, 1, 0, 0, k | K_CL, 0 },                      \
    { n " Ev,CL", { 0xd3 }, 1, F_EV_DIGIT, d, 0, 0, 0, k | K_CL, 0 }
    SHIFTS("rol", 0, K_ROT), SHIFTS("ror", 1, K_ROT), SHIFTS("rcl", 2, K_ROT),
    SHIFTS("rcr", 3, K_ROT), SHIFTS("shl", 4, K_SHIFT), SHIFTS("shr", 5, K_SHIFT),
    SHIFTS("sal", 6, K_SHIFT), SHIFTS("sar", 7, K_SHIFT),
#define BTF (X86_OF | X86_SF | X86_AF | X86_PF)
    { "bt Ev,Gv", { 0x0f, 0xa3 }, 2, F_EV_GV, 0, 0, 0, BTF, K_BTREG, 0 },
    { "bts Ev,Gv", { 0x0f, 0xab }, 2, F_EV_GV, 0, 0, 0, BTF, K_BTREG | K_LOCK, 0 },
    { "btr Ev,Gv", { 0x0f, 0xb3 }, 2, F_EV_GV, 0, 0, 0, BTF, K_BTREG | K_LOCK, 0 },
    { "btc Ev,Gv", { 0x0f, 0xbb }, 2, F_EV_GV, 0, 0, 0, BTF, K_BTREG | K_LOCK, 0 },
    { "bt Ev,Ib", { 0x0f, 0xba }, 2, F_EV_DIGIT, 4, 0, 1, BTF, 0, 0 },
    { "bts Ev,Ib", { 0x0f, 0xba }, 2, F_EV_DIGIT, 5, 0, 1, BTF, K_LOCK, 0 },
    { "btr Ev,Ib", { 0x0f, 0xba }, 2, F_EV_DIGIT, 6, 0, 1, BTF, K_LOCK, 0 },
    { "btc Ev,Ib", { 0x0f, 0xba }, 2, F_EV_DIGIT, 7, 0, 1, BTF, K_LOCK, 0 },
    { "mov Eb,Gb", { 0x88 }, 1, F_EV_GV, 0, 1, 0, 0, 0, 0 },
    { "mov Ev,Gv", { 0x89 }, 1, F_EV_GV, 0, 0, 0, 0, 0, 0 },
    { "mov Gb,Eb", { 0x8a }, 1, F_GV_EV, 0, 1, 0, 0, 0, 0 },
    { "mov Gv,Ev", { 0x8b }, 1, F_GV_EV, 0, 0, 0, 0, 0, 0 },
    { "mov Eb,Ib", { 0xc6 }, 1, F_EV_DIGIT, 0, 1, 1, 0, 0, 0 },
    { "mov Ev,Iz", { 0xc7 }, 1, F_EV_DIGIT, 0, 0, 'z', 0, 0, 0 },
    { "mov AL,Ob", { 0xa0 }, 1, F_MOFFS, 0, 1, 0, 0, 0, 0 },
    { "mov eAX,Ov", { 0xa1 }, 1, F_MOFFS, 0, 0, 0, 0, 0, 0 },
    { "mov Ob,AL", { 0xa2 }, 1, F_MOFFS, 0, 1, 0, 0, 0, 0 },
    { "mov Ov,eAX", { 0xa3 }, 1, F_MOFFS, 0, 0, 0, 0, 0, 0 },
    { "mov Zb,Ib", { 0xb0 }, 1, F_OPC_REG, 0, 1, 1, 0, 0, 0 },
    { "mov Zv,Iv", { 0xb8 }, 1, F_OPC_REG, 0, 0, 'v', 0, 0, 0 },
    { "movzx Gv,Eb", { 0x0f, 0xb6 }, 2, F_GV_EV, 0, 0, 0, 0, 0, 1 },
    { "movzx Gv,Ew", { 0x0f, 0xb7 }, 2, F_GV_EV, 0, 0, 0, 0, 0, 2 },
    { "movsx Gv,Eb", { 0x0f, 0xbe }, 2, F_GV_EV, 0, 0, 0, 0, 0, 1 },
    { "movsx Gv,Ew", { 0x0f, 0xbf }, 2, F_GV_EV, 0, 0, 0, 0, 0, 2 },
    { "movsxd Gv,Ed", { 0x63 }, 1, F_GV_EV, 0, 0, 0, 0, 0, 4 },
    { "xchg Eb,Gb", { 0x86 }, 1, F_EV_GV, 0, 1, 0, 0, K_LOCK, 0 },
    { "xchg Ev,Gv", { 0x87 }, 1, F_EV_GV, 0, 0, 0, 0, K_LOCK, 0 },
    { "xchg Zv,eAX", { 0x90 }, 1, F_OPC_REG, 0, 0, 0, 0, 0, 0 },
    { "xadd Eb,Gb", { 0x0f, 0xc0 }, 2, F_EV_GV, 0, 1, 0, 0, K_LOCK, 0 },
    { "xadd Ev,Gv", { 0x0f, 0xc1 }, 2, F_EV_GV, 0, 0, 0, 0, K_LOCK, 0 },
    { "cmpxchg Eb,Gb", { 0x0f, 0xb0 }, 2, F_EV_GV, 0, 1, 0, 0, K_LOCK | K_CMPXCHG, 0 },
    { "cmpxchg Ev,Gv", { 0x0f, 0xb1 }, 2, F_EV_GV, 0, 0, 0, 0, K_LOCK | K_CMPXCHG, 0 },
    { "movsb", { 0xa4 }, 1, F_STRING, 0, 1, 0, 0, 0, 0 },
    { "movs", { 0xa5 }, 1, F_STRING, 0, 0, 0, 0, 0, 0 },
    { "stosb", { 0xaa }, 1, F_STRING, 0, 1, 0, 0, 0, 0 },
    { "stos", { 0xab }, 1, F_STRING, 0, 0, 0, 0, 0, 0 },
    { "lodsb", { 0xac }, 1, F_STRING, 0, 1, 0, 0, 0, 0 },
    { "lods", { 0xad }, 1, F_STRING, 0, 0, 0, 0, 0, 0 },
};

#define CASES_PER_TEMPLATE 400

static uint8_t *host_page;        /* CODE_LIN: code page, then the data pages */
static uint64_t host_gs_base;
static sigjmp_buf on_fault;
static volatile sig_atomic_t fault_signal;

static void host_fault(int sig)
{
    fault_signal = sig;
    siglongjmp(on_fault, 1);
}

typedef struct Case {
    uint8_t code[32];
    unsigned len;
    HostRegs in;
    uint8_t data[DATA_SIZE];
    char what[256];
    uint32_t undef;
    unsigned osize;
} Case;

static uint64_t rnd64(GRand *r)
{
    return ((uint64_t)g_rand_int(r) << 32) | g_rand_int(r);
}

static void emit(Case *c, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        c->code[c->len++] = (uint8_t)(v >> (8 * i));
}

/* A register the host harness can load: anything but RSP (and SPL). */
static bool usable(int reg, bool byte, bool rex)
{
    return !(reg == 4 && !(byte && !rex));
}

/* Builds one random instance of t; false when the random choices did not fit (retry). */
static bool build_case(const Template *t, GRand *r, Case *c)
{
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < 16; i++)
        c->in.r[i] = rnd64(r);
    for (unsigned i = 0; i < DATA_SIZE; i++)
        c->data[i] = (uint8_t)g_rand_int(r);
    c->in.rflags = 0x202 | (g_rand_int(r) & X86_STATUS_FLAGS);

    bool memform = t->form == F_EV_GV || t->form == F_GV_EV || t->form == F_EV_DIGIT;
    bool is_mem = memform && (g_rand_int_range(r, 0, 4) != 0 || (t->kind & K_NOREGFORM));
    bool lock = (t->kind & K_LOCK) && is_mem && g_rand_int_range(r, 0, 3) == 0;
    int seg = g_rand_int_range(r, 0, 6);    /* 0..3: ES CS SS DS; 4: GS when its base is 0 */
    bool segp = (is_mem || t->form == F_MOFFS || t->form == F_STRING) && seg < 5 &&
                (seg < 4 || host_gs_base == 0);
    static const uint8_t segbyte[] = { 0x26, 0x2e, 0x36, 0x3e, 0x65 };
    bool p66 = g_rand_int_range(r, 0, 3) == 0;
    bool p67 = (is_mem || t->form == F_MOFFS || t->form == F_STRING) && g_rand_int_range(r, 0, 4) == 0;
    bool rep = t->form == F_STRING && g_rand_int_range(r, 0, 2) == 0;
    bool rex = g_rand_int_range(r, 0, 2) == 0;
    unsigned rexw = rex && g_rand_int_range(r, 0, 2), rexr = rex && g_rand_int_range(r, 0, 2);
    unsigned rexx = rex && g_rand_int_range(r, 0, 2), rexb = rex && g_rand_int_range(r, 0, 2);
    if (t->src_size == 4 && g_rand_int_range(r, 0, 4))
        rex = true, rexw = 1;                  /* MOVSXD is meant with REX.W */
    unsigned osize = t->byte ? 1 : rexw ? 8 : p66 ? 2 : 4;
    c->osize = osize;
    unsigned asize = p67 ? 4 : 8;
    uint64_t amask = asize == 4 ? 0xffffffffull : ~0ull;

    /* Prefixes, in a random order as the processor accepts them. */
    uint8_t pre[5];
    unsigned np = 0;
    if (lock) pre[np++] = 0xf0;
    if (segp) pre[np++] = segbyte[seg];
    if (p66) pre[np++] = 0x66;
    if (p67) pre[np++] = 0x67;
    if (rep) pre[np++] = 0xf3;
    for (unsigned i = np; i > 1; i--) {
        unsigned j = g_rand_int_range(r, 0, i);
        uint8_t x = pre[i - 1]; pre[i - 1] = pre[j]; pre[j] = x;
    }
    for (unsigned i = 0; i < np; i++)
        c->code[c->len++] = pre[i];
    if (rex)
        c->code[c->len++] = 0x40 | rexw << 3 | rexr << 2 | rexx << 1 | rexb;

    int opreg = -1;           /* a register named by the opcode or ModRM.reg */
    unsigned opc_low = 0;
    if (t->form == F_OPC_REG) {
        opc_low = g_rand_int_range(r, 0, 8);
        opreg = opc_low | rexb << 3;
        if (!usable(opreg, t->byte, rex))
            return false;
        if (t->op[0] == 0x90 && opreg == 0)
            return false;                       /* 90 is NOP */
    }
    for (int i = 0; i < t->oplen; i++)
        c->code[c->len++] = t->op[i] + (i == t->oplen - 1 ? opc_low : 0);

    uint64_t target = DATA_LIN + 64 + g_rand_int_range(r, 0, DATA_SIZE - 128);
    int base = -1, index = -1;
    unsigned scale = 1;
    bool riprel = false;
    unsigned disp_at = 0, disp_size = 0;
    int64_t disp = 0;
    int rmreg = -1;
    if (memform) {
        unsigned regf = t->form == F_EV_DIGIT ? (unsigned)t->digit : (unsigned)g_rand_int_range(r, 0, 8);
        if (t->form != F_EV_DIGIT) {
            opreg = regf | rexr << 3;
            if (!usable(opreg, t->byte, rex))
                return false;
        }
        if (!is_mem) {
            unsigned rm = g_rand_int_range(r, 0, 8);
            rmreg = rm | rexb << 3;
            bool rm_byte = t->byte || t->src_size == 1;
            if (!usable(rmreg, rm_byte, rex))
                return false;
            c->code[c->len++] = 0xc0 | regf << 3 | rm;
        } else {
            unsigned mod = g_rand_int_range(r, 0, 3), rm = g_rand_int_range(r, 0, 8);
            c->code[c->len++] = mod << 6 | regf << 3 | rm;
            if (rm == 4) {
                unsigned ss = g_rand_int_range(r, 0, 4), idx = g_rand_int_range(r, 0, 8);
                unsigned b = g_rand_int_range(r, 0, 8);
                c->code[c->len++] = ss << 6 | idx << 3 | b;
                scale = 1u << ss;
                if (idx != 4 || rexx)
                    index = idx | rexx << 3;
                if (b == 5 && mod == 0)
                    disp_size = 4;               /* no base, disp32 */
                else
                    base = b | rexb << 3;
            } else if (rm == 5 && mod == 0) {
                riprel = true;
                disp_size = 4;
            } else {
                base = rm | rexb << 3;
            }
            if (mod == 1) disp_size = 1;
            if (mod == 2) disp_size = 4;
            if (base == 4)
                return false;                    /* RSP: the harness cannot set it */
            if (base >= 0 && base == index)
                return false;
            if (opreg >= 0 && (opreg == base || opreg == index) && (t->kind & K_BTREG))
                return false;
            disp_at = c->len;
            c->len += disp_size;
        }
    }
    if (t->form == F_MOFFS) {
        disp_at = c->len;
        disp_size = asize;
        c->len += disp_size;
    }
    unsigned imm_size = t->imm == 1 ? 1 : t->imm == 'z' ? (osize == 2 ? 2 : 4)
                      : t->imm == 'v' ? osize : 0;
    if (t->imm)
        emit(c, rnd64(r), imm_size);

    /* Constrained register values, then the address registers. */
    if (t->kind & K_BTREG)
        c->in.r[opreg] = (uint64_t)(int64_t)g_rand_int_range(r, -256, 256);
    if (t->form == F_STRING) {
        unsigned n = rep ? g_rand_int_range(r, 0, 17) : 1;
        bool df = g_rand_int_range(r, 0, 2);
        if (df)
            c->in.rflags |= X86_DF;
        uint64_t si = DATA_LIN + 256 + g_rand_int_range(r, 0, DATA_SIZE - 512);
        uint64_t di = DATA_LIN + 256 + g_rand_int_range(r, 0, DATA_SIZE - 512);
        if (asize == 4) {
            c->in.r[X86_RSI] = (c->in.r[X86_RSI] & ~0xffffffffull) | si;
            c->in.r[X86_RDI] = (c->in.r[X86_RDI] & ~0xffffffffull) | di;
            c->in.r[X86_RCX] = (c->in.r[X86_RCX] & ~0xffffffffull) | n;
        } else {
            c->in.r[X86_RSI] = si, c->in.r[X86_RDI] = di;
            c->in.r[X86_RCX] = rep ? n : c->in.r[X86_RCX];
        }
    }
    if (is_mem || t->form == F_MOFFS) {
        uint64_t ival = 0;
        if (index >= 0) {
            ival = g_rand_int_range(r, 0, 16);
            c->in.r[index] = asize == 4 ? (c->in.r[index] & ~0xffffffffull) | ival : ival;
        }
        if (t->form == F_MOFFS) {
            for (unsigned i = 0; i < disp_size; i++)
                c->code[disp_at + i] = (uint8_t)(target >> (8 * i));
        } else {
            if (riprel || base < 0) {
                disp = riprel ? (int64_t)(target - (CODE_LIN + c->len)) : (int64_t)(target - ival * scale);
            } else {
                disp = disp_size == 1 ? (int8_t)g_rand_int(r) : disp_size == 4 ? g_rand_int_range(r, -100000, 100000) : 0;
                uint64_t bval = (target - (uint64_t)disp - ival * scale) & amask;
                c->in.r[base] = asize == 4 ? (c->in.r[base] & ~0xffffffffull) | bval : bval;
            }
            for (unsigned i = 0; i < disp_size; i++)
                c->code[disp_at + i] = (uint8_t)((uint64_t)disp >> (8 * i));
            if (riprel && asize == 4 && ((CODE_LIN + c->len + disp) & 0xffffffffull) != target)
                return false;
        }
    }
    if ((t->kind & K_CMPXCHG) && g_rand_int_range(r, 0, 2) && base != 0 && index != 0) {
        uint64_t cur;
        if (is_mem)
            memcpy(&cur, c->data + (target - DATA_LIN), 8);
        else
            cur = rmreg >= 4 && rmreg < 8 && t->byte && !rex ? c->in.r[rmreg - 4] >> 8 : c->in.r[rmreg];
        uint64_t m = osize == 8 ? ~0ull : (1ull << (osize * 8)) - 1;
        c->in.r[X86_RAX] = (c->in.r[X86_RAX] & ~m) | (cur & m);
    }

    /* Flags the SDM leaves undefined for this instance. */
    c->undef = t->undef;
    if (t->kind & (K_SHIFT | K_ROT)) {
        uint64_t count = (t->kind & K_ONE) ? 1 : (t->kind & K_CL) ? c->in.r[X86_RCX] : c->code[c->len - 1];
        count &= osize == 8 ? 0x3f : 0x1f;
        if (count != 0) {
            if (count != 1)
                c->undef |= X86_OF;
            if (t->kind & K_SHIFT) {
                c->undef |= X86_AF;
                if (count >= osize * 8)
                    c->undef |= X86_CF | X86_OF;
            }
        }
    }
    snprintf(c->what, sizeof(c->what), "%s (osize %u, asize %u%s%s%s)", t->name, osize, asize,
             is_mem ? ", memory" : memform ? ", register" : "", lock ? ", lock" : "", rep ? ", rep" : "");
    return true;
}

static void run_host(const Case *c, HostRegs *out, uint8_t *data_out)
{
    memcpy(host_page, c->code, c->len);
    host_page[c->len] = 0xc3;                   /* ret */
    memcpy(host_page + 4096, c->data, DATA_SIZE);
    *out = c->in;
    fault_signal = 0;
    if (sigsetjmp(on_fault, 1) == 0)
        host_exec(out);
    else
        g_error("host faulted (signal %d) on %s: the generator made a bad case", fault_signal, c->what);
    memcpy(data_out, host_page + 4096, DATA_SIZE);
}

static void setup_tables(TestMem *m)
{
    uint64_t *pml4 = (uint64_t *)(m->ram + 0x1000), *pdpt = (uint64_t *)(m->ram + 0x2000);
    uint64_t *pd = (uint64_t *)(m->ram + 0x3000), *pt = (uint64_t *)(m->ram + 0x4000);
    memset(m->ram, 0, 0x5000);
    pml4[0] = 0x2000 | 7;
    pdpt[0] = 0x3000 | 7;
    pd[(CODE_LIN >> 21) & 511] = 0x4000 | 7;
    for (unsigned i = 0; i < 3; i++)
        pt[((CODE_LIN >> 12) & 511) + i] = (PHYS_CODE + 4096 * i) | 7;
}

static void run_emu(const Case *c, TestMem *m, X86EmuCpu *cpu, X86EmuResult *res)
{
    setup_tables(m);
    memcpy(m->ram + PHYS_CODE, c->code, c->len);
    memcpy(m->ram + PHYS_DATA, c->data, DATA_SIZE);
    memset(cpu, 0, sizeof(*cpu));
    memcpy(cpu->gpr, c->in.r, sizeof(cpu->gpr));
    cpu->gpr[X86_RSP] = 0x7ffff000;
    cpu->rip = CODE_LIN;
    cpu->rflags = c->in.rflags;
    for (int s = 0; s < 6; s++)
        cpu->seg[s] = (X86EmuSegment){ 0, 0xffffffff, 0x2b, true, false };
    cpu->seg[X86_CS] = (X86EmuSegment){ 0, 0xffffffff, 0x33, false, true };
    cpu->seg[X86_GS].base = host_gs_base;
    cpu->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP;
    cpu->cr3 = 0x1000;
    cpu->cr4 = X86_CR4_PAE;
    cpu->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
    cpu->cpl = 3;
    x86emu_step(cpu, &testmem_ops, m, res);
}

static const char *regname[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                   "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };

static void check_case(const Case *c, TestMem *m)
{
    static HostRegs hout;
    static uint8_t hdata[DATA_SIZE];
    X86EmuCpu cpu;
    X86EmuResult res;
    run_host(c, &hout, hdata);
    run_emu(c, m, &cpu, &res);
    GString *bytes = g_string_new(NULL);
    for (unsigned i = 0; i < c->len; i++)
        g_string_append_printf(bytes, "%02x ", c->code[i]);
    if (res.status != X86EMU_DONE)
        g_error("%s [%s]: emulator status %d vector %u: %s", c->what, bytes->str, res.status,
                res.vector, res.message);
    for (int i = 0; i < 16; i++) {
        if (i == X86_RSP)
            continue;
        if (cpu.gpr[i] != hout.r[i])
            g_error("%s [%s]: %s is 0x%016llx, the host has 0x%016llx (was 0x%016llx)", c->what,
                    bytes->str, regname[i], (unsigned long long)cpu.gpr[i],
                    (unsigned long long)hout.r[i], (unsigned long long)c->in.r[i]);
    }
    uint64_t fm = (X86_STATUS_FLAGS | X86_DF) & ~(uint64_t)c->undef;
    if ((cpu.rflags & fm) != (hout.rflags & fm))
        g_error("%s [%s]: flags 0x%03llx, the host has 0x%03llx (in 0x%03llx, compared 0x%03llx)",
                c->what, bytes->str, (unsigned long long)(cpu.rflags & fm),
                (unsigned long long)(hout.rflags & fm), (unsigned long long)c->in.rflags,
                (unsigned long long)fm);
    if (cpu.rip != CODE_LIN + c->len)
        g_error("%s [%s]: RIP advanced by %lld, the instruction is %u bytes", c->what, bytes->str,
                (long long)(cpu.rip - CODE_LIN), c->len);
    for (unsigned i = 0; i < DATA_SIZE; i++)
        if (m->ram[PHYS_DATA + i] != hdata[i])
            g_error("%s [%s]: memory at +0x%x is 0x%02x, the host has 0x%02x (was 0x%02x)", c->what,
                    bytes->str, i, m->ram[PHYS_DATA + i], hdata[i], c->data[i]);
    g_string_free(bytes, TRUE);
}

static void test_template(gconstpointer p)
{
    const Template *t = p;
    g_autoptr(GRand) r = g_rand_new_with_seed(g_str_hash(t->name) ^ (unsigned)t->op[t->oplen - 1]);
    TestMem *m = g_new0(TestMem, 1);
    m->ram = g_malloc0(RAM_SIZE);
    m->ram_size = RAM_SIZE;
    Case *c = g_new0(Case, 1);
    unsigned done = 0, mem = 0;
    for (unsigned tries = 0; done < CASES_PER_TEMPLATE && tries < 100 * CASES_PER_TEMPLATE; tries++) {
        if (!build_case(t, r, c))
            continue;
        check_case(c, m);
        done++;
        mem += strstr(c->what, "memory") != NULL;
    }
    g_assert_cmpuint(done, ==, CASES_PER_TEMPLATE);
    g_free(c);
    g_free(m->ram);
    g_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    host_page = mmap((void *)CODE_LIN, 4096 + DATA_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (host_page != (void *)CODE_LIN)
        g_error("cannot map the test's code and data at 0x%llx", (unsigned long long)CODE_LIN);
    host_code = host_page;
    unsigned long gs = 0;
    syscall(SYS_arch_prctl, ARCH_GET_GS, &gs);
    host_gs_base = gs;
    struct sigaction sa = { .sa_handler = host_fault, .sa_flags = SA_NODEFER };
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(templates); i++) {
        const Template *t = &templates[i];
        char *path = g_strdup_printf("/x86emu/diff/%02zu-%s", i, t->name);
        for (char *q = path; *q; q++)
            if (*q == ' ' || *q == ',')
                *q = '_';
        g_test_add_data_func(path, t, test_template);
        g_free(path);
    }
    return g_test_run();
}
