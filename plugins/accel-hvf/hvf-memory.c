/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest RAM and ROM from the core's memory model mapped into the VM (hv_vm_map); every
 * other address (MMIO, holes) stays unmapped, so the guest's accesses there exit as EPT
 * violations to the instruction emulator.  Rebuilt when the map changes. */
#include <stdio.h>

#include "hvf.h"

#define PAGE 4096ull

/* Only whole pages of RAM/ROM whose host memory is page-aligned can be mapped;
 * dirty-tracked RAM stays unmapped so every write is seen (through the emulator) until
 * dirty logging is implemented with write protection. */
bool hvf_section_mappable(const MosaicMemSection *s)
{
    return s->host && !s->dirty_tracking && (s->base % PAGE) == 0 && (s->size % PAGE) == 0 &&
           ((uintptr_t)s->host % PAGE) == 0;
}

void hvf_unmap_memory(Hvf *h)
{
    for (unsigned i = 0; i < h->nmaps; i++)
        hv_vm_unmap(h->maps[i].gpa, h->maps[i].size);
    h->nmaps = 0;
}

bool hvf_map_memory(Hvf *h, MosaicError *err)
{
    pthread_mutex_lock(&h->map_lock);
    hvf_unmap_memory(h);
    /* Every section of the map, in address order (mosaic_as_next_section, SDK 1.1). */
    MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
    for (uint64_t addr = 0; mosaic_as_next_section(h->as, addr, &s);) {
        if (hvf_section_mappable(&s)) {
            if (h->nmaps == HVF_MAX_MAPPINGS) {
                pthread_mutex_unlock(&h->map_lock);
                mosaic_error_set(err, "accel hvf: more than %u RAM/ROM sections to map", HVF_MAX_MAPPINGS);
                return false;
            }
            hv_memory_flags_t fl = HV_MEMORY_READ | HV_MEMORY_EXEC | (s.readonly ? 0 : HV_MEMORY_WRITE);
            hv_return_t r = hv_vm_map(s.host, s.base, s.size, fl);
            if (r != HV_SUCCESS) {
                pthread_mutex_unlock(&h->map_lock);
                mosaic_error_set(err, "accel hvf: hv_vm_map of %s at 0x%llx (%llu bytes) failed: 0x%x",
                                 mosaic_region_name(s.region), (unsigned long long)s.base,
                                 (unsigned long long)s.size, (unsigned)r);
                return false;
            }
            h->maps[h->nmaps++] = (HvfMapping){ s.base, s.size };
        }
        uint64_t next = s.base + s.size;
        if (next <= addr)
            break;                               /* the last section ends at 2^64 */
        addr = next;
    }
    pthread_mutex_unlock(&h->map_lock);
    return true;
}
