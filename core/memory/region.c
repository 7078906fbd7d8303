/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Regions: RAM, ROM, MMIO, alias, container; their reference counts and the map lock.
 *
 * Ownership: a constructor returns one reference for the caller.  A container holds a
 * reference on each subregion, an alias on its target, an address space on its root and
 * every published flattened table on each leaf it maps. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memory/memory-internal.h"
#include "plugin/error.h"

static GMutex map_lock;

void mem_map_lock(void)
{
    g_mutex_lock(&map_lock);
}

void mem_map_unlock(void)
{
    g_mutex_unlock(&map_lock);
}

static MosaicRegion *region_alloc(RegionKind kind, const char *name, uint64_t size)
{
    MosaicRegion *mr = g_new0(MosaicRegion, 1);
    mr->refcount = 1;
    mr->kind = kind;
    mr->name = g_strdup(name ? name : "(unnamed)");
    mr->size = size;
    mr->npages = (size >> MOSAIC_DIRTY_PAGE_SHIFT) + ((size & 0xfff) != 0);
    return mr;
}

MosaicRegion *mem_region_ref(MosaicRegion *mr)
{
    g_atomic_int_inc(&mr->refcount);
    return mr;
}

/* Anonymous private mapping: the host commits pages only when the guest touches them,
 * so a huge guest costs nothing until used. */
static MosaicRegion *new_backed(RegionKind kind, const char *name, uint64_t size,
                                MosaicError *err)
{
    const char *what = kind == REGION_RAM ? "RAM" : "ROM";
    long page = sysconf(_SC_PAGESIZE);
    if (size == 0 || size > (uint64_t)SIZE_MAX - (uint64_t)page) {
        mosaic_error_set(err, "%s region '%s': size %" G_GUINT64_FORMAT
                         " is not possible (use 1 byte up to the host address space)",
                         what, name ? name : "(unnamed)", size);
        return NULL;
    }
    size_t len = (size + page - 1) & ~(size_t)(page - 1);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) {
        mosaic_error_set(err, "%s region '%s': cannot reserve %" G_GUINT64_FORMAT
                         " bytes of host memory: %s (use a smaller size)",
                         what, name ? name : "(unnamed)", size, g_strerror(errno));
        return NULL;
    }
    MosaicRegion *mr = region_alloc(kind, name, size);
    mr->host = p;
    mr->map_len = len;
    return mr;
}

MOSAIC_API MosaicRegion *mosaic_region_new_ram(const char *name, uint64_t size, MosaicError *err)
{
    return new_backed(REGION_RAM, name, size, err);
}

MOSAIC_API MosaicRegion *mosaic_region_new_rom(const char *name, uint64_t size, MosaicError *err)
{
    return new_backed(REGION_ROM, name, size, err);
}

MOSAIC_API MosaicRegion *mosaic_region_new_ram_ptr(const char *name, void *host, uint64_t size,
                                                   void (*release)(void *opaque), void *opaque,
                                                   MosaicError *err)
{
    long page = sysconf(_SC_PAGESIZE);
    if (!host || !release || size == 0 || ((uintptr_t)host & (page - 1)) || (size & (page - 1))) {
        mosaic_error_set(err, "RAM region '%s' over host memory %p (size %" G_GUINT64_FORMAT
                         "): needs a release callback, a page-aligned pointer and a size in "
                         "whole pages", name ? name : "(unnamed)", host, size);
        return NULL;
    }
    MosaicRegion *mr = region_alloc(REGION_RAM, name, size);
    mr->host = host;
    mr->release = release;
    mr->release_opaque = opaque;
    return mr;
}

MOSAIC_API MosaicRegion *mosaic_region_new_mmio(const char *name, uint64_t size,
                                                const MosaicMmioOps *ops, void *opaque)
{
    g_return_val_if_fail(ops != NULL, NULL);
    g_return_val_if_fail(size > 0, NULL);
    MosaicRegion *mr = region_alloc(REGION_MMIO, name, size);
    /* ABI rule: copy min(sizes), zero-fill the rest (a NULL op means "not supported"). */
    size_t n = MIN((size_t)ops->size, sizeof(MosaicMmioOps));
    memcpy(&mr->ops, ops, n);
    mr->ops.size = sizeof(MosaicMmioOps);
    if (mr->ops.min_access == 0)
        mr->ops.min_access = 1;
    if (mr->ops.max_access == 0)
        mr->ops.max_access = 8;
    mr->opaque = opaque;
    return mr;
}

/* Returns NULL (with a critical warning: a board bug) when [offset, offset+size) does
 * not fit in the target. */
MOSAIC_API MosaicRegion *mosaic_region_new_alias(const char *name, MosaicRegion *target,
                                                 uint64_t offset, uint64_t size)
{
    g_return_val_if_fail(target != NULL, NULL);
    g_return_val_if_fail(size > 0, NULL);
    g_return_val_if_fail(offset <= target->size && size <= target->size - offset, NULL);
    MosaicRegion *mr = region_alloc(REGION_ALIAS, name, size);
    mr->target = mem_region_ref(target);
    mr->target_offset = offset;
    return mr;
}

MOSAIC_API MosaicRegion *mosaic_region_new_container(const char *name, uint64_t size)
{
    g_return_val_if_fail(size > 0, NULL);
    MosaicRegion *mr = region_alloc(REGION_CONTAINER, name, size);
    mr->subs = g_ptr_array_new();
    return mr;
}

MOSAIC_API void mosaic_region_unref(MosaicRegion *mr)
{
    if (!mr || !g_atomic_int_dec_and_test(&mr->refcount))
        return;
    if (mr->subs) {
        for (guint i = 0; i < mr->subs->len; i++) {
            Subregion *s = g_ptr_array_index(mr->subs, i);
            s->mr->parent = NULL;
            mosaic_region_unref(s->mr);
            g_free(s);
        }
        g_ptr_array_free(mr->subs, TRUE);
    }
    if (mr->target)
        mosaic_region_unref(mr->target);
    if (mr->host && mr->map_len)
        munmap(mr->host, mr->map_len);
    if (mr->release)
        mr->release(mr->release_opaque);
    for (int c = 0; c < MOSAIC_DIRTY_CLIENTS; c++)
        g_free(mr->dirty[c]);
    g_free(mr->name);
    g_free(mr);
}

/* Whether `needle` is reachable from `mr` through subregions and alias targets (so
 * adding mr into needle would make a cycle). */
static bool reaches(MosaicRegion *mr, MosaicRegion *needle, int depth)
{
    if (mr == needle)
        return true;
    if (depth > 64)
        return true; /* absurd nesting: treat as a cycle */
    if (mr->target)
        return reaches(mr->target, needle, depth + 1);
    if (mr->subs)
        for (guint i = 0; i < mr->subs->len; i++)
            if (reaches(((Subregion *)g_ptr_array_index(mr->subs, i))->mr, needle, depth + 1))
                return true;
    return false;
}

MOSAIC_API bool mosaic_region_add(MosaicRegion *container, uint64_t addr, MosaicRegion *sub,
                                  int priority, MosaicError *err)
{
    g_return_val_if_fail(container && sub, false);
    if (container->kind != REGION_CONTAINER) {
        mosaic_error_set(err, "cannot add region '%s' to '%s': not a container", sub->name,
                         container->name);
        return false;
    }
    if (addr > container->size || sub->size > container->size - addr) {
        mosaic_error_set(err, "region '%s' at 0x%" G_GINT64_MODIFIER "x (size 0x%"
                         G_GINT64_MODIFIER "x) does not fit in container '%s' (size 0x%"
                         G_GINT64_MODIFIER "x)", sub->name, addr, sub->size, container->name,
                         container->size);
        return false;
    }
    mem_map_lock();
    if (sub->parent) {
        mem_map_unlock();
        mosaic_error_set(err, "region '%s' is already mapped in '%s' (map it twice with an alias)",
                         sub->name, sub->parent->name);
        return false;
    }
    if (reaches(sub, container, 0)) {
        mem_map_unlock();
        mosaic_error_set(err, "adding region '%s' to '%s' would make a cycle", sub->name,
                         container->name);
        return false;
    }
    uint64_t last = addr + sub->size - 1;
    for (guint i = 0; i < container->subs->len; i++) {
        Subregion *o = g_ptr_array_index(container->subs, i);
        uint64_t olast = o->addr + o->mr->size - 1;
        if (o->priority == priority && addr <= olast && o->addr <= last) {
            mem_map_unlock();
            mosaic_error_set(err, "region '%s' [0x%" G_GINT64_MODIFIER "x-0x%" G_GINT64_MODIFIER
                             "x] overlaps '%s' [0x%" G_GINT64_MODIFIER "x-0x%" G_GINT64_MODIFIER
                             "x] in '%s' at the same priority %d (give one a higher priority)",
                             sub->name, addr, last, o->mr->name, o->addr, olast, container->name,
                             priority);
            return false;
        }
    }
    Subregion *s = g_new0(Subregion, 1);
    s->addr = addr;
    s->priority = priority;
    s->mr = mem_region_ref(sub);
    sub->parent = container;
    g_ptr_array_add(container->subs, s);
    bool foreign = false, changed = mem_rebuild_all_locked(&foreign);
    mem_map_unlock();
    if (changed)
        mem_map_changed(foreign);
    return true;
}

MOSAIC_API void mosaic_region_del(MosaicRegion *container, MosaicRegion *sub)
{
    g_return_if_fail(container && sub);
    mem_map_lock();
    Subregion *found = NULL;
    if (container->subs) {
        for (guint i = 0; i < container->subs->len; i++) {
            Subregion *s = g_ptr_array_index(container->subs, i);
            if (s->mr == sub) {
                found = s;
                g_ptr_array_remove_index(container->subs, i); /* keeps order */
                break;
            }
        }
    }
    bool foreign = false, changed = false;
    if (found) {
        sub->parent = NULL;
        changed = mem_rebuild_all_locked(&foreign);
    }
    mem_map_unlock();
    if (changed)
        mem_map_changed(foreign);
    if (!found) {
        g_critical("mosaic_region_del: '%s' is not a subregion of '%s'", sub->name, container->name);
        return;
    }
    mosaic_region_unref(found->mr); /* tables still using it hold their own reference */
    g_free(found);
}

MOSAIC_API uint64_t mosaic_region_size(const MosaicRegion *mr)
{
    return mr ? mr->size : 0;
}

MOSAIC_API const char *mosaic_region_name(const MosaicRegion *mr)
{
    return mr ? mr->name : NULL;
}

MOSAIC_API void *mosaic_region_host_ptr(MosaicRegion *mr)
{
    return mr && (mr->kind == REGION_RAM || mr->kind == REGION_ROM) ? mr->host : NULL;
}
