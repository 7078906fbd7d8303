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
#include <asm/ldt.h>
#include <asm/prctl.h>
#include <errno.h>
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
    F_STRING,     /* MOVS STOS LODS; INS OUTS (K_PORT) */
    F_PORT,       /* IN OUT, with an imm8 port (imm 1) or DX */
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
    K_PORT = 256,       /* port I/O: the host runs an equivalent (see port_equivalent) */
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
    int only;           /* ONLY_64 or ONLY_LEGACY: the opcode means this only in those modes */
} Template;

enum { ONLY_64 = 1, ONLY_LEGACY = 2 };

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
    { "movsxd Gv,Ed", { 0x63 }, 1, F_GV_EV, 0, 0, 0, 0, 0, 4, ONLY_64 },   /* ARPL elsewhere */
    { "inc Zv", { 0x40 }, 1, F_OPC_REG, 0, 0, 0, 0, 0, 0, ONLY_LEGACY },   /* REX in 64-bit mode */
    { "dec Zv", { 0x48 }, 1, F_OPC_REG, 0, 0, 0, 0, 0, 0, ONLY_LEGACY },
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
    { "insb", { 0x6c }, 1, F_STRING, 0, 1, 0, 0, K_PORT, 0 },
    { "ins", { 0x6d }, 1, F_STRING, 0, 0, 0, 0, K_PORT, 0 },
    { "outsb", { 0x6e }, 1, F_STRING, 0, 1, 0, 0, K_PORT, 0 },
    { "outs", { 0x6f }, 1, F_STRING, 0, 0, 0, 0, K_PORT, 0 },
    { "in AL,Ib", { 0xe4 }, 1, F_PORT, 0, 1, 1, 0, K_PORT, 0 },
    { "in eAX,Ib", { 0xe5 }, 1, F_PORT, 0, 0, 1, 0, K_PORT, 0 },
    { "out Ib,AL", { 0xe6 }, 1, F_PORT, 0, 1, 1, 0, K_PORT, 0 },
    { "out Ib,eAX", { 0xe7 }, 1, F_PORT, 0, 0, 1, 0, K_PORT, 0 },
    { "in AL,DX", { 0xec }, 1, F_PORT, 0, 1, 0, 0, K_PORT, 0 },
    { "in eAX,DX", { 0xed }, 1, F_PORT, 0, 0, 0, 0, K_PORT, 0 },
    { "out DX,AL", { 0xee }, 1, F_PORT, 0, 1, 0, 0, K_PORT, 0 },
    { "out DX,eAX", { 0xef }, 1, F_PORT, 0, 0, 0, 0, K_PORT, 0 },
};

#define CASES_PER_TEMPLATE 400

/* The processor modes the host can run in this process: 64-bit mode; 32-bit compatibility
 * mode (Linux's __USER32_CS); 16-bit protected mode in compatibility mode, through a
 * 16-bit code segment this test installs in its LDT (modify_ldt). */
typedef enum { DM_64, DM_32, DM_16, DM_COUNT } DiffMode;
static const char *const dmode_names[DM_COUNT] = { "long64", "compat32", "compat16" };

/* The LDT this test installs: a 16-bit code segment at CODE_LIN, and data segments for
 * DS, ES and SS with different bases (a wrong default segment shows as a wrong address). */
enum { LDT_CODE16, LDT_DS, LDT_ES, LDT_SS };
#define LDT_SEL(i) ((i) << 3 | 4 | 3)
#define USER32_CS 0x23
#define USER64_CS 0x33
static const uint64_t seg_base_of[4] = { CODE_LIN, DATA_LIN, DATA_LIN + 0x40, DATA_LIN + 0x100 };
#define SEG_SLACK 0x200       /* offsets stay this far below the end of the data */

/* Where, in the code page, the mode switch lives (see install_stubs). */
#define STUB_ENTRY 0xd00      /* 64-bit: save RSP and selectors, load the mode's, far jump */
#define STUB_LAND 0xe00       /* 64-bit: restore them, return to host_exec */
#define SLOT_RSP 0xf00
#define SLOT_DS 0xf08
#define SLOT_ES 0xf0a
#define SLOT_SS 0xf0c
#define SLOT_MODE_DS 0xf10
#define SLOT_MODE_ES 0xf12
#define SLOT_MODE_SS 0xf14
#define SLOT_ENTRY 0xf20      /* m16:32 far pointer to the code under test */
#define SLOT_BACK 0xf28       /* m16:32 far pointer to STUB_LAND */

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
    unsigned feat;      /* FEAT_* seen in this case */
    /* Port I/O: what the host runs instead (port_equivalent), the value IN reads, the
     * port, and how many accesses the instruction makes. */
    uint8_t hcode[32];
    unsigned hlen;
    uint32_t in_value;
    uint16_t port;
    unsigned accesses;
    const Template *t;
} Case;

enum {
    FEAT_MEM = 1, FEAT_REG = 2, FEAT_LOCK = 4, FEAT_66 = 8, FEAT_67 = 16, FEAT_SEG = 32,
    FEAT_REP = 64, FEAT_DF = 128, FEAT_SIB = 256, FEAT_NOBASE = 512, FEAT_REPNE = 1024,
    FEAT_REXW = 1 << 11, FEAT_REXR = 1 << 12, FEAT_REXX = 1 << 13, FEAT_REXB = 1 << 14,
    FEAT_RIPREL = 1 << 15, FEAT_DISP8 = 1 << 16, FEAT_DISPW = 1 << 17,   /* disp16/32 */
};

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

/* Sets the low `size` bytes of a register, keeping random upper bits (which an address
 * of that size must ignore). */
static void set_low(uint64_t *reg, uint64_t v, unsigned size)
{
    uint64_t m = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
    *reg = (*reg & ~m) | (v & m);
}

/* Port I/O is privileged on the host, so the host runs the instruction that does the same
 * to registers, flags and memory, and the emulator's port accesses are checked against
 * the host's result: INS is STOS of the value the port reads (the emulator's port returns
 * the low bits of RAX, which STOS stores); OUTS is LODS (the last value out is the
 * host's accumulator, whose register the emulator must leave alone); IN is MOV of an
 * immediate into AL/AX/EAX (the port reads the immediate: the register merge must
 * agree); OUT runs nothing on the host and must send the accumulator's low bytes. */
static void port_equivalent(const Template *t, unsigned asize, GRand *r, Case *c)
{
    unsigned size = c->osize;
    uint8_t op = t->op[0];
    memcpy(c->hcode, c->code, c->len);
    c->hlen = c->len;
    c->in_value = (uint32_t)c->in.r[X86_RAX];
    c->port = (uint16_t)c->in.r[X86_RDX];
    c->accesses = 1;
    if (t->form == F_STRING) {
        c->hcode[c->len - 1] = (uint8_t)(op + 0x3e);   /* 6C-6F -> AA-AD: INS -> STOS, OUTS -> LODS */
        if (c->feat & FEAT_REP) {
            uint64_t am = asize == 8 ? ~0ull : (1ull << (asize * 8)) - 1;
            c->accesses = (unsigned)(c->in.r[X86_RCX] & am);
        }
        return;
    }
    c->hlen = 0;                                          /* OUT: nothing */
    bool imm_port = op == 0xe4 || op == 0xe5 || op == 0xe6 || op == 0xe7;
    if (imm_port)
        c->port = c->code[c->len - 1];
    if (op == 0xe4 || op == 0xe5 || op == 0xec || op == 0xed) {
        for (unsigned at = 0; c->code[at] == 0x66; at++)
            c->hcode[c->hlen++] = 0x66;
        c->in_value = g_rand_int(r);
        c->hcode[c->hlen++] = size == 1 ? 0xb0 : 0xb8;       /* mov al/ax/eax, imm */
        for (unsigned i = 0; i < size; i++)
            c->hcode[c->hlen++] = (uint8_t)(c->in_value >> (8 * i));
    }
}

/* Builds one random instance of t in mode dm; false when the random choices did not fit
 * (retry).  Memory targets are linear addresses in 64-bit mode and offsets in the
 * segment (whose bases differ: seg_base_of) in the others. */
static bool build_case(const Template *t, DiffMode dm, GRand *r, Case *c)
{
    memset(c, 0, sizeof(*c));
    bool m64 = dm == DM_64;
    for (int i = 0; i < 16; i++)
        c->in.r[i] = rnd64(r);
    /* The data: xorshift64 from one seed (a GRand call per byte cost most of the run). */
    uint64_t x = rnd64(r) | 1;
    for (unsigned i = 0; i < DATA_SIZE; i += 8) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy(c->data + i, &x, 8);
    }
    c->in.rflags = 0x202 | (g_rand_int(r) & X86_STATUS_FLAGS);

    bool memform = t->form == F_EV_GV || t->form == F_GV_EV || t->form == F_EV_DIGIT;
    bool is_mem = memform && (g_rand_int_range(r, 0, 4) != 0 || (t->kind & K_NOREGFORM));
    bool lock = (t->kind & K_LOCK) && is_mem && g_rand_int_range(r, 0, 3) == 0;
    /* Segment overrides: 64-bit: ES CS SS DS (base 0), GS when its base is 0; elsewhere
     * ES SS DS (CS is not writable there; FS/GS are the C library's). */
    int seg = g_rand_int_range(r, 0, 6);
    bool addr_form = is_mem || t->form == F_MOFFS || t->form == F_STRING;
    bool segp = addr_form && (m64 ? seg < 5 && (seg < 4 || host_gs_base == 0) : seg != 1 && seg < 4);
    static const uint8_t segbyte[] = { 0x26, 0x2e, 0x36, 0x3e, 0x65 };
    bool p66 = g_rand_int_range(r, 0, 3) == 0;
    bool p67 = addr_form && g_rand_int_range(r, 0, 4) == 0;
    bool rep = t->form == F_STRING && g_rand_int_range(r, 0, 2) == 0;
    bool repne = rep && g_rand_int_range(r, 0, 4) == 0;    /* F2: REP too for these */
    /* No REX on port I/O: its equivalents on the host would read REX.W and REX.B. */
    bool rex = m64 && !(t->kind & K_PORT) && g_rand_int_range(r, 0, 2) == 0;
    unsigned rexw = rex && g_rand_int_range(r, 0, 2), rexr = rex && g_rand_int_range(r, 0, 2);
    unsigned rexx = rex && g_rand_int_range(r, 0, 2), rexb = rex && g_rand_int_range(r, 0, 2);
    if (t->src_size == 4 && g_rand_int_range(r, 0, 4))
        rex = true, rexw = 1;                  /* MOVSXD is meant with REX.W */
    bool def16 = dm == DM_16;
    unsigned osize = t->byte ? 1 : rexw ? 8 : (p66 != def16) ? 2 : 4;
    c->osize = osize;
    unsigned asize = m64 ? (p67 ? 4 : 8) : (p67 != def16) ? 2 : 4;
    uint64_t amask = asize == 8 ? ~0ull : (1ull << (asize * 8)) - 1;
    c->feat |= (lock ? FEAT_LOCK : 0) | (segp ? FEAT_SEG : 0) | (p66 ? FEAT_66 : 0) |
               (p67 ? FEAT_67 : 0) | (rep ? FEAT_REP : 0) | (repne ? FEAT_REPNE : 0);

    /* Prefixes, in a random order as the processor accepts them. */
    uint8_t pre[5];
    unsigned np = 0;
    if (lock) pre[np++] = 0xf0;
    if (segp) pre[np++] = segbyte[seg];
    if (p66) pre[np++] = 0x66;
    if (p67) pre[np++] = 0x67;
    if (rep) pre[np++] = repne ? 0xf2 : 0xf3;
    for (unsigned i = np; i > 1; i--) {
        unsigned j = g_rand_int_range(r, 0, i);
        uint8_t x = pre[i - 1]; pre[i - 1] = pre[j]; pre[j] = x;
    }
    for (unsigned i = 0; i < np; i++)
        c->code[c->len++] = pre[i];
    if (rex)
        c->code[c->len++] = 0x40 | rexw << 3 | rexr << 2 | rexx << 1 | rexb;
    c->feat |= (rexw ? FEAT_REXW : 0) | (rexr ? FEAT_REXR : 0) | (rexx ? FEAT_REXX : 0) |
               (rexb ? FEAT_REXB : 0);

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

    uint64_t target = m64 ? DATA_LIN + 64 + g_rand_int_range(r, 0, DATA_SIZE - 128)
                          : 64 + (uint64_t)g_rand_int_range(r, 0, DATA_SIZE - SEG_SLACK - 128);
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
            c->feat |= FEAT_REG;
        } else if (asize == 2) {
            /* 16-bit ModRM: BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP (disp16 alone with
             * mod 00), BX. */
            static const int rm16[8][2] = { { X86_RBX, X86_RSI }, { X86_RBX, X86_RDI }, { X86_RBP, X86_RSI },
                                            { X86_RBP, X86_RDI }, { X86_RSI, -1 }, { X86_RDI, -1 },
                                            { X86_RBP, -1 }, { X86_RBX, -1 } };
            unsigned mod = g_rand_int_range(r, 0, 3), rm = g_rand_int_range(r, 0, 8);
            c->code[c->len++] = mod << 6 | regf << 3 | rm;
            if (mod == 0 && rm == 6) {
                disp_size = 2;
                c->feat |= FEAT_NOBASE;
            } else {
                base = rm16[rm][0], index = rm16[rm][1];
            }
            if (mod == 1) disp_size = 1;
            if (mod == 2) disp_size = 2;
            if (opreg >= 0 && (opreg == base || opreg == index) && (t->kind & K_BTREG))
                return false;
            disp_at = c->len;
            c->len += disp_size;
            c->feat |= FEAT_MEM;
        } else {
            unsigned mod = g_rand_int_range(r, 0, 3), rm = g_rand_int_range(r, 0, 8);
            c->code[c->len++] = mod << 6 | regf << 3 | rm;
            if (rm == 4) {
                unsigned ss = g_rand_int_range(r, 0, 4), idx = g_rand_int_range(r, 0, 8);
                unsigned b = g_rand_int_range(r, 0, 8);
                c->code[c->len++] = ss << 6 | idx << 3 | b;
                c->feat |= FEAT_SIB;
                scale = 1u << ss;
                if (idx != 4 || rexx)
                    index = idx | rexx << 3;
                if (b == 5 && mod == 0)
                    disp_size = 4, c->feat |= FEAT_NOBASE;   /* no base, disp32 */
                else
                    base = b | rexb << 3;
            } else if (rm == 5 && mod == 0) {
                riprel = m64;                    /* elsewhere: disp32 alone */
                disp_size = 4;
                c->feat |= FEAT_NOBASE;
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
            c->feat |= FEAT_MEM | (riprel ? FEAT_RIPREL : 0);
        }
        c->feat |= disp_size == 1 ? FEAT_DISP8 : disp_size ? FEAT_DISPW : 0;
    }
    if (t->form == F_MOFFS) {
        disp_at = c->len;
        disp_size = asize;
        c->len += disp_size;
        c->feat |= FEAT_MEM;
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
            c->in.rflags |= X86_DF, c->feat |= FEAT_DF;
        uint64_t lo = m64 ? DATA_LIN + 256 : 256;
        uint64_t si = lo + g_rand_int_range(r, 0, DATA_SIZE - 512 - SEG_SLACK);
        uint64_t di = lo + g_rand_int_range(r, 0, DATA_SIZE - 512 - SEG_SLACK);
        set_low(&c->in.r[X86_RSI], si, asize);
        set_low(&c->in.r[X86_RDI], di, asize);
        if (rep)
            set_low(&c->in.r[X86_RCX], n, asize);
    }
    if (is_mem || t->form == F_MOFFS) {
        uint64_t ival = 0;
        if (index >= 0) {
            ival = g_rand_int_range(r, 0, asize == 2 ? 0x10000 : 16);
            if (asize == 2)
                ival &= ~1ull;       /* keep base + index + disp near the target's span */
            set_low(&c->in.r[index], ival, asize);
        }
        if (t->form == F_MOFFS) {
            for (unsigned i = 0; i < disp_size; i++)
                c->code[disp_at + i] = (uint8_t)(target >> (8 * i));
        } else {
            if (riprel || base < 0) {
                disp = riprel ? (int64_t)(target - (CODE_LIN + c->len)) : (int64_t)(target - ival * scale);
            } else {
                disp = disp_size == 1 ? (int8_t)g_rand_int(r)
                     : disp_size == 2 ? (int16_t)g_rand_int(r)
                     : disp_size == 4 ? g_rand_int_range(r, -100000, 100000) : 0;
                uint64_t bval = (target - (uint64_t)disp - ival * scale) & amask;
                set_low(&c->in.r[base], bval, asize);
            }
            for (unsigned i = 0; i < disp_size; i++)
                c->code[disp_at + i] = (uint8_t)((uint64_t)disp >> (8 * i));
            if (riprel && asize == 4 && ((CODE_LIN + c->len + disp) & 0xffffffffull) != target)
                return false;
        }
    }
    if ((t->kind & K_CMPXCHG) && g_rand_int_range(r, 0, 2) && base != 0 && index != 0) {
        uint64_t cur;
        if (is_mem) {
            /* The operand's linear address: in the segment the instruction uses. */
            uint64_t lin = target;
            if (!m64) {
                int sg = segp ? (seg == 0 ? LDT_ES : seg == 2 ? LDT_SS : LDT_DS)
                              : (base == X86_RBP || base == X86_RSP) ? LDT_SS : LDT_DS;
                lin = seg_base_of[sg] + target;
            }
            memcpy(&cur, c->data + (lin - DATA_LIN), 8);
        } else {
            cur = rmreg >= 4 && rmreg < 8 && t->byte && !rex ? c->in.r[rmreg - 4] >> 8 : c->in.r[rmreg];
        }
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
    c->t = t;
    if (t->kind & K_PORT)
        port_equivalent(t, asize, r, c);
    snprintf(c->what, sizeof(c->what), "%s: %s (osize %u, asize %u%s%s%s)", dmode_names[dm], t->name,
             osize, asize, is_mem ? ", memory" : memform ? ", register" : "", lock ? ", lock" : "",
             rep ? ", rep" : "");
    return true;
}

/* --- the host side ------------------------------------------------------------------ */

static void put16(unsigned off, uint16_t v) { memcpy(host_page + off, &v, 2); }
static void put32h(unsigned off, uint32_t v) { memcpy(host_page + off, &v, 4); }

/* Emits `op modrm 0x25 abs32` (an absolute [disp32] operand in 64-bit mode). */
static unsigned abs_op(unsigned at, const uint8_t *op, unsigned oplen, unsigned reg, uint32_t abs)
{
    memcpy(host_page + at, op, oplen);
    at += oplen;
    host_page[at++] = (uint8_t)(reg << 3 | 4);
    host_page[at++] = 0x25;
    memcpy(host_page + at, &abs, 4);
    return at + 4;
}

/* The mode switch, in the code page below 4 GiB (compatibility mode cannot reach above):
 * STUB_ENTRY (64-bit, called by host_exec with the case's registers and flags loaded)
 * saves RSP and DS/ES/SS (compatibility mode loses the upper halves of registers), loads
 * the mode's data selectors and far-jumps to the code; after the instruction the code
 * far-jumps to STUB_LAND (64-bit), which restores them and returns to host_exec.  Moves
 * and far jumps leave the flags alone. */
static void install_stubs(void)
{
    static const uint8_t mov_to_mem[] = { 0x48, 0x89 }, mov_from_mem[] = { 0x48, 0x8b };
    static const uint8_t sreg_to_mem[] = { 0x8c }, sreg_from_mem[] = { 0x8e }, jmpfar[] = { 0xff };
    uint32_t b = (uint32_t)CODE_LIN;
    unsigned at = STUB_ENTRY;
    at = abs_op(at, mov_to_mem, 2, 4, b + SLOT_RSP);           /* mov [rsp slot], rsp */
    at = abs_op(at, sreg_to_mem, 1, 3, b + SLOT_DS);           /* mov [ds slot], ds */
    at = abs_op(at, sreg_to_mem, 1, 0, b + SLOT_ES);
    at = abs_op(at, sreg_to_mem, 1, 2, b + SLOT_SS);
    at = abs_op(at, sreg_from_mem, 1, 3, b + SLOT_MODE_DS);    /* mov ds, [mode ds] */
    at = abs_op(at, sreg_from_mem, 1, 0, b + SLOT_MODE_ES);
    at = abs_op(at, sreg_from_mem, 1, 2, b + SLOT_MODE_SS);
    abs_op(at, jmpfar, 1, 5, b + SLOT_ENTRY);                  /* jmp far [entry] */
    at = STUB_LAND;
    at = abs_op(at, mov_from_mem, 2, 4, b + SLOT_RSP);         /* mov rsp, [rsp slot] */
    at = abs_op(at, sreg_from_mem, 1, 2, b + SLOT_SS);
    at = abs_op(at, sreg_from_mem, 1, 3, b + SLOT_DS);
    at = abs_op(at, sreg_from_mem, 1, 0, b + SLOT_ES);
    host_page[at] = 0xc3;                                      /* ret */
    put32h(SLOT_BACK, b + STUB_LAND);
    put16(SLOT_BACK + 4, USER64_CS);
    put16(SLOT_MODE_DS, LDT_SEL(LDT_DS));
    put16(SLOT_MODE_ES, LDT_SEL(LDT_ES));
    put16(SLOT_MODE_SS, LDT_SEL(LDT_SS));
}

static void install_ldt(void)
{
    for (int i = 0; i < 4; i++) {
        struct user_desc d = { 0 };
        d.entry_number = i;
        d.base_addr = (unsigned)seg_base_of[i];
        d.useable = 1;
        if (i == LDT_CODE16) {
            d.limit = 0xffff;
            d.contents = MODIFY_LDT_CONTENTS_CODE;
        } else {
            d.limit = 0xfffff;
            d.limit_in_pages = 1;
            d.seg_32bit = 1;
            d.contents = MODIFY_LDT_CONTENTS_DATA;
        }
        if (syscall(SYS_modify_ldt, 1, &d, sizeof(d)) != 0)
            g_error("modify_ldt (entry %d): %s; the 16-bit and 32-bit differential tests need "
                    "an LDT (CONFIG_MODIFY_LDT_SYSCALL, and no seccomp filter refusing it)", i,
                    g_strerror(errno));
    }
}

static void run_host(const Case *c, DiffMode dm, HostRegs *out, uint8_t *data_out)
{
    bool port = c->t->kind & K_PORT;
    memcpy(host_page, port ? c->hcode : c->code, port ? c->hlen : c->len);
    unsigned at = port ? c->hlen : c->len;
    if (dm == DM_64) {
        host_page[at] = 0xc3;                   /* ret */
        host_code = host_page;
    } else {
        /* jmp far cs:[back] (66 makes it m16:32 in 16-bit code, whose CS starts at CODE_LIN) */
        if (dm == DM_16)
            host_page[at++] = 0x66;
        host_page[at++] = 0x2e;
        host_page[at++] = 0xff;
        if (dm == DM_16) {
            host_page[at++] = 0x2e;              /* mod 00 rm 110: disp16 */
            uint16_t d = SLOT_BACK;
            memcpy(host_page + at, &d, 2);
        } else {
            host_page[at++] = 0x2d;              /* mod 00 rm 101: disp32 */
            uint32_t d = (uint32_t)CODE_LIN + SLOT_BACK;
            memcpy(host_page + at, &d, 4);
        }
        put32h(SLOT_ENTRY, dm == DM_16 ? 0 : (uint32_t)CODE_LIN);
        put16(SLOT_ENTRY + 4, dm == DM_16 ? LDT_SEL(LDT_CODE16) : USER32_CS);
        host_code = host_page + STUB_ENTRY;
    }
    memcpy(host_page + 4096, c->data, DATA_SIZE);
    *out = c->in;
    fault_signal = 0;
    if (sigsetjmp(on_fault, 1) == 0)
        host_exec(out);
    else
        g_error("host faulted (signal %d) on %s: the generator made a bad case", fault_signal, c->what);
    memcpy(data_out, host_page + 4096, DATA_SIZE);
}

/* --- the emulator side -------------------------------------------------------------- */

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

static void run_emu(const Case *c, DiffMode dm, TestMem *m, X86EmuCpu *cpu, X86EmuResult *res)
{
    setup_tables(m);
    memcpy(m->ram + PHYS_CODE, c->code, c->len);
    memcpy(m->ram + PHYS_DATA, c->data, DATA_SIZE);
    memset(cpu, 0, sizeof(*cpu));
    memcpy(cpu->gpr, c->in.r, sizeof(cpu->gpr));
    cpu->gpr[X86_RSP] = 0x7ffff000;
    cpu->rflags = c->in.rflags;
    for (int s = 0; s < 6; s++)
        cpu->seg[s] = (X86EmuSegment){ 0, 0xffffffff, 0x2b, true, false };
    cpu->seg[X86_GS].base = host_gs_base;
    if (dm == DM_64) {
        cpu->rip = CODE_LIN;
        cpu->seg[X86_CS] = (X86EmuSegment){ 0, 0xffffffff, USER64_CS, false, true };
    } else {
        cpu->rip = dm == DM_16 ? 0 : CODE_LIN;
        cpu->seg[X86_CS] = dm == DM_16 ? (X86EmuSegment){ CODE_LIN, 0xffff, LDT_SEL(LDT_CODE16), false, false }
                                       : (X86EmuSegment){ 0, 0xffffffff, USER32_CS, true, false };
        cpu->seg[X86_DS] = (X86EmuSegment){ seg_base_of[LDT_DS], 0xffffffff, LDT_SEL(LDT_DS), true, false };
        cpu->seg[X86_ES] = (X86EmuSegment){ seg_base_of[LDT_ES], 0xffffffff, LDT_SEL(LDT_ES), true, false };
        cpu->seg[X86_SS] = (X86EmuSegment){ seg_base_of[LDT_SS], 0xffffffff, LDT_SEL(LDT_SS), true, false };
    }
    cpu->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP;
    cpu->cr3 = 0x1000;
    cpu->cr4 = X86_CR4_PAE;
    cpu->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
    cpu->cpl = 3;
    m->in_value = c->in_value;
    m->in_constant = true;
    m->nio = 0;
    x86emu_step(cpu, &testmem_ops, m, res);
}

static const char *regname[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                   "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };

/* The port accesses the emulator made, against the host's equivalent (port_equivalent). */
static void check_ports(const Case *c, const X86EmuCpu *cpu, const HostRegs *hout, const TestMem *m,
                        const char *bytes, uint64_t rmask)
{
    uint8_t op = c->t->op[0];
    bool out = op == 0x6e || op == 0x6f || op == 0xe6 || op == 0xe7 || op == 0xee || op == 0xef;
    unsigned size = c->osize;
    uint32_t vm = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
    if (m->nio != c->accesses)
        g_error("%s [%s]: %u port accesses, expected %u", c->what, bytes, m->nio, c->accesses);
    for (unsigned i = 0; i < m->nio && i < 64; i++) {
        const TestIo *io = &m->io[i];
        if (io->out != out || io->port != c->port || io->size != size)
            g_error("%s [%s]: access %u is %s port 0x%x size %u, expected %s port 0x%x size %u", c->what,
                    bytes, i, io->out ? "out" : "in", io->port, io->size, out ? "out" : "in", c->port, size);
    }
    if (op == 0x6e || op == 0x6f) {
        if ((cpu->gpr[X86_RAX] & rmask) != (c->in.r[X86_RAX] & rmask))
            g_error("%s [%s]: OUTS changed RAX", c->what, bytes);
        if (m->nio && m->io[m->nio - 1].val != (hout->r[X86_RAX] & vm))
            g_error("%s [%s]: the last value out is 0x%x, the host's LODS loaded 0x%llx", c->what, bytes,
                    m->io[m->nio - 1].val, (unsigned long long)(hout->r[X86_RAX] & vm));
    } else if (out && m->io[0].val != (hout->r[X86_RAX] & vm)) {
        g_error("%s [%s]: OUT sent 0x%x, the accumulator is 0x%llx", c->what, bytes, m->io[0].val,
                (unsigned long long)(hout->r[X86_RAX] & vm));
    }
}

/* The mnemonics that completed in each mode, for the coverage check. */
static GHashTable *covered[DM_COUNT];

static void check_case(const Case *c, DiffMode dm, TestMem *m)
{
    static HostRegs hout;
    static uint8_t hdata[DATA_SIZE];
    X86EmuCpu cpu;
    X86EmuResult res;
    run_host(c, dm, &hout, hdata);
    run_emu(c, dm, m, &cpu, &res);
    GString *bytes = g_string_new(NULL);
    for (unsigned i = 0; i < c->len; i++)
        g_string_append_printf(bytes, "%02x ", c->code[i]);
    if (res.status != X86EMU_DONE)
        g_error("%s [%s]: emulator status %d vector %u: %s", c->what, bytes->str, res.status,
                res.vector, res.message);
    /* Outside 64-bit mode only the low halves of the eight legacy registers exist (the
     * mode switch leaves the rest undefined). */
    int nregs = dm == DM_64 ? 16 : 8;
    uint64_t rmask = dm == DM_64 ? ~0ull : 0xffffffffull;
    uint8_t op = c->t->op[0];
    bool outs = op == 0x6e || op == 0x6f;
    for (int i = 0; i < nregs; i++) {
        if (i == X86_RSP || (outs && i == X86_RAX))
            continue;
        if ((cpu.gpr[i] & rmask) != (hout.r[i] & rmask))
            g_error("%s [%s]: %s is 0x%016llx, the host has 0x%016llx (was 0x%016llx)", c->what,
                    bytes->str, regname[i], (unsigned long long)(cpu.gpr[i] & rmask),
                    (unsigned long long)(hout.r[i] & rmask), (unsigned long long)c->in.r[i]);
    }
    uint64_t fm = (X86_STATUS_FLAGS | X86_DF) & ~(uint64_t)c->undef;
    if ((cpu.rflags & fm) != (hout.rflags & fm))
        g_error("%s [%s]: flags 0x%03llx, the host has 0x%03llx (in 0x%03llx, compared 0x%03llx)",
                c->what, bytes->str, (unsigned long long)(cpu.rflags & fm),
                (unsigned long long)(hout.rflags & fm), (unsigned long long)c->in.rflags,
                (unsigned long long)fm);
    uint64_t rip0 = dm == DM_16 ? 0 : CODE_LIN;
    if (cpu.rip != rip0 + c->len)
        g_error("%s [%s]: RIP advanced by %lld, the instruction is %u bytes", c->what, bytes->str,
                (long long)(cpu.rip - rip0), c->len);
    for (unsigned i = 0; i < DATA_SIZE; i++)
        if (m->ram[PHYS_DATA + i] != hdata[i])
            g_error("%s [%s]: memory at +0x%x is 0x%02x, the host has 0x%02x (was 0x%02x)", c->what,
                    bytes->str, i, m->ram[PHYS_DATA + i], hdata[i], c->data[i]);
    if (c->t->kind & K_PORT)
        check_ports(c, &cpu, &hout, m, bytes->str, rmask);
    g_string_free(bytes, TRUE);
    if (!covered[dm])
        covered[dm] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_add(covered[dm], g_strdup(res.mnemonic));
}

typedef struct Run {
    const Template *t;
    DiffMode dm;
} Run;

static void test_template(gconstpointer p)
{
    const Run *run = p;
    const Template *t = run->t;
    g_autoptr(GRand) r = g_rand_new_with_seed(g_str_hash(t->name) ^ (unsigned)t->op[t->oplen - 1] ^
                                              (unsigned)run->dm * 0x9e3779b9u);
    TestMem *m = g_new0(TestMem, 1);
    m->ram = g_malloc0(RAM_SIZE);
    m->ram_size = RAM_SIZE;
    Case *c = g_new0(Case, 1);
    unsigned done = 0, feat = 0;
    for (unsigned tries = 0; done < CASES_PER_TEMPLATE && tries < 100 * CASES_PER_TEMPLATE; tries++) {
        if (!build_case(t, run->dm, r, c))
            continue;
        check_case(c, run->dm, m);
        done++;
        feat |= c->feat;
    }
    g_assert_cmpuint(done, ==, CASES_PER_TEMPLATE);
    /* The random forms reached every kind the template has. */
    unsigned want = FEAT_66;
    bool memform = t->form == F_EV_GV || t->form == F_GV_EV || t->form == F_EV_DIGIT;
    if (memform)
        want |= FEAT_MEM | FEAT_REG | FEAT_67 | FEAT_SEG | FEAT_SIB | FEAT_NOBASE | FEAT_DISP8 | FEAT_DISPW;
    if (memform && run->dm == DM_64)
        want |= FEAT_REXW | FEAT_REXR | FEAT_REXX | FEAT_REXB | FEAT_RIPREL;
    if (t->form == F_OPC_REG && run->dm == DM_64)
        want |= FEAT_REXB;
    if (t->kind & K_LOCK)
        want |= FEAT_LOCK;
    if (t->form == F_STRING)
        want |= FEAT_REP | FEAT_REPNE | FEAT_DF | FEAT_67 | FEAT_SEG;
    if (t->form == F_MOFFS)
        want |= FEAT_67 | FEAT_SEG;
    if ((feat & want) != want)
        g_error("%s %s: 400 random cases never had forms 0x%x", dmode_names[run->dm], t->name, want & ~feat);
    g_free(c);
    g_free(m->ram);
    g_free(m);
}

static bool runs_in(const Template *t, DiffMode dm)
{
    return !((t->only == ONLY_64 && dm != DM_64) || (t->only == ONLY_LEGACY && dm == DM_64));
}

/* Every mnemonic the emulator executes has completed in this run's differential cases,
 * in each mode where it exists (port I/O against its equivalent: port_equivalent). */
static void test_coverage(void)
{
    const char *names[128];
    size_t n = x86emu_mnemonics(names, G_N_ELEMENTS(names));
    g_assert_cmpuint(n, <=, G_N_ELEMENTS(names));
    static const char *const only64[] = { "movsxd", "movsq", "stosq", "lodsq" };
    GString *missing = g_string_new(NULL);
    for (int dm = 0; dm < DM_COUNT; dm++)
        for (size_t i = 0; i < n; i++) {
            bool needed = true;
            for (size_t k = 0; k < G_N_ELEMENTS(only64); k++)
                if (dm != DM_64 && !strcmp(names[i], only64[k]))
                    needed = false;
            if (needed && !(covered[dm] && g_hash_table_contains(covered[dm], names[i])))
                g_string_append_printf(missing, " %s/%s", dmode_names[dm], names[i]);
        }
    if (missing->len)
        g_error("supported but never executed by a differential case:%s", missing->str);
    g_string_free(missing, TRUE);
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
    install_ldt();
    install_stubs();
    struct sigaction sa = { .sa_handler = host_fault, .sa_flags = SA_NODEFER };
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    static Run runs[DM_COUNT][G_N_ELEMENTS(templates)];
    for (int dm = 0; dm < DM_COUNT; dm++)
        for (size_t i = 0; i < G_N_ELEMENTS(templates); i++) {
            const Template *t = &templates[i];
            if (!runs_in(t, dm))
                continue;
            runs[dm][i] = (Run){ t, dm };
            char *path = g_strdup_printf("/x86emu/diff/%s/%03zu-%s", dmode_names[dm], i, t->name);
            for (char *q = path; *q; q++)
                if (*q == ' ' || *q == ',')
                    *q = '_';
            g_test_add_data_func(path, &runs[dm][i], test_template);
            g_free(path);
        }
    /* Last (a suite after "diff"): it checks what the cases above executed. */
    g_test_add_func("/x86emu/coverage/diff", test_coverage);
    return g_test_run();
}
