/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: running translation blocks.  One function executes a block with
 * threaded dispatch (GNU computed goto) over its pre-decoded instructions; loads and
 * stores try the software TLB inline and fall back to mmu.c.  Everything that changes
 * privilege, translation or interrupt state ends the block, so interrupts and exit
 * requests are looked at only on block boundaries. */
#include "cpu.h"

static const void *const *exec_tb(Hart *h, TB *tb);

/* Generated code counts its budget (h->jit_budget) in instructions, the executor in
 * blocks: this many instructions stand for one block. */
#define JIT_INSNS_PER_BLOCK 8

const void *const *tcg_exec_labels(void)
{
    return exec_tb(NULL, NULL);
}

#define RD x[i->rd]
#define RS1 x[i->rs1]
#define RS2 x[i->rs2]
#define IMM (i->imm)
#define PC (base + i->off)
#define NEXT do { i++; goto *i->op; } while (0)
#define S32(v) ((uint64_t)(int64_t)(int32_t)(v))
#define JUMP(target) do { h->pc = (target); done = i - tb->insns + 1; goto out; } while (0)

#define LOAD(type, size) do {                                                        \
        uint64_t va = RS1 + IMM;                                                     \
        const TlbEntry *e = &dtlb[(va >> 12) & (TLB_SIZE - 1)];                      \
        if (likely(e->tag_r == (va & (PAGE_MASK | (size - 1))))) {                   \
            type v;                                                                  \
            memcpy(&v, (const void *)(e->addend + va), size);                        \
            RD = (uint64_t)v;                                                        \
        } else {                                                                     \
            uint64_t v;                                                              \
            if (unlikely(!tcg_load_slow(h, va, size, &v)))                           \
                goto exc;                                                            \
            RD = (uint64_t)(type)v;                                                  \
        }                                                                            \
        NEXT;                                                                        \
    } while (0)

#define STORE_VAL(size, val) do {                                                    \
        uint64_t va = RS1 + IMM, sv = (val);                                         \
        const TlbEntry *e = &dtlb[(va >> 12) & (TLB_SIZE - 1)];                      \
        if (likely(e->tag_w == (va & (PAGE_MASK | (size - 1))))) {                   \
            memcpy((void *)(e->addend + va), &sv, size);                             \
            NEXT;                                                                    \
        }                                                                            \
        if (unlikely(!tcg_store_slow(h, va, size, sv)))                              \
            goto exc;                                                                \
        if (unlikely(h->tb_dirty))                                                   \
            goto smc;                                                                \
        NEXT;                                                                        \
    } while (0)
#define STORE(size) STORE_VAL(size, RS2)

static inline uint64_t amo_op(unsigned f5, uint64_t old, uint64_t src, bool w)
{
    int64_t so = w ? (int32_t)old : (int64_t)old, ss = w ? (int32_t)src : (int64_t)src;
    uint64_t uo = w ? (uint32_t)old : old, us = w ? (uint32_t)src : src;
    switch (f5) {
    case 0x01: return src;
    case 0x00: return old + src;
    case 0x04: return old ^ src;
    case 0x0c: return old & src;
    case 0x08: return old | src;
    case 0x10: return so < ss ? old : src;
    case 0x14: return so > ss ? old : src;
    case 0x18: return uo < us ? old : src;
    default: return uo > us ? old : src;
    }
}

/* LR/SC/AMO on RAM through host atomics.  Returns false on a fault (MMIO included:
 * atomics on device registers raise an access fault). */
static bool do_atomic(Hart *h, const Insn *i, bool w)
{
    unsigned size = w ? 4 : 8;
    uint64_t va = h->x[i->rs1], mmio;
    int opc = i->opc;
    bool store = opc != OP_LR_W && opc != OP_LR_D;
    void *p = tcg_atomic_ptr(h, va, size, store, &mmio);
    if (!p) {
        if (mmio != ~0ull) {
            h->exc_cause = store ? EXC_STORE_ACCESS : EXC_LOAD_ACCESS;
            h->exc_tval = va;
        }
        return false;
    }
    uint64_t src = h->x[i->rs2], old;
    if (opc == OP_LR_W || opc == OP_LR_D) {
        old = w ? __atomic_load_n((uint32_t *)p, __ATOMIC_ACQUIRE)
                : __atomic_load_n((uint64_t *)p, __ATOMIC_ACQUIRE);
        h->res_addr = (uintptr_t)p;
        h->res_val = old;
        h->res_valid = true;
        h->x[i->rd] = w ? S32(old) : old;
        return true;
    }
    if (opc == OP_SC_W || opc == OP_SC_D) {
        bool ok = false;
        if (h->res_valid && h->res_addr == (uintptr_t)p) {
            if (w) {
                uint32_t exp = h->res_val;
                ok = __atomic_compare_exchange_n((uint32_t *)p, &exp, (uint32_t)src, false,
                                                 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            } else {
                uint64_t exp = h->res_val;
                ok = __atomic_compare_exchange_n((uint64_t *)p, &exp, src, false,
                                                 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            }
        }
        h->res_valid = false;
        h->x[i->rd] = !ok;
        if (ok)
            tcg_atomic_logged(h, va, size);
        return true;
    }
    unsigned f5 = i->rm;
    if (w) {
        uint32_t *q = p, o = __atomic_load_n(q, __ATOMIC_RELAXED);
        switch (f5) {
        case 0x01: o = __atomic_exchange_n(q, (uint32_t)src, __ATOMIC_SEQ_CST); break;
        case 0x00: o = __atomic_fetch_add(q, (uint32_t)src, __ATOMIC_SEQ_CST); break;
        case 0x04: o = __atomic_fetch_xor(q, (uint32_t)src, __ATOMIC_SEQ_CST); break;
        case 0x0c: o = __atomic_fetch_and(q, (uint32_t)src, __ATOMIC_SEQ_CST); break;
        case 0x08: o = __atomic_fetch_or(q, (uint32_t)src, __ATOMIC_SEQ_CST); break;
        default:
            while (!__atomic_compare_exchange_n(q, &o, (uint32_t)amo_op(f5, o, src, true), false,
                                                __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
                ;
        }
        old = S32(o);
    } else {
        uint64_t *q = p, o = __atomic_load_n(q, __ATOMIC_RELAXED);
        switch (f5) {
        case 0x01: o = __atomic_exchange_n(q, src, __ATOMIC_SEQ_CST); break;
        case 0x00: o = __atomic_fetch_add(q, src, __ATOMIC_SEQ_CST); break;
        case 0x04: o = __atomic_fetch_xor(q, src, __ATOMIC_SEQ_CST); break;
        case 0x0c: o = __atomic_fetch_and(q, src, __ATOMIC_SEQ_CST); break;
        case 0x08: o = __atomic_fetch_or(q, src, __ATOMIC_SEQ_CST); break;
        default:
            while (!__atomic_compare_exchange_n(q, &o, amo_op(f5, o, src, false), false,
                                                __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
                ;
        }
        old = o;
    }
    tcg_atomic_logged(h, va, size);
    h->x[i->rd] = old;
    return true;
}

static bool do_csr(Hart *h, const Insn *i)
{
    unsigned csr = i->imm & 0xfff, kind = i->rm & 3;
    uint64_t src = (i->rm & 4) ? i->rs1 : h->x[i->rs1];
    bool wr = kind == 1 || i->rs1 != 0;
    uint64_t old = 0;
    if (!tcg_csr_rmw(h, csr, kind, src, wr, &old))
        return false;
    if (wr) {
        /* The written count replaces this instruction's own increment, which the
         * block exit adds: take it back here. */
        if (csr == 0xb02)
            h->instret_delta--;
        else if (csr == 0xb00)
            h->cycle_delta--;
    }
    h->x[i->rd] = old;
    return true;
}

static void do_mret(Hart *h)
{
    uint64_t s = h->mstatus;
    int mpp = (s >> MS_MPP_SHIFT) & 3;
    s = (s & ~MS_MIE) | ((s & MS_MPIE) ? MS_MIE : 0);
    s |= MS_MPIE;
    s &= ~MS_MPP;
    if (mpp != PRV_M)
        s &= ~MS_MPRV;
    h->mstatus = s;
    h->pc = h->mepc;
    h->res_valid = false;
    tcg_set_priv(h, mpp);
    hart_kick_check(h);
}

static void do_sret(Hart *h)
{
    uint64_t s = h->mstatus;
    int spp = (s & MS_SPP) ? PRV_S : PRV_U;
    s = (s & ~MS_SIE) | ((s & MS_SPIE) ? MS_SIE : 0);
    s |= MS_SPIE;
    s &= ~(MS_SPP | MS_MPRV);
    h->mstatus = s;
    h->pc = h->sepc;
    h->res_valid = false;
    tcg_set_priv(h, spp);
    hart_kick_check(h);
}

/* Executes one block; with tb == NULL returns the handler label table. */
static const void *const *exec_tb(Hart *h, TB *tb)
{
    static const void *const labels[OP_COUNT] = {
#define L(op) [OP_##op] = &&L_##op
        L(ILLEGAL), L(END), L(NOP), L(LUI), L(AUIPC), L(JAL), L(JALR),
        L(BEQ), L(BNE), L(BLT), L(BGE), L(BLTU), L(BGEU),
        L(LB), L(LH), L(LW), L(LD), L(LBU), L(LHU), L(LWU), L(SB), L(SH), L(SW), L(SD),
        L(ADDI), L(SLTI), L(SLTIU), L(XORI), L(ORI), L(ANDI), L(SLLI), L(SRLI), L(SRAI),
        L(ADD), L(SUB), L(SLL), L(SLT), L(SLTU), L(XOR), L(SRL), L(SRA), L(OR), L(AND),
        L(ADDIW), L(SLLIW), L(SRLIW), L(SRAIW), L(ADDW), L(SUBW), L(SLLW), L(SRLW), L(SRAW),
        L(MUL), L(MULH), L(MULHSU), L(MULHU), L(DIV), L(DIVU), L(REM), L(REMU),
        L(MULW), L(DIVW), L(DIVUW), L(REMW), L(REMUW),
        L(FENCE), L(FENCE_I), L(ECALL), L(EBREAK), L(MRET), L(SRET), L(WFI), L(SFENCE_VMA),
        L(CSR), L(LR_W), L(LR_D), L(SC_W), L(SC_D), L(AMO_W), L(AMO_D),
        L(FLW), L(FLD), L(FSW), L(FSD), L(FP), L(LI), L(MV), L(BKPT),
#undef L
    };
    if (!tb)
        return labels;
    uint64_t *const x = h->x;
    const TlbEntry *dtlb = h->dtlb;
    uint64_t base = h->pc;
    const Insn *i = tb->insns;
    size_t done;
    uint64_t key = h->jc_key;
    unsigned budget = 1024; /* blocks chained before the run loop looks at exit requests */
    uint64_t exit_key = 0;
    h->jit_exit = NULL;
enter:
    if (h->jit_exit) {
        /* The previous block left through a chainable exit to this one: from now on
         * its code jumps here directly.  Only for targets on the exit's own page,
         * which the mapping cannot separate from it while jc_key stays the same. */
        if (tb->jit_chain && exit_key == key && tb->page[0] == tb->page[1])
            tcg_cache_link(h, tb);
        h->jit_exit = NULL;
    }
    if (unlikely(!tb->jit) && ++tb->runs == JIT_HOT)
        tb->jit = tcg_cache_compile(h, tb);
    if (tb->jit) {
        /* Host code runs the block (and the blocks chained to it), or a leading part:
         * it returns where the interpreter must go on (slow paths, instructions it
         * does not handle), in which block and at which base pc. */
        const int32_t start = (int32_t)(budget * JIT_INSNS_PER_BLOCK);
        h->jit_budget = start;
        uint32_t r = tb->jit(h, base);
        /* The instructions retired by the exits taken (a mid-block exit's leading part
         * is counted by the interpreter below, as `done`). */
        uint64_t retired = (uint64_t)((int64_t)start - h->jit_budget);
        h->instret += retired;
        uint64_t ran = retired / JIT_INSNS_PER_BLOCK;
        budget = ran < budget ? budget - (unsigned)ran : 1;
        exit_key = key;
        if (likely(r & JIT_DONE)) {
            done = r & ~JIT_DONE;
            goto out;
        }
        tb = h->jit_cur;
        base = h->jit_base;
        i = tb->insns + r;
    }
    goto *i->op;

L_FENCE:
    /* x86 and other TSO hosts order everything but store->load: only FENCE w,r needs
     * a full host fence (see jit.c for weakly ordered hosts). */
    if (((i->raw >> 24) & 1) && ((i->raw >> 21) & 1))
        atomic_thread_fence(memory_order_seq_cst);
    NEXT;
L_NOP:
    NEXT;
L_LUI: L_LI: RD = IMM; NEXT;
L_MV: RD = RS1; NEXT;
L_AUIPC: RD = PC + IMM; NEXT;
L_JAL: {
        uint64_t t = PC + IMM;
        RD = PC + i->len;
        JUMP(t);
    }
L_JALR: {
        uint64_t t = (RS1 + IMM) & ~1ull;
        RD = PC + i->len;
        JUMP(t);
    }
/* Not taken: the block goes on (conditional branches do not end blocks). */
#define BR(cond) do { if (cond) JUMP(PC + IMM); NEXT; } while (0)
L_BEQ: BR(RS1 == RS2);
L_BNE: BR(RS1 != RS2);
L_BLT: BR((int64_t)RS1 < (int64_t)RS2);
L_BGE: BR((int64_t)RS1 >= (int64_t)RS2);
L_BLTU: BR(RS1 < RS2);
L_BGEU: BR(RS1 >= RS2);
L_LB: LOAD(int8_t, 1);
L_LH: LOAD(int16_t, 2);
L_LW: LOAD(int32_t, 4);
L_LD: LOAD(uint64_t, 8);
L_LBU: LOAD(uint8_t, 1);
L_LHU: LOAD(uint16_t, 2);
L_LWU: LOAD(uint32_t, 4);
L_SB: STORE(1);
L_SH: STORE(2);
L_SW: STORE(4);
L_SD: STORE(8);
L_ADDI: RD = RS1 + IMM; NEXT;
L_SLTI: RD = (int64_t)RS1 < IMM; NEXT;
L_SLTIU: RD = RS1 < (uint64_t)IMM; NEXT;
L_XORI: RD = RS1 ^ IMM; NEXT;
L_ORI: RD = RS1 | IMM; NEXT;
L_ANDI: RD = RS1 & IMM; NEXT;
L_SLLI: RD = RS1 << IMM; NEXT;
L_SRLI: RD = RS1 >> IMM; NEXT;
L_SRAI: RD = (int64_t)RS1 >> IMM; NEXT;
L_ADD: RD = RS1 + RS2; NEXT;
L_SUB: RD = RS1 - RS2; NEXT;
L_SLL: RD = RS1 << (RS2 & 63); NEXT;
L_SLT: RD = (int64_t)RS1 < (int64_t)RS2; NEXT;
L_SLTU: RD = RS1 < RS2; NEXT;
L_XOR: RD = RS1 ^ RS2; NEXT;
L_SRL: RD = RS1 >> (RS2 & 63); NEXT;
L_SRA: RD = (int64_t)RS1 >> (RS2 & 63); NEXT;
L_OR: RD = RS1 | RS2; NEXT;
L_AND: RD = RS1 & RS2; NEXT;
L_ADDIW: RD = S32(RS1 + IMM); NEXT;
L_SLLIW: RD = S32((uint32_t)RS1 << IMM); NEXT;
L_SRLIW: RD = S32((uint32_t)RS1 >> IMM); NEXT;
L_SRAIW: RD = S32((int32_t)RS1 >> IMM); NEXT;
L_ADDW: RD = S32(RS1 + RS2); NEXT;
L_SUBW: RD = S32(RS1 - RS2); NEXT;
L_SLLW: RD = S32((uint32_t)RS1 << (RS2 & 31)); NEXT;
L_SRLW: RD = S32((uint32_t)RS1 >> (RS2 & 31)); NEXT;
L_SRAW: RD = S32((int32_t)RS1 >> (RS2 & 31)); NEXT;
L_MUL: RD = RS1 * RS2; NEXT;
L_MULH: RD = (uint64_t)(((__int128)(int64_t)RS1 * (__int128)(int64_t)RS2) >> 64); NEXT;
L_MULHSU: RD = (uint64_t)(((__int128)(int64_t)RS1 * (__int128)RS2) >> 64); NEXT;
L_MULHU: RD = (uint64_t)(((unsigned __int128)RS1 * RS2) >> 64); NEXT;
L_DIV: {
        int64_t a = RS1, b = RS2;
        RD = b == 0 ? ~0ull : (a == INT64_MIN && b == -1) ? (uint64_t)a : (uint64_t)(a / b);
        NEXT;
    }
L_DIVU: RD = RS2 == 0 ? ~0ull : RS1 / RS2; NEXT;
L_REM: {
        int64_t a = RS1, b = RS2;
        RD = b == 0 ? (uint64_t)a : (a == INT64_MIN && b == -1) ? 0 : (uint64_t)(a % b);
        NEXT;
    }
L_REMU: RD = RS2 == 0 ? RS1 : RS1 % RS2; NEXT;
L_MULW: RD = S32(RS1 * RS2); NEXT;
L_DIVW: {
        int32_t a = RS1, b = RS2;
        RD = b == 0 ? ~0ull : (a == INT32_MIN && b == -1) ? S32(a) : S32(a / b);
        NEXT;
    }
L_DIVUW: {
        uint32_t a = RS1, b = RS2;
        RD = b == 0 ? ~0ull : S32(a / b);
        NEXT;
    }
L_REMW: {
        int32_t a = RS1, b = RS2;
        RD = b == 0 ? S32(a) : (a == INT32_MIN && b == -1) ? 0 : S32(a % b);
        NEXT;
    }
L_REMUW: {
        uint32_t a = RS1, b = RS2;
        RD = b == 0 ? S32(a) : S32(a % b);
        NEXT;
    }
L_FENCE_I:
    tcg_fence_i(h);
    JUMP(PC + i->len);
L_ECALL:
    h->exc_cause = EXC_ECALL_U + h->priv;
    h->exc_tval = 0;
    goto exc;
L_EBREAK:
    h->exc_cause = EXC_BREAKPOINT;
    h->exc_tval = PC;
    goto exc;
L_MRET:
    if (h->priv != PRV_M)
        goto illegal;
    do_mret(h);
    done = i - tb->insns + 1;
    goto out;
L_SRET:
    if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MS_TSR)))
        goto illegal;
    do_sret(h);
    done = i - tb->insns + 1;
    goto out;
L_WFI:
    if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MS_TW)))
        goto illegal;
    h->wfi = true;
    hart_kick_check(h);
    JUMP(PC + i->len);
L_SFENCE_VMA:
    if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MS_TVM)))
        goto illegal;
    if (i->rs1 == 0)
        tcg_tlb_flush(h);
    else
        tcg_tlb_flush_page(h, RS1);
    JUMP(PC + i->len);
L_CSR: {
        /* Blocks count retired instructions at their exit; a counter read in the
         * middle must also see the ones before it in this block. */
        size_t before = i - tb->insns;
        h->instret += before;
        bool ok = do_csr(h, i);
        h->instret -= before;
        if (!ok)
            goto illegal;
        JUMP(PC + i->len);
    }
L_LR_W: L_SC_W: L_AMO_W:
    if (unlikely(!do_atomic(h, i, true)))
        goto exc;
    if (unlikely(h->tb_dirty))
        goto smc;
    NEXT;
L_LR_D: L_SC_D: L_AMO_D:
    if (unlikely(!do_atomic(h, i, false)))
        goto exc;
    if (unlikely(h->tb_dirty))
        goto smc;
    NEXT;
L_FLW: {
        if (unlikely(!tcg_fp_enabled(h)))
            goto illegal;
        uint64_t v;
        if (unlikely(!tcg_load_slow(h, RS1 + IMM, 4, &v)))
            goto exc;
        h->f[i->rd] = 0xffffffff00000000ull | (uint32_t)v;
        tcg_fp_dirty(h);
        NEXT;
    }
L_FLD: {
        if (unlikely(!tcg_fp_enabled(h)))
            goto illegal;
        uint64_t va = RS1 + IMM, v;
        const TlbEntry *e = &dtlb[(va >> 12) & (TLB_SIZE - 1)];
        if (likely(e->tag_r == (va & (PAGE_MASK | 7))))
            memcpy(&v, (const void *)(e->addend + va), 8);
        else if (unlikely(!tcg_load_slow(h, va, 8, &v)))
            goto exc;
        h->f[i->rd] = v;
        tcg_fp_dirty(h);
        NEXT;
    }
L_FSW:
    if (unlikely(!tcg_fp_enabled(h)))
        goto illegal;
    STORE_VAL(4, h->f[i->rs2]);
L_FSD:
    if (unlikely(!tcg_fp_enabled(h)))
        goto illegal;
    STORE_VAL(8, h->f[i->rs2]);
L_FP:
    if (unlikely(!tcg_fp_exec(h, i)))
        goto illegal;
    NEXT;
L_BKPT:
    if (h->bp_skip == PC) { /* resuming from this breakpoint */
        h->bp_skip = ~0ull;
        NEXT;
    }
    h->bp_skip = PC;
    h->pc = PC;
    done = i - tb->insns;
    atomic_store(&h->kicked, 1);
    hart_kick_check(h);
    mosaic_vcpu_debug_stop(h->vcpu);
    goto out;
L_END:
    h->pc = PC;
    done = tb->n;
    goto out;
L_ILLEGAL:
illegal:
    h->exc_cause = EXC_ILLEGAL;
    h->exc_tval = i->raw;
exc:
    h->pc = PC;
    done = i - tb->insns;
    tcg_take_trap(h, h->exc_cause, h->exc_tval, false);
    goto out;
smc:
    /* This block's own code may have changed: stop after the store. */
    h->tb_dirty = false;
    h->pc = PC + i->len;
    done = i - tb->insns + 1;
out:
    h->instret += done;
    /* Chain straight into the next block unless something needs the run loop. */
    if (unlikely(atomic_load_explicit(&h->check, memory_order_relaxed)) || unlikely(--budget == 0))
        return NULL;
    {
        uint64_t pc = h->pc;
        if (pc == base && h->jc_key == key) {
            /* A loop within one block: nothing that could change its translation ran. */
            dtlb = h->dtlb;
            i = tb->insns;
            goto enter;
        }
        const JcEntry *j = &h->jc[(pc >> 1) & ((1u << JC_BITS) - 1)];
        if (likely(j->pc == pc && j->gen == h->jc_key)) {
            tb = j->tb;
            tcg_cache_touch(h, tb); /* recency for the code cache's eviction */
        } else {
            tb = tcg_tb_find(h);
            if (!tb)
                return NULL;
        }
        base = h->pc;
        dtlb = h->dtlb;
        key = h->jc_key;
        i = tb->insns;
        goto enter;
    }
}

/* Block boundary work: exit requests, memory map changes, interrupts.  Returns true
 * when vcpu_run should return. */
static bool boundary(Hart *h)
{
    Accel *a = h->acc;
    h->boundary_count = 0;
    atomic_store_explicit(&h->check, 0, memory_order_relaxed);
    if (atomic_exchange(&h->kicked, 0) || mosaic_vcpu_exit_requested(h->vcpu))
        return true;
    uint64_t gen = mosaic_address_space_generation(a->as);
    uint64_t changed = atomic_load(&a->mem_changed);
    if (gen != h->mem_gen || atomic_load(&a->code_epoch) != h->code_epoch ||
        changed != h->acc_mem_changed) {
        h->acc_mem_changed = changed;
        tcg_tlb_flush(h);
    }
    if (gen != h->pages_gen) {
        h->pages_gen = gen;
        tcg_pages_revalidate(h); /* regions removed from the map may be freed soon */
    }
    uint64_t bpg = atomic_load(&a->bp_gen);
    if (bpg != h->bp_gen) {
        h->bp_gen = bpg;
        tcg_tb_flush(h, FLUSH_OTHER);
    }
    tcg_check_interrupts(h);
    return false;
}

/* WFI: sleep until an interrupt is pending and enabled in mie (globally disabled ones
 * wake the hart too, as the spec says).  False: leave vcpu_run. */
static bool do_wfi(Hart *h)
{
    h->wfi = false;
    while (!tcg_pending_irqs(h)) {
        if (atomic_load(&h->kicked) || mosaic_vcpu_exit_requested(h->vcpu))
            return false;
        if (!mosaic_vcpu_halt(h->vcpu))
            return false;
    }
    hart_kick_check(h);
    return true;
}

void tcg_hart_run(Hart *h)
{
    hart_kick_check(h);
    for (;;) {
        if (unlikely(atomic_load_explicit(&h->check, memory_order_acquire)) ||
            unlikely(++h->boundary_count >= 2048)) {
            if (boundary(h))
                return;
        }
        TB *tb = tcg_tb_find(h);
        if (unlikely(!tb))
            continue;
        if (unlikely(h->step))
            hart_kick_check(h); /* one block, no chaining */
        exec_tb(h, tb);
        if (unlikely(h->wfi) && !do_wfi(h))
            return;
        if (unlikely(h->step)) {
            mosaic_vcpu_debug_stop(h->vcpu);
            return;
        }
    }
}
