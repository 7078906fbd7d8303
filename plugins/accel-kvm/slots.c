/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: RAM and ROM sections of the machine's memory mirrored as KVM memory
 * slots.  MMIO has no slot, so guest accesses to it exit to the core.  Re-synced
 * whenever the address space's generation moved (a vCPU checks before entering, and
 * the core tells us at once through memory_changed).
 *
 * Dirty logging: RAM with dirty tracking on (a client of the core's dirty bitmaps asked
 * for it) gets KVM_MEM_LOG_DIRTY_PAGES; kvm_dirty_sync() merges KVM's log into the
 * core's bitmaps.  A slot that stops logging or goes away is merged one last time
 * first, so no write the guest made while it logged is lost. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm-internal.h"

#define PAGE 4096ull

static bool set_slot(Kvm *k, unsigned id, const KvmSlot *s, MosaicError *err)
{
    struct kvm_userspace_memory_region r = {
        .slot = id,
        .flags = s ? s->flags : 0,
        .guest_phys_addr = s ? s->base : k->slots[id].base,
        .memory_size = s ? s->size : 0,
        .userspace_addr = s ? s->host : k->slots[id].host,
    };
    if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
        mosaic_error_set(err, "accel kvm: cannot map guest memory 0x%llx-0x%llx as memory slot "
                         "%u: %s", (unsigned long long)r.guest_phys_addr,
                         (unsigned long long)(r.guest_phys_addr + (s ? s->size : k->slots[id].size) - 1),
                         id, strerror(errno));
        return false;
    }
    return true;
}

/* KVM's dirty log of slot `id` (fetching clears it) into the core's bitmaps of the
 * slot's region, a run of dirty pages at a time.  Slots lock held. */
static void merge_dirty_log(Kvm *k, unsigned id)
{
    KvmSlot *s = &k->slots[id];
    if (!s->used || !(s->flags & KVM_MEM_LOG_DIRTY_PAGES) || !s->region)
        return;
    uint64_t pages = s->size / PAGE, words = (pages + 63) / 64;
    uint64_t *bm = calloc(words ? words : 1, sizeof(uint64_t));
    if (!bm) {
        /* Cannot tell which pages: all of them are dirty, which is never wrong. */
        mosaic_ram_set_dirty(s->region, s->region_offset, s->size);
        return;
    }
    struct kvm_dirty_log log = {.slot = id, .dirty_bitmap = bm};
    if (ioctl(k->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
        mosaic_log(KVM_LOG, 1, "memory slot %u: KVM_GET_DIRTY_LOG: %s; all its pages count as "
                   "dirty", id, strerror(errno));
        mosaic_ram_set_dirty(s->region, s->region_offset, s->size);
        free(bm);
        return;
    }
    uint64_t n = 0;
    for (uint64_t p = 0; p < pages;) {
        if (!(bm[p / 64] >> (p % 64) & 1)) {
            p = bm[p / 64] >> (p % 64) ? p + 1 : (p / 64 + 1) * 64; /* skip empty words */
            continue;
        }
        uint64_t run = p;
        while (run < pages && (bm[run / 64] >> (run % 64) & 1))
            run++;
        mosaic_ram_set_dirty(s->region, s->region_offset + p * PAGE, (run - p) * PAGE);
        n += run - p;
        p = run;
    }
    atomic_fetch_add_explicit(&k->stat_dirty_pages, n, memory_order_relaxed);
    free(bm);
}

void kvm_dirty_sync(void *accel)
{
    Kvm *k = accel;
    /* A client that just switched tracking on calls this: the slots take the new
     * flags now, not when a vCPU next leaves KVM_RUN. */
    MosaicError *e = mosaic_error_new();
    if (!kvm_slots_sync(k, e))
        mosaic_log(KVM_LOG, 0, "%s", mosaic_error_message(e));
    mosaic_error_free(e);
    pthread_mutex_lock(&k->slots_lock);
    for (unsigned id = 0; id < k->max_slots; id++)
        merge_dirty_log(k, id);
    pthread_mutex_unlock(&k->slots_lock);
}

/* The slots the current map asks for; false when there are more than KVM allows. */
static bool wanted_slots(Kvm *k, KvmSlot *want, unsigned *n, MosaicError *err)
{
    MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
    uint64_t addr = 0;
    *n = 0;
    while (mosaic_as_next_section(k->as, addr, &s)) {
        bool last = s.base + s.size - 1 == UINT64_MAX;
        addr = s.base + s.size;
        /* MMIO exits; RAM that is not page-aligned or ROM KVM cannot protect goes the
         * same way (the core handles every access to it, slowly but correctly). */
        if (s.host && !(s.base % PAGE) && !(s.size % PAGE) && !((uintptr_t)s.host % PAGE) &&
            (!s.readonly || k->readonly_mem)) {
            if (*n >= k->max_slots) {
                mosaic_error_set(err, "accel kvm: the machine's memory map has more RAM ranges "
                                 "than the host's KVM has memory slots (%u)", k->max_slots);
                return false;
            }
            uint32_t flags = s.readonly ? KVM_MEM_READONLY
                             : s.dirty_tracking ? KVM_MEM_LOG_DIRTY_PAGES : 0;
            want[(*n)++] = (KvmSlot){.base = s.base, .size = s.size, .host = (uintptr_t)s.host,
                                     .region = s.region, .region_offset = s.region_offset,
                                     .flags = flags, .used = true};
        }
        if (last)
            break;
    }
    return true;
}

static bool same_memory(const KvmSlot *a, const KvmSlot *b)
{
    return a->base == b->base && a->size == b->size && a->host == b->host &&
           a->region == b->region && a->region_offset == b->region_offset;
}

bool kvm_slots_sync(Kvm *k, MosaicError *err)
{
    KvmSlot want[KVM_MAX_SLOTS];
    unsigned n;
    bool ok = true;
    pthread_mutex_lock(&k->slots_lock);
    uint64_t gen = mosaic_address_space_generation(k->as);
    if (gen == k->slots_gen && gen != 0)
        goto out;
    if (!(ok = wanted_slots(k, want, &n, err)))
        goto out;
    /* Keep what is the same memory (changing only its flags in place: KVM allows
     * that while vCPUs run), drop the rest first: KVM refuses overlapping slots. */
    for (unsigned id = 0; id < k->max_slots && ok; id++) {
        if (!k->slots[id].used)
            continue;
        bool keep = false;
        for (unsigned j = 0; j < n && !keep; j++)
            if (want[j].used && same_memory(&want[j], &k->slots[id])) {
                keep = true;
                want[j].used = false; /* already there */
                if (want[j].flags != k->slots[id].flags) {
                    merge_dirty_log(k, id);
                    KvmSlot s = want[j];
                    s.used = true;
                    if ((ok = set_slot(k, id, &s, err)))
                        k->slots[id] = s;
                }
            }
        if (!keep) {
            merge_dirty_log(k, id);
            ok = set_slot(k, id, NULL, err);
            k->slots[id].used = false;
        }
    }
    for (unsigned j = 0; j < n && ok; j++) {
        if (!want[j].used)
            continue;
        unsigned id = 0;
        while (k->slots[id].used)
            id++;
        if ((ok = set_slot(k, id, &want[j], err)))
            k->slots[id] = want[j];
    }
    if (ok)
        __atomic_store_n(&k->slots_gen, gen, __ATOMIC_RELEASE);
out:
    pthread_mutex_unlock(&k->slots_lock);
    return ok;
}
