/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: host code generation for x86-64 hosts.
 *
 * A translated block's pre-decoded instructions are turned into one host function
 *     uint32_t fn(Hart *h, uint64_t base)      (base: virtual pc of the block)
 * covering the block's leading run of supported instructions (RV64I/M integer ALU,
 * loads and stores, conditional branches, which do not end blocks, and jumps).  The
 * function returns either
 *   - JIT_DONE: the block (and those chained to it) ran to an exit; h->pc holds the
 *     next pc (the instructions retired were subtracted from h->jit_budget), or
 *   - k: the interpreter must go on at instruction k (an instruction the generator does
 *     not handle, or an access that faulted in the slow path: the interpreter performs
 *     it again and takes the trap).
 * Loads and stores try the direct window (cpu.h: untranslated RAM, no TLB lookup) or
 * the TLB inline; a miss, MMIO, a code page or a misaligned access calls mmu.c's slow
 * path from the generated code.  Guest registers live in host registers (see "Register
 * allocation" below) and are written back to h->x before generated code returns to C,
 * so exceptions, counters and self-modifying code are handled by the interpreter
 * exactly as without the generator.  (The slow-path helpers look at no guest
 * register.)
 *
 * Profiling: MOSAIC_TCG_PERF_MAP=1 writes /tmp/perf-PID.map (one line per block, named
 * by its physical pc); perf attributes the memfd code by file offset, so
 * bench/riscv/perf_blocks.py maps `perf script -F ip` samples onto the blocks.
 *
 * Memory ordering: x86 is TSO, so loads and stores need no fences; only a FENCE whose
 * predecessor set has W and successor set has R (store->load order) becomes MFENCE.
 * A weakly ordered host would instead map FENCE r,rw to an acquire fence, FENCE rw,w to a
 * release fence and only FENCE w,r / rw,rw to a full fence.
 *
 * The code buffer (W^X, one per hart) is managed by codecache.c. */
#include "cpu.h"
#include "x86-emit.h"
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#if defined(__x86_64__) && defined(__linux__)

#define XOFF(r) ((int32_t)(offsetof(Hart, x) + 8 * (r)))
#define PCOFF ((int32_t)offsetof(Hart, pc))

/* Register allocation, in two parts:
 * - Fixed: the most used guest registers (a0-a5: three quarters of CoreMark's register
 *   uses, and the argument/return registers of every call) live in the same host
 *   registers in every block.  Generated code loads them when C calls it and stores them
 *   to h->x only when it returns to C, so a block chained to another (a patched jump, a
 *   jump-cache hit) passes them in place: no store, no load.
 * - Per block: of the other guest registers, those a block uses at least twice get the
 *   remaining host registers (most used first; uses inside a loop back to the block
 *   start count more); the rest are used straight from h->x as memory operands.  A
 *   block loads them on entry (also when another block chains into it) and stores those
 *   it writes back to h->x before every exit.  A block whose exit jumps back to its own
 *   start (a loop) jumps past the loads and keeps them across iterations.
 * - Borrowed: a block that does not use some of a0-a5 may give their host registers to
 *   its own guest registers (a loop over t-registers needs them: a guest register in
 *   memory puts a store and a load on every dependency through it).  It stores the
 *   fixed value to h->x on entry and loads it back at every exit to another block.
 * So whenever C code runs, h->x is the guest state.
 *
 * Other host registers while generated code runs: rbx = Hart, r12 = h->direct_addend
 * (the direct load window, see cpu.h), r13 = the block's base pc, r14d = the budget
 * (h->jit_budget when C called; each exit subtracts the instructions it retires and
 * stops at zero; stored back on return, and the run loop adds what was used to
 * instret: a register, since a count in memory would chain every exit to the previous
 * one's store), rax, rcx, rdx, rsi scratch. */
#define NHOST 7
/* host_pool[i] holds fixed_guest[i] for i < NFIXED; the others are allocated per block. */
static const int host_pool[NHOST] = { RBP, R15, RDI, 8, 9, 10, 11 };
static const uint8_t fixed_guest[] = { 15, 14, 10, 13, 12, 11 }; /* a5 a4 a0 a3 a2 a1 */
#define NFIXED ((int)sizeof(fixed_guest))
/* Caller-saved ones must survive the helper calls of the slow paths. */
#define CALLER_SAVED(r) ((r) == RDI || ((r) >= 8 && (r) <= 11))

/* Slow paths emitted after the block's body. */
enum { STUB_EXIT, STUB_LOAD, STUB_STORE, STUB_STOP, STUB_LOOP_STOP, STUB_BRANCH };
typedef struct Stub {
    uint8_t *fix, *fixb;   /* rel32s in the body jumping to the stub (fixb: or NULL) */
    uint8_t *fixd;         /* STUB_STORE: below code_hi (the stub makes the code-page test) */
    uint8_t *fix2;         /* STUB_STOP: the link slot's rel32 (unlinked entry) */
    uint8_t *resume;       /* STUB_STORE: where the body goes on */
    int kind;
    uint32_t k;            /* instruction index */
    int64_t d;             /* STUB_STOP: target offset from the base pc; STORE: next insn */
    unsigned size;         /* STUB_STORE */
    int val;               /* STUB_STORE: host register holding the value; LOAD: result */
    unsigned opc;          /* STUB_LOAD */
    bool tlb_done;         /* the body already tried the TLB (rsi = va) */
    int base;              /* LOAD/STORE, !tlb_done: host register holding x[rs1] */
    int32_t imm;           /* ... and the offset: va = base + imm */
} Stub;

#define MAX_STUBS (2 * (MAX_TB_INSNS + 2))
/* Upper bounds of one stub's bytes (tcg_jit_compile keeps room for the stubs made so
 * far and two more): a store's (code-page check, TLB, helper call saving five
 * registers, two exits, and below code_hi the window and code-page tests; measured 233
 * bytes before the last were added), any other. */
#define JIT_STORE_STUB_BYTES 336
#define JIT_STUB_BYTES 192

typedef struct Gen {
    Emit e;
    TB *tb;
    int8_t host[33];       /* host register of guest register r, -1: in h->x */
    uint64_t written;      /* per-block allocated guest registers the block writes */
    unsigned borrowed;     /* bit i: host_pool[i] (fixed) holds a per-block register */
    uint8_t *tail_done, *tail_exit, *tail_left, *loop_head;
    /* Stores try the direct window first: only when the hart's data accesses are
     * untranslated now (else the TLB is inline).  Whether the window allows stores is
     * checked when they run (direct_wlen: none while a display or migration logs the
     * RAM's dirty pages). */
    bool store_window;
    /* A guest register kept in h->x whose value the previous instruction left in rax
     * as well (rax_reg: set by put, for the next instruction; rax_avail: for this one,
     * usable only by its first emission, before anything can have clobbered rax). */
    int rax_reg, rax_avail;
    uint8_t *insn_start;
    unsigned fused;        /* instructions after this one that emit_insn also did */
    bool no_sext;          /* a W op's result needs no sign extension (sext_dead) */
    uint32_t room_insns;   /* instructions the compile loop surely emits after this one */
    Stub stub[MAX_STUBS];
    unsigned nstub;
    size_t stub_room;      /* the bounds of the stubs made so far */
} Gen;

static int H(const Gen *g, unsigned r)
{
    return r < 33 ? g->host[r] : -1;
}

/* op reg, x[r] in the reg, r/m form (0x03 add, 0x0b or, 0x23 and, 0x2b sub, 0x33 xor,
 * 0x3b cmp, 0x8b mov, 0x0f 0xaf imul). */
static void op_g(Gen *g, int w, int esc, uint8_t op, int reg, unsigned r)
{
    int h = H(g, r);
    if (h >= 0) {
        rex(&g->e, w, reg, 0, h);
        if (esc)
            e8(&g->e, 0x0f);
        e8(&g->e, op);
        e8(&g->e, (uint8_t)(0xc0 | ((reg & 7) << 3) | (h & 7)));
    } else {
        op_m(&g->e, w, 0, esc, op, reg, RBX, -1, XOFF(r), 0);
    }
}

/* dst = x[r] (w32: the low half, zero-extended). */
static void load_g(Gen *g, int dst, unsigned r, bool w32)
{
    if (H(g, r) == dst)
        return; /* 32-bit users read only the low half */
    if (dst == RAX && r && (int)r == g->rax_avail && g->e.p == g->insn_start)
        return; /* the previous instruction's result, still in rax */
    op_g(g, !w32, 0, 0x8b, dst, r);
}

/* x[rd] = host register from (writes to x0 vanish). */
static void put(Gen *g, unsigned rd, int from)
{
    if (rd == 0 || rd >= 32)
        return;
    int h = H(g, rd);
    if (h < 0) {
        mov_store(&g->e, from, RBX, XOFF(rd));
        if (from == RAX)
            g->rax_reg = (int)rd;
    } else if (h != from)
        mov_rr(&g->e, h, from);
}

/* Where to compute rd: its own host register when it has one and writing it early
 * cannot clobber a source still to be read (other), else rax. */
static int dest(Gen *g, unsigned rd, unsigned first, unsigned other)
{
    int h = H(g, rd);
    if (h < 0 || (rd == other && rd != first))
        return RAX;
    return h;
}

static bool is_fixed(unsigned r)
{
    for (int i = 0; i < NFIXED; i++)
        if (fixed_guest[i] == r)
            return true;
    return false;
}

/* Before leaving for another block: the per-block registers this block wrote. */
static void writeback(Gen *g)
{
    for (unsigned r = 1; r < 32; r++)
        if (H(g, r) >= 0 && (g->written >> r & 1))
            mov_store(&g->e, H(g, r), RBX, XOFF(r));
}

/* Before returning to C: also the fixed ones (blocks chained before may have written
 * them). */
static void writeback_all(Gen *g)
{
    writeback(g);
    for (int i = 0; i < NFIXED; i++)
        if (!(g->borrowed >> i & 1)) /* else h->x holds it since the block's entry */
            mov_store(&g->e, host_pool[i], RBX, XOFF(fixed_guest[i]));
}

/* Leaving for another block (after writeback): the fixed registers this block
 * borrowed get their values back. */
static void restore_borrowed(Gen *g)
{
    for (int i = 0; i < NFIXED; i++)
        if (g->borrowed >> i & 1)
            mov_load(&g->e, host_pool[i], RBX, XOFF(fixed_guest[i]));
}

/* Entry from C: the fixed registers. */
static void load_fixed(Gen *g)
{
    for (int i = 0; i < NFIXED; i++)
        mov_load(&g->e, host_pool[i], RBX, XOFF(fixed_guest[i]));
}

/* Entry from C or from another block: the fixed registers it borrows go to h->x, the
 * per-block registers are loaded. */
static void reload(Gen *g)
{
    for (int i = 0; i < NFIXED; i++)
        if (g->borrowed >> i & 1)
            mov_store(&g->e, host_pool[i], RBX, XOFF(fixed_guest[i]));
    for (unsigned r = 1; r < 32; r++)
        if (H(g, r) >= 0 && !is_fixed(r))
            mov_load(&g->e, H(g, r), RBX, XOFF(r));
}

static Stub *add_stub(Gen *g, int kind, uint8_t *fix, uint32_t k)
{
    if (g->nstub >= MAX_STUBS)
        __builtin_trap(); /* a generator bug: at most two stubs per instruction */
    Stub *s = &g->stub[g->nstub++];
    /* a branch's exit is emitted with the stubs and adds a stop stub of its own */
    g->stub_room += kind == STUB_STORE ? JIT_STORE_STUB_BYTES
                  : kind == STUB_BRANCH ? JIT_STORE_STUB_BYTES + JIT_STUB_BYTES : JIT_STUB_BYTES;
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->fix = fix;
    s->k = k;
    return s;
}

static void emit_epilogue(Emit *e)
{
    op_mem(e, 0, 0x89, R14, RBX, (int32_t)offsetof(Hart, jit_budget)); /* mov [budget], r14d */
    alu_imm(e, 1, ALU_ADD, RSP, 8);
    pop_r(e, R15);
    pop_r(e, R14);
    pop_r(e, R13);
    pop_r(e, R12);
    pop_r(e, RBP);
    pop_r(e, RBX);
    e8(e, 0xc3);                        /* ret */
}

/* Two shared tails at the start of each block's code: tail_done (h->pc is set: write
 * back, return JIT_DONE) and tail_exit (eax = k: write back, hand over to the
 * interpreter at instruction k of this block, which after chaining is not the block
 * the interpreter entered: say which, and its base pc). */
static void emit_tails(Gen *g)
{
    Emit *e = &g->e;
    g->tail_done = e->p;
    writeback_all(g);
    e8(e, 0xb8); e32(e, JIT_DONE);      /* mov eax, JIT_DONE */
    emit_epilogue(e);
    g->tail_left = e->p;
    for (int i = 0; i < NFIXED; i++)  /* an unlinked exit: all written back, restored */
        mov_store(e, host_pool[i], RBX, XOFF(fixed_guest[i]));
    e8(e, 0xb8); e32(e, JIT_DONE);      /* mov eax, JIT_DONE */
    emit_epilogue(e);
    g->tail_exit = e->p;
    writeback_all(g);
    mov_imm(e, RCX, (uint64_t)(uintptr_t)g->tb);
    mov_store(e, RCX, RBX, (int32_t)offsetof(Hart, jit_cur));
    mov_store(e, R13, RBX, (int32_t)offsetof(Hart, jit_base));
    emit_epilogue(e);
}

/* Hand over to the interpreter at instruction k (inline). */
static void emit_exit(Gen *g, uint32_t k)
{
    e8(&g->e, 0xb8); e32(&g->e, k);     /* mov eax, k */
    jmp_to(&g->e, -1, g->tail_exit);
}

/* Counts `done` instructions retired (sets the flags: LE when the budget is spent). */
static void emit_retire(Gen *g, uint32_t done)
{
    alu_imm(&g->e, 0, ALU_SUB, R14, (int32_t)done);
}

/* Retires `done` and makes the tests every chained exit makes: the instruction budget
 * of this entry from C spent, or an exit request or interrupt (check); each jumps to a
 * stub. */
static Stub *emit_stop_tests(Gen *g, int kind, int64_t d, uint32_t done)
{
    Emit *e = &g->e;
    emit_retire(g, done);
    Stub *s = add_stub(g, kind, jmp32(e, CC_LE), done);
    op_m(e, 0, 0, 0, 0x83, 7, RBX, -1, (int32_t)offsetof(Hart, check), 0); /* cmp [check], 0 */
    e8(e, 0);
    s->fixb = jmp32(e, CC_NE);
    s->d = d;
    return s;
}

static void emit_leave_pc(Gen *g, uint32_t done);

/* Leaves the block for base + d after `done` instructions.  Back to the block's own
 * start: a loop that keeps its registers.  A target on the block's own page gets a
 * patchable jump (tcg_jit_link) taken when no exit request is pending and the budget
 * lasts; until linked it returns to the interpreter, recording where the jump is.
 * Other targets (another page, which a mapping change could give other code) are looked
 * up in the jump cache, as JALR's. */
static void emit_goto(Gen *g, int64_t d, uint32_t done)
{
    Emit *e = &g->e;
    const TB *tb = g->tb;
    int64_t in_page = (int64_t)(tb->ppc & 0xfff) + d;
    bool chain = tb->page[0] == tb->page[1] && in_page >= 0 && in_page < 4096;
    if (d == 0 && tb->page[0] == tb->page[1]) {
        /* The tests of emit_stop_tests, with the loop's jump taken on "no request". */
        emit_retire(g, done);
        Stub *s = add_stub(g, STUB_LOOP_STOP, jmp32(e, CC_LE), done);
        op_m(e, 0, 0, 0, 0x83, 7, RBX, -1, (int32_t)offsetof(Hart, check), 0); /* cmp [check], 0 */
        e8(e, 0);
        jmp_to(e, CC_E, g->loop_head);
        s->fixb = jmp32(e, -1);
        return;
    }
    if (!chain) {
        lea(e, RAX, R13, (int32_t)d);
        emit_leave_pc(g, done);
        return;
    }
    writeback(g);
    Stub *s = emit_stop_tests(g, STUB_STOP, d, done);
    restore_borrowed(g);
    lea(e, R13, R13, (int32_t)d);       /* the next block's base pc */
    s->fix2 = jmp32(e, -1);             /* to the unlinked stub until linked */
}

void tcg_jit_link(Hart *h, TB *tb)
{
    uint8_t *slot = h->jit_exit;       /* executable view: the jmp opcode */
    uint8_t *w = h->jit_rw + (slot - h->jit_rx);
    int32_t rel = (int32_t)(tb->jit_chain - (slot + 5));
    memcpy(w + 1, &rel, 4);
    h->st.jit_links++;
}

int32_t tcg_jit_unlinked_rel(Hart *h, const uint8_t *slot)
{
    int32_t rel;
    memcpy(&rel, h->jit_rw + (slot - h->jit_rx) + 1, 4);
    return rel;
}

void tcg_jit_unlink(Hart *h, uint8_t *slot, int32_t rel)
{
    /* back to the exit stub the jump took before it was linked */
    memcpy(h->jit_rw + (slot - h->jit_rx) + 1, &rel, 4);
}

static bool fits32(int64_t v)
{
    return v == (int32_t)v;
}

/* The host register holding x[rs1] for an access: its own, else rsi loaded from h->x. */
static int access_base(Gen *g, const Insn *in)
{
    int h = H(g, in->rs1);
    if (h >= 0)
        return h;
    load_g(g, RSI, in->rs1, false);
    return RSI;
}

/* reg = base + imm. */
static void emit_base_imm(Gen *g, int reg, int base, int32_t imm)
{
    if (imm)
        lea(&g->e, reg, base, imm);
    else if (reg != base)
        mov_rr(&g->e, reg, base);
}

/* In a stub: rsi = the access's virtual address (the body left its base register as
 * it was: a load's destination is written only after the access). */
static void emit_stub_va(Gen *g, const Stub *s)
{
    if (!s->tlb_done)
        emit_base_imm(g, RSI, s->base, s->imm);
}

/* Direct-window test of base + imm (rax = its offset in the window): jae leaves it. */
static uint8_t *emit_window_test(Gen *g, int base, int32_t imm, size_t len_off)
{
    Emit *e = &g->e;
    emit_base_imm(g, RAX, base, imm);
    op_mem(e, 1, 0x2b, RAX, RBX, (int32_t)offsetof(Hart, direct_lo)); /* sub rax, [lo] */
    op_mem(e, 1, 0x3b, RAX, RBX, (int32_t)len_off);                     /* cmp rax, [len] */
    return jmp32(e, CC_AE);
}

/* rsi = x[rs1] + imm. */
static void emit_va(Gen *g, const Insn *in)
{
    int h = H(g, in->rs1);
    if (h >= 0) {
        if (in->imm)
            lea(&g->e, RSI, h, (int32_t)in->imm);
        else
            mov_rr(&g->e, RSI, h);
    } else {
        load_g(g, RSI, in->rs1, false);
        if (in->imm)
            alu_imm(&g->e, 1, ALU_ADD, RSI, (int32_t)in->imm);
    }
}

/* With rsi = virtual address: rax = offset of its TLB entry from r12, flags from
 * comparing the entry's tag at tag_off (E: hit; a tag with flag bits or a misaligned
 * address never matches). */
static void emit_tlb_cmp(Gen *g, unsigned size, size_t tag_off)
{
    Emit *e = &g->e;
    _Static_assert((sizeof(TlbEntry) & (sizeof(TlbEntry) - 1)) == 0 && sizeof(TlbEntry) <= 4096,
                   "the TLB index is scaled with a shift");
    const int scale = __builtin_ctz(sizeof(TlbEntry));
    op_rr(e, 0, 0x89, RSI, RAX);        /* mov eax, esi */
    shift_imm(e, 0, SH_SHR, RAX, (uint8_t)(12 - scale));
    alu_imm(e, 0, ALU_AND, RAX, (int32_t)((TLB_SIZE - 1) << scale));
    op_mem(e, 1, 0x03, RAX, RBX, (int32_t)offsetof(Hart, dtlb)); /* add rax, [dtlb] */
    mov_rr(e, RCX, RSI);
    alu_imm(e, 1, ALU_AND, RCX, (int32_t)(PAGE_MASK | (size - 1)));
    op_m(e, 1, 0, 0, 0x3b, RCX, RAX, -1, (int32_t)tag_off, 0); /* cmp rcx, [rax+tag] */
}

/* movXX d, [base + index + disp] for a load of this kind. */
static void emit_load_op(Emit *e, unsigned opc, int d, int base, int index, int32_t disp)
{
    switch (opc) {
    case OP_LB: op_m(e, 1, 0, 1, 0xbe, d, base, index, disp, 0); break;  /* movsx d, byte */
    case OP_LBU: op_m(e, 0, 0, 1, 0xb6, d, base, index, disp, 0); break; /* movzx d32, byte */
    case OP_LH: op_m(e, 1, 0, 1, 0xbf, d, base, index, disp, 0); break;  /* movsx d, word */
    case OP_LHU: op_m(e, 0, 0, 1, 0xb7, d, base, index, disp, 0); break; /* movzx d32, word */
    case OP_LW: op_m(e, 1, 0, 0, 0x63, d, base, index, disp, 0); break;  /* movsxd d, dword */
    case OP_LWU: op_m(e, 0, 0, 0, 0x8b, d, base, index, disp, 0); break; /* mov d32, dword */
    default: op_m(e, 1, 0, 0, 0x8b, d, base, index, disp, 0); break;     /* mov d, qword */
    }
}

static bool emit_load(Gen *g, const Insn *in, uint32_t k)
{
    Emit *e = &g->e;
    unsigned size = in->opc == OP_LB || in->opc == OP_LBU ? 1
                  : in->opc == OP_LH || in->opc == OP_LHU ? 2
                  : in->opc == OP_LW || in->opc == OP_LWU ? 4 : 8;
    if (!fits32(in->imm))
        return false;
    int d = H(g, in->rd) >= 0 ? H(g, in->rd) : RAX;
    Stub *s;
    if (!g->store_window) {
        /* Translated data accesses now: the TLB inline (the window is closed). */
        emit_va(g, in);
        emit_tlb_cmp(g, size, offsetof(TlbEntry, tag_r));
        s = add_stub(g, STUB_LOAD, jmp32(e, CC_NE), k);
        s->tlb_done = true;
        op_m(e, 1, 0, 0, 0x03, RSI, RAX, -1, (int32_t)offsetof(TlbEntry, addend), 0);
        emit_load_op(e, in->opc, d, RSI, -1, 0);
    } else {
        /* The direct window first (r12 = h->direct_addend); the TLB out of line. */
        int base = access_base(g, in);
        s = add_stub(g, STUB_LOAD, emit_window_test(g, base, (int32_t)in->imm,
                                                    offsetof(Hart, direct_len)), k);
        s->base = base;
        s->imm = (int32_t)in->imm;
        emit_load_op(e, in->opc, d, base, R12, (int32_t)in->imm);
    }
    s->resume = e->p;
    s->size = size;
    s->val = d;
    s->opc = in->opc;
    put(g, in->rd, d);
    return true;
}

/* Slow paths called from generated code (TLB miss, code page, MMIO, misaligned): what
 * the interpreter's slow paths do, without leaving the generated code.  Loads return
 * the raw value and whether it worked; stores 0: done, 1: fault, 2: done, and it
 * dropped translations (perhaps this block's): leave after the store, as the
 * interpreter does.  On a fault the interpreter performs the access again and traps. */
typedef struct JitLoad {
    uint64_t val, ok;      /* returned in rax, rdx */
} JitLoad;

static JitLoad jit_load_slow(Hart *h, uint64_t va, uint32_t size)
{
    JitLoad r = { 0, 0 };
    r.ok = tcg_load_slow(h, va, size, &r.val);
    return r;
}

static uint32_t jit_store_slow(Hart *h, uint64_t va, uint64_t val, uint32_t size)
{
    if (!tcg_store_slow(h, va, size, val))
        return 1;
    if (h->tb_dirty) {
        h->tb_dirty = false;
        return 2;
    }
    return 0;
}

/* call fn(h, rsi, rdx, rcx) keeping the allocated caller-saved registers; the helper
 * may have moved the direct window (a TLB fill after a memory map change): r12 is
 * loaded again. */
static void emit_call(Gen *g, const void *fn)
{
    Emit *e = &g->e;
    int saved[NHOST], n = 0;
    for (int i = 0; i < NHOST; i++)
        for (unsigned r = 1; r < 32; r++)
            if (g->host[r] == host_pool[i] && CALLER_SAVED(host_pool[i]))
                saved[n++] = host_pool[i];
    for (int i = 0; i < n; i++)
        push_r(e, saved[i]);
    if (n & 1)
        alu_imm(e, 1, ALU_SUB, RSP, 8); /* the call needs rsp 16-byte aligned */
    mov_rr(e, RDI, RBX);
    mov_imm(e, RAX, (uint64_t)(uintptr_t)fn);
    e8(e, 0xff); e8(e, 0xd0);           /* call rax */
    if (n & 1)
        alu_imm(e, 1, ALU_ADD, RSP, 8);
    for (int i = n - 1; i >= 0; i--)
        pop_r(e, saved[i]);
    mov_load(e, R12, RBX, (int32_t)offsetof(Hart, direct_addend));
}

/* mov [base + index + disp], v (size bytes). */
static void emit_store_op(Emit *e, unsigned size, int v, int base, int index, int32_t disp)
{
    switch (size) {
    case 1: op_m(e, 0, 0, 0, 0x88, v, base, index, disp, 1); break;
    case 2: op_m(e, 0, 1, 0, 0x89, v, base, index, disp, 0); break;
    case 4: op_m(e, 0, 0, 0, 0x89, v, base, index, disp, 0); break;
    default: op_m(e, 1, 0, 0, 0x89, v, base, index, disp, 0); break;
    }
}

static bool emit_store(Gen *g, const Insn *in, uint32_t k)
{
    Emit *e = &g->e;
    unsigned size = in->opc == OP_SB ? 1 : in->opc == OP_SH ? 2 : in->opc == OP_SW ? 4 : 8;
    if (!fits32(in->imm))
        return false;
    int v = H(g, in->rs2);
    if (v < 0) {
        load_g(g, RDX, in->rs2, false);
        v = RDX;
    }
    Stub *s;
    if (!g->store_window) {
        emit_va(g, in);
        /* The TLB inline; a miss, code page, MMIO: the stub (the slow path). */
        emit_tlb_cmp(g, size, offsetof(TlbEntry, tag_w));
        s = add_stub(g, STUB_STORE, jmp32(e, CC_NE), k);
        s->tlb_done = true;
        op_m(e, 1, 0, 0, 0x03, RSI, RAX, -1, (int32_t)offsetof(TlbEntry, addend), 0);
        emit_store_op(e, size, v, RSI, -1, 0);
        s->resume = e->p;
        s->size = size;
        s->val = v;
        s->d = in->off + in->len;
        return true;
    }
    /* The direct window above the highest code page (h->code_hi): no code can be
     * there, and the window ends 7 bytes before the RAM does, so any store, aligned or
     * not, is made right away.  Below it the stub tests the page (emit_window_store). */
    int base = access_base(g, in);
    int32_t imm = (int32_t)in->imm;
    s = add_stub(g, STUB_STORE, NULL, k);
    s->base = base;
    s->imm = imm;
    emit_base_imm(g, RAX, base, imm);
    op_mem(e, 1, 0x3b, RAX, RBX, (int32_t)offsetof(Hart, code_hi)); /* cmp rax, [code_hi] */
    s->fixd = jmp32(e, CC_B);
    op_mem(e, 1, 0x2b, RAX, RBX, (int32_t)offsetof(Hart, direct_lo)); /* sub rax, [lo] */
    op_mem(e, 1, 0x3b, RAX, RBX, (int32_t)offsetof(Hart, direct_wlen)); /* cmp rax, [wlen] */
    s->fix = jmp32(e, CC_AE);
    emit_store_op(e, size, v, base, R12, imm);
    s->resume = e->p;
    s->size = size;
    s->val = v;
    s->d = in->off + in->len;
    return true;
}

/* In a stub: the TLB hit path (the access, then back to `resume`); returns the rel32 of
 * the miss jump for the caller to patch to its slow path. */
static uint8_t *emit_tlb_hit(Gen *g, const Stub *s, bool store)
{
    Emit *e = &g->e;
    emit_tlb_cmp(g, s->size, store ? offsetof(TlbEntry, tag_w) : offsetof(TlbEntry, tag_r));
    uint8_t *miss = jmp32(e, CC_NE);
    op_m(e, 1, 0, 0, 0x03, RSI, RAX, -1, (int32_t)offsetof(TlbEntry, addend), 0);
    if (store)
        emit_store_op(e, s->size, s->val, RSI, -1, 0);
    else
        emit_load_op(e, s->opc, s->val, RSI, -1, 0);
    jmp_to(e, -1, s->resume);
    return miss;
}

/* The store stub (outside the direct window, or a code page): rsi = va, the value in
 * s->val.  The TLB; a code page through the helper; else the interpreter.
 *
 * In the window, a code page (fixb: rax = code_mask, rcx = the page's index) that only
 * this hart holds code on, whose granules with translated bytes the last store the
 * helper kept left in h->cw_page/cw_bytes (tb.c), takes the store here when it touches
 * none of them: what tcg_code_write would do (nothing but count it), without the call.
 * The store is aligned (fixc took the others), so it lies in one 64-byte granule. */
static void emit_store_stub(Gen *g, const Stub *s)
{
    Emit *e = &g->e;
    uint8_t *slow[3], *fixb = NULL, *fixc = NULL, *fixw = NULL;
    unsigned nslow = 0;
    if (s->fixd) {
        /* Below code_hi: in the window, aligned (a misaligned store may reach into the
         * next page, whose code flag is not checked), on a page without translated
         * code: the store; else the TLB, which never matches a misaligned address. */
        patch32(e, s->fixd);
        fixw = emit_window_test(g, s->base, s->imm, offsetof(Hart, direct_wlen));
        emit_base_imm(g, RCX, s->base, s->imm);
        if (s->size > 1) {
            e8(e, 0xf6); e8(e, 0xc1); e8(e, (uint8_t)(s->size - 1)); /* test cl, size - 1 */
            fixc = jmp32(e, CC_NE);
        }
        shift_imm(e, 1, SH_SHR, RCX, 12);
        alu_imm(e, 0, ALU_AND, RCX, (1 << CODE_MAP_BITS) - 1);
        mov_load(e, RAX, RBX, (int32_t)offsetof(Hart, code_mask));
        op_m(e, 1, 0, 0, 0x83, 7, RAX, RCX, 0, 0); /* cmp qword [rax + rcx*8], 0 */
        e->p[-1] |= 3 << 6; /* scale 8: the SIB byte is last (base rax, no displacement) */
        e8(e, 0);
        fixb = jmp32(e, CC_NE);
        emit_store_op(e, s->size, s->val, s->base, R12, s->imm);
        jmp_to(e, -1, s->resume);
    }
    if (fixb) {
        patch32(e, fixb);
        emit_stub_va(g, s);
        op_m(e, 1, 0, 0, 0x8b, RAX, RAX, RCX, 0, 0); /* mov rax, [rax + rcx*8] */
        e->p[-1] |= 3 << 6;
        op_mem(e, 1, 0x3b, RAX, RBX, (int32_t)offsetof(Hart, hart_bit)); /* cmp rax, [bit] */
        slow[nslow++] = jmp32(e, CC_NE);
        mov_rr(e, RAX, RSI);
        alu_imm(e, 1, ALU_AND, RAX, (int32_t)PAGE_MASK);
        op_mem(e, 1, 0x3b, RAX, RBX, (int32_t)offsetof(Hart, cw_page)); /* cmp rax, [page] */
        slow[nslow++] = jmp32(e, CC_NE);
        op_rr(e, 0, 0x89, RSI, RCX);        /* mov ecx, esi */
        shift_imm(e, 0, SH_SHR, RCX, 6);
        mov_load(e, RAX, RBX, (int32_t)offsetof(Hart, cw_bytes));
        shift_cl(e, 1, SH_SHR, RAX);        /* shr rax, cl (granule, mod 64) */
        e8(e, 0xa8); e8(e, 1);              /* test al, 1 */
        slow[nslow++] = jmp32(e, CC_NE);
        emit_store_op(e, s->size, s->val, RSI, R12, 0);
        op_m(e, 1, 0, 0, 0x83, 0, RBX, -1, (int32_t)offsetof(Hart, st.code_write_kept), 0);
        e8(e, 1);                           /* add qword [kept], 1 */
        jmp_to(e, -1, s->resume);
    }
    patch32(e, s->fix);
    if (fixc)
        patch32(e, fixc);
    if (fixw)
        patch32(e, fixw);
    emit_stub_va(g, s);
    for (unsigned i = 0; i < nslow; i++)
        patch32(e, slow[i]);
    if (!s->tlb_done)
        patch32(e, emit_tlb_hit(g, s, true));
    if (s->val != RDX)
        mov_rr(e, RDX, s->val);
    e8(e, 0xb9); e32(e, s->size);       /* mov ecx, size */
    emit_call(g, (const void *)jit_store_slow);
    op_rr(e, 0, 0x85, RAX, RAX);        /* test eax, eax */
    jmp_to(e, CC_E, s->resume);
    alu_imm(e, 0, ALU_CMP, RAX, 1);
    uint8_t *smc = jmp32(e, CC_NE);
    emit_exit(g, s->k);
    patch32(e, smc);
    emit_retire(g, s->k + 1);
    lea(e, RAX, R13, (int32_t)s->d);
    mov_store(e, RAX, RBX, PCOFF);
    jmp_to(e, -1, g->tail_done);
}

/* rax = the raw loaded value extended as the load kind says. */
static void emit_extend(Emit *e, unsigned opc)
{
    switch (opc) {
    case OP_LB: op0f_rr(e, 1, 0xbe, RAX, RAX); break;  /* movsx rax, al */
    case OP_LBU: op0f_rr(e, 0, 0xb6, RAX, RAX); break; /* movzx eax, al */
    case OP_LH: op0f_rr(e, 1, 0xbf, RAX, RAX); break;  /* movsx rax, ax */
    case OP_LHU: op0f_rr(e, 0, 0xb7, RAX, RAX); break; /* movzx eax, ax */
    case OP_LW: movsxd_rr(e, RAX, RAX); break;
    case OP_LWU: op_rr(e, 0, 0x89, RAX, RAX); break;   /* mov eax, eax */
    default: break;
    }
}

/* An exit at k emitted right here (within a stub), jumped over when cc holds. */
static void add_stub_exit_inline(Gen *g, int cc, uint32_t k)
{
    Emit *e = &g->e;
    uint8_t *hit = jmp32(e, cc);
    emit_exit(g, k);
    patch32(e, hit);
}

/* h->jit_exit = the patchable jump whose rel32 is at fix2 (the run loop links it). */
static void emit_record_exit(Gen *g, const uint8_t *fix2)
{
    Emit *e = &g->e;
    /* lea rcx, [rip + (slot - here)]; mov [rbx + jit_exit], rcx */
    e8(e, 0x48); e8(e, 0x8d); e8(e, 0x0d);
    e32(e, (uint32_t)(int32_t)((fix2 - 1) - (e->p + 4)));
    mov_store(e, RCX, RBX, (int32_t)offsetof(Hart, jit_exit));
}

static void emit_stubs(Gen *g)
{
    Emit *e = &g->e;
    for (unsigned i = 0; i < g->nstub; i++) {
        Stub *s = &g->stub[i];
        const uint8_t *stub_start = e->p;
        if (s->fixb && s->kind != STUB_STOP && s->kind != STUB_STORE)
            patch32(e, s->fixb); /* a second way into the stub */
        switch (s->kind) {
        case STUB_EXIT:
            patch32(e, s->fix);
            emit_exit(g, s->k);
            break;
        case STUB_STORE:
            emit_store_stub(g, s);
            break;
        case STUB_LOAD:
            /* Outside the direct window: the TLB, else the interpreter. */
            patch32(e, s->fix);
            emit_stub_va(g, s);
            if (!s->tlb_done)
                patch32(e, emit_tlb_hit(g, s, false));
            /* TLB miss, MMIO, misaligned: the slow path (raw value in rax). */
            e8(e, 0xba); e32(e, s->size); /* mov edx, size */
            emit_call(g, (const void *)jit_load_slow);
            op_rr(e, 1, 0x85, RDX, RDX);  /* test rdx, rdx */
            add_stub_exit_inline(g, CC_NE, s->k);
            emit_extend(e, s->opc);
            if (s->val != RAX)
                mov_rr(e, s->val, RAX);
            jmp_to(e, -1, s->resume);
            break;
        case STUB_BRANCH:
            patch32(e, s->fix);
            emit_goto(g, s->d, s->k + 1);
            break;
        case STUB_LOOP_STOP:
            patch32(e, s->fix);
            mov_store(e, R13, RBX, PCOFF);
            jmp_to(e, -1, g->tail_done);
            break;
        case STUB_STOP:
            /* Two ways in: unlinked (r13 already holds the target; registers written
             * back and the borrowed ones restored) or stopping (an exit request or the
             * budget spent; r13 still holds this block's base, registers as in the
             * body).  Both say which jump to patch. */
            if (s->fix2) {
                patch32(e, s->fix2);
                mov_store(e, R13, RBX, PCOFF);
                emit_record_exit(g, s->fix2);
                jmp_to(e, -1, g->tail_left);
            }
            patch32(e, s->fix);
            if (s->fixb)
                patch32(e, s->fixb);
            lea(e, RAX, R13, (int32_t)s->d);
            mov_store(e, RAX, RBX, PCOFF);
            if (s->fix2)
                emit_record_exit(g, s->fix2);
            jmp_to(e, -1, g->tail_done);
            break;
        }
        if (e->p - stub_start > (s->kind == STUB_STORE || s->kind == STUB_BRANCH
                                     ? JIT_STORE_STUB_BYTES : JIT_STUB_BYTES))
            __builtin_trap(); /* a generator bug: the room kept for stubs is too small */
    }
}

/* rd = rs1 op rs2 (op in the reg, r/m form; 64-bit, or 32-bit sign-extended).  A
 * commutative op whose rd is its rs2 is computed as rs2 op rs1, in rd's own register. */
static void emit_alu_reg(Gen *g, const Insn *in, uint8_t op, bool w32)
{
    unsigned a = in->rs1, b = in->rs2;
    if (op != 0x2b && b == in->rd && a != in->rd) {
        a = in->rs2;
        b = in->rs1;
    }
    int d = dest(g, in->rd, a, b);
    load_g(g, d, a, w32);
    op_g(g, !w32, 0, op, d, b);
    if (w32 && !g->no_sext)
        movsxd_rr(&g->e, d, d);
    put(g, in->rd, d);
}

static void emit_alu_imm(Gen *g, const Insn *in, int ext, bool w32)
{
    int d = dest(g, in->rd, in->rs1, in->rs1);
    int s = H(g, in->rs1);
    if (ext == ALU_ADD && !w32 && s >= 0 && s != d) {
        lea(&g->e, d, s, (int32_t)in->imm);
    } else {
        load_g(g, d, in->rs1, w32);
        alu_imm(&g->e, !w32, ext, d, (int32_t)in->imm);
        if (w32 && !g->no_sext)
            movsxd_rr(&g->e, d, d);
    }
    put(g, in->rd, d);
}

static void emit_shift_imm(Gen *g, const Insn *in, int ext, bool w32)
{
    int d = dest(g, in->rd, in->rs1, in->rs1);
    load_g(g, d, in->rs1, w32);
    shift_imm(&g->e, !w32, ext, d, (uint8_t)(in->imm & (w32 ? 31 : 63)));
    if (w32 && !g->no_sext)
        movsxd_rr(&g->e, d, d);
    put(g, in->rd, d);
}

/* x86 masks the count in cl to 6 (64-bit) or 5 (32-bit) bits, as RISC-V does. */
static void emit_shift_reg(Gen *g, const Insn *in, int ext, bool w32)
{
    load_g(g, RCX, in->rs2, true);
    int d = dest(g, in->rd, in->rs1, in->rs1);
    load_g(g, d, in->rs1, w32);
    shift_cl(&g->e, !w32, ext, d);
    if (w32 && !g->no_sext)
        movsxd_rr(&g->e, d, d);
    put(g, in->rd, d);
}

/* Flags from x[rs1] - x[rs2] (rs2 < 0: imm). */
static void emit_cmp(Gen *g, unsigned rs1, int rs2, int64_t imm)
{
    Emit *e = &g->e;
    int a = H(g, rs1);
    if (a < 0 && rs2 >= 0 && H(g, rs2) >= 0) {
        op_m(e, 1, 0, 0, 0x39, H(g, rs2), RBX, -1, XOFF(rs1), 0); /* cmp [x1], h2 */
        return;
    }
    if (a < 0) {
        load_g(g, RDX, rs1, false);
        a = RDX;
    }
    if (rs2 < 0)
        alu_imm(e, 1, ALU_CMP, a, (int32_t)imm);
    else if (rs2 == 0)
        op_rr(e, 1, 0x85, a, a);        /* test a, a */
    else
        op_g(g, 1, 0, 0x3b, a, (unsigned)rs2);
}

static void emit_set(Gen *g, const Insn *in, int cc, bool imm)
{
    emit_cmp(g, in->rs1, imm ? -1 : in->rs2, in->imm);
    int d = H(g, in->rd) >= 0 ? H(g, in->rd) : RAX;
    setcc_to(&g->e, cc, d);
    put(g, in->rd, d);
}

/* DIV[U][W] / REM[U][W] with RISC-V's results where x86 would fault: a zero divisor
 * gives all ones (DIV) or the dividend (REM); a divisor of -1 gives the negated
 * dividend (DIV; INT_MIN stays INT_MIN, the overflow case) or 0 (REM) without idiv.
 * The W forms divide the low 32 bits and sign-extend the 32-bit result. */
static void emit_divrem(Gen *g, const Insn *in)
{
    Emit *e = &g->e;
    unsigned o = in->opc;
    bool w32 = o == OP_DIVW || o == OP_DIVUW || o == OP_REMW || o == OP_REMUW;
    bool sign = o == OP_DIV || o == OP_REM || o == OP_DIVW || o == OP_REMW;
    bool rem = o == OP_REM || o == OP_REMU || o == OP_REMW || o == OP_REMUW;
    int w = !w32;
    load_g(g, RCX, in->rs2, w32);
    load_g(g, RAX, in->rs1, w32);
    op_rr(e, w, 0x85, RCX, RCX);         /* test rcx, rcx */
    uint8_t *zero = jcc8(e, CC_E);
    uint8_t *minus1 = NULL;
    if (sign) {
        alu_imm(e, w, ALU_CMP, RCX, -1);
        minus1 = jcc8(e, CC_E);
        if (w)
            e8(e, 0x48);
        e8(e, 0x99);                     /* cqo / cdq */
    } else {
        op_rr(e, 0, 0x31, RDX, RDX);     /* xor edx, edx */
    }
    rex(e, w, 0, 0, RCX);
    e8(e, 0xf7);
    e8(e, (uint8_t)(0xc0 | ((sign ? 7 : 6) << 3) | RCX)); /* idiv / div rcx */
    if (rem)
        mov_rr(e, RAX, RDX);
    uint8_t *done1 = jmp8(e), *done2 = NULL;
    if (sign) {
        patch8(e, minus1);
        if (rem) {
            op_rr(e, 0, 0x31, RAX, RAX); /* xor eax, eax */
        } else {
            rex(e, w, 0, 0, RAX);
            e8(e, 0xf7); e8(e, 0xd8);    /* neg rax */
        }
        done2 = jmp8(e);
    }
    patch8(e, zero);
    if (!rem)
        alu_imm(e, 1, ALU_OR, RAX, -1);  /* all ones (a 32-bit one sign-extends too) */
    patch8(e, done1);
    if (done2)
        patch8(e, done2);
    if (w32)
        movsxd_rr(e, RAX, RAX);
    put(g, in->rd, RAX);
}

/* Leaves for the computed target in rax (JALR): through the hart's jump cache straight
 * into the target's code when it is compiled and nothing needs the run loop, else back
 * to C with h->pc = rax.  A jump-cache hit is valid for the current mapping and
 * privilege by construction (jc_key), so no page restriction applies here. */
static void emit_leave_pc(Gen *g, uint32_t done)
{
    Emit *e = &g->e;
    const int32_t jc = (int32_t)offsetof(Hart, jc);
    writeback(g);
    mov_store(e, RAX, RBX, PCOFF);
    emit_retire(g, done);
    jmp_to(e, CC_LE, g->tail_done);
    op_m(e, 0, 0, 0, 0x83, 7, RBX, -1, (int32_t)offsetof(Hart, check), 0); /* cmp [check], 0 */
    e8(e, 0);
    jmp_to(e, CC_NE, g->tail_done);
    /* rcx = index * 6 (index = pc >> 1, masked), addressed as rcx * 4 */
    _Static_assert(sizeof(JcEntry) == 24, "the jump-cache index is scaled as 6 * 4");
    op_rr(e, 0, 0x89, RAX, RCX);        /* mov ecx, eax */
    alu_imm(e, 0, ALU_AND, RCX, ((1u << JC_BITS) - 1) << 1);
    op_m(e, 0, 0, 0, 0x8d, RCX, RCX, RCX, 0, 0); /* lea ecx, [rcx + rcx * 2]: the */
    e->p[-1] |= 1 << 6;                 /* scale is in the SIB byte, emitted last */
    op_m_scaled(e, 0x3b, RAX, RBX, RCX, 2, jc + (int32_t)offsetof(JcEntry, pc));
    jmp_to(e, CC_NE, g->tail_done);
    mov_load(e, RDX, RBX, (int32_t)offsetof(Hart, jc_key));
    op_m_scaled(e, 0x3b, RDX, RBX, RCX, 2, jc + (int32_t)offsetof(JcEntry, gen));
    jmp_to(e, CC_NE, g->tail_done);
    op_m_scaled(e, 0x8b, RCX, RBX, RCX, 2, jc + (int32_t)offsetof(JcEntry, tb));
    mov_load(e, RCX, RCX, (int32_t)offsetof(TB, jit_chain));
    op_rr(e, 1, 0x85, RCX, RCX);        /* test rcx, rcx */
    jmp_to(e, CC_E, g->tail_done);
    restore_borrowed(g);
    mov_rr(e, R13, RAX);
    e8(e, 0xff); e8(e, 0xe1);           /* jmp rcx */
}

static bool emit_branch(Gen *g, const Insn *in, uint32_t k)
{
    int64_t taken = (int64_t)in->off + in->imm;
    if (!fits32(taken))
        return false;
    static const int cond[] = { [OP_BEQ - OP_BEQ] = CC_E, [OP_BNE - OP_BEQ] = CC_NE,
                                [OP_BLT - OP_BEQ] = CC_L, [OP_BGE - OP_BEQ] = CC_GE,
                                [OP_BLTU - OP_BEQ] = CC_B, [OP_BGEU - OP_BEQ] = CC_AE };
    emit_cmp(g, in->rs1, in->rs2, 0);
    int cc = cond[in->opc - OP_BEQ];
    if (in->imm > 0 && taken != 0) {
        /* Forward: most often not taken, so that path falls through; the taken exit
         * is out of line. */
        Stub *s = add_stub(g, STUB_BRANCH, jmp32(&g->e, cc), k);
        s->d = taken;
    } else {
        /* Backward (a loop): the taken exit inline, jumped over when not taken. */
        uint8_t *fix = jmp32(&g->e, cc ^ 1);
        emit_goto(g, taken, k + 1);
        patch32(&g->e, fix);
    }
    g->rax_reg = g->rax_avail; /* the not-taken path does not touch rax */
    return true;
}

/* One instruction; false: not handled (the function then hands over to the interpreter
 * at this instruction).  Nothing is emitted before an instruction is known to be
 * handled. */
/* A shift left and a shift right of one register by the same amount (C's casts to a
 * narrower type: zero- or sign-extension of the low 8, 16 or 32 bits) in one move. */
static bool emit_extend_pair(Gen *g, const Insn *in, const Insn *next)
{
    if (!in->rd || next->rd != in->rd || next->rs1 != in->rd)
        return false;
    unsigned n = (unsigned)in->imm, m = (unsigned)next->imm;
    int w = 1, esc = 1;
    uint8_t op;
    if (in->opc == OP_SLLI && (n & 63) == (m & 63)) {
        n &= 63;
        if (next->opc == OP_SRLI)
            op = n == 56 ? 0xb6 : n == 48 ? 0xb7 : 0; /* movzx */
        else if (next->opc == OP_SRAI)
            op = n == 56 ? 0xbe : n == 48 ? 0xbf : 0; /* movsx */
        else
            return false;
        if (n == 32) { /* mov r32, r32 / movsxd */
            esc = 0;
            w = next->opc == OP_SRAI;
            op = next->opc == OP_SRAI ? 0x63 : 0x8b;
        }
    } else if (in->opc == OP_SLLIW && (n & 31) == (m & 31)) {
        n &= 31;
        /* the 32-bit result is sign-extended: after a logical shift bit 31 is 0 */
        if (next->opc == OP_SRLIW)
            op = n == 24 ? 0xb6 : n == 16 ? 0xb7 : 0;
        else if (next->opc == OP_SRAIW)
            op = n == 24 ? 0xbe : n == 16 ? 0xbf : 0;
        else
            return false;
    } else {
        return false;
    }
    if (!op)
        return false;
    int d = dest(g, in->rd, in->rs1, in->rs1);
    int src = H(g, in->rs1);
    if (src < 0 && in->rs1 && (int)in->rs1 == g->rax_avail)
        src = RAX;
    if (src >= 0) {
        rex(&g->e, w, d, 0, src);
        if (esc)
            e8(&g->e, 0x0f);
        e8(&g->e, op);
        e8(&g->e, (uint8_t)(0xc0 | ((d & 7) << 3) | (src & 7)));
    } else {
        op_m(&g->e, w, 0, esc, op, d, RBX, -1, XOFF(in->rs1), 0);
    }
    put(g, in->rd, d);
    return true;
}

static bool emit_one(Gen *g, const Insn *in, uint32_t k);

static void insn_begin(Gen *g)
{
    g->rax_avail = g->rax_reg;
    g->rax_reg = -1;
    g->insn_start = g->e.p;
}

static bool is_w_alu(unsigned o)
{
    return o == OP_ADDIW || o == OP_ADDW || o == OP_SUBW || o == OP_MULW || o == OP_SLLIW ||
           o == OP_SRLIW || o == OP_SRAIW || o == OP_SLLW || o == OP_SRLW || o == OP_SRAW;
}

static bool insn_regs(const Insn *in, bool *r1, bool *r2, bool *wd);
static bool leaves(unsigned opc);

/* Whether the W op at k may leave its result without sign extension (upper half zero
 * instead): only while no exit can show it (loads and stores may leave for the
 * interpreter, branches and jumps leave) and every reader takes only low bits (W ops,
 * ANDI with a non-negative mask, SLLI by 32 or more, the count of a shift), until the
 * register is written again.  `room`: instructions the compile loop surely emits after
 * k (an exit for lack of room would show it too). */
static bool sext_dead(const TB *tb, uint32_t k, unsigned rd, uint32_t room)
{
    for (uint32_t j = k + 1; j <= tb->n && j <= k + room; j++) {
        const Insn *in = &tb->insns[j];
        unsigned o = in->opc;
        bool r1, r2, wd;
        if (!insn_regs(in, &r1, &r2, &wd) || leaves(o) || (o >= OP_BEQ && o <= OP_BGEU) ||
                (o >= OP_LB && o <= OP_LWU) || (o >= OP_SB && o <= OP_SD) ||
                o == OP_MULH || o == OP_MULHU)
            return false;
        bool low = is_w_alu(o) || (o == OP_ANDI && in->imm >= 0) ||
                   (o == OP_SLLI && (in->imm & 63) >= 32);
        if (r1 && in->rs1 == rd && !low)
            return false;
        bool count = o == OP_SLL || o == OP_SRL || o == OP_SRA;
        if (r2 && in->rs2 == rd && !low && !count)
            return false;
        if (wd && in->rd == rd)
            return true;
    }
    return false;
}

/* One instruction, or two fused (g->fused: C's narrowing casts, emit_extend_pair).  A
 * W op whose sign extension nobody can see skips its movsxd (sext_dead). */
static bool emit_insn(Gen *g, const Insn *in, uint32_t k)
{
    insn_begin(g);
    g->fused = 0;
    if (in->opc == OP_END)
        return emit_one(g, in, k);
    const Insn *next = in + 1;
    if ((in->opc == OP_SLLI || in->opc == OP_SLLIW) && emit_extend_pair(g, in, next)) {
        g->fused = 1;
        return true;
    }
    g->no_sext = is_w_alu(in->opc) && in->rd && sext_dead(g->tb, k, in->rd, g->room_insns);
    bool ok = emit_one(g, in, k);
    g->no_sext = false;
    return ok;
}

static bool emit_one(Gen *g, const Insn *in, uint32_t k)
{
    Emit *e = &g->e;
    switch (in->opc) {
    case OP_NOP:
        return true;
    case OP_FENCE:
        if (((in->raw >> 24) & 1) && ((in->raw >> 21) & 1)) {
            e8(e, 0x0f); e8(e, 0xae); e8(e, 0xf0); /* mfence: store->load order */
        }
        return true;
    case OP_LUI: case OP_LI: {
        int d = H(g, in->rd) >= 0 ? H(g, in->rd) : RAX;
        mov_imm(e, d, (uint64_t)in->imm);
        put(g, in->rd, d);
        return true;
    }
    case OP_MV: {
        int d = H(g, in->rd) >= 0 ? H(g, in->rd) : RAX;
        load_g(g, d, in->rs1, false);
        put(g, in->rd, d);
        return true;
    }
    case OP_AUIPC: {
        int64_t d = (int64_t)in->off + in->imm;
        if (!fits32(d))
            return false;
        int h = H(g, in->rd) >= 0 ? H(g, in->rd) : RAX;
        lea(e, h, R13, (int32_t)d);
        put(g, in->rd, h);
        return true;
    }
    case OP_ADDI: emit_alu_imm(g, in, ALU_ADD, false); return true;
    case OP_XORI: emit_alu_imm(g, in, ALU_XOR, false); return true;
    case OP_ORI: emit_alu_imm(g, in, ALU_OR, false); return true;
    case OP_ANDI: emit_alu_imm(g, in, ALU_AND, false); return true;
    case OP_ADDIW: emit_alu_imm(g, in, ALU_ADD, true); return true;
    case OP_SLTI: emit_set(g, in, CC_L, true); return true;
    case OP_SLTIU: emit_set(g, in, CC_B, true); return true;
    case OP_SLLI: emit_shift_imm(g, in, SH_SHL, false); return true;
    case OP_SRLI: emit_shift_imm(g, in, SH_SHR, false); return true;
    case OP_SRAI: emit_shift_imm(g, in, SH_SAR, false); return true;
    case OP_SLLIW: emit_shift_imm(g, in, SH_SHL, true); return true;
    case OP_SRLIW: emit_shift_imm(g, in, SH_SHR, true); return true;
    case OP_SRAIW: emit_shift_imm(g, in, SH_SAR, true); return true;
    case OP_ADD: emit_alu_reg(g, in, 0x03, false); return true;
    case OP_SUB: emit_alu_reg(g, in, 0x2b, false); return true;
    case OP_XOR: emit_alu_reg(g, in, 0x33, false); return true;
    case OP_OR: emit_alu_reg(g, in, 0x0b, false); return true;
    case OP_AND: emit_alu_reg(g, in, 0x23, false); return true;
    case OP_ADDW: emit_alu_reg(g, in, 0x03, true); return true;
    case OP_SUBW: emit_alu_reg(g, in, 0x2b, true); return true;
    case OP_SLT: emit_set(g, in, CC_L, false); return true;
    case OP_SLTU: emit_set(g, in, CC_B, false); return true;
    case OP_SLL: emit_shift_reg(g, in, SH_SHL, false); return true;
    case OP_SRL: emit_shift_reg(g, in, SH_SHR, false); return true;
    case OP_SRA: emit_shift_reg(g, in, SH_SAR, false); return true;
    case OP_SLLW: emit_shift_reg(g, in, SH_SHL, true); return true;
    case OP_SRLW: emit_shift_reg(g, in, SH_SHR, true); return true;
    case OP_SRAW: emit_shift_reg(g, in, SH_SAR, true); return true;
    case OP_MUL: case OP_MULW: {
        bool w32 = in->opc == OP_MULW;
        unsigned a = in->rs1, b = in->rs2;
        if (b == in->rd && a != in->rd) { /* commutative: compute in rd's register */
            a = in->rs2;
            b = in->rs1;
        }
        int d = dest(g, in->rd, a, b);
        load_g(g, d, a, w32);
        op_g(g, !w32, 1, 0xaf, d, b);   /* imul d, b */
        if (w32 && !g->no_sext)
            movsxd_rr(e, d, d);
        put(g, in->rd, d);
        return true;
    }
    case OP_MULH: case OP_MULHU:
        load_g(g, RAX, in->rs1, false);
        /* imul / mul rs2: rdx:rax = rax * rs2 */
        op_g(g, 1, 0, 0xf7, in->opc == OP_MULH ? 5 : 4, in->rs2);
        put(g, in->rd, RDX);
        return true;
    case OP_DIV: case OP_DIVU: case OP_REM: case OP_REMU:
    case OP_DIVW: case OP_DIVUW: case OP_REMW: case OP_REMUW:
        emit_divrem(g, in);
        return true;
    case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU:
        return emit_load(g, in, k);
    case OP_SB: case OP_SH: case OP_SW: case OP_SD:
        return emit_store(g, in, k);
    case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
        return emit_branch(g, in, k);
    case OP_JAL: {
        int64_t t = (int64_t)in->off + in->imm;
        if (!fits32(t))
            return false;
        int h = H(g, in->rd) >= 0 ? H(g, in->rd) : RAX;
        lea(e, h, R13, (int32_t)(in->off + in->len));
        put(g, in->rd, h);
        emit_goto(g, t, k + 1);
        return true;
    }
    case OP_JALR: {
        if (!fits32(in->imm))
            return false;
        /* The target before rd is written (rd may be rs1); rax when there is no link
         * (a return), else rcx. */
        int t = in->rd ? RCX : RAX;
        load_g(g, t, in->rs1, false);
        if (in->imm)
            alu_imm(e, 1, ALU_ADD, t, (int32_t)in->imm);
        alu_imm(e, 1, ALU_AND, t, -2);
        if (in->rd) {
            int h = H(g, in->rd) >= 0 ? H(g, in->rd) : RAX;
            lea(e, h, R13, (int32_t)(in->off + in->len));
            put(g, in->rd, h);
            mov_rr(e, RAX, RCX);
        }
        emit_leave_pc(g, k + 1);
        return true;
    }
    case OP_END:
        emit_goto(g, in->off, k);
        return true;
    default:
        return false;
    }
}

/* Instructions after which the generated function has returned. */
static bool leaves(unsigned opc)
{
    return opc == OP_END || opc == OP_JAL || opc == OP_JALR;
}

/* Which registers an instruction the generator handles reads and writes (a superset
 * is harmless); false: not handled. */
static bool insn_regs(const Insn *in, bool *r1, bool *r2, bool *wd)
{
    unsigned o = in->opc;
    *r1 = *r2 = *wd = false;
    switch (o) {
    case OP_NOP: case OP_FENCE: case OP_END:
        return true;
    case OP_LUI: case OP_LI: case OP_AUIPC: case OP_JAL:
        *wd = true;
        return true;
    case OP_MV: case OP_JALR:
        *r1 = *wd = true;
        return true;
    case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
    case OP_SB: case OP_SH: case OP_SW: case OP_SD:
        *r1 = *r2 = true;
        return true;
    case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU:
    case OP_ADDI: case OP_XORI: case OP_ORI: case OP_ANDI: case OP_ADDIW: case OP_SLTI:
    case OP_SLTIU: case OP_SLLI: case OP_SRLI: case OP_SRAI: case OP_SLLIW: case OP_SRLIW:
    case OP_SRAIW:
        *r1 = *wd = true;
        return true;
    case OP_ADD: case OP_SUB: case OP_XOR: case OP_OR: case OP_AND: case OP_ADDW:
    case OP_SUBW: case OP_SLT: case OP_SLTU: case OP_SLL: case OP_SRL: case OP_SRA:
    case OP_SLLW: case OP_SRLW: case OP_SRAW: case OP_MUL: case OP_MULW: case OP_MULH:
    case OP_MULHU: case OP_DIV: case OP_DIVU: case OP_REM: case OP_REMU: case OP_DIVW:
    case OP_DIVUW: case OP_REMW: case OP_REMUW:
        *r1 = *r2 = *wd = true;
        return true;
    default:
        return false;
    }
}

/* Counts the uses of each guest register in the part of the block the generator
 * handles and gives host registers to the most used (at least two uses).  Uses inside
 * a loop back to the block's start count LOOP_WEIGHT times. */
#define LOOP_WEIGHT 8
static void regalloc(Gen *g)
{
    unsigned uses[33] = { 0 };
    uint64_t wr = 0;
    const TB *tb = g->tb;
    uint32_t loop_end = 0; /* instructions before this one are in the loop */
    for (uint32_t k = 0; k <= tb->n; k++) {
        const Insn *in = &tb->insns[k];
        bool r1, r2, wd;
        if (!insn_regs(in, &r1, &r2, &wd))
            break;
        if ((in->opc == OP_JAL || (in->opc >= OP_BEQ && in->opc <= OP_BGEU)) &&
            (int64_t)in->off + in->imm == 0)
            loop_end = k + 1;
        if (leaves(in->opc))
            break;
    }
    for (uint32_t k = 0; k <= tb->n; k++) {
        const Insn *in = &tb->insns[k];
        bool r1, r2, wd;
        if (!insn_regs(in, &r1, &r2, &wd))
            break;
        unsigned w = k < loop_end ? LOOP_WEIGHT : 1;
        if (r1)
            uses[in->rs1] += w;
        if (r2)
            uses[in->rs2] += w;
        if (wd && in->rd < 33) {
            uses[in->rd] += w;
            wr |= 1ull << in->rd;
        }
        if (leaves(in->opc))
            break;
    }
    /* x0 reads as zero and is never allocated; its uses (beqz, mv...) must not raise the
     * bar the others have to pass below. */
    uses[0] = 0;
    memset(g->host, -1, sizeof(g->host));
    for (int i = 0; i < NFIXED; i++)
        g->host[fixed_guest[i]] = (int8_t)host_pool[i];
    /* The free host registers first, then those of fixed registers the block does not
     * use (borrowing costs a store on entry and a load at each exit: only for registers
     * used at least twice inside a loop back to the block start). */
    g->borrowed = 0;
    int order[NHOST], n = 0;
    for (int i = NFIXED; i < NHOST; i++)
        order[n++] = i;
    for (int i = 0; i < NFIXED; i++)
        if (!uses[fixed_guest[i]])
            order[n++] = i;
    for (int j = 0; j < n; j++) {
        int i = order[j];
        unsigned best = 0, least = i < NFIXED ? 2 * LOOP_WEIGHT : 2;
        for (unsigned r = 1; r < 32; r++)
            if (g->host[r] < 0 && !is_fixed(r) && uses[r] >= least && uses[r] > uses[best])
                best = r;
        if (!best)
            break;
        if (i < NFIXED) {
            g->borrowed |= 1u << i;
            g->host[fixed_guest[i]] = -1; /* unused in this block */
        }
        g->host[best] = (int8_t)host_pool[i];
    }
    g->written = 0;
    for (unsigned r = 1; r < 32; r++)
        if (g->host[r] >= 0 && !is_fixed(r) && (wr >> r & 1))
            g->written |= 1ull << r;
}

/* MOSAIC_TCG_PERF_MAP=1: names each generated block in /tmp/perf-PID.map (the format
 * `perf report` reads for JIT code), so profiles tell guest blocks from helpers and
 * the run loop.  Opened once per process; harts append under a lock. */
static void perf_map_add(Hart *h, const void *code, size_t len, const TB *tb)
{
    static FILE *map;
    static bool tried, dump;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    (void)h;
    pthread_mutex_lock(&lock);
    if (!tried) {
        tried = true;
        const char *env = getenv("MOSAIC_TCG_PERF_MAP");
        if (env && (!strcmp(env, "1") || !strcmp(env, "code"))) {
            char path[64];
            snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
            map = fopen(path, "w");
            if (!strcmp(env, "code")) {
                snprintf(path, sizeof(path), "/tmp/perf-%d.code", (int)getpid());
                dump = mkdir(path, 0700) == 0;
            }
        }
    }
    if (map) {
        fprintf(map, "%lx %zx guest_pa_%llx\n", (unsigned long)(uintptr_t)code, len,
                (unsigned long long)tb->ppc);
        fflush(map);
        if (dump) {
            char path[96];
            snprintf(path, sizeof(path), "/tmp/perf-%d.code/%llx-%lx.bin", (int)getpid(),
                     (unsigned long long)tb->ppc, (unsigned long)(uintptr_t)code);
            FILE *f = fopen(path, "wb");
            if (f) {
                fwrite(code, 1, len, f);
                fclose(f);
            }
        }
    }
    pthread_mutex_unlock(&lock);
}


/* Bytes a block's code may take (tcg_jit_room keeps this much free). */
#define JIT_BLOCK_MAX ((MAX_TB_INSNS + 4) * JIT_MAX_INSN_BYTES)

JitFn tcg_jit_compile(Hart *h, TB *tb)
{
    if (!h->jit_rw || h->step || !tcg_jit_room(h))
        return NULL;
    bool r1, r2, wd;
    if (!insn_regs(&tb->insns[0], &r1, &r2, &wd))
        return NULL; /* nothing to gain when the first instruction needs the interpreter */
    static __thread Gen g; /* large (the stubs): not on the stack */
    uint8_t *start = h->jit_rw + h->jit_used;
    /* codecache.c reserved room for this block (h->jit_need), possibly less than the
     * largest block: the region's end bounds the code too. */
    size_t limit = h->jit_end - h->jit_used;
    if (limit > JIT_BLOCK_MAX)
        limit = JIT_BLOCK_MAX;
    memset(&g, 0, offsetof(Gen, stub));
    g.rax_reg = -1;
    g.nstub = 0;
    g.stub_room = 0;
    g.e.p = start;
    g.tb = tb;
    g.store_window = (h->priv == PRV_M && !(h->mstatus & MS_MPRV)) || (h->satp >> 60) == 0;
    regalloc(&g);
    Emit *e = &g.e;
    emit_tails(&g);
    uint8_t *entry = e->p;
    push_r(e, RBX);
    push_r(e, RBP);
    push_r(e, R12);
    push_r(e, R13);
    push_r(e, R14);
    push_r(e, R15);
    alu_imm(e, 1, ALU_SUB, RSP, 8);       /* rsp 16-byte aligned for helper calls */
    mov_rr(e, RBX, RDI);                  /* rbx = h */
    mov_rr(e, R13, RSI);                  /* r13 = base pc */
    mov_load(e, R12, RBX, (int32_t)offsetof(Hart, direct_addend));
    op_mem(e, 0, 0x8b, R14, RBX, (int32_t)offsetof(Hart, jit_budget)); /* mov r14d, [budget] */
    load_fixed(&g);
    /* Chained blocks enter here: rbx, r12 (the direct window cannot change inside
     * generated code), r13 (set by the jumping exit) and the fixed registers are
     * right. */
    tb->jit_chain = h->jit_rx + (e->p - h->jit_rw);
    reload(&g);
    g.loop_head = e->p;
    for (uint32_t k = 0; k <= tb->n; k++) {
        /* Every instruction needs less than JIT_MAX_INSN_BYTES inline plus stubs. */
        size_t need = (size_t)(e->p - start) + g.stub_room + 2 * JIT_STORE_STUB_BYTES;
        /* instructions after this one that will pass this test too (when they add no
         * stubs: sext_dead looks only across those) */
        g.room_insns = need + 2 * JIT_MAX_INSN_BYTES <= limit
                     ? (uint32_t)((limit - need) / JIT_MAX_INSN_BYTES) - 2 : 0;
        if (need + 2 * JIT_MAX_INSN_BYTES > limit || !emit_insn(&g, &tb->insns[k], k)) {
            emit_exit(&g, k);
            break;
        }
        if (leaves(tb->insns[k].opc))
            break;
        k += g.fused;
    }
    emit_stubs(&g);
    size_t len = (size_t)(e->p - start);
    if (len > limit)
        __builtin_trap(); /* a generator bug: the bound above is wrong */
    JitFn fn = (JitFn)(void *)(h->jit_rx + (entry - h->jit_rw));
    perf_map_add(h, h->jit_rx + h->jit_used, len, tb);
    h->jit_used = (h->jit_used + len + 15) & ~(size_t)15;
    h->st.jit_blocks++;
    return fn;
}

#else /* no back-end for this host: the interpreter runs everything */

JitFn tcg_jit_compile(Hart *h, TB *tb)
{
    (void)h;
    (void)tb;
    return NULL;
}

void tcg_jit_link(Hart *h, TB *tb)
{
    (void)h;
    (void)tb;
}

int32_t tcg_jit_unlinked_rel(Hart *h, const uint8_t *slot)
{
    (void)h;
    (void)slot;
    return 0;
}

void tcg_jit_unlink(Hart *h, uint8_t *slot, int32_t rel)
{
    (void)h;
    (void)slot;
    (void)rel;
}

#endif
