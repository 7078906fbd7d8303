/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: translation blocks (decode once, run many times), their cache and the
 * invalidation of stale translations.
 *
 * Each hart owns its cache (no locks on the lookup path): TBs are keyed by physical pc
 * in a hash table; a direct-mapped jump cache maps (virtual pc, privilege) to a TB and
 * is dropped wholesale (jc_gen++) whenever the TLB is.  TBs live in a bump arena that
 * is reset when full.
 *
 * Keeping translations coherent with guest memory:
 *  - Stores by this hart.  The shared code_mask[] says which harts hold translations of
 *    a physical page.  Write TLB entries of such pages carry TLB_CODE, so stores to them
 *    take the slow path, which invalidates this hart's TBs of the page at once (precise
 *    self-modifying code, even without FENCE.I) and bumps page_wgen[] of the page.
 *  - Stores by other harts.  When a page first becomes a code page, code_epoch moves and
 *    every hart drops its TLB at its next block boundary, so from then on their stores
 *    to the page are slow too and bump page_wgen[].  The ISA says another hart's store
 *    is only guaranteed visible to instruction fetch after this hart's FENCE.I, and that
 *    is where we compare each code page's page_wgen[] with the value recorded when its
 *    first TB was made and drop the TBs of pages that moved.
 *  - DMA (virtio) and other writes through host pointers.  We switch on the core's
 *    MOSAIC_DIRTY_CODE tracking for every RAM region we translate from.  At FENCE.I each
 *    code page's dirty bit is tested and cleared; a dirty page bumps page_wgen[] (so the
 *    other harts, which share the one dirty client, learn about it through the counter)
 *    and is invalidated.  A page's bit is also cleared when its first TB is made.
 * Linux issues FENCE.I (locally and through SBI remote fence.i) whenever it maps a page
 * whose contents were written since it last held code, so this is sufficient. */
#include "cpu.h"
#include <stdlib.h>

#define CODE_IDX(pa) (((pa) >> 12) & ((1u << CODE_MAP_BITS) - 1))

void tcg_tb_init(Hart *h)
{
    h->arena = malloc(ARENA_SIZE);
    h->seen = calloc(1u << SEEN_BITS, sizeof(*h->seen));
    h->arena_used = 0;
    tcg_jit_init(h);
}

static void *arena_alloc(Hart *h, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (h->arena_used + n > ARENA_SIZE)
        return NULL;
    void *p = h->arena + h->arena_used;
    h->arena_used += n;
    return p;
}

static uint64_t hart_bit(Hart *h)
{
    return 1ull << (h->index & 63);
}

void tcg_tb_flush(Hart *h, FlushReason why)
{
    for (unsigned b = 0; b < (1u << PAGE_HASH_BITS); b++)
        for (PageEnt *pe = h->page_hash[b]; pe; pe = pe->next)
            atomic_fetch_and(&h->acc->code_mask[CODE_IDX(pe->page)], ~hart_bit(h));
    memset(h->tb_hash, 0, sizeof(h->tb_hash));
    memset(h->page_hash, 0, sizeof(h->page_hash));
    h->arena_used = 0;
    h->jit_used = 0;
    h->jit_exit = NULL;
    jc_flush(h);
    h->st.flushes++;
    if (why == FLUSH_FULL)
        h->st.flush_full++;
    else
        h->st.flush_other++;
}

/* The 64-byte granules that bytes [lo, hi) of a page touch (hi <= 4096 + 8; bytes past
 * the page end count as its last granule, conservatively). */
static uint64_t granules(unsigned lo, unsigned hi)
{
    unsigned a = lo >> 6, b = (hi - 1) >> 6;
    if (b > 63)
        b = 63;
    uint64_t upto_b = b == 63 ? ~0ull : (2ull << b) - 1;
    return upto_b & ~((1ull << a) - 1);
}

static unsigned page_bucket(uint64_t page)
{
    return (page >> 12) & ((1u << PAGE_HASH_BITS) - 1);
}

static unsigned tb_bucket(uint64_t ppc)
{
    return ((ppc >> 1) ^ (ppc >> 15)) & ((1u << TB_HASH_BITS) - 1);
}

static PageEnt *page_find(Hart *h, uint64_t page)
{
    for (PageEnt *pe = h->page_hash[page_bucket(page)]; pe; pe = pe->next)
        if (pe->page == page)
            return pe;
    return NULL;
}

static void tb_unhash(Hart *h, TB *tb)
{
    TB **pp = &h->tb_hash[tb_bucket(tb->ppc)];
    for (; *pp; pp = &(*pp)->hash_next) {
        if (*pp == tb) {
            *pp = tb->hash_next;
            return;
        }
    }
}

/* Drops every TB of the page (unlinks the page entry too). */
static void page_invalidate(Hart *h, PageEnt **link)
{
    PageEnt *pe = *link;
    for (TB *tb = pe->tbs, *next; tb; tb = next) {
        int k = tb->page[0] == pe->page ? 0 : 1;
        next = tb->page_next[k];
        if (tb->valid) {
            tb->valid = false;
            tb_unhash(h, tb);
        }
    }
    *link = pe->next;
    atomic_fetch_and(&h->acc->code_mask[CODE_IDX(pe->page)], ~hart_bit(h));
    h->st.invalidations++;
    h->jit_exit = NULL; /* it may belong to a block just dropped */
    jc_flush(h); /* jump-cache hits are not re-checked for validity */
}

void tcg_code_write(Hart *h, uint64_t pa, unsigned len)
{
    Accel *a = h->acc;
    uint64_t page = pa & PAGE_MASK;
    uint64_t holders = atomic_load_explicit(&a->code_mask[CODE_IDX(page)], memory_order_relaxed);
    if (!holders)
        return;
    /* page_wgen tells other harts (at their FENCE.I) that the page was written; when
     * only this hart holds code there, the locked add is skipped. */
    _Atomic uint32_t *wg = &a->page_wgen[CODE_IDX(page)];
    bool others = holders & ~hart_bit(h);
    uint32_t old = others ? atomic_fetch_add(wg, 1) : 0;
    PageEnt **link = &h->page_hash[page_bucket(page)];
    for (; *link; link = &(*link)->next) {
        PageEnt *pe = *link;
        if (pe->page != page)
            continue;
        if (!(pe->code_bytes & granules(pa & 0xfff, (pa & 0xfff) + len))) {
            /* Data next to code: our translations stand.  We saw this write, so our
             * record of the page moves with it (unless another hart wrote meanwhile);
             * other harts still re-check the page at their FENCE.I (they may hold code
             * in these bytes). */
            if (others && old == pe->wgen)
                pe->wgen = old + 1;
            h->st.code_write_kept++;
            return;
        }
        page_invalidate(h, link);
        h->st.inval_code_write++;
        h->tb_dirty = true;
        return;
    }
}

void tcg_fence_i(Hart *h)
{
    Accel *a = h->acc;
    for (unsigned b = 0; b < (1u << PAGE_HASH_BITS); b++) {
        PageEnt **link = &h->page_hash[b];
        while (*link) {
            PageEnt *pe = *link;
            _Atomic uint32_t *wg = &a->page_wgen[CODE_IDX(pe->page)];
            bool stale = atomic_load(wg) != pe->wgen;
            if (!stale && pe->region &&
                mosaic_ram_test_and_clear_dirty(pe->region, MOSAIC_DIRTY_CODE, pe->region_off, 4096)) {
                atomic_fetch_add(wg, 1);
                stale = true;
            }
            if (stale) {
                page_invalidate(h, link);
                h->st.inval_fence_i++;
            }
            else
                link = &pe->next;
        }
    }
}

/* Switches on DIRTY_CODE for a RAM region once: enabling rebuilds the core's memory map
 * (and moves its generation), so it must not happen per page.  Two harts racing here
 * both enable, which is harmless. */
static void dirty_enable_once(Accel *a, MosaicRegion *region)
{
    for (unsigned i = 0; i < 64; i++) {
        MosaicRegion *r = atomic_load(&a->dirty_regions[i]);
        if (r == region)
            return;
        if (!r) {
            mosaic_region_dirty_enable(region, MOSAIC_DIRTY_CODE, true);
            MosaicRegion *expected = NULL;
            if (atomic_compare_exchange_strong(&a->dirty_regions[i], &expected, region))
                return;
            if (expected == region)
                return;
        }
    }
    /* Table full (absurd number of RAM regions): enabling again is still correct. */
    mosaic_region_dirty_enable(region, MOSAIC_DIRTY_CODE, true);
}

static bool page_add(Hart *h, TB *tb, int k, MosaicRegion *region, uint64_t region_off,
                     uint64_t code_bytes)
{
    uint64_t page = tb->page[k];
    PageEnt *pe = page_find(h, page);
    if (!pe) {
        Accel *a = h->acc;
        pe = arena_alloc(h, sizeof(*pe));
        if (!pe)
            return false;
        pe->page = page;
        pe->tbs = NULL;
        pe->code_bytes = 0;
        pe->region = region;
        pe->region_off = region_off;
        if (region) {
            dirty_enable_once(a, region);
            if (mosaic_ram_test_and_clear_dirty(region, MOSAIC_DIRTY_CODE, region_off, 4096))
                atomic_fetch_add(&a->page_wgen[CODE_IDX(page)], 1);
        }
        pe->wgen = atomic_load(&a->page_wgen[CODE_IDX(page)]);
        uint64_t old = atomic_fetch_or(&a->code_mask[CODE_IDX(page)], hart_bit(h));
        if (!old) {
            /* New code page: every hart must drop write entries that lack TLB_CODE. */
            atomic_fetch_add(&a->code_epoch, 1);
            for (unsigned i = 0; i < a->nharts; i++)
                if (a->harts[i])
                    hart_kick_check(a->harts[i]);
        }
        pe->next = h->page_hash[page_bucket(page)];
        h->page_hash[page_bucket(page)] = pe;
    }
    tb->page_next[k] = pe->tbs;
    pe->tbs = tb;
    pe->code_bytes |= code_bytes;
    return true;
}

static bool is_breakpoint(Accel *a, unsigned n, uint64_t pc)
{
    for (unsigned k = 0; k < n && k < 16; k++)
        if (atomic_load(&a->bps[k]) == pc)
            return true;
    return false;
}

static TB *translate(Hart *h, uint64_t pc, uint64_t pa, const uint8_t *host,
                     MosaicRegion *region, uint64_t region_off)
{
    size_t max = h->step ? 1 : MAX_TB_INSNS;
    size_t need = sizeof(TB) + (max + 2) * sizeof(Insn) + 2 * sizeof(PageEnt) + 64;
    if (h->arena_used + need > ARENA_SIZE || !tcg_jit_room(h))
        tcg_tb_flush(h, FLUSH_FULL);
    TB *tb = arena_alloc(h, sizeof(TB) + (max + 2) * sizeof(Insn));
    const void *const *labels = tcg_exec_labels();
    tb->ppc = pa;
    tb->page[0] = tb->page[1] = pa & PAGE_MASK;
    tb->valid = true;
    MosaicRegion *region2 = NULL;
    uint64_t region2_off = 0;
    unsigned off = 0, n = 0;
    unsigned pgoff = pa & 0xfff;
    unsigned nbps = atomic_load(&h->acc->nbps);
    for (;;) {
        Insn *in = &tb->insns[n];
        unsigned po = pgoff + off;
        if (nbps && is_breakpoint(h->acc, nbps, pc + off)) {
            if (n > 0 && tb->insns[n - 1].opc != OP_BKPT)
                break; /* the breakpoint starts its own block */
            if (n == 0) {
                memset(in, 0, sizeof(*in));
                in->opc = OP_BKPT;
                in->off = off;
                n++;
                in = &tb->insns[n];
            }
        }
        uint16_t lo;
        memcpy(&lo, host + po, 2);
        uint32_t raw = lo;
        if ((lo & 3) == 3) {
            if (po + 4 > 4096) {
                if (n > 0)
                    break; /* start a new block at the straddling instruction */
                /* Instruction straddles a page: fetch the second half separately. */
                uint64_t pa2;
                const uint8_t *host2;
                if (!tcg_fetch_translate(h, pc + 2, &pa2, &host2, &region2, &region2_off)) {
                    h->arena_used = (uint8_t *)tb - h->arena; /* give the space back */
                    return NULL;
                }
                uint16_t hi;
                memcpy(&hi, host2, 2);
                raw |= (uint32_t)hi << 16;
                tb->page[1] = pa2 & PAGE_MASK;
            } else {
                memcpy(&raw, host + po, 4);
            }
        }
        bool end = tcg_decode(raw, in);
        in->off = off;
        off += in->len;
        n++;
        /* A conditional branch does not end the block: its fall-through path goes on
         * in the same block (longer straight-line code for the generator). */
        if (end && !(in->opc >= OP_BEQ && in->opc <= OP_BGEU))
            break;
        if (n >= max + (tb->insns[0].opc == OP_BKPT) || pgoff + off >= 4096 || tb->page[1] != tb->page[0])
            break;
    }
    Insn *e = &tb->insns[n];
    memset(e, 0, sizeof(*e));
    e->opc = OP_END;
    e->off = off;
    for (unsigned k = 0; k <= n; k++)
        tb->insns[k].op = labels[tb->insns[k].opc];
    tb->n = n;
    /* Give back the unused tail of the instruction array. */
    h->arena_used = ((uint8_t *)&tb->insns[n + 1] - h->arena + 15) & ~(size_t)15;
    tb->page_next[0] = tb->page_next[1] = NULL;
    unsigned end = pgoff + off;
    page_add(h, tb, 0, region, region_off, granules(pgoff, end < 4096 ? end : 4096));
    if (tb->page[1] != tb->page[0])
        page_add(h, tb, 1, region2, region2_off, granules(0, end - 4096));
    uint64_t *seen = &h->seen[((pa >> 1) ^ (pa >> 17)) & ((1u << SEEN_BITS) - 1)];
    if (*seen == pa + 1)
        h->st.retranslations++;
    *seen = pa + 1;
    unsigned b = tb_bucket(pa);
    tb->hash_next = h->tb_hash[b];
    h->tb_hash[b] = tb;
    h->st.translations++;
    tb->jit = NULL;
    tb->jit_chain = NULL;
    tb->runs = 0;
    return tb;
}

TB *tcg_tb_find(Hart *h)
{
    uint64_t pc = h->pc;
    JcEntry *j = &h->jc[(pc >> 1) & ((1u << JC_BITS) - 1)];
    if (likely(j->pc == pc && j->gen == h->jc_key))
        return j->tb;
    uint64_t pa, region_off;
    const uint8_t *host;
    MosaicRegion *region;
    if (!tcg_fetch_translate(h, pc, &pa, &host, &region, &region_off))
        goto fault;
    TB *tb;
    for (tb = h->tb_hash[tb_bucket(pa)]; tb; tb = tb->hash_next) {
        if (tb->ppc != pa || !tb->valid)
            continue;
        if (tb->page[1] != tb->page[0]) {
            /* The second page must still map to the same physical page. */
            uint64_t pa2, off2;
            const uint8_t *h2;
            MosaicRegion *r2;
            if (!tcg_fetch_translate(h, pc + 2, &pa2, &h2, &r2, &off2))
                goto fault;
            if ((pa2 & PAGE_MASK) != tb->page[1])
                continue;
        }
        break;
    }
    if (!tb) {
        tb = translate(h, pc, pa, host, region, region_off);
        if (!tb)
            goto fault;
    }
    j->pc = pc;
    j->tb = tb;
    j->gen = h->jc_key;
    return tb;
fault:
    tcg_take_trap(h, h->exc_cause, h->exc_tval, false);
    return NULL;
}
