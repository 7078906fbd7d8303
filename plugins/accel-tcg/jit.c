/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: host code generation for x86-64 hosts.
 *
 * A translated block's pre-decoded instructions are turned into one host function
 *     uint32_t fn(Hart *h, uint64_t base)      (base: virtual pc of the block)
 * covering the block's leading run of supported instructions (RV64I/M integer ALU,
 * loads and stores with the software TLB inline, branches and jumps).  The function
 * returns either
 *   - JIT_DONE | n: the block ran to its end; h->pc holds the next pc and n instructions
 *     retired, or
 *   - k: the interpreter must go on at instruction k (an instruction the generator does
 *     not handle, or a TLB miss / code page / MMIO access, which the interpreter's slow
 *     path then performs).
 * Guest registers stay in h->x (no host register holds guest state across an exit), so
 * an exit needs no state write-back and exceptions, counters and self-modifying code are
 * all handled by the interpreter exactly as without the generator.
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
#include <stdlib.h>

#if defined(__x86_64__) && defined(__linux__)

#define XOFF(r) ((int32_t)(offsetof(Hart, x) + 8 * (r)))
#define PCOFF ((int32_t)offsetof(Hart, pc))

/* The generator's state: the emitter first, so emit helpers that get an Emit * of a
 * Gen can reach the block they compile. */
/* Guest registers are cached write-through in these host registers within a block
 * (memory is always current, so exits write nothing back; reads skip the reload and
 * its store-forwarding latency).  Chained blocks start with an empty cache. */
#define NSLOT 6
static const int slot_reg[NSLOT] = { RBP, RDI, 8, 9, 10, 11 };

typedef struct Gen {
    Emit e;
    TB *tb;
    int guest[NSLOT];      /* guest register in the slot, -1: empty */
    unsigned age[NSLOT], clock;
} Gen;

static void gen_init(Gen *g, uint8_t *p, TB *tb)
{
    memset(g, 0, sizeof(*g));
    g->e.p = p;
    g->tb = tb;
    for (int k = 0; k < NSLOT; k++)
        g->guest[k] = -1;
}

/* The slot of guest register r, allocating the least recently used one on a miss;
 * *hit says whether it already held r. */
static int slot_take(Emit *e, unsigned r, bool *hit)
{
    Gen *g = (Gen *)e;
    int best = -1;
    for (int k = 0; k < NSLOT; k++) {
        if (g->guest[k] == (int)r) {
            g->age[k] = ++g->clock;
            *hit = true;
            return slot_reg[k];
        }
    }
    for (int k = 0; k < NSLOT && best < 0; k++)
        if (g->guest[k] < 0)
            best = k;
    if (best < 0) {
        best = 0;
        for (int k = 1; k < NSLOT; k++)
            if (g->age[k] < g->age[best])
                best = k;
    }
    g->guest[best] = (int)r;
    g->age[best] = ++g->clock;
    *hit = false;
    return slot_reg[best];
}

/* Host register holding x[r]. */
static int src(Emit *e, unsigned r)
{
    bool hit;
    int h = slot_take(e, r, &hit);
    if (!hit)
        mov_load(e, h, RBX, (int32_t)(offsetof(Hart, x) + 8 * r));
    return h;
}

/* dst = x[r] (32-bit: the low half, zero-extended). */
static void get(Emit *e, int dst, unsigned r, bool w32)
{
    int h = src(e, r);
    op_rr(e, !w32, 0x89, h, dst);
}

/* While generated code runs, r14 counts the instructions retired by chained exits and
 * r15d is the chain budget; both go back to the hart here (so h->instret is exact
 * whenever C code, e.g. a counter CSR read, looks at it). */
static void emit_epilogue(Emit *e, uint32_t v)
{
    op_mem(e, 1, 0x01, R14, RBX, (int32_t)offsetof(Hart, instret)); /* add [instret], r14 */
    op_mem(e, 0, 0x89, R15, RBX, (int32_t)offsetof(Hart, jit_budget)); /* mov [budget], r15d */
    e8(e, 0xb8); e32(e, v);             /* mov eax, v */
    e8(e, 0x41); e8(e, 0x5f);           /* pop r15 */
    e8(e, 0x41); e8(e, 0x5e);           /* pop r14 */
    e8(e, 0x41); e8(e, 0x5d);           /* pop r13 */
    e8(e, 0x41); e8(e, 0x5c);           /* pop r12 */
    e8(e, 0x5d);                        /* pop rbp */
    e8(e, 0x5b);                        /* pop rbx */
    e8(e, 0xc3);                        /* ret */
}

/* Hand over to the interpreter at instruction k of this block (which, after chaining,
 * is not the block the interpreter entered: say which, and its base pc). */
static void emit_exit(Emit *e, uint32_t k)
{
    mov_imm(e, RCX, (uint64_t)(uintptr_t)((Gen *)e)->tb);
    mov_store(e, RCX, RBX, (int32_t)offsetof(Hart, jit_cur));
    mov_store(e, R13, RBX, (int32_t)offsetof(Hart, jit_base));
    emit_epilogue(e, k);
}

/* op dword/qword [rbx + disp], imm (0x81 /ext id or 0x83 /ext ib). */
static void mem_imm(Emit *e, int w, int ext, int32_t disp, int32_t imm, bool imm8)
{
    rex(e, w, 0, 0, RBX);
    e8(e, imm8 ? 0x83 : 0x81);
    e8(e, 0x80 | (ext << 3) | RBX);
    e32(e, (uint32_t)disp);
    if (imm8)
        e8(e, (uint8_t)imm);
    else
        e32(e, (uint32_t)imm);
}

/* Leaves the block for base + d after `done` instructions.  A target on the block's
 * own page gets a patchable jump (tcg_jit_link) taken when no exit request is pending
 * and the chain budget lasts; until linked it returns to the interpreter, recording
 * where the jump is. */
static void emit_goto(Emit *e, int64_t d, uint32_t done)
{
    const TB *tb = ((Gen *)e)->tb;
    int64_t in_page = (int64_t)(tb->ppc & 0xfff) + d;
    bool chain = tb->page[0] == tb->page[1] && in_page >= 0 && in_page < 4096;
    alu_imm(e, 1, ALU_ADD, R14, (int32_t)done);
    if (!chain) {
        lea(e, RAX, R13, (int32_t)d);
        mov_store(e, RAX, RBX, PCOFF);
        emit_epilogue(e, JIT_DONE);
        return;
    }
    mem_imm(e, 0, ALU_CMP, (int32_t)offsetof(Hart, check), 0, true);
    uint8_t *pending = jcc8(e, CC_NE);
    alu_imm(e, 0, ALU_SUB, R15, 1);
    uint8_t *spent = jcc8(e, CC_E);
    lea(e, R13, R13, (int32_t)d);       /* the next block's base pc */
    e8(e, 0xe9); e32(e, 0);             /* jmp rel32: to the next line until linked */
    uint8_t *slot_end = e->p;
    /* Unlinked: r13 already holds the target. */
    mov_rr(e, RAX, R13);
    e8(e, 0xeb); e8(e, 0);              /* jmp rel8 over the stopping entry */
    uint8_t *join = e->p - 1;
    /* Stopping (exit request or budget spent): r13 still holds this block's base. */
    patch8(e, pending);
    patch8(e, spent);
    lea(e, RAX, R13, (int32_t)d);
    patch8(e, join);
    mov_store(e, RAX, RBX, PCOFF);
    /* lea rcx, [rip + (slot - here)]; mov [rbx + jit_exit], rcx */
    e8(e, 0x48); e8(e, 0x8d); e8(e, 0x0d);
    e32(e, (uint32_t)(int32_t)((slot_end - 5) - (e->p + 4)));
    mov_store(e, RCX, RBX, (int32_t)offsetof(Hart, jit_exit));
    emit_epilogue(e, JIT_DONE);
}

void tcg_jit_link(Hart *h, TB *tb)
{
    uint8_t *slot = h->jit_exit;       /* executable view: the jmp opcode */
    uint8_t *w = h->jit_rw + (slot - h->jit_rx);
    int32_t rel = (int32_t)(tb->jit_chain - (slot + 5));
    memcpy(w + 1, &rel, 4);
    h->st.jit_links++;
}

void tcg_jit_unlink(Hart *h, uint8_t *slot)
{
    int32_t rel = 0; /* the jmp falls through to its unlinked exit again */
    memcpy(h->jit_rw + (slot - h->jit_rx) + 1, &rel, 4);
}

/* Stores rax into x[rd] (x[32] is the sink for x0, as in the interpreter). */
static void put_reg(Emit *e, unsigned rd, int from)
{
    bool hit;
    mov_store(e, from, RBX, XOFF(rd));
    mov_rr(e, slot_take(e, rd, &hit), from);
}

static void put_rd(Emit *e, const Insn *in)
{
    put_reg(e, in->rd, RAX);
}

static bool fits32(int64_t v)
{
    return v == (int32_t)v;
}

/* rsi = virtual address; rcx = host addend when the TLB entry matches (tag at
 * tag_off), else leave to the interpreter at instruction k. */
static void emit_tlb(Emit *e, const Insn *in, unsigned size, size_t tag_off, uint32_t k)
{
    get(e, RSI, in->rs1, false);
    if (in->imm)
        alu_imm(e, 1, ALU_ADD, RSI, (int32_t)in->imm);
    mov_rr(e, RAX, RSI);
    shift_imm(e, 1, SH_SHR, RAX, 12);
    alu_imm(e, 0, ALU_AND, RAX, TLB_SIZE - 1);
    /* imul eax, eax, sizeof(TlbEntry) */
    e8(e, 0x69); e8(e, 0xc0); e32(e, sizeof(TlbEntry));
    op_rr(e, 1, 0x01, R12, RAX);        /* add rax, r12 (dtlb) */
    mov_rr(e, RCX, RSI);
    alu_imm(e, 1, ALU_AND, RCX, (int32_t)(PAGE_MASK | (size - 1)));
    alu_mem(e, 1, ALU_CMP, RCX, RAX, (int32_t)tag_off);
    uint8_t *hit = jcc8(e, CC_E);
    emit_exit(e, k);
    patch8(e, hit);
    mov_load(e, RCX, RAX, (int32_t)offsetof(TlbEntry, addend));
}

static bool emit_load(Emit *e, const Insn *in, uint32_t k)
{
    unsigned size = in->opc == OP_LB || in->opc == OP_LBU ? 1
                  : in->opc == OP_LH || in->opc == OP_LHU ? 2
                  : in->opc == OP_LW || in->opc == OP_LWU ? 4 : 8;
    if (!fits32(in->imm))
        return false;
    emit_tlb(e, in, size, offsetof(TlbEntry, tag_r), k);
    switch (in->opc) {
    case OP_LB: op_host(e, 1, 0, 1, 0xbe, RAX); break;  /* movsx rax, byte */
    case OP_LBU: op_host(e, 0, 0, 1, 0xb6, RAX); break; /* movzx eax, byte */
    case OP_LH: op_host(e, 1, 0, 1, 0xbf, RAX); break;  /* movsx rax, word */
    case OP_LHU: op_host(e, 0, 0, 1, 0xb7, RAX); break; /* movzx eax, word */
    case OP_LW: op_host(e, 1, 0, 0, 0x63, RAX); break;  /* movsxd rax, dword */
    case OP_LWU: op_host(e, 0, 0, 0, 0x8b, RAX); break; /* mov eax, dword */
    default: op_host(e, 1, 0, 0, 0x8b, RAX); break;     /* mov rax, qword */
    }
    put_rd(e, in);
    return true;
}

/* A store whose TLB entry matches but for TLB_CODE (a page that also holds translated
 * code): performed here, so data next to code costs a call instead of a trip through
 * the interpreter.  0: done, go on; 1: not this case (TLB miss, MMIO, misaligned): the
 * interpreter performs it; 2: done, and it dropped translations (perhaps this block's):
 * leave after the store, as the interpreter does. */
static uint32_t jit_store_code_page(Hart *h, uint64_t va, uint64_t val, uint32_t size)
{
    TlbEntry *e = &h->dtlb[(va >> 12) & (TLB_SIZE - 1)];
    if (!(e->tag_w & TLB_CODE) ||
        (e->tag_w & ~(uint64_t)TLB_CODE) != (va & (PAGE_MASK | (size - 1))))
        return 1;
    /* What the interpreter's slow path does for such an entry (mmu.c store_one), with
     * the entry already known: the store, dirty tracking, then the code check. */
    void *host = (void *)(e->addend + va);
    switch (size) {
    case 1: *(uint8_t *)host = (uint8_t)val; break;
    case 2: *(uint16_t *)host = (uint16_t)val; break;
    case 4: *(uint32_t *)host = (uint32_t)val; break;
    default: *(uint64_t *)host = val; break;
    }
    if (e->dirty_tracking)
        mosaic_ram_set_dirty(e->region, e->region_off, 4096);
    uint64_t pa = e->paddr | (va & 0xfff);
    tcg_code_write(h, pa, size);
    if (!atomic_load_explicit(&h->acc->code_mask[(pa >> 12) & ((1u << CODE_MAP_BITS) - 1)],
                              memory_order_relaxed))
        e->tag_w &= ~(uint64_t)TLB_CODE;
    if (h->tb_dirty) {
        h->tb_dirty = false;
        return 2;
    }
    return 0;
}

/* jmp/jcc rel32 forward; returns where to patch the displacement. */
static uint8_t *jmp32(Emit *e, int cc)
{
    if (cc < 0) {
        e8(e, 0xe9);
    } else {
        e8(e, 0x0f);
        e8(e, 0x80 + cc);
    }
    e32(e, 0);
    return e->p - 4;
}

static void patch32(Emit *e, uint8_t *at)
{
    int32_t d = (int32_t)(e->p - (at + 4));
    memcpy(at, &d, 4);
}

static bool emit_store(Emit *e, const Insn *in, uint32_t k)
{
    unsigned size = in->opc == OP_SB ? 1 : in->opc == OP_SH ? 2 : in->opc == OP_SW ? 4 : 8;
    if (!fits32(in->imm))
        return false;
    /* The value first, so both paths below leave the register cache alike. */
    get(e, RDX, in->rs2, false);
    get(e, RSI, in->rs1, false);
    if (in->imm)
        alu_imm(e, 1, ALU_ADD, RSI, (int32_t)in->imm);
    mov_rr(e, RAX, RSI);
    shift_imm(e, 1, SH_SHR, RAX, 12);
    alu_imm(e, 0, ALU_AND, RAX, TLB_SIZE - 1);
    e8(e, 0x69); e8(e, 0xc0); e32(e, sizeof(TlbEntry)); /* imul eax, eax, sizeof */
    op_rr(e, 1, 0x01, R12, RAX);        /* add rax, r12 (dtlb) */
    mov_rr(e, RCX, RSI);
    alu_imm(e, 1, ALU_AND, RCX, (int32_t)(PAGE_MASK | (size - 1)));
    alu_mem(e, 1, ALU_CMP, RCX, RAX, (int32_t)offsetof(TlbEntry, tag_w));
    uint8_t *miss = jmp32(e, CC_NE);
    mov_load(e, RCX, RAX, (int32_t)offsetof(TlbEntry, addend));
    switch (size) {
    case 1: op_host(e, 0, 0, 0, 0x88, RDX); break;
    case 2: op_host(e, 0, 1, 0, 0x89, RDX); break;
    case 4: op_host(e, 0, 0, 0, 0x89, RDX); break;
    default: op_host(e, 1, 0, 0, 0x89, RDX); break;
    }
    uint8_t *done = jmp32(e, -1);
    patch32(e, miss);
    /* Caller-saved cache registers around the call; five pushes also leave rsp
     * 16-byte aligned (six in the prologue plus the return address). */
    e8(e, 0x57);                        /* push rdi */
    for (int r = 0; r < 4; r++) {
        e8(e, 0x41); e8(e, 0x50 + r);   /* push r8..r11 */
    }
    mov_rr(e, RDI, RBX);
    mov_imm(e, RCX, size);
    mov_imm(e, RAX, (uint64_t)(uintptr_t)jit_store_code_page);
    e8(e, 0xff); e8(e, 0xd0);           /* call rax */
    for (int r = 3; r >= 0; r--) {
        e8(e, 0x41); e8(e, 0x58 + r);   /* pop r11..r8 */
    }
    e8(e, 0x5f);                        /* pop rdi */
    op_rr(e, 0, 0x85, RAX, RAX);        /* test eax, eax */
    uint8_t *stored = jmp32(e, CC_E);
    alu_imm(e, 0, ALU_CMP, RAX, 1);
    uint8_t *smc = jmp32(e, CC_NE);
    emit_exit(e, k);
    patch32(e, smc);
    alu_imm(e, 1, ALU_ADD, R14, (int32_t)(k + 1));
    lea(e, RAX, R13, (int32_t)(in->off + in->len));
    mov_store(e, RAX, RBX, PCOFF);
    emit_epilogue(e, JIT_DONE);
    patch32(e, stored);
    patch32(e, done);
    return true;
}

/* rs1 OP imm (64-bit, or 32-bit with sign extension when w32). */
static void emit_alu_imm(Emit *e, const Insn *in, int ext, bool w32)
{
    get(e, RAX, in->rs1, w32);
    alu_imm(e, !w32, ext, RAX, (int32_t)in->imm);
    if (w32)
        movsxd_rr(e, RAX, RAX);
    put_rd(e, in);
}

static void emit_alu_reg(Emit *e, const Insn *in, int ext, bool w32)
{
    get(e, RAX, in->rs1, w32);
    op_rr(e, !w32, (uint8_t)(ext * 8 + 3), RAX, src(e, in->rs2));
    if (w32)
        movsxd_rr(e, RAX, RAX);
    put_rd(e, in);
}

static void emit_shift_imm(Emit *e, const Insn *in, int ext, bool w32)
{
    get(e, RAX, in->rs1, w32);
    shift_imm(e, !w32, ext, RAX, (uint8_t)(in->imm & (w32 ? 31 : 63)));
    if (w32)
        movsxd_rr(e, RAX, RAX);
    put_rd(e, in);
}

/* x86 masks the count in cl to 6 (64-bit) or 5 (32-bit) bits, as RISC-V does. */
static void emit_shift_reg(Emit *e, const Insn *in, int ext, bool w32)
{
    get(e, RCX, in->rs2, false);
    get(e, RAX, in->rs1, w32);
    shift_cl(e, !w32, ext, RAX);
    if (w32)
        movsxd_rr(e, RAX, RAX);
    put_rd(e, in);
}

static void emit_set_imm(Emit *e, const Insn *in, int cc)
{
    get(e, RAX, in->rs1, false);
    alu_imm(e, 1, ALU_CMP, RAX, (int32_t)in->imm);
    setcc_rax(e, cc);
    put_rd(e, in);
}

static void emit_set_reg(Emit *e, const Insn *in, int cc)
{
    get(e, RAX, in->rs1, false);
    op_rr(e, 1, 0x3b, RAX, src(e, in->rs2));
    setcc_rax(e, cc);
    put_rd(e, in);
}

/* Leaves for the computed target in rax (JALR): through the hart's jump cache straight
 * into the target's code when it is compiled and nothing needs the run loop, else back
 * to C with h->pc = rax.  A jump-cache hit is valid for the current mapping and
 * privilege by construction (jc_key), so no page restriction applies here. */
static void emit_leave_pc(Emit *e, uint32_t done)
{
    const int32_t jc = (int32_t)offsetof(Hart, jc);
    mov_store(e, RAX, RBX, PCOFF);
    alu_imm(e, 1, ALU_ADD, R14, (int32_t)done);
    mem_imm(e, 0, ALU_CMP, (int32_t)offsetof(Hart, check), 0, true);
    uint8_t *x1 = jcc8(e, CC_NE);
    alu_imm(e, 0, ALU_SUB, R15, 1);
    uint8_t *x2 = jcc8(e, CC_E);
    mov_rr(e, RCX, RAX);
    shift_imm(e, 1, SH_SHR, RCX, 1);
    alu_imm(e, 0, ALU_AND, RCX, (1u << JC_BITS) - 1);
    e8(e, 0x69); e8(e, 0xc9); e32(e, sizeof(JcEntry)); /* imul ecx, ecx, sizeof */
    op_rr(e, 1, 0x01, RBX, RCX);        /* add rcx, rbx */
    alu_mem(e, 1, ALU_CMP, RAX, RCX, jc + (int32_t)offsetof(JcEntry, pc));
    uint8_t *x3 = jcc8(e, CC_NE);
    mov_load(e, RDX, RBX, (int32_t)offsetof(Hart, jc_key));
    alu_mem(e, 1, ALU_CMP, RDX, RCX, jc + (int32_t)offsetof(JcEntry, gen));
    uint8_t *x4 = jcc8(e, CC_NE);
    mov_load(e, RCX, RCX, jc + (int32_t)offsetof(JcEntry, tb));
    mov_load(e, RCX, RCX, (int32_t)offsetof(TB, jit_chain));
    op_rr(e, 1, 0x85, RCX, RCX);        /* test rcx, rcx */
    uint8_t *x5 = jcc8(e, CC_E);
    mov_rr(e, R13, RAX);
    e8(e, 0xff); e8(e, 0xe1);           /* jmp rcx */
    patch8(e, x1);
    patch8(e, x2);
    patch8(e, x3);
    patch8(e, x4);
    patch8(e, x5);
    emit_epilogue(e, JIT_DONE);
}

static bool emit_branch(Emit *e, const Insn *in, uint32_t k)
{
    int64_t taken = (int64_t)in->off + in->imm, next = in->off + in->len;
    if (!fits32(taken))
        return false;
    static const int cond[] = { [OP_BEQ - OP_BEQ] = CC_E, [OP_BNE - OP_BEQ] = CC_NE,
                                [OP_BLT - OP_BEQ] = CC_L, [OP_BGE - OP_BEQ] = CC_GE,
                                [OP_BLTU - OP_BEQ] = CC_B, [OP_BGEU - OP_BEQ] = CC_AE };
    get(e, RDX, in->rs1, false);
    op_rr(e, 1, 0x3b, RDX, src(e, in->rs2));
    /* jcc rel32 to the taken exit, placed after the fall-through one. */
    e8(e, 0x0f); e8(e, 0x80 + cond[in->opc - OP_BEQ]); e32(e, 0);
    uint8_t *fix = e->p;
    emit_goto(e, next, k + 1);
    int32_t rel = (int32_t)(e->p - fix);
    memcpy(fix - 4, &rel, 4);
    emit_goto(e, taken, k + 1);
    return true;
}

/* One instruction; false: not handled (the function then hands over to the interpreter
 * at this instruction). */
static bool emit_insn(Emit *e, const Insn *in, uint32_t k)
{
    switch (in->opc) {
    case OP_NOP:
        return true;
    case OP_FENCE:
        if (((in->raw >> 24) & 1) && ((in->raw >> 21) & 1)) {
            e8(e, 0x0f); e8(e, 0xae); e8(e, 0xf0); /* mfence: store->load order */
        }
        return true;
    case OP_LUI: case OP_LI:
        mov_imm(e, RAX, (uint64_t)in->imm);
        put_rd(e, in);
        return true;
    case OP_MV:
        get(e, RAX, in->rs1, false);
        put_rd(e, in);
        return true;
    case OP_AUIPC: {
        int64_t d = (int64_t)in->off + in->imm;
        if (!fits32(d))
            return false;
        lea(e, RAX, R13, (int32_t)d);
        put_rd(e, in);
        return true;
    }
    case OP_ADDI: emit_alu_imm(e, in, ALU_ADD, false); return true;
    case OP_XORI: emit_alu_imm(e, in, ALU_XOR, false); return true;
    case OP_ORI: emit_alu_imm(e, in, ALU_OR, false); return true;
    case OP_ANDI: emit_alu_imm(e, in, ALU_AND, false); return true;
    case OP_ADDIW: emit_alu_imm(e, in, ALU_ADD, true); return true;
    case OP_SLTI: emit_set_imm(e, in, CC_L); return true;
    case OP_SLTIU: emit_set_imm(e, in, CC_B); return true;
    case OP_SLLI: emit_shift_imm(e, in, SH_SHL, false); return true;
    case OP_SRLI: emit_shift_imm(e, in, SH_SHR, false); return true;
    case OP_SRAI: emit_shift_imm(e, in, SH_SAR, false); return true;
    case OP_SLLIW: emit_shift_imm(e, in, SH_SHL, true); return true;
    case OP_SRLIW: emit_shift_imm(e, in, SH_SHR, true); return true;
    case OP_SRAIW: emit_shift_imm(e, in, SH_SAR, true); return true;
    case OP_ADD: emit_alu_reg(e, in, ALU_ADD, false); return true;
    case OP_SUB: emit_alu_reg(e, in, ALU_SUB, false); return true;
    case OP_XOR: emit_alu_reg(e, in, ALU_XOR, false); return true;
    case OP_OR: emit_alu_reg(e, in, ALU_OR, false); return true;
    case OP_AND: emit_alu_reg(e, in, ALU_AND, false); return true;
    case OP_ADDW: emit_alu_reg(e, in, ALU_ADD, true); return true;
    case OP_SUBW: emit_alu_reg(e, in, ALU_SUB, true); return true;
    case OP_SLT: emit_set_reg(e, in, CC_L); return true;
    case OP_SLTU: emit_set_reg(e, in, CC_B); return true;
    case OP_SLL: emit_shift_reg(e, in, SH_SHL, false); return true;
    case OP_SRL: emit_shift_reg(e, in, SH_SHR, false); return true;
    case OP_SRA: emit_shift_reg(e, in, SH_SAR, false); return true;
    case OP_SLLW: emit_shift_reg(e, in, SH_SHL, true); return true;
    case OP_SRLW: emit_shift_reg(e, in, SH_SHR, true); return true;
    case OP_SRAW: emit_shift_reg(e, in, SH_SAR, true); return true;
    case OP_MUL:
        get(e, RAX, in->rs1, false);
        op0f_rr(e, 1, 0xaf, RAX, src(e, in->rs2)); /* imul rax, rs2 */
        put_rd(e, in);
        return true;
    case OP_MULW:
        get(e, RAX, in->rs1, true);
        op0f_rr(e, 0, 0xaf, RAX, src(e, in->rs2));
        movsxd_rr(e, RAX, RAX);
        put_rd(e, in);
        return true;
    case OP_MULH: case OP_MULHU:
        get(e, RAX, in->rs1, false);
        /* imul / mul rs2: rdx:rax = rax * rs2 */
        op_rr(e, 1, 0xf7, in->opc == OP_MULH ? 5 : 4, src(e, in->rs2));
        put_reg(e, in->rd, RDX);
        return true;
    case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU:
        return emit_load(e, in, k);
    case OP_SB: case OP_SH: case OP_SW: case OP_SD:
        return emit_store(e, in, k);
    case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
        return emit_branch(e, in, k);
    case OP_JAL: {
        int64_t t = (int64_t)in->off + in->imm;
        if (!fits32(t))
            return false;
        lea(e, RAX, R13, (int32_t)(in->off + in->len));
        put_rd(e, in);
        emit_goto(e, t, k + 1);
        return true;
    }
    case OP_JALR:
        if (!fits32(in->imm))
            return false;
        get(e, RCX, in->rs1, false); /* before rd is written: rd may be rs1 */
        if (in->imm)
            alu_imm(e, 1, ALU_ADD, RCX, (int32_t)in->imm);
        alu_imm(e, 1, ALU_AND, RCX, -2);
        lea(e, RAX, R13, (int32_t)(in->off + in->len));
        put_rd(e, in);
        mov_rr(e, RAX, RCX);
        emit_leave_pc(e, k + 1);
        return true;
    case OP_END:
        emit_goto(e, in->off, k);
        return true;
    default:
        return false;
    }
}

/* Instructions after which the generated function has returned. */
static bool leaves(unsigned opc)
{
    return opc == OP_END || opc == OP_JAL || opc == OP_JALR || (opc >= OP_BEQ && opc <= OP_BGEU);
}

JitFn tcg_jit_compile(Hart *h, TB *tb)
{
    if (!h->jit_rw || h->step || !tcg_jit_room(h))
        return NULL;
    /* Nothing to gain when the very first instruction needs the interpreter. */
    uint8_t probe_buf[1024];
    Gen probe;
    gen_init(&probe, probe_buf, tb);
    if (!emit_insn(&probe.e, &tb->insns[0], 0))
        return NULL;
    uint8_t *start = h->jit_rw + h->jit_used;
    Gen g;
    gen_init(&g, start, tb);
    Emit *e = &g.e;
    e8(e, 0x53);                          /* push rbx */
    e8(e, 0x55);                          /* push rbp */
    e8(e, 0x41); e8(e, 0x54);             /* push r12 */
    e8(e, 0x41); e8(e, 0x55);             /* push r13 */
    e8(e, 0x41); e8(e, 0x56);             /* push r14 */
    e8(e, 0x41); e8(e, 0x57);             /* push r15 */
    op_rr(e, 0, 0x31, R14, R14);          /* xor r14d, r14d */
    mov_rr(e, RBX, RDI);                  /* rbx = h */
    op_mem(e, 0, 0x8b, R15, RBX, (int32_t)offsetof(Hart, jit_budget)); /* r15d = budget */
    mov_rr(e, R13, RSI);                  /* r13 = base pc */
    mov_load(e, R12, RBX, (int32_t)offsetof(Hart, dtlb));
    /* Chained blocks enter here: rbx, r12 (the TLB set cannot change inside generated
     * code) and r13 (set by the jumping exit) are already right. */
    tb->jit_chain = h->jit_rx + (e->p - h->jit_rw);
    for (uint32_t k = 0; k <= tb->n; k++) {
        if (!emit_insn(e, &tb->insns[k], k)) {
            emit_exit(e, k);
            break;
        }
        if (leaves(tb->insns[k].opc))
            break;
    }
    size_t len = (size_t)(e->p - start);
    JitFn fn = (JitFn)(void *)(h->jit_rx + h->jit_used);
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

void tcg_jit_unlink(Hart *h, uint8_t *slot)
{
    (void)h;
    (void)slot;
}

#endif
