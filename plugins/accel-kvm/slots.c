/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: RAM and ROM sections of the machine's memory mirrored as KVM memory
 * slots.  MMIO has no slot, so guest accesses to it exit to the core.  Re-synced
 * whenever the address space's generation moved (a vCPU checks before entering). */
#include <errno.h>
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

/* The slots the current map asks for; false when there are more than KVM allows. */
static bool wanted_slots(Kvm *k, KvmSlot *want, unsigned *n, MosaicError *err)
{
    MosaicMemSection s;
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
            want[(*n)++] = (KvmSlot){.base = s.base, .size = s.size, .host = (uintptr_t)s.host,
                                     .flags = s.readonly ? KVM_MEM_READONLY : 0, .used = true};
        }
        if (last)
            break;
    }
    return true;
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
    /* Drop what changed first: KVM refuses overlapping slots. */
    for (unsigned id = 0; id < k->max_slots && ok; id++) {
        if (!k->slots[id].used)
            continue;
        bool keep = false;
        for (unsigned j = 0; j < n && !keep; j++)
            if (want[j].used && !memcmp(&want[j], &k->slots[id], sizeof(KvmSlot))) {
                keep = true;
                want[j].used = false; /* already there */
            }
        if (!keep) {
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
