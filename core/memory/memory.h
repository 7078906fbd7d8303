/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Memory subsystem, internal API of the core (the SDK part is sdk/include/mosaic/memory.h).
 *
 * Flattened maps are published with an atomic pointer swap, so vCPU threads look up
 * sections without any lock.  A replaced table (and the regions it references) may
 * still be in use by a reader, so it is not freed at once: it is kept on the address
 * space's retired list until mem_reclaim() is called at a quiescent point (no thread is
 * inside mosaic_as_* and no accelerator holds host pointers from before the last
 * generation change: e.g. while all vCPUs are paused), or until the address space is
 * freed.  Map changes are rare (board setup, PCI BAR programming, hotplug), so the list
 * stays short even if nobody calls mem_reclaim(). */
#ifndef MOSAIC_CORE_MEMORY_H
#define MOSAIC_CORE_MEMORY_H

#include <stdbool.h>
#include <stdint.h>
#include <mosaic/memory.h>

#define MEM_LOG_DOMAIN "mosaic-memory"

/* Told after every change of a published map (any thread, no memory lock held):
 * accelerators must drop what they cached from the old map.  `retired_foreign`: a
 * replaced table maps RAM over an owner's memory (mosaic_region_new_ram_ptr), whose
 * owner is released only by mem_reclaim() at the next quiescent point, so the hook
 * should bring one about soon.  The machine sets it (core/machine/memsync.c). */
typedef void MemChangeHook(void *opaque, bool retired_foreign);
void mem_set_change_hook(MemChangeHook *fn, void *opaque);

/* Frees tables retired by every address space.  Call only at a quiescent point. */
void mem_reclaim(void);
/* Number of retired tables waiting for mem_reclaim() (tests, monitor). */
unsigned mem_retired_count(const MosaicAddressSpace *as);

/* Like mosaic_as_rw(is_write=true) but ROM is written too (firmware loaders).  MMIO in
 * the range is an error: loaders never write device registers. */
MosaicMemResult mem_as_load(MosaicAddressSpace *as, uint64_t addr, const void *buf, uint64_t len);

/* Human-readable flattened map ("base-last name [ram|rom|mmio] +offset"), for the
 * monitor and for debugging.  Free with g_free. */
char *mem_as_describe(MosaicAddressSpace *as);

#endif
