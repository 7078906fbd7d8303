/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: translation blocks (decode once, run many times), their cache and the
 * invalidation of stale translations.
 *
 * Each hart owns its cache (no locks on the lookup path): TBs are keyed by physical pc
 * in a hash table; a direct-mapped jump cache maps (virtual pc, privilege) to a TB and
 * is dropped wholesale (jc_gen++) whenever the TLB is.  TBs live in the regions of the
 * code cache (codecache.c): a full cache empties its least recently used region
 * (tcg_tb_evict_region), never the whole cache.
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
    h->seen = calloc(1u << SEEN_BITS, sizeof(*h->seen));
    if (!h->seen || !tcg_cache_init(h)) {
        free(h->seen);
        h->seen = NULL;
        tcg_cache_destroy(h);
    }
}

static void free_pages(Hart *h)
{
    for (unsigned b = 0; b < (1u << PAGE_HASH_BITS); b++) {
        for (PageEnt *pe = h->page_hash[b], *next; pe; pe = next) {
            next = pe->next;
            free(pe);
        }
        h->page_hash[b] = NULL;
    }
}

void tcg_tb_destroy(Hart *h)
{
    free_pages(h);
    free(h->seen);
    h->seen = NULL;
    tcg_cache_destroy(h);
}

static void *arena_alloc(Hart *h, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (h->arena_used + n > h->arena_end)
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
    h->cw_page = ~0ull;
    for (unsigned b = 0; b < (1u << PAGE_HASH_BITS); b++)
        for (PageEnt *pe = h->page_hash[b]; pe; pe = pe->next)
            atomic_fetch_and(&h->acc->code_mask[CODE_IDX(pe->page)], ~hart_bit(h));
    memset(h->tb_hash, 0, sizeof(h->tb_hash));
    free_pages(h);
    tcg_cache_reset(h);
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
    free(pe);
    h->st.invalidations++;
    h->jit_exit = NULL; /* it may belong to a block just dropped */
    jc_flush(h); /* jump-cache hits are not re-checked for validity */
}

/* Takes a block out of the lookup structures (its page list is rebuilt by the caller). */
static void evict_tb(Hart *h, TB *tb)
{
    if (tb->valid) {
        tb->valid = false;
        tb_unhash(h, tb);
        h->st.blocks_evicted++;
    }
}

/* Rebuilds the TB list of a page without the dropped blocks; a page left without
 * blocks is no code page of this hart any more. */
static void page_sweep(Hart *h, uint64_t page)
{
    PageEnt **link = &h->page_hash[page_bucket(page)];
    while (*link && (*link)->page != page)
        link = &(*link)->next;
    PageEnt *pe = *link;
    if (!pe || pe->swept == h->evict_round)
        return;
    pe->swept = h->evict_round;
    uint64_t bytes = 0;
    for (TB **pp = &pe->tbs; *pp;) {
        TB *tb = *pp;
        int k = tb->page[0] == page ? 0 : 1;
        if (tb->valid) {
            bytes |= tb->gran[k];
            pp = &tb->page_next[k];
        } else {
            *pp = tb->page_next[k];
        }
    }
    pe->code_bytes = bytes;
    if (!pe->tbs) {
        *link = pe->next;
        atomic_fetch_and(&h->acc->code_mask[CODE_IDX(page)], ~hart_bit(h));
        free(pe);
    }
}

static void code_list_remove(Hart *h, TB *tb)
{
    Region *r = &h->regions[tb->code_region];
    if (tb->code_prev)
        tb->code_prev->code_next = tb->code_next;
    else
        r->code_tbs = tb->code_next;
    if (tb->code_next)
        tb->code_next->code_prev = tb->code_prev;
    tb->code_region = -1;
}

void tcg_tb_evict_region(Hart *h, int v)
{
    Region *r = &h->regions[v];
    if (!++h->evict_round)
        h->evict_round = 1; /* 0 is "never swept" */
    for (TB *tb = r->tbs; tb; tb = tb->region_next) {
        if (tb->code_region >= 0 && tb->code_region != v)
            code_list_remove(h, tb); /* its record is about to be reused */
        evict_tb(h, tb);
    }
    for (TB *tb = r->code_tbs; tb; tb = tb->code_next) {
        evict_tb(h, tb);
        tb->jit = NULL;
        tb->jit_chain = NULL;
    }
    /* The page lists still hold dropped blocks (invalid now): rebuild them. */
    for (int list = 0; list < 2; list++) {
        for (TB *tb = list ? r->code_tbs : r->tbs; tb; tb = list ? tb->code_next : tb->region_next) {
            page_sweep(h, tb->page[0]);
            if (tb->page[1] != tb->page[0])
                page_sweep(h, tb->page[1]);
        }
    }
    for (TB *tb = r->code_tbs; tb; tb = tb->code_next)
        tb->code_region = -1;
    h->jit_exit = NULL;
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
            if (!others) { /* the generated code may keep the next ones itself */
                h->cw_page = page;
                h->cw_bytes = pe->code_bytes;
            }
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

/* The memory map changed (a new generation): a code page whose RAM region is no longer
 * what the map has there (removed at run time, e.g. a GPU blob's window) loses its
 * TBs, so pe->region is never used after the core freed that region (FENCE.I reads its
 * dirty bits).  Called at a block boundary, which every hart passes before the core
 * frees a removed region (it parks the vCPUs first); pe->region is only compared
 * here, never read. */
void tcg_pages_revalidate(Hart *h)
{
    for (unsigned b = 0; b < (1u << PAGE_HASH_BITS); b++) {
        PageEnt **link = &h->page_hash[b];
        while (*link) {
            PageEnt *pe = *link;
            MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
            if (pe->region && (!mosaic_as_lookup(h->acc->as, pe->page, &s) ||
                               s.region != pe->region ||
                               s.region_offset + (pe->page - s.base) != pe->region_off)) {
                page_invalidate(h, link);
                continue;
            }
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
        pe = malloc(sizeof(*pe));
        if (!pe)
            return false;
        pe->page = page;
        pe->swept = 0;
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
        /* Stores at or above the highest code page skip the code-page test (jit.c):
         * raise every hart's bound before any code on this page can run. */
        code_hi_raise(&a->code_hi, page + 4096);
        for (unsigned i = 0; i < a->nharts; i++)
            if (a->harts[i])
                code_hi_raise(&a->harts[i]->code_hi, page + 4096);
        pe->next = h->page_hash[page_bucket(page)];
        h->page_hash[page_bucket(page)] = pe;
    }
    tb->page_next[k] = pe->tbs;
    pe->tbs = tb;
    tb->gran[k] = code_bytes;
    pe->code_bytes |= code_bytes;
    if (page == h->cw_page)
        h->cw_page = ~0ull; /* more code there: the store stub must ask again */
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
    size_t need = sizeof(TB) + (max + 2) * sizeof(Insn) + 64;
    tcg_cache_reserve(h, need);
    TB *tb = arena_alloc(h, sizeof(TB) + (max + 2) * sizeof(Insn));
    const void *const *labels = tcg_exec_labels();
    tb->runs = 0;
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
        if (unlikely(h->trig_exec) && tcg_trigger_exec_armed(h, pc + off)) {
            if (n > 0)
                break; /* an armed execute trigger starts its own block (tcg_tb_find) */
            tb->runs = JIT_HOT; /* never compiled: arrivals go through tcg_tb_find */
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
    Region *r = &h->regions[h->cur_region];
    tb->region = (int8_t)h->cur_region;
    tb->code_region = -1;
    tb->code_next = tb->code_prev = NULL;
    tb->region_next = r->tbs;
    r->tbs = tb;
    return tb;
}

TB *tcg_tb_find(Hart *h)
{
    uint64_t pc = h->pc;
    JcEntry *j = &h->jc[(pc >> 1) & ((1u << JC_BITS) - 1)];
    if (likely(j->pc == pc && j->gen == h->jc_key)) {
        tcg_cache_touch(h, j->tb);
        return j->tb;
    }
    uint64_t pa, region_off;
    const uint8_t *host;
    MosaicRegion *region;
    bool cacheable = true;
    if (unlikely(h->trig_exec) && tcg_trigger_exec_armed(h, pc)) {
        /* Checked on every arrival: never in the jump cache.  An address breakpoint
         * comes before any fetch fault. */
        if (tcg_trigger_exec(h, pc))
            goto fault;
        cacheable = false;
    }
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
    if (likely(cacheable)) {
        j->pc = pc;
        j->tb = tb;
        j->gen = h->jc_key;
    }
    tcg_cache_touch(h, tb);
    return tb;
fault:
    tcg_take_trap(h, h->exc_cause, h->exc_tval, false);
    return NULL;
}
