/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Address spaces: publishing flattened tables (RCU-like) and the lock-free lookup. */
#include "memory/memory-internal.h"

static GPtrArray *spaces; /* MosaicAddressSpace*, under the map lock */

static MemChangeHook *change_hook;
static void *change_hook_opaque;

void mem_set_change_hook(MemChangeHook *fn, void *opaque)
{
    mem_map_lock();
    change_hook = fn;
    change_hook_opaque = opaque;
    mem_map_unlock();
}

void mem_map_changed(bool retired_foreign)
{
    mem_map_lock();
    MemChangeHook *fn = change_hook;
    void *opaque = change_hook_opaque;
    mem_map_unlock();
    if (fn)
        fn(opaque, retired_foreign);
}

static bool maps_foreign(const FlatTable *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->sec[i].region->release)
            return true;
    return false;
}

/* Map lock held.  Publishes a new table only when the map really changed, so the
 * generation moves exactly when accelerators must flush what they cached. */
static bool rebuild_locked(MosaicAddressSpace *as, bool *retired_foreign)
{
    FlatTable *nt = mem_flatten(as->root);
    FlatTable *old = as->table;
    if (old && mem_flat_table_equal(old, nt)) {
        mem_flat_table_free(nt);
        return false;
    }
    __atomic_store_n(&as->table, nt, __ATOMIC_RELEASE);
    /* The new table is visible before the new generation: a reader that sees the new
     * generation (acquire) then loads the new table. */
    __atomic_add_fetch(&as->generation, 1, __ATOMIC_RELEASE);
    if (old) {
        if (retired_foreign && maps_foreign(old))
            *retired_foreign = true;
        g_ptr_array_add(as->retired, old);
    }
    return true;
}

bool mem_rebuild_all_locked(bool *retired_foreign)
{
    bool changed = false;
    if (!spaces)
        return false;
    for (guint i = 0; i < spaces->len; i++)
        changed |= rebuild_locked(g_ptr_array_index(spaces, i), retired_foreign);
    return changed;
}

MOSAIC_API MosaicAddressSpace *mosaic_address_space_new(const char *name, MosaicRegion *root)
{
    g_return_val_if_fail(root != NULL, NULL);
    MosaicAddressSpace *as = g_new0(MosaicAddressSpace, 1);
    as->name = g_strdup(name ? name : "(unnamed)");
    as->root = mem_region_ref(root);
    as->retired = g_ptr_array_new_with_free_func((GDestroyNotify)mem_flat_table_free);
    mem_map_lock();
    if (!spaces)
        spaces = g_ptr_array_new();
    g_ptr_array_add(spaces, as);
    rebuild_locked(as, NULL);
    mem_map_unlock();
    return as;
}

/* No thread may use `as` any more. */
MOSAIC_API void mosaic_address_space_free(MosaicAddressSpace *as)
{
    if (!as)
        return;
    mem_map_lock();
    g_ptr_array_remove(spaces, as);
    mem_map_unlock();
    g_ptr_array_free(as->retired, TRUE);
    mem_flat_table_free(as->table);
    mosaic_region_unref(as->root);
    g_free(as->name);
    g_free(as);
}

MOSAIC_API uint64_t mosaic_address_space_generation(const MosaicAddressSpace *as)
{
    return __atomic_load_n(&as->generation, __ATOMIC_ACQUIRE);
}

void mem_reclaim(void)
{
    /* Freed outside the map lock: the last reference of RAM over an owner's memory calls
     * the owner's release, which may change the map itself. */
    g_autoptr(GPtrArray) dead = g_ptr_array_new_with_free_func((GDestroyNotify)mem_flat_table_free);
    mem_map_lock();
    if (spaces)
        for (guint i = 0; i < spaces->len; i++) {
            MosaicAddressSpace *as = g_ptr_array_index(spaces, i);
            for (guint k = 0; k < as->retired->len; k++)
                g_ptr_array_add(dead, g_ptr_array_index(as->retired, k));
            g_ptr_array_set_free_func(as->retired, NULL);
            g_ptr_array_set_size(as->retired, 0);
            g_ptr_array_set_free_func(as->retired, (GDestroyNotify)mem_flat_table_free);
        }
    mem_map_unlock();
}

unsigned mem_retired_count(const MosaicAddressSpace *as)
{
    mem_map_lock();
    unsigned n = as->retired->len;
    mem_map_unlock();
    return n;
}

/* Binary search: the last section whose base <= addr. */
MOSAIC_API bool mosaic_as_lookup(MosaicAddressSpace *as, uint64_t addr, MosaicMemSection *out)
{
    const FlatTable *t = __atomic_load_n(&as->table, __ATOMIC_ACQUIRE);
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->sec[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return false;
    const MosaicMemSection *s = &t->sec[lo - 1];
    if (addr - s->base >= s->size)
        return false;
    /* The 1.0 layout is the whole struct today: nothing was appended yet (see memory.h
     * for how a caller's struct_size decides once something is). */
    *out = *s;
    out->struct_size = sizeof(MosaicMemSection);
    return true;
}

MOSAIC_API bool mosaic_as_next_section(MosaicAddressSpace *as, uint64_t addr,
                                       MosaicMemSection *out)
{
    const FlatTable *t = __atomic_load_n(&as->table, __ATOMIC_ACQUIRE);
    size_t lo = 0, hi = t->n;
    while (lo < hi) { /* the first section whose last byte is >= addr */
        size_t mid = lo + (hi - lo) / 2;
        if (t->sec[mid].base + (t->sec[mid].size - 1) < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == t->n)
        return false;
    *out = t->sec[lo]; /* the 1.0 layout, as mosaic_as_lookup writes it */
    out->struct_size = sizeof(MosaicMemSection);
    return true;
}

char *mem_as_describe(MosaicAddressSpace *as)
{
    static const char *kinds[] = {"ram", "rom", "mmio", "alias", "container"};
    GString *out = g_string_new(NULL);
    mem_map_lock(); /* keeps the current table alive while we print it */
    const FlatTable *t = as->table;
    g_string_append_printf(out, "address space '%s' (generation %" G_GUINT64_FORMAT ")\n",
                           as->name, mosaic_address_space_generation(as));
    for (size_t i = 0; i < t->n; i++) {
        const MosaicMemSection *s = &t->sec[i];
        g_string_append_printf(out, "  %016" G_GINT64_MODIFIER "x-%016" G_GINT64_MODIFIER
                               "x %s [%s] +0x%" G_GINT64_MODIFIER "x%s\n", s->base,
                               s->base + s->size - 1, s->region->name, kinds[s->region->kind],
                               s->region_offset, s->dirty_tracking ? " dirty" : "");
    }
    mem_map_unlock();
    return g_string_free(out, FALSE);
}
