/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: Sv39/Sv48 page walks, the software TLB and the slow memory paths.
 *
 * A TLB entry maps one 4 KiB guest virtual page.  For RAM whose whole page lies in one
 * section it holds `addend` so the fast path in exec.c computes the host address with
 * one add; everything else (MMIO, partial pages) is flagged TLB_MMIO and goes through
 * mosaic_as_read/write, which checks the address again.  Host pointers are only ever
 * formed from a section that covers the entire page, so no guest value reaches outside
 * guest memory. */
#include "cpu.h"

void tcg_tlb_flush(Hart *h)
{
    memset(h->tlb, 0xff, sizeof(h->tlb));
    jc_flush(h);
    h->superpage = false;
    h->mem_gen = mosaic_address_space_generation(h->acc->as);
    h->code_epoch = atomic_load(&h->acc->code_epoch);
    h->direct_len = h->direct_wlen = 0;
}

void tcg_tlb_flush_page(Hart *h, uint64_t va)
{
    if (h->superpage) {
        tcg_tlb_flush(h);
        return;
    }
    unsigned idx = (va >> 12) & (TLB_SIZE - 1);
    for (int m = 0; m < NB_MMU; m++)
        h->tlb[m][idx].tag_r = h->tlb[m][idx].tag_w = h->tlb[m][idx].tag_x = TLB_INVALID;
    jc_flush(h);
    h->direct_len = h->direct_wlen = 0;
}

static int data_priv(Hart *h)
{
    if (h->priv == PRV_M && (h->mstatus & MS_MPRV))
        return (h->mstatus >> MS_MPP_SHIFT) & 3;
    return h->priv;
}

static int mmu_idx(Hart *h, int priv)
{
    if (priv == PRV_M)
        return MMU_M;
    if (priv == PRV_S)
        return (h->mstatus & MS_SUM) ? MMU_S_SUM : MMU_S;
    return MMU_U;
}

/* Called whenever priv, MPRV, MPP or SUM may have changed. */
void tcg_update_mmu_idx(Hart *h)
{
    h->dtlb = h->tlb[mmu_idx(h, data_priv(h))];
    h->itlb = h->tlb[mmu_idx(h, h->priv)];
    h->direct_len = h->direct_wlen = 0;
}

static uint32_t fault_cause(int acc, bool page)
{
    if (acc == ACC_FETCH)
        return page ? EXC_INSN_PAGE : EXC_INSN_ACCESS;
    if (acc == ACC_LOAD)
        return page ? EXC_LOAD_PAGE : EXC_LOAD_ACCESS;
    return page ? EXC_STORE_PAGE : EXC_STORE_ACCESS;
}

/* Reads or updates a PTE through its host pointer (PTEs must live in RAM). */
static _Atomic uint64_t *pte_ptr(Hart *h, uint64_t pa)
{
    MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
    if (!mosaic_as_lookup(h->acc->as, pa, &s) || !s.host || s.readonly ||
        pa < s.base || pa + 8 > s.base + s.size)
        return NULL;
    return (_Atomic uint64_t *)(s.host + (pa - s.base));
}

/* Walks the page table.  Returns false and sets the fault; on success *pa and
 * *perm_w (whether the page may be written now, i.e. D set and W allowed). */
static bool walk(Hart *h, uint64_t va, int acc, int priv, uint64_t *pa, bool *writable,
                 bool *executable, bool *readable, bool *super)
{
    uint64_t satp = h->satp;
    unsigned mode = satp >> 60;
    *super = false;
    if (priv == PRV_M || mode == 0) {
        *pa = va;
        *writable = *executable = *readable = true;
        return true;
    }
    int levels = mode == 9 ? 4 : 3;
    unsigned vabits = 12 + 9 * levels;
    /* The address must be sign-extended from its top bit. */
    if ((uint64_t)((int64_t)(va << (64 - vabits)) >> (64 - vabits)) != va)
        goto page_fault;
    uint64_t base = (satp & ((1ull << 44) - 1)) << 12;
    bool sum = h->mstatus & MS_SUM, mxr = h->mstatus & MS_MXR;
    for (int lvl = levels - 1; lvl >= 0; lvl--) {
        uint64_t idx = (va >> (12 + 9 * lvl)) & 511;
        _Atomic uint64_t *p = pte_ptr(h, base + idx * 8);
        if (!p) {
            h->exc_cause = fault_cause(acc, false);
            h->exc_tval = va;
            return false;
        }
        uint64_t pte = atomic_load_explicit(p, memory_order_relaxed);
    retry:
        if (!(pte & 1) || (!(pte & 2) && (pte & 4)) || (pte >> 54))
            goto page_fault;
        uint64_t ppn = (pte >> 10) & ((1ull << 44) - 1);
        if (!(pte & 0xa)) { /* pointer to the next level */
            if (lvl == 0 || (pte & 0xd0)) /* A, D, U must be clear on non-leaf */
                goto page_fault;
            base = ppn << 12;
            continue;
        }
        /* Leaf. */
        if (lvl > 0 && (ppn & ((1ull << (9 * lvl)) - 1)))
            goto page_fault; /* misaligned superpage */
        bool u = pte & 0x10;
        if (priv == PRV_U && !u)
            goto page_fault;
        if (priv == PRV_S && u && (acc == ACC_FETCH || !sum))
            goto page_fault;
        bool r = (pte & 2) || (mxr && (pte & 8));
        if (acc == ACC_LOAD && !r)
            goto page_fault;
        if (acc == ACC_STORE && !(pte & 4))
            goto page_fault;
        if (acc == ACC_FETCH && !(pte & 8))
            goto page_fault;
        uint64_t want = pte | 0x40 | (acc == ACC_STORE ? 0x80 : 0);
        if (want != pte) {
            /* Hardware A/D update, atomically against other harts' updates. */
            if (!atomic_compare_exchange_strong(p, &pte, want))
                goto retry;
            pte = want;
        }
        uint64_t off_mask = (1ull << (12 + 9 * lvl)) - 1;
        *pa = ((ppn << 12) & ~off_mask) | (va & off_mask);
        *pa &= (1ull << 56) - 1;
        *writable = (pte & 4) && (pte & 0x80);
        *readable = r;
        *executable = pte & 8;
        *super = lvl > 0;
        return true;
    }
page_fault:
    h->exc_cause = fault_cause(acc, true);
    h->exc_tval = va;
    return false;
}

/* Whether our stores to the RAM of section s must be logged with mosaic_ram_set_dirty:
 * when a dirty client other than our own CODE client tracks it (a display, migration,
 * x-dirty-pages-start).  Our CODE client needs no logging from us: we know which pages
 * hold our code (code_mask[], TLB_CODE) and it only exists for writes we do not see
 * (DMA).  A core that does not say which clients (dirty_clients 0) gets every store. */
static bool section_logs_stores(const MosaicMemSection *s)
{
    return s->dirty_tracking &&
           (s->dirty_clients & ~(1u << MOSAIC_DIRTY_CODE) || !s->dirty_clients);
}

/* Fills the TLB entry for va in the set of `priv` for access `acc`. */
static TlbEntry *tlb_fill(Hart *h, uint64_t va, int acc, int priv)
{
    uint64_t pa;
    bool w, x, r, super;
    h->st.tlb_misses++;
    uint64_t gen = mosaic_address_space_generation(h->acc->as);
    if (gen != h->mem_gen)
        tcg_tlb_flush(h);
    if (!walk(h, va, acc, priv, &pa, &w, &x, &r, &super))
        return NULL;
    if (super)
        h->superpage = true;
    uint64_t page = pa & PAGE_MASK, vpage = va & PAGE_MASK;
    TlbEntry *e = &h->tlb[mmu_idx(h, priv)][(va >> 12) & (TLB_SIZE - 1)];
    if ((e->tag_r & PAGE_MASK) != vpage && (e->tag_w & PAGE_MASK) != vpage &&
        (e->tag_x & PAGE_MASK) != vpage) {
        e->tag_r = e->tag_w = e->tag_x = TLB_INVALID;
    } else if (e->paddr != page) {
        e->tag_r = e->tag_w = e->tag_x = TLB_INVALID;
    }
    MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
    bool mapped = mosaic_as_lookup(h->acc->as, page, &s);
    uint64_t flags = 0;
    e->paddr = page;
    e->region = NULL;
    e->mmio_len = 0;
    e->dirty_log = false;
    if (mapped && s.host && s.base <= page && page + 4096 <= s.base + s.size) {
        e->addend = (uintptr_t)(s.host + (page - s.base)) - vpage;
        e->region = s.region;
        e->region_off = s.region_offset + (page - s.base);
        e->dirty_log = section_logs_stores(&s);
        /* An untranslated data access: every load from this RAM section may skip the
         * TLB (generated code) until the translation or the data privilege changes,
         * and so may stores unless they must be logged (code pages are checked per
         * store).  Switching a dirty client on moves the map's generation and kicks
         * every hart (memory_changed), whose next check flushes the TLB: the window
         * closes then.  No window while a load/store trigger is armed (TLB_WATCH). */
        if (acc != ACC_FETCH && (priv == PRV_M || (h->satp >> 60) == 0) && page == vpage &&
            h->dtlb == h->tlb[mmu_idx(h, priv)] && s.size >= 4096 && !h->trig_watch) {
            h->direct_lo = s.base;
            h->direct_len = s.size - 7;
            h->direct_wlen = e->dirty_log || s.readonly ? 0 : h->direct_len;
            h->direct_addend = (uintptr_t)s.host - s.base;
            h->code_mask = h->acc->code_mask;
        }
    } else {
        flags = TLB_MMIO;
        if (mapped && !s.host && s.base <= page) {
            /* Keep the device section so accesses skip the address lookup. */
            e->region = s.region;
            e->region_off = s.region_offset + (page - s.base);
            uint64_t left = s.size - (page - s.base);
            e->mmio_len = left < 4096 ? (uint32_t)left : 4096;
        }
        s.readonly = false;
    }
    /* Only the permissions this walk proved are entered; others miss and walk again. */
    uint64_t watch = h->trig_watch ? TLB_WATCH : 0; /* every data access checks triggers */
    if (r)
        e->tag_r = vpage | flags | watch;
    if (x)
        e->tag_x = vpage | flags;
    if (w && acc == ACC_STORE) {
        uint64_t wf = flags;
        if (s.readonly)
            wf |= TLB_MMIO; /* ROM: the write reaches mosaic_as_write and fails there */
        if (atomic_load_explicit(&h->acc->code_mask[(page >> 12) & ((1u << CODE_MAP_BITS) - 1)],
                                 memory_order_acquire))
            wf |= TLB_CODE;
        if (e->dirty_log && !(wf & TLB_MMIO))
            wf |= TLB_DIRTY; /* logged per store: a client may clear the bit any time */
        e->tag_w = vpage | wf | watch;
    }
    return e;
}

/* A device access through the entry's cached section, or by address when the entry
 * has none (a page shared by sections, ROM writes). */
static MosaicMemResult mmio_access(Hart *h, const TlbEntry *e, uint64_t pa, unsigned size,
                                   uint64_t *val, bool write)
{
    if (!e->mmio_len)
        return write ? mosaic_as_write(h->acc->as, pa, size, *val)
                     : mosaic_as_read(h->acc->as, pa, size, val);
    MosaicMemSection s = {.struct_size = sizeof s, .base = e->paddr, .size = e->mmio_len, .region = e->region,
                          .region_offset = e->region_off};
    return mosaic_as_access_section(h->acc->as, h->mem_gen, &s, pa, size, val, write);
}

static bool misaligned_crosses(uint64_t va, unsigned size)
{
    return ((va & 0xfff) + size) > 4096;
}

static bool load_one(Hart *h, uint64_t va, unsigned size, uint64_t *val)
{
    int priv = data_priv(h);
    TlbEntry *e = &h->tlb[mmu_idx(h, priv)][(va >> 12) & (TLB_SIZE - 1)];
    if ((e->tag_r & PAGE_MASK) != (va & PAGE_MASK) || e->tag_r == TLB_INVALID) {
        e = tlb_fill(h, va, ACC_LOAD, priv);
        if (!e)
            return false;
    }
    if (e->tag_r & TLB_MMIO) {
        uint64_t pa = e->paddr | (va & 0xfff);
        h->st.mmio++;
        if (mmio_access(h, e, pa, size, val, false) != MOSAIC_MEM_OK) {
            h->exc_cause = EXC_LOAD_ACCESS;
            h->exc_tval = va;
            return false;
        }
        return true;
    }
    uint64_t v = 0;
    memcpy(&v, (void *)(e->addend + va), size);
    *val = v;
    return true;
}

bool tcg_load_slow(Hart *h, uint64_t va, unsigned size, uint64_t *val)
{
    if (unlikely(h->trig_watch) && tcg_trigger_data(h, va, size, false))
        return false;
    if (likely(!(va & (size - 1))))
        return load_one(h, va, size, val);
    /* Misaligned: emulated bytewise (as QEMU does for virt), faults carry va. */
    uint64_t v = 0;
    if (!misaligned_crosses(va, size)) {
        for (unsigned i = 0; i < size; i++) {
            uint64_t b;
            if (!load_one(h, va + i, 1, &b))
                return false;
            v |= b << (8 * i);
        }
    } else {
        for (unsigned i = 0; i < size; i++) {
            uint64_t b;
            if (!load_one(h, va + i, 1, &b)) {
                h->exc_tval = va + i;
                return false;
            }
            v |= b << (8 * i);
        }
    }
    *val = v;
    return true;
}

static bool store_one(Hart *h, uint64_t va, unsigned size, uint64_t val)
{
    int priv = data_priv(h);
    TlbEntry *e = &h->tlb[mmu_idx(h, priv)][(va >> 12) & (TLB_SIZE - 1)];
    if ((e->tag_w & PAGE_MASK) != (va & PAGE_MASK) || e->tag_w == TLB_INVALID) {
        e = tlb_fill(h, va, ACC_STORE, priv);
        if (!e)
            return false;
    }
    uint64_t pa = e->paddr | (va & 0xfff);
    if (e->tag_w & TLB_MMIO) {
        h->st.mmio++;
        if (mmio_access(h, e, pa, size, &val, true) != MOSAIC_MEM_OK) {
            h->exc_cause = EXC_STORE_ACCESS;
            h->exc_tval = va;
            return false;
        }
        /* A device (or a ROM-backed write path) may have changed code. */
        tcg_code_write(h, pa, size);
        return true;
    }
    memcpy((void *)(e->addend + va), &val, size);
    /* Logged after the write: a client clearing the page in between still sees it. */
    if (e->tag_w & TLB_DIRTY)
        mosaic_ram_set_dirty(e->region, e->region_off + (va & 0xfff), size);
    if (e->tag_w & TLB_CODE) {
        tcg_code_write(h, pa, size);
        /* When no hart has code on the page any more the entry becomes fast again. */
        if (!atomic_load(&h->acc->code_mask[(pa >> 12) & ((1u << CODE_MAP_BITS) - 1)]))
            e->tag_w &= ~(uint64_t)TLB_CODE;
    }
    return true;
}

bool tcg_store_slow(Hart *h, uint64_t va, unsigned size, uint64_t val)
{
    if (unlikely(h->trig_watch) && tcg_trigger_data(h, va, size, true))
        return false;
    if (likely(!(va & (size - 1))))
        return store_one(h, va, size, val);
    /* Misaligned: check every byte translates before writing any (precise traps). */
    if (misaligned_crosses(va, size)) {
        uint64_t pa;
        bool w, x, r, s;
        int priv = data_priv(h);
        if (!walk(h, va, ACC_STORE, priv, &pa, &w, &x, &r, &s) ||
            !walk(h, (va + size - 1) & PAGE_MASK, ACC_STORE, priv, &pa, &w, &x, &r, &s)) {
            h->exc_tval = va;
            return false;
        }
    }
    for (unsigned i = 0; i < size; i++)
        if (!store_one(h, va + i, 1, (val >> (8 * i)) & 0xff))
            return false;
    return true;
}

void *tcg_atomic_ptr(Hart *h, uint64_t va, unsigned size, bool store, uint64_t *mmio_pa)
{
    *mmio_pa = ~0ull;
    if (va & (size - 1)) {
        h->exc_cause = store ? EXC_STORE_MISALIGNED : EXC_LOAD_MISALIGNED;
        h->exc_tval = va;
        return NULL;
    }
    if (unlikely(h->trig_watch) && tcg_trigger_data(h, va, size, store))
        return NULL;
    int priv = data_priv(h);
    TlbEntry *e = &h->tlb[mmu_idx(h, priv)][(va >> 12) & (TLB_SIZE - 1)];
    /* AMOs need write permission even for the read: fill as a store. */
    uint64_t tag = store ? e->tag_w : e->tag_r;
    if ((tag & PAGE_MASK) != (va & PAGE_MASK) || tag == TLB_INVALID) {
        e = tlb_fill(h, va, store ? ACC_STORE : ACC_LOAD, priv);
        if (!e)
            return NULL;
        tag = store ? e->tag_w : e->tag_r;
    }
    uint64_t pa = e->paddr | (va & 0xfff);
    if (tag & TLB_MMIO) {
        *mmio_pa = pa;
        return NULL;
    }
    /* TLB_DIRTY: the caller logs the store after writing (tcg_atomic_logged). */
    if (store && (tag & TLB_CODE))
        tcg_code_write(h, pa, size);
    return (void *)(e->addend + va);
}

void tcg_atomic_logged(Hart *h, uint64_t va, unsigned size)
{
    const TlbEntry *e = &h->dtlb[(va >> 12) & (TLB_SIZE - 1)];
    if ((e->tag_w & (PAGE_MASK | TLB_DIRTY | TLB_MMIO)) == ((va & PAGE_MASK) | TLB_DIRTY))
        mosaic_ram_set_dirty(e->region, e->region_off + (va & 0xfff), size);
}

bool tcg_fetch_translate(Hart *h, uint64_t va, uint64_t *pa, const uint8_t **host,
                         MosaicRegion **region, uint64_t *region_off)
{
    TlbEntry *e = &h->itlb[(va >> 12) & (TLB_SIZE - 1)];
    if ((e->tag_x & PAGE_MASK) != (va & PAGE_MASK) || e->tag_x == TLB_INVALID) {
        e = tlb_fill(h, va, ACC_FETCH, h->priv);
        if (!e)
            return false;
    }
    if (e->tag_x & TLB_MMIO) {
        /* Executing from MMIO is not supported: instruction access fault. */
        h->exc_cause = EXC_INSN_ACCESS;
        h->exc_tval = va;
        return false;
    }
    *pa = e->paddr | (va & 0xfff);
    *host = (const uint8_t *)(e->addend + (va & PAGE_MASK));
    *region = e->region;
    *region_off = e->region_off;
    return true;
}
