/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dirty page tracking: one bitmap per client per RAM region, 4 KiB pages.
 *
 * Several vCPU threads write guest RAM at once, so bits are set and cleared with atomic
 * operations.  A bitmap is allocated when its client is first enabled and lives as long
 * as the region, so a writer racing with a disable never touches freed memory.  Enabling
 * or disabling rebuilds the maps: sections then report dirty_tracking and accelerators
 * see a new generation (and stop writing RAM behind our back without marking it). */
#include "memory/memory-internal.h"

#define BITS_PER_WORD (sizeof(unsigned long) * 8)

uint8_t mem_region_dirty_clients(MosaicRegion *mr)
{
    uint8_t on = 0;
    for (int c = 0; c < MOSAIC_DIRTY_CLIENTS; c++)
        if (__atomic_load_n(&mr->dirty_on[c], __ATOMIC_ACQUIRE))
            on |= (uint8_t)(1u << c);
    return on;
}

bool mem_region_dirty_any(MosaicRegion *mr)
{
    return mem_region_dirty_clients(mr) != 0;
}

MOSAIC_API void mosaic_region_dirty_enable(MosaicRegion *mr, MosaicDirtyClient client, bool on)
{
    g_return_if_fail(mr && (unsigned)client < MOSAIC_DIRTY_CLIENTS);
    if (mr->kind != REGION_RAM)
        return; /* only RAM is written behind the core's back */
    mem_map_lock();
    if (on && !mr->dirty[client]) {
        uint64_t words = (mr->npages + BITS_PER_WORD - 1) / BITS_PER_WORD;
        __atomic_store_n(&mr->dirty[client], g_new0(unsigned long, words), __ATOMIC_RELEASE);
    }
    __atomic_store_n(&mr->dirty_on[client], on, __ATOMIC_RELEASE);
    bool changed = mem_rebuild_all_locked(NULL);
    mem_map_unlock();
    if (changed)
        mem_map_changed(false);
}

/* Clips [offset, offset+len) to the region; false when nothing is left. */
static bool page_range(MosaicRegion *mr, uint64_t offset, uint64_t len, uint64_t *first,
                       uint64_t *last)
{
    if (!len || offset >= mr->size)
        return false;
    uint64_t end = len > mr->size - offset ? mr->size : offset + len; /* no wrap */
    *first = offset >> MOSAIC_DIRTY_PAGE_SHIFT;
    *last = (end - 1) >> MOSAIC_DIRTY_PAGE_SHIFT;
    return true;
}

void mem_region_mark_dirty(MosaicRegion *mr, uint64_t offset, uint64_t len)
{
    uint64_t first, last;
    if (!page_range(mr, offset, len, &first, &last))
        return;
    for (int c = 0; c < MOSAIC_DIRTY_CLIENTS; c++) {
        if (!__atomic_load_n(&mr->dirty_on[c], __ATOMIC_ACQUIRE))
            continue;
        unsigned long *bm = __atomic_load_n(&mr->dirty[c], __ATOMIC_ACQUIRE);
        for (uint64_t p = first; p <= last; p++) {
            unsigned long bit = 1UL << (p % BITS_PER_WORD);
            unsigned long *w = &bm[p / BITS_PER_WORD];
            /* A plain load first: the common case (already dirty) then costs no
             * locked instruction and no cache line bouncing between vCPUs. */
            if (!(__atomic_load_n(w, __ATOMIC_RELAXED) & bit))
                __atomic_fetch_or(w, bit, __ATOMIC_RELAXED);
        }
    }
}

MOSAIC_API void mosaic_ram_set_dirty(MosaicRegion *mr, uint64_t offset, uint64_t len)
{
    if (mr && mr->kind == REGION_RAM)
        mem_region_mark_dirty(mr, offset, len);
}

MOSAIC_API bool mosaic_ram_test_and_clear_dirty(MosaicRegion *mr, MosaicDirtyClient client,
                                                uint64_t offset, uint64_t len)
{
    uint64_t first, last;
    if (!mr || (unsigned)client >= MOSAIC_DIRTY_CLIENTS || !page_range(mr, offset, len, &first, &last))
        return false;
    unsigned long *bm = __atomic_load_n(&mr->dirty[client], __ATOMIC_ACQUIRE);
    if (!bm)
        return false;
    bool any = false;
    for (uint64_t p = first; p <= last;) {
        uint64_t wi = p / BITS_PER_WORD;
        unsigned lo = p % BITS_PER_WORD;
        uint64_t span = MIN(last - p + 1, (uint64_t)(BITS_PER_WORD - lo));
        unsigned long mask = (span == BITS_PER_WORD ? ~0UL : ((1UL << span) - 1)) << lo;
        if (__atomic_load_n(&bm[wi], __ATOMIC_RELAXED) & mask)
            any |= (__atomic_fetch_and(&bm[wi], ~mask, __ATOMIC_ACQ_REL) & mask) != 0;
        p += span;
    }
    return any;
}
