/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest accesses: single loads/stores and bulk (DMA) copies.
 *
 * RAM and ROM are copied directly (the host is little-endian, like the guests we run).
 * MMIO goes to the device's ops under the core lock, after the size and alignment rules
 * of the region were checked: a refused access never reaches the device. */
#include <string.h>

#include "memory/memory-internal.h"
#include "loop/loop.h"

static bool mmio_size_ok(const MosaicRegion *mr, uint64_t off, unsigned size)
{
    if (size < mr->ops.min_access || size > mr->ops.max_access)
        return false;
    if (!mr->ops.unaligned_ok && (off & (size - 1)))
        return false;
    return off < mr->size && size <= mr->size - off;
}

static MosaicMemResult mmio_access(MosaicRegion *mr, uint64_t off, unsigned size,
                                   uint64_t *value, bool is_write)
{
    if (!mmio_size_ok(mr, off, size) || !(is_write ? (void *)mr->ops.write : (void *)mr->ops.read))
        return MOSAIC_MEM_ERROR;
    /* Main-loop callbacks already hold the lock; vCPU threads never do. */
    bool take = !mosaic_lock_held();
    if (take)
        mosaic_lock();
    if (is_write) {
        mr->ops.write(mr->opaque, off, *value, size);
    } else {
        uint64_t v = mr->ops.read(mr->opaque, off, size);
        *value = size == 8 ? v : v & ((UINT64_C(1) << (size * 8)) - 1);
    }
    if (take)
        mosaic_unlock();
    return MOSAIC_MEM_OK;
}

/* Copies within one section; `n` bytes at `addr` all lie inside `s`. */
static MosaicMemResult section_rw(const MosaicMemSection *s, uint64_t addr, uint8_t *buf,
                                  uint64_t n, bool is_write, bool rom_writable)
{
    uint64_t off = addr - s->base;
    if (s->host) {
        if (is_write) {
            if (s->readonly && !rom_writable)
                return MOSAIC_MEM_ERROR;
            memcpy(s->host + off, buf, n);
            if (s->dirty_tracking || mem_region_dirty_any(s->region))
                mem_region_mark_dirty(s->region, s->region_offset + off, n);
        } else {
            memcpy(buf, s->host + off, n);
        }
        return MOSAIC_MEM_OK;
    }
    if (rom_writable)
        return MOSAIC_MEM_ERROR; /* loaders never write device registers */
    /* MMIO: naturally aligned pieces of the largest size the device allows. */
    MosaicRegion *mr = s->region;
    uint64_t roff = s->region_offset + off;
    while (n) {
        unsigned size = 0;
        for (unsigned sz = 8; sz >= 1; sz >>= 1) {
            if (sz <= n && !(roff & (sz - 1)) && sz >= mr->ops.min_access &&
                sz <= mr->ops.max_access) {
                size = sz;
                break;
            }
        }
        if (!size)
            return MOSAIC_MEM_ERROR;
        uint64_t v = 0;
        if (is_write)
            memcpy(&v, buf, size);
        MosaicMemResult r = mmio_access(mr, roff, size, &v, is_write);
        if (r != MOSAIC_MEM_OK)
            return r;
        if (!is_write)
            memcpy(buf, &v, size);
        buf += size;
        roff += size;
        n -= size;
    }
    return MOSAIC_MEM_OK;
}

static MosaicMemResult do_rw(MosaicAddressSpace *as, uint64_t addr, uint8_t *buf, uint64_t len,
                             bool is_write, bool rom_writable)
{
    while (len) {
        MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
        if (!mosaic_as_lookup(as, addr, &s))
            return MOSAIC_MEM_UNASSIGNED;
        uint64_t avail = s.size - (addr - s.base); /* >= 1 */
        uint64_t n = MIN(len, avail);
        MosaicMemResult r = section_rw(&s, addr, buf, n, is_write, rom_writable);
        if (r != MOSAIC_MEM_OK)
            return r;
        len -= n;
        buf += n;
        if (len && addr + n < addr)
            return MOSAIC_MEM_UNASSIGNED; /* would wrap past the top of the address space */
        addr += n;
    }
    return MOSAIC_MEM_OK;
}

MOSAIC_API MosaicMemResult mosaic_as_rw(MosaicAddressSpace *as, uint64_t addr, void *buf,
                                        uint64_t len, bool is_write)
{
    if (!len)
        return MOSAIC_MEM_OK;
    g_return_val_if_fail(as && buf, MOSAIC_MEM_ERROR);
    return do_rw(as, addr, buf, len, is_write, false);
}

MosaicMemResult mem_as_load(MosaicAddressSpace *as, uint64_t addr, const void *buf, uint64_t len)
{
    if (!len)
        return MOSAIC_MEM_OK;
    return do_rw(as, addr, (uint8_t *)buf, len, true, true);
}

static inline bool valid_size(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

MOSAIC_API MosaicMemResult mosaic_as_read(MosaicAddressSpace *as, uint64_t addr, unsigned size,
                                          uint64_t *value)
{
    if (!valid_size(size))
        return MOSAIC_MEM_ERROR;
    MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
    if (!mosaic_as_lookup(as, addr, &s))
        return MOSAIC_MEM_UNASSIGNED;
    uint64_t off = addr - s.base;
    if (size > s.size - off) {
        /* Straddles sections (or the top of the address space): RAM/ROM pieces are
         * copied, MMIO must accept the access itself. */
        if (!s.host)
            return MOSAIC_MEM_ERROR;
        uint64_t v = 0;
        MosaicMemResult r = do_rw(as, addr, (uint8_t *)&v, size, false, false);
        if (r == MOSAIC_MEM_OK)
            *value = v;
        return r;
    }
    if (s.host) {
        uint64_t v = 0;
        memcpy(&v, s.host + off, size);
        *value = v;
        return MOSAIC_MEM_OK;
    }
    return mmio_access(s.region, s.region_offset + off, size, value, false);
}

MOSAIC_API MosaicMemResult mosaic_as_write(MosaicAddressSpace *as, uint64_t addr, unsigned size,
                                           uint64_t value)
{
    if (!valid_size(size))
        return MOSAIC_MEM_ERROR;
    MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
    if (!mosaic_as_lookup(as, addr, &s))
        return MOSAIC_MEM_UNASSIGNED;
    uint64_t off = addr - s.base;
    if (s.host && s.readonly)
        return MOSAIC_MEM_ERROR;
    if (size > s.size - off) {
        if (!s.host)
            return MOSAIC_MEM_ERROR;
        return do_rw(as, addr, (uint8_t *)&value, size, true, false);
    }
    if (s.host) {
        memcpy(s.host + off, &value, size);
        if (s.dirty_tracking || mem_region_dirty_any(s.region))
            mem_region_mark_dirty(s.region, s.region_offset + off, size);
        return MOSAIC_MEM_OK;
    }
    return mmio_access(s.region, s.region_offset + off, size, &value, true);
}

MOSAIC_API MosaicMemResult mosaic_as_access_section(MosaicAddressSpace *as, uint64_t gen,
                                                    const MosaicMemSection *s, uint64_t addr,
                                                    unsigned size, uint64_t *value, bool is_write)
{
    if (!valid_size(size))
        return MOSAIC_MEM_ERROR;
    uint64_t off = addr - s->base;
    /* Tables keep their regions alive, so a stale section is never a dangling pointer;
     * the generation check keeps a changed map from reaching the old device. */
    if (s->host || addr < s->base || off >= s->size || size > s->size - off ||
        mosaic_address_space_generation(as) != gen)
        return is_write ? mosaic_as_write(as, addr, size, *value) : mosaic_as_read(as, addr, size, value);
    return mmio_access(s->region, s->region_offset + off, size, value, is_write);
}
