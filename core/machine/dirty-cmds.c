/* SPDX-License-Identifier: GPL-2.0-or-later */
/* x-dirty-pages-start / -stop / x-query-dirty-pages: a monitor client of the core's dirty
 * tracking (the migration client's bitmaps), so that what the guest writes, however it
 * writes it (the TCG's stores, KVM's dirty log, device DMA), can be seen from outside:
 * the first switches tracking on for every RAM region of the machine (the second off
 * again), the third says which pages of a guest-physical range were written since the
 * last query. */
#include "machine/machine-internal.h"

#define PAGE (1ull << MOSAIC_DIRTY_PAGE_SHIFT)
#define QUERY_MAX_PAGES (1u << 20)  /* 4 GiB of guest memory per query */
#define QUERY_MAX_LISTED 4096u      /* pages listed in one reply */

static MosaicMachine *need_machine(MosaicError *err)
{
    MosaicMachine *m = machine_current();
    if (!m || !m->aops)
        mosaic_error_set(err, "the machine has no guest memory to track (type none)");
    return m && m->aops ? m : NULL;
}

/* Every RAM region of the map (each once). */
static GPtrArray *ram_regions(MosaicMachine *m)
{
    GPtrArray *regions = g_ptr_array_new();
    MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
    for (uint64_t addr = 0; mosaic_as_next_section(m->as, addr, &s); addr = s.base + s.size) {
        if (s.host && !s.readonly && s.region && !g_ptr_array_find(regions, s.region, NULL))
            g_ptr_array_add(regions, s.region);
        if (s.base + s.size - 1 == UINT64_MAX)
            break;
    }
    return regions;
}

static bool dirty_start(void *opaque, const MosaicArgs *args, MosaicJson *ret, MosaicError *err)
{
    MosaicMachine *m = need_machine(err);
    if (!m)
        return false;
    g_autoptr(GPtrArray) regions = ram_regions(m);
    for (guint i = 0; i < regions->len; i++) {
        MosaicRegion *r = regions->pdata[i];
        mosaic_region_dirty_enable(r, MOSAIC_DIRTY_MIGRATION, true);
    }
    /* The accelerator logs from here on; what was dirty before is forgotten. */
    mosaic_machine_dirty_sync(m);
    for (guint i = 0; i < regions->len; i++) {
        MosaicRegion *r = regions->pdata[i];
        mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_MIGRATION, 0, mosaic_region_size(r));
    }
    mosaic_json_int(ret, "regions", regions->len);
    return true;
}

static bool dirty_stop(void *opaque, const MosaicArgs *args, MosaicJson *ret, MosaicError *err)
{
    MosaicMachine *m = need_machine(err);
    if (!m)
        return false;
    g_autoptr(GPtrArray) regions = ram_regions(m);
    for (guint i = 0; i < regions->len; i++)
        mosaic_region_dirty_enable(regions->pdata[i], MOSAIC_DIRTY_MIGRATION, false);
    mosaic_json_int(ret, "regions", regions->len);
    return true;
}

static bool dirty_query(void *opaque, const MosaicArgs *args, MosaicJson *ret, MosaicError *err)
{
    MosaicMachine *m = need_machine(err);
    if (!m)
        return false;
    uint64_t start = (uint64_t)mosaic_args_get_int(args, "start");
    int64_t size = mosaic_args_get_int(args, "size");
    if (start % PAGE || size <= 0 || size % PAGE || (uint64_t)size / PAGE > QUERY_MAX_PAGES ||
        start + (uint64_t)size < start) {
        mosaic_error_set(err, "Parameters 'start' and 'size' must be multiples of 4096, size "
                         "between 4 KiB and 4 GiB, the range inside the 64-bit address space");
        return false;
    }
    mosaic_machine_dirty_sync(m);
    unsigned listed = 0;
    uint64_t dirty = 0;
    mosaic_json_begin_array(ret, "pages");
    for (uint64_t a = start; a - start < (uint64_t)size; a += PAGE) {
        MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
        if (!mosaic_as_lookup(m->as, a, &s) || !s.host || !s.region)
            continue;
        if (mosaic_ram_test_and_clear_dirty(s.region, MOSAIC_DIRTY_MIGRATION,
                                            s.region_offset + (a - s.base), PAGE)) {
            dirty++;
            if (listed++ < QUERY_MAX_LISTED)
                mosaic_json_int(ret, NULL, (int64_t)a);
        }
    }
    mosaic_json_end_array(ret);
    mosaic_json_int(ret, "dirty", (int64_t)dirty);
    mosaic_json_bool(ret, "truncated", dirty > QUERY_MAX_LISTED);
    return true;
}

static const MosaicArgDesc no_args[] = {{NULL}};
static const MosaicArgDesc query_args[] = {
    {"start", MOSAIC_ARG_INT, false, "guest-physical start (a multiple of 4096)"},
    {"size", MOSAIC_ARG_INT, false, "bytes (a multiple of 4096, at most 4 GiB)"},
    {NULL},
};

static const MosaicCommandDesc cmds[] = {
    {.size = sizeof(MosaicCommandDesc), .name = "x-dirty-pages-start",
     .help = "Track which guest RAM pages are written (every RAM region; the accelerator's "
             "dirty log included) from now on.",
     .args = no_args, .returns = "{regions: RAM regions tracked}", .handler = dirty_start},
    {.size = sizeof(MosaicCommandDesc), .name = "x-dirty-pages-stop",
     .help = "Stop tracking written guest RAM pages (x-dirty-pages-start starts again, "
             "forgetting what was written meanwhile).",
     .args = no_args, .returns = "{regions: RAM regions no longer tracked}",
     .handler = dirty_stop},
    {.size = sizeof(MosaicCommandDesc), .name = "x-query-dirty-pages",
     .help = "Guest-physical pages in [start, start+size) written since tracking started or "
             "the last query (which clears them).",
     .args = query_args,
     .returns = "{pages: [address, ...] (at most 4096), dirty: count, truncated: bool}",
     .handler = dirty_query},
};

void machine_register_dirty_commands(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++)
        mosaic_monitor_register(&cmds[i], NULL, NULL);
}
