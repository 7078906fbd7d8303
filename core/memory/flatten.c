/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Flattening: a region tree -> a sorted table of non-overlapping sections.
 *
 * Subregions are rendered from the highest priority down; each leaf only fills the
 * addresses nothing rendered before it claimed, so higher priorities win.  Holes in a
 * container are transparent (lower-priority siblings of the container show through).
 * Aliases are followed to their leaves.  Coordinates are 128-bit while rendering so no
 * base+size or base-offset can wrap. */
#include <string.h>

#include "memory/memory-internal.h"

typedef __int128 i128;

typedef struct Range {
    i128 start, end; /* [start, end) in address-space coordinates */
    MosaicRegion *leaf;
    uint64_t leaf_off; /* offset of `start` inside leaf */
} Range;

static gint cmp_range(gconstpointer a, gconstpointer b)
{
    const Range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static gint cmp_prio(gconstpointer a, gconstpointer b)
{
    const Subregion *x = *(Subregion *const *)a, *y = *(Subregion *const *)b;
    return x->priority > y->priority ? -1 : x->priority < y->priority;
}

/* Adds the parts of [lo, hi) that no range covers yet. */
static void fill_gaps(GArray *ranges, i128 lo, i128 hi, MosaicRegion *leaf, i128 leaf_base)
{
    i128 cur = lo;
    guint n = ranges->len;
    for (guint i = 0; i < n && cur < hi; i++) {
        Range *r = &g_array_index(ranges, Range, i);
        if (r->end <= cur)
            continue;
        if (r->start >= hi)
            break;
        if (r->start > cur) {
            Range nr = {cur, r->start, leaf, (uint64_t)(cur - leaf_base)};
            g_array_append_val(ranges, nr);
            r = &g_array_index(ranges, Range, i); /* append may move the array */
        }
        if (r->end > cur)
            cur = r->end;
    }
    if (cur < hi) {
        Range nr = {cur, hi, leaf, (uint64_t)(cur - leaf_base)};
        g_array_append_val(ranges, nr);
    }
    g_array_sort(ranges, cmp_range);
}

static void render(GArray *ranges, MosaicRegion *mr, i128 base, i128 clip_lo, i128 clip_hi,
                   int depth)
{
    i128 lo = MAX(base, clip_lo), hi = MIN(base + (i128)mr->size, clip_hi);
    if (lo >= hi || depth > 64) /* depth: cycles are refused at add time; belt and braces */
        return;
    switch (mr->kind) {
    case REGION_CONTAINER: {
        /* Sort a copy: equal priorities never overlap, so their order does not matter. */
        g_autoptr(GPtrArray) subs = g_ptr_array_copy(mr->subs, NULL, NULL);
        g_ptr_array_sort(subs, cmp_prio);
        for (guint i = 0; i < subs->len; i++) {
            Subregion *s = g_ptr_array_index(subs, i);
            render(ranges, s->mr, base + (i128)s->addr, lo, hi, depth + 1);
        }
        break;
    }
    case REGION_ALIAS:
        render(ranges, mr->target, base - (i128)mr->target_offset, lo, hi, depth + 1);
        break;
    default:
        fill_gaps(ranges, lo, hi, mr, base);
        break;
    }
}

FlatTable *mem_flatten(MosaicRegion *root)
{
    g_autoptr(GArray) ranges = g_array_new(FALSE, FALSE, sizeof(Range));
    render(ranges, root, 0, 0, (i128)root->size, 0);

    FlatTable *t = g_new0(FlatTable, 1);
    t->sec = g_new0(MosaicMemSection, ranges->len ? ranges->len : 1);
    for (guint i = 0; i < ranges->len; i++) {
        Range *r = &g_array_index(ranges, Range, i);
        MosaicMemSection *prev = t->n ? &t->sec[t->n - 1] : NULL;
        /* Merge runs that resolve the same way (split by aliases or rendering order). */
        if (prev && prev->region == r->leaf && (i128)prev->base + prev->size == r->start &&
            prev->region_offset + prev->size == r->leaf_off) {
            prev->size += (uint64_t)(r->end - r->start);
            continue;
        }
        MosaicMemSection *s = &t->sec[t->n++];
        s->base = (uint64_t)r->start;
        s->size = (uint64_t)(r->end - r->start);
        s->region = mem_region_ref(r->leaf);
        s->region_offset = r->leaf_off;
        s->host = r->leaf->host ? r->leaf->host + r->leaf_off : NULL;
        s->readonly = r->leaf->kind == REGION_ROM;
        s->dirty_clients = r->leaf->kind == REGION_RAM ? mem_region_dirty_clients(r->leaf) : 0;
        s->dirty_tracking = s->dirty_clients != 0;
    }
    return t;
}

void mem_flat_table_free(FlatTable *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        mosaic_region_unref(t->sec[i].region);
    g_free(t->sec);
    g_free(t);
}

bool mem_flat_table_equal(const FlatTable *a, const FlatTable *b)
{
    if (!a || !b || a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const MosaicMemSection *x = &a->sec[i], *y = &b->sec[i];
        if (x->base != y->base || x->size != y->size || x->host != y->host ||
            x->readonly != y->readonly || x->dirty_clients != y->dirty_clients ||
            x->region != y->region || x->region_offset != y->region_offset)
            return false;
    }
    return true;
}
