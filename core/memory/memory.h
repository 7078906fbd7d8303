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

#include <stdint.h>
#include <mosaic/memory.h>

#define MEM_LOG_DOMAIN "mosaic-memory"

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
