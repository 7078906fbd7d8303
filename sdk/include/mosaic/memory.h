/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest memory: regions, address spaces and the accessors accelerators use.
 *
 * A region is RAM, ROM, MMIO, an alias of part of another region, or a container of
 * subregions with priorities.  An address space flattens its root container into a
 * sorted table of sections; lookups are a binary search over it (never a walk of the
 * region tree).  The table is rebuilt on every map change and its generation number
 * bumped, so accelerators cache translations and flush them when the generation moves.
 */
#ifndef MOSAIC_MEMORY_H
#define MOSAIC_MEMORY_H

#include <mosaic/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MosaicRegion MosaicRegion;
typedef struct MosaicAddressSpace MosaicAddressSpace;

/* Device registers.  Accesses of a size outside [min_access, max_access] (0 means 1
 * and 8) or not naturally aligned (unless unaligned_ok) never reach the device: the
 * access is reported as MOSAIC_MEM_ERROR to the accelerator.  Called with the core
 * lock held. */
typedef struct MosaicMmioOps {
    uint32_t size; /* sizeof(MosaicMmioOps) */
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
    uint8_t min_access;
    uint8_t max_access;
    bool unaligned_ok;
} MosaicMmioOps;

typedef enum MosaicMemResult {
    MOSAIC_MEM_OK = 0,
    MOSAIC_MEM_UNASSIGNED = 1, /* nothing mapped there */
    MOSAIC_MEM_ERROR = 2,      /* device refused: bad size, alignment, or ROM write */
} MosaicMemResult;

MOSAIC_API MosaicRegion *mosaic_region_new_ram(const char *name, uint64_t size, MosaicError *err);
MOSAIC_API MosaicRegion *mosaic_region_new_rom(const char *name, uint64_t size, MosaicError *err);
/* Since 1.1: RAM over memory its owner keeps (`host`, page-aligned, `size` a multiple
 * of the page size: a GPU blob's mapping), for adding to and removing from a container
 * while the machine runs.  The core never frees `host`: when the last reference goes
 * and no vCPU or accelerator can reach the memory any more (the region left every map
 * and the vCPUs passed a quiescent point), it calls release(opaque), after which the
 * owner may unmap it.  Removing it from the main loop thread of a running machine
 * parks the vCPUs for a moment, so the release happens before mosaic_region_unref of
 * the owner's last reference returns; from a vCPU thread it comes a little later, from
 * the main loop (with the core lock held; no memory lock is held during release).  NULL
 * + err for a NULL pointer or release, or unaligned values. */
MOSAIC_API MosaicRegion *mosaic_region_new_ram_ptr(const char *name, void *host, uint64_t size,
                                                   void (*release)(void *opaque), void *opaque,
                                                   MosaicError *err);
MOSAIC_API MosaicRegion *mosaic_region_new_mmio(const char *name, uint64_t size,
                                                const MosaicMmioOps *ops, void *opaque);
MOSAIC_API MosaicRegion *mosaic_region_new_alias(const char *name, MosaicRegion *target,
                                                 uint64_t offset, uint64_t size);
MOSAIC_API MosaicRegion *mosaic_region_new_container(const char *name, uint64_t size);
MOSAIC_API void mosaic_region_unref(MosaicRegion *mr);
/* Higher priority wins where subregions overlap; equal priorities overlapping is a
 * bug in the board and is refused with false.  Adding and deleting is allowed while
 * the machine runs (any thread, core lock held): the accelerator is told at once
 * (MosaicAccelOps.memory_changed); RAM over an owner's memory stays valid until its
 * release (mosaic_region_new_ram_ptr). */
MOSAIC_API bool mosaic_region_add(MosaicRegion *container, uint64_t addr, MosaicRegion *sub,
                                  int priority, MosaicError *err);
MOSAIC_API void mosaic_region_del(MosaicRegion *container, MosaicRegion *sub);
MOSAIC_API uint64_t mosaic_region_size(const MosaicRegion *mr);
MOSAIC_API const char *mosaic_region_name(const MosaicRegion *mr);
/* Host memory of a RAM or ROM region, NULL for others. */
MOSAIC_API void *mosaic_region_host_ptr(MosaicRegion *mr);

MOSAIC_API MosaicAddressSpace *mosaic_address_space_new(const char *name, MosaicRegion *root);
MOSAIC_API void mosaic_address_space_free(MosaicAddressSpace *as);
/* Incremented on every change of the flattened map (acquire/release ordered). */
MOSAIC_API uint64_t mosaic_address_space_generation(const MosaicAddressSpace *as);

/* A maximal run of addresses that all resolve the same way.
 *
 * The core writes into it (mosaic_as_lookup), so it carries its size: since 1.1 the
 * caller sets `struct_size = sizeof(MosaicMemSection)` (MOSAIC_MEM_SECTION_INIT) and the
 * core writes no more than that, never less than the 1.0 layout (48 bytes, what every
 * caller has).  The field sits in what was padding in 1.0, so no field moved; a 1.0
 * caller leaves it undefined, which is why fields appended in a later minor are
 * written only when struct_size is exactly the size of a layout that has them. */
typedef struct MosaicMemSection {
    uint64_t base;       /* guest physical start */
    uint64_t size;
    uint8_t *host;       /* RAM/ROM: host address of `base`; NULL for MMIO */
    bool readonly;       /* ROM: writes are errors */
    bool dirty_tracking; /* RAM written through `host` must call mosaic_ram_set_dirty */
    /* Since 1.1, in 1.0's padding (written for every caller): bit c is set when dirty
     * client c (MosaicDirtyClient) tracks this RAM.  An accelerator whose own
     * MOSAIC_DIRTY_CODE is the only bit knows which pages hold its code and may write
     * the others without logging them. */
    uint8_t dirty_clients;
    uint32_t struct_size;   /* since 1.1: sizeof(MosaicMemSection), set by the caller */
    MosaicRegion *region;   /* leaf region (after alias resolution) */
    uint64_t region_offset; /* offset of `base` inside `region` */
} MosaicMemSection;
#define MOSAIC_MEM_SECTION_INIT {.struct_size = sizeof(MosaicMemSection)}

/* Resolves one address into *out (see struct_size above).  Returns false when nothing
 * is mapped there. Lock free. */
MOSAIC_API bool mosaic_as_lookup(MosaicAddressSpace *as, uint64_t addr, MosaicMemSection *out);

/* The first section that ends above `addr` (it may start above it): walks the whole
 * map (accelerators mirroring RAM into hypervisor memory slots).  False past the last
 * section.  Lock free.  Since 1.1. */
MOSAIC_API bool mosaic_as_next_section(MosaicAddressSpace *as, uint64_t addr,
                                       MosaicMemSection *out);

/* Single access of 1, 2, 4 or 8 bytes (little-endian value). MMIO takes the core lock. */
MOSAIC_API MosaicMemResult mosaic_as_read(MosaicAddressSpace *as, uint64_t addr, unsigned size,
                                          uint64_t *value);
MOSAIC_API MosaicMemResult mosaic_as_write(MosaicAddressSpace *as, uint64_t addr, unsigned size,
                                           uint64_t value);
/* One access through a section the caller cached from mosaic_as_lookup (an
 * accelerator's TLB entry for an MMIO page), without looking the address up again.
 * `gen` is the address-space generation the section was looked up in: when the map
 * changed since, or `addr` lies outside the section, the access goes by address as
 * mosaic_as_read/write would.  The region's size and alignment rules still apply; MMIO
 * takes the core lock.  Since 1.1. */
MOSAIC_API MosaicMemResult mosaic_as_access_section(MosaicAddressSpace *as, uint64_t gen,
                                                    const MosaicMemSection *s, uint64_t addr,
                                                    unsigned size, uint64_t *value, bool is_write);
/* Bulk copy for DMA and loaders; may cross sections.  On failure nothing past the
 * failing byte is touched and the result says why. */
MOSAIC_API MosaicMemResult mosaic_as_rw(MosaicAddressSpace *as, uint64_t addr, void *buf,
                                        uint64_t len, bool is_write);

/* Dirty tracking: per page (4 KiB), per client, switched on per region. */
typedef enum MosaicDirtyClient {
    MOSAIC_DIRTY_CODE = 0,   /* accelerators: translated code invalidation */
    MOSAIC_DIRTY_DISPLAY = 1,
    MOSAIC_DIRTY_MIGRATION = 2,
    MOSAIC_DIRTY_CLIENTS = 3,
} MosaicDirtyClient;
#define MOSAIC_DIRTY_PAGE_SHIFT 12

MOSAIC_API void mosaic_region_dirty_enable(MosaicRegion *mr, MosaicDirtyClient client, bool on);
MOSAIC_API void mosaic_ram_set_dirty(MosaicRegion *mr, uint64_t offset, uint64_t len);
/* Returns whether any page in [offset, offset+len) was dirty for `client`, clearing them. */
MOSAIC_API bool mosaic_ram_test_and_clear_dirty(MosaicRegion *mr, MosaicDirtyClient client,
                                                uint64_t offset, uint64_t len);

#ifdef __cplusplus
}
#endif
#endif
