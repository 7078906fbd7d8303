/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: RV64GC hart state, translation blocks and the internal interfaces
 * between the files of this plugin (decode, exec, mmu, csr, fpu, tb cache). */
#ifndef TCG_CPU_H
#define TCG_CPU_H

#include <mosaic/mosaic.h>
#include <mosaic/riscv.h>
#include <stdatomic.h>
#include <string.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

enum { PRV_U = 0, PRV_S = 1, PRV_M = 3 };

/* Exception causes. */
enum {
    EXC_INSN_MISALIGNED = 0, EXC_INSN_ACCESS = 1, EXC_ILLEGAL = 2, EXC_BREAKPOINT = 3,
    EXC_LOAD_MISALIGNED = 4, EXC_LOAD_ACCESS = 5, EXC_STORE_MISALIGNED = 6,
    EXC_STORE_ACCESS = 7, EXC_ECALL_U = 8, EXC_ECALL_S = 9, EXC_ECALL_M = 11,
    EXC_INSN_PAGE = 12, EXC_LOAD_PAGE = 13, EXC_STORE_PAGE = 15,
};

/* mstatus bits. */
#define MS_SIE (1ull << 1)
#define MS_MIE (1ull << 3)
#define MS_SPIE (1ull << 5)
#define MS_MPIE (1ull << 7)
#define MS_SPP (1ull << 8)
#define MS_MPP_SHIFT 11
#define MS_MPP (3ull << 11)
#define MS_FS (3ull << 13)
#define MS_MPRV (1ull << 17)
#define MS_SUM (1ull << 18)
#define MS_MXR (1ull << 19)
#define MS_TVM (1ull << 20)
#define MS_TW (1ull << 21)
#define MS_TSR (1ull << 22)
#define MS_UXL (3ull << 32)
#define MS_SXL (3ull << 34)
#define MS_SD (1ull << 63)

/* Access types for the MMU. */
enum { ACC_LOAD = 0, ACC_STORE = 1, ACC_FETCH = 2 };

/* MMU index: which software TLB set a translation lives in.  S with and without
 * SUM are separate so Linux's frequent SUM toggling needs no flush; MXR changes flush. */
enum { MMU_U = 0, MMU_S = 1, MMU_S_SUM = 2, MMU_M = 3, NB_MMU = 4 };

#define TLB_BITS 8
#define TLB_SIZE (1u << TLB_BITS)
#define PAGE_MASK (~0xfffull)
/* Flags kept in the low bits of a tag: a fast-path compare never matches them. */
#define TLB_CODE 0x800 /* write entry: page holds translated code -> invalidate on store */
#define TLB_MMIO 0x400 /* page is not plain RAM: go through mosaic_as_read/write */
#define TLB_WATCH 0x200 /* read/write entry: a load/store trigger is armed (trigger.c) */
#define TLB_DIRTY 0x100 /* write entry: a dirty client besides our CODE one tracks the RAM
                         * (display, migration): every store is logged (slow path) */
#define TLB_INVALID (~0ull)

typedef struct TlbEntry {
    uint64_t tag_r, tag_w, tag_x; /* virtual page | flags, TLB_INVALID when empty */
    uintptr_t addend;             /* host = addend + vaddr (RAM only) */
    uint64_t paddr;               /* physical page */
    MosaicRegion *region;         /* RAM: region and offset of the page (dirty tracking);
                                   * MMIO: the device region at the page's start */
    uint64_t region_off;
    uint32_t mmio_len;            /* MMIO: bytes of the page in that region, 0: not cached */
    bool dirty_log;               /* RAM: stores must be logged (TLB_DIRTY) */
} TlbEntry;

/* One pre-decoded instruction. */
typedef struct Insn {
    const void *op;   /* handler label (computed goto in exec.c) */
    uint16_t opc;     /* enum Op */
    uint16_t off;     /* byte offset from the block start */
    uint8_t rd, rs1, rs2, rs3;
    uint8_t len;      /* 2 or 4 */
    uint8_t rm;       /* FP rounding mode / CSR kind / AMO funct5 */
    uint32_t raw;     /* instruction bits, for illegal-instruction tval */
    int64_t imm;
} Insn;

typedef struct TB TB;
typedef struct PageEnt PageEnt;
typedef struct Hart Hart;
/* Host code of a block (jit.c): returns JIT_DONE with h->pc set (the instructions retired
 * subtracted from h->jit_budget), or the index of the instruction the interpreter must
 * continue with. */
typedef uint32_t (*JitFn)(Hart *h, uint64_t base);
#define JIT_DONE 0x10000u
/* Blocks are compiled on their JIT_HOT-th entry: code that shares pages with data the
 * guest writes is re-translated often and must not pay for compiling each time. */
#define JIT_HOT 8
struct TB {
    uint64_t ppc;          /* physical pc of the first instruction */
    TB *hash_next;
    uint64_t page[2];      /* physical pages the code came from (page[1] = page[0] if one) */
    TB *page_next[2];
    bool valid;
    uint32_t n;            /* instructions, not counting the END sentinel */
    JitFn jit;             /* host code for the block, NULL: interpreter only */
    uint32_t runs;         /* entries before it was compiled (compiled at JIT_HOT) */
    uint8_t *jit_chain;    /* executable address other blocks' code jumps to when chained */
    /* Code-cache region of the record (arena) and of the host code (-1: none), and the
     * region lists (codecache.c); granules of each page this block's bytes cover. */
    int8_t region, code_region;
    TB *region_next, *code_next, *code_prev;
    uint64_t gran[2];
    Insn insns[];
};

/* Code page bookkeeping of one hart: its TBs on a physical page. */
struct PageEnt {
    uint64_t page;
    PageEnt *next;
    TB *tbs;
    uint32_t wgen;         /* accel->page_wgen[] when the first TB was made */
    uint32_t swept;        /* eviction round that last rebuilt the TB list */
    uint64_t code_bytes;   /* bit g: bytes [64g, 64g+64) of the page hold translated code */
    MosaicRegion *region;  /* for DIRTY_CODE checks (DMA writes) */
    uint64_t region_off;
};

typedef struct JcEntry {
    uint64_t pc;
    TB *tb;
    uint64_t gen;          /* Hart.jc_key when filled */
} JcEntry;

#define JC_BITS 12
#define TB_HASH_BITS 14
#define PAGE_HASH_BITS 12
#define CODE_MAP_BITS 20   /* shared per-page arrays, indexed by (paddr >> 12) mod 2^20 */
#define MAX_TB_INSNS 128
#define SEEN_BITS 16      /* physical pcs remembered for counting re-translations */

typedef struct Accel Accel;
#define NTRIG 4 /* Sdtrig triggers per hart */
/* The code cache of a hart: TB records (arena) and host code (code buffer), each
 * [accel] tb-size bytes, cut into NREGIONS regions used one at a time; when the current
 * region is full, the least recently used one is emptied and becomes current. */
#define NREGIONS 16
#define TB_SIZE_DEFAULT "32M"
#define TB_SIZE_MIN (1u << 20)

typedef struct Region {
    TB *tbs;               /* records allocated here (TB.region_next) */
    TB *code_tbs;          /* blocks whose host code is here (TB.code_next/prev) */
    uint64_t used_at;      /* h->instret when one of its blocks was last looked up */
} Region;

/* A patched jump (tcg_jit_link): the jmp at `slot` (executable view) goes into dst. */
typedef struct Link {
    uint8_t *slot;
    TB *dst;
    int32_t unlinked_rel;  /* the jmp's displacement before it was linked (its exit stub) */
} Link;
/* Upper bound of the host code jit.c emits per guest instruction (a store with its
 * code-page call and both exits is ~230 bytes); codecache.c reserves room with it. */
#define JIT_MAX_INSN_BYTES 320

struct Accel {
    MosaicMachine *machine;
    MosaicAddressSpace *as;
    bool no_jit;           /* [accel] jit = off */
    uint64_t tb_size;      /* [accel] tb-size: bytes of TB records and of host code per hart */
    Hart *harts[256];
    unsigned nharts;
    /* Which harts have translations on a page (bit per hart, mod 64). */
    _Atomic uint64_t *code_mask;
    /* Bumped whenever a page's contents change under translations (SMC, DMA). */
    _Atomic uint32_t *page_wgen;
    /* Bumped when a page first becomes a code page: harts then drop fast write entries. */
    _Atomic uint64_t code_epoch;
    _Atomic uint64_t code_hi; /* Hart.code_hi, for harts made later */
    _Atomic uint64_t mem_changed;
    /* RAM regions whose MOSAIC_DIRTY_CODE tracking we switched on (each rebuilds the map). */
    MosaicRegion *_Atomic dirty_regions[64];
    /* GDB breakpoints (virtual pcs); harts retranslate when bp_gen moves. */
    _Atomic uint64_t bps[16];
    _Atomic unsigned nbps;
    _Atomic uint64_t bp_gen;
};

/* Counters, per hart (query-accel-stats sums them; MOSAIC_TCG_STATS prints them).
 * invalidations = inval_code_write + inval_fence_i (pages whose TBs were dropped);
 * flushes = flush_full + flush_other (the whole cache dropped).  SFENCE.VMA drops no
 * translation: TBs are keyed by physical pc, it only drops the TLB and jump cache. */
typedef struct Stats {
    uint64_t translations, flushes, invalidations, tlb_misses, insns, exceptions,
             interrupts, mmio, jit_blocks, jit_links;
    uint64_t retranslations;   /* translations of a physical pc translated before */
    uint64_t inval_code_write; /* a store by this hart touched translated bytes */
    uint64_t inval_fence_i;    /* FENCE.I found the page written by others or DMA */
    uint64_t code_write_kept;  /* a store to a code page touched no translated bytes */
    uint64_t flush_full;       /* code cache or code buffer full */
    uint64_t flush_other;      /* reset, single-step, breakpoints */
    uint64_t region_evictions; /* a full cache emptied its least recently used region */
    uint64_t blocks_evicted;   /* valid blocks those evictions dropped */
    uint64_t links_undone;     /* patched jumps into evicted blocks, unpatched */
} Stats;

struct Hart {
    uint64_t x[33];        /* x[32] is the sink for writes to x0 */
    uint64_t pc;
    uint64_t f[32];
    TlbEntry *dtlb, *itlb; /* current sets */
    int priv;
    _Atomic int check;     /* something to look at on the next block boundary */
    _Atomic int kicked;
    _Atomic uint64_t mip;  /* the software-writable bits (SSIP, STIP, SEIP) */
    /* Lines the interrupt controllers drive (MSIP, MTIP, MEIP, SEIP), apart from mip:
     * a guest's csrs/csrc of mip writes back what it read, and must not drop a line
     * raised by another thread meanwhile (priv spec 3.1.9: SEIP reads as the OR). */
    _Atomic uint64_t mip_lines;
    uint32_t fflags, frm;

    uint64_t mstatus, medeleg, mideleg, mie, mtvec, mscratch, mepc, mcause, mtval;
    uint64_t mcounteren, menvcfg, mcountinhibit;
    uint64_t stvec, sscratch, sepc, scause, stval, satp, scounteren, senvcfg;
    uint64_t pmpcfg[16], pmpaddr[64];
    /* Debug triggers (trigger.c); trig_exec/trig_watch: an execute / load-store trigger
     * is armed. */
    uint64_t tdata1[NTRIG], tdata2[NTRIG];
    unsigned tselect;
    bool trig_exec, trig_watch;
    uint64_t instret;
    int64_t cycle_delta, instret_delta;

    /* LR/SC reservation: address and the value loaded (SC is a compare-exchange). */
    uint64_t res_addr, res_val;
    bool res_valid;

    bool wfi;
    bool tb_dirty;         /* a store invalidated translations: end the block */
    bool superpage;        /* TLB holds superpage pieces: partial SFENCE flushes all */
    uint32_t exc_cause;
    uint64_t exc_tval;
    uint64_t mem_gen;      /* address-space generation the TLB was filled with */
    uint64_t pages_gen;    /* generation the code pages' regions were checked against */
    uint64_t code_epoch;
    uint64_t acc_mem_changed;
    unsigned boundary_count;

    TlbEntry tlb[NB_MMU][TLB_SIZE];
    JcEntry jc[1u << JC_BITS];
    uint64_t jc_gen;
    uint64_t jc_key;       /* (jc_gen << 2) | priv: what a jump-cache entry must match */
    TB *tb_hash[1u << TB_HASH_BITS];
    PageEnt *page_hash[1u << PAGE_HASH_BITS];
    uint8_t *arena;
    uint64_t *seen;        /* direct-mapped: pa + 1 of translated pcs (a lower bound) */
    size_t arena_used;     /* offsets from the start; the current region ends at *_end */
    size_t arena_size, arena_end;
    uint8_t *jit_rw;       /* code buffer, writable view (NULL: no code generator) */
    uint8_t *jit_rx;       /* the same memory, executable view */
    size_t jit_used;
    size_t jit_size, jit_end;
    size_t jit_need;       /* code bytes the block being compiled may take (0: the most) */
    int cur_region;
    uint32_t evict_round;
    Region regions[NREGIONS];
    Link *links;           /* every patched jump (unpatched when its target is evicted) */
    size_t nlinks, links_cap;
    /* Set by generated code: the patchable jump of the chainable exit just taken (NULL
     * when none; cleared whenever translations are dropped), the block and base pc a
     * mid-block exit left from, and the budget: instructions generated code may still
     * run before it returns (it subtracts what each exit retires; the run loop adds
     * what was used to instret when the code returns). */
    uint8_t *jit_exit;
    TB *jit_cur;
    uint64_t jit_base;
    int32_t jit_budget;

    Accel *acc;
    MosaicVcpu *vcpu;
    unsigned index;
    bool step;
    uint64_t bp_gen;
    uint64_t bp_skip;      /* pc of the breakpoint we stopped at: run over it once */
    Stats st;
    /* CPU time of the thread running this hart when it last left vcpu_run (the report
     * at exit prints it: per hart, unlike the process's, so a 2-hart run shows which
     * hart did extra work, e.g. a guest spinning until the other hart is done). */
    uint64_t thread_cpu_ns;
    /* Direct window (jit.c): while data accesses are untranslated (M-mode without
     * MPRV, or satp bare), loads from the RAM section [direct_lo, direct_lo +
     * direct_len + 7) read host memory at va + direct_addend without a TLB lookup;
     * stores too when direct_wlen = direct_len (RAM without dirty tracking), except to
     * pages code_mask[] marks as code pages.  Set by a TLB fill for a load or store;
     * lengths 0 (none) whenever the TLB is flushed or the data privilege changes. */
    uint64_t direct_lo, direct_len, direct_wlen;
    uintptr_t direct_addend;
    _Atomic uint64_t *code_mask; /* acc->code_mask, for generated code */
    /* Code-page stores in the window (jit.c's store stub): the page of the last store
     * tcg_code_write kept while this hart alone held code there (~0: none) and its
     * granules with translated bytes then (a superset of today's: page_add forgets the
     * page when code is added to it); hart_bit: this hart's bit in code_mask[]. */
    uint64_t cw_page, cw_bytes, hart_bit;
    /* The end of the highest page any hart has translated code on (a->code_hi; only
     * grows): a store in the window at or above it cannot touch code, so generated code
     * makes it with no code-page or alignment test.  Raised by page_add on every hart. */
    _Atomic uint64_t code_hi;
};

/* Opcodes of pre-decoded instructions. */
enum Op {
    OP_ILLEGAL, OP_END, OP_NOP,
    OP_LUI, OP_AUIPC, OP_JAL, OP_JALR,
    OP_BEQ, OP_BNE, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU,
    OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU,
    OP_SB, OP_SH, OP_SW, OP_SD,
    OP_ADDI, OP_SLTI, OP_SLTIU, OP_XORI, OP_ORI, OP_ANDI, OP_SLLI, OP_SRLI, OP_SRAI,
    OP_ADD, OP_SUB, OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_SRA, OP_OR, OP_AND,
    OP_ADDIW, OP_SLLIW, OP_SRLIW, OP_SRAIW, OP_ADDW, OP_SUBW, OP_SLLW, OP_SRLW, OP_SRAW,
    OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU, OP_DIV, OP_DIVU, OP_REM, OP_REMU,
    OP_MULW, OP_DIVW, OP_DIVUW, OP_REMW, OP_REMUW,
    OP_FENCE, OP_FENCE_I, OP_ECALL, OP_EBREAK, OP_MRET, OP_SRET, OP_WFI, OP_SFENCE_VMA,
    OP_CSR,            /* rm: 1 rw, 2 rs, 3 rc, +4 immediate form; imm = csr number */
    OP_LR_W, OP_LR_D, OP_SC_W, OP_SC_D, OP_AMO_W, OP_AMO_D, /* rm = funct5 */
    OP_FLW, OP_FLD, OP_FSW, OP_FSD,
    OP_FP,             /* everything else of F/D: helper in fpu.c; raw holds the bits */
    OP_LI,             /* addi rd, x0, imm */
    OP_MV,             /* addi rd, rs, 0 */
    OP_BKPT,           /* GDB breakpoint before the next instruction (len 0) */
    OP_COUNT
};

/* decode.c: fills *in from the instruction bits; returns true when the instruction
 * ends a block. */
bool tcg_decode(uint32_t raw, Insn *in);

/* exec.c */
void tcg_hart_run(Hart *h);
const void *const *tcg_exec_labels(void);

/* codecache.c: the per-hart code cache in regions (TB arena + W^X buffer of generated
 * code).  MOSAIC_TCG_JIT=0 in the environment (or [accel] jit = off) switches the code
 * generator off. */
bool tcg_jit_init(Hart *h);
void tcg_jit_destroy(Hart *h);
bool tcg_jit_room(Hart *h);
bool tcg_cache_init(Hart *h);
void tcg_cache_destroy(Hart *h);
void tcg_cache_reset(Hart *h);
/* Makes room for `need` arena bytes in the current region (moving to another region,
 * which is emptied, when it lacks them). */
void tcg_cache_reserve(Hart *h, size_t need);
/* Compiles tb (in the current region, making room first); records where its code is. */
JitFn tcg_cache_compile(Hart *h, TB *tb);
/* Patches the exit h->jit_exit to jump into tb and remembers the link. */
void tcg_cache_link(Hart *h, TB *tb);
/* Marks the regions of tb's record and code as used now (the least recently used
 * region is the one emptied; see codecache.c). */
static inline void tcg_cache_touch(Hart *h, const TB *tb)
{
    h->regions[tb->region].used_at = h->instret;
    if (tb->code_region >= 0)
        h->regions[tb->code_region].used_at = h->instret;
}

/* jit.c: x86-64 code generator (stubs returning NULL on other hosts). */
JitFn tcg_jit_compile(Hart *h, TB *tb);
/* Patches the exit h->jit_exit to jump straight into tb's code. */
void tcg_jit_link(Hart *h, TB *tb);
/* The displacement of the unlinked jmp at slot (read before tcg_jit_link patches it). */
int32_t tcg_jit_unlinked_rel(Hart *h, const uint8_t *slot);
/* Undoes tcg_jit_link for the jmp at slot (executable view): it takes its exit stub
 * (displacement rel, from tcg_jit_unlinked_rel) and returns to C again. */
void tcg_jit_unlink(Hart *h, uint8_t *slot, int32_t rel);

/* tb.c */
TB *tcg_tb_find(Hart *h);
typedef enum { FLUSH_FULL, FLUSH_OTHER } FlushReason;
void tcg_tb_flush(Hart *h, FlushReason why);
void tcg_code_write(Hart *h, uint64_t paddr, unsigned len);
void tcg_fence_i(Hart *h);
void tcg_pages_revalidate(Hart *h);
void tcg_tb_init(Hart *h);
void tcg_tb_destroy(Hart *h);
/* Drops every block whose record or code lives in region v (codecache.c's eviction). */
void tcg_tb_evict_region(Hart *h, int v);

/* mmu.c */
void tcg_tlb_flush(Hart *h);
void tcg_tlb_flush_page(Hart *h, uint64_t va);
void tcg_update_mmu_idx(Hart *h);
/* Slow paths: return false with h->exc_cause/exc_tval set on a fault.  Stores return
 * true; h->tb_dirty says translated code was hit. */
bool tcg_load_slow(Hart *h, uint64_t va, unsigned size, uint64_t *val);
bool tcg_store_slow(Hart *h, uint64_t va, unsigned size, uint64_t val);
/* Host pointer for an aligned atomic access, or NULL and a fault (or MMIO: *mmio_pa). */
void *tcg_atomic_ptr(Hart *h, uint64_t va, unsigned size, bool store, uint64_t *mmio_pa);
/* After an AMO/SC wrote through tcg_atomic_ptr's pointer: logs the store for the
 * dirty clients that want it (TLB_DIRTY), after the write as store_one does. */
void tcg_atomic_logged(Hart *h, uint64_t va, unsigned size);
/* Translate a fetch: physical address, host pointer of the page and region info. */
bool tcg_fetch_translate(Hart *h, uint64_t va, uint64_t *pa, const uint8_t **host,
                         MosaicRegion **region, uint64_t *region_off);

/* csr.c */
bool tcg_csr_read(Hart *h, unsigned csr, uint64_t *val);
bool tcg_csr_write(Hart *h, unsigned csr, uint64_t val);
bool tcg_csr_access_ok(Hart *h, unsigned csr, bool write);
/* A CSR instruction: CSRRW (kind 1), CSRRS (2) or CSRRC (3) of `src`, writing only when
 * `wr`; *old gets the value read.  False: illegal instruction. */
bool tcg_csr_rmw(Hart *h, unsigned csr, unsigned kind, uint64_t src, bool wr, uint64_t *old);
void tcg_take_trap(Hart *h, uint64_t cause, uint64_t tval, bool interrupt);
bool tcg_check_interrupts(Hart *h);
uint64_t tcg_pending_irqs(Hart *h);
/* mip as the guest reads it: software bits OR the controllers' lines. */
uint64_t tcg_mip(Hart *h);
/* An interrupt controller sets or clears line `line` (a mip bit) of the hart. */
void tcg_set_irq_line(Hart *h, unsigned line, bool level);
void tcg_set_priv(Hart *h, int priv);
void tcg_hart_reset(Hart *h);
uint64_t tcg_read_time(void);

/* trigger.c: Sdtrig.  The checks set h->exc_cause/exc_tval (a breakpoint) when a
 * trigger fires now. */
bool tcg_trigger_csr_read(Hart *h, unsigned csr, uint64_t *val);
bool tcg_trigger_csr_write(Hart *h, unsigned csr, uint64_t v);
void tcg_trigger_reset(Hart *h);
bool tcg_trigger_exec_armed(const Hart *h, uint64_t pc);
bool tcg_trigger_exec(Hart *h, uint64_t pc);
bool tcg_trigger_data(Hart *h, uint64_t va, unsigned size, bool store);

/* fpu.c: executes an OP_FP instruction; false = illegal instruction. */
bool tcg_fp_exec(Hart *h, const Insn *in);
bool tcg_fp_enabled(Hart *h);
void tcg_fp_dirty(Hart *h);

/* gdb-target.c: the debugger's view of a hart (filled once, at accel create). */
extern const MosaicDebugTarget tcg_gdb_target;
void tcg_gdb_target_init(void);

/* Drops every jump-cache entry (and chained successor) of the hart. */
static inline void jc_flush(Hart *h)
{
    h->jc_gen++;
    h->jc_key = (h->jc_gen << 2) | (unsigned)h->priv;
}

/* Raises *bound to at least v (code_hi only grows: other harts raise it concurrently). */
static inline void code_hi_raise(_Atomic uint64_t *bound, uint64_t v)
{
    uint64_t cur = atomic_load(bound);
    while (cur < v && !atomic_compare_exchange_weak(bound, &cur, v))
        ;
}

static inline void hart_kick_check(Hart *h)
{
    atomic_store_explicit(&h->check, 1, memory_order_release);
}

#endif
