/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Private structures of the memory subsystem (core/memory/ only). */
#ifndef MOSAIC_CORE_MEMORY_INTERNAL_H
#define MOSAIC_CORE_MEMORY_INTERNAL_H

#include <glib.h>
#include <mosaic/memory.h>

#include "memory/memory.h"

typedef enum {
    REGION_RAM,
    REGION_ROM,
    REGION_MMIO,
    REGION_ALIAS,
    REGION_CONTAINER,
} RegionKind;

typedef struct Subregion {
    uint64_t addr;
    int priority; /* equal priorities never overlap (refused at add time) */
    MosaicRegion *mr;
} Subregion;

struct MosaicRegion {
    gint refcount;
    RegionKind kind;
    char *name;
    uint64_t size;
    /* RAM/ROM */
    uint8_t *host;
    size_t map_len;       /* 0: `host` is the owner's (mosaic_region_new_ram_ptr) */
    /* RAM over an owner's memory: told when nothing can reach `host` any more */
    void (*release)(void *opaque);
    void *release_opaque;
    /* MMIO: a copy of the plugin's table (min of both sizes, rest zero) */
    MosaicMmioOps ops;
    void *opaque;
    /* alias */
    MosaicRegion *target;
    uint64_t target_offset;
    /* container: Subregion*, guarded by the map lock */
    GPtrArray *subs;
    MosaicRegion *parent; /* the container this region was added to, or NULL */
    /* dirty tracking: one bitmap per client (allocated on first enable, freed with the
     * region), bits set with atomic ors from any thread */
    unsigned long *dirty[MOSAIC_DIRTY_CLIENTS];
    int dirty_on[MOSAIC_DIRTY_CLIENTS]; /* atomic */
    uint64_t npages;
};

/* One published flattened map.  Sections are sorted by base and never overlap; each
 * holds a reference on its leaf region so host pointers and ops stay valid for
 * readers that still use an old table. */
typedef struct FlatTable {
    size_t n;
    MosaicMemSection *sec;
} FlatTable;

struct MosaicAddressSpace {
    char *name;
    MosaicRegion *root;
    FlatTable *table;   /* atomic pointer; readers load it with acquire */
    uint64_t generation;/* atomic */
    GPtrArray *retired; /* FlatTable* replaced but maybe still read; see mem_reclaim */
};

/* The map lock serialises every change of the region tree and every rebuild. */
void mem_map_lock(void);
void mem_map_unlock(void);
/* Rebuilds every address space (map lock held).  Returns whether any published map
 * changed; *retired_foreign (may be NULL) is set when a replaced table maps RAM over an
 * owner's memory (its release waits for mem_reclaim). */
bool mem_rebuild_all_locked(bool *retired_foreign);
/* After a map change (map lock not held): tells the change hook. */
void mem_map_changed(bool retired_foreign);

FlatTable *mem_flatten(MosaicRegion *root);
void mem_flat_table_free(FlatTable *t);
bool mem_flat_table_equal(const FlatTable *a, const FlatTable *b);

bool mem_region_dirty_any(MosaicRegion *mr);
/* Bit c set: client c is on (MosaicMemSection.dirty_clients). */
uint8_t mem_region_dirty_clients(MosaicRegion *mr);
/* Marks [offset, offset+len) dirty for every enabled client; clipped to the region. */
void mem_region_mark_dirty(MosaicRegion *mr, uint64_t offset, uint64_t len);

MosaicRegion *mem_region_ref(MosaicRegion *mr);

#endif
