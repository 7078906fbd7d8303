/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: port and MMIO exits dispatched to the core's devices.  Nothing mapped
 * there is not an error of Mosaic: reads see all ones (a floating bus), writes are
 * dropped, and unmapped MMIO is reported in the log, naming vCPU and address. */
#include <string.h>
#include "kvm-internal.h"

#define UNMAPPED_REPORTS 8 /* per vCPU, so a probing guest cannot flood the log */

static void report_unmapped(KvmCpu *c, const char *space, uint64_t addr, unsigned size,
                            bool write, MosaicMemResult r)
{
    atomic_fetch_add_explicit(&c->k->stat_unmapped, 1, memory_order_relaxed);
    if (c->unmapped_reports >= UNMAPPED_REPORTS)
        return;
    c->unmapped_reports++;
    mosaic_log(KVM_LOG, 1, "vCPU %u: guest %s of %u byte%s at %s 0x%llx: %s%s", c->index,
               write ? "write" : "read", size, size == 1 ? "" : "s", space,
               (unsigned long long)addr,
               r == MOSAIC_MEM_UNASSIGNED ? "nothing is mapped there"
                                          : "the device refused the access size or alignment",
               write ? "; ignored" : "; reads as all ones");
    if (c->unmapped_reports == UNMAPPED_REPORTS)
        mosaic_log(KVM_LOG, 1, "vCPU %u: further unmapped accesses are counted, not logged",
                   c->index);
}

/* One access of any size up to 8 through `as`: sizes other than 1, 2, 4, 8 go by bytes. */
static MosaicMemResult access(MosaicAddressSpace *as, uint64_t addr, uint8_t *data, unsigned len,
                              bool write)
{
    if (len == 1 || len == 2 || len == 4 || len == 8) {
        uint64_t v = 0;
        MosaicMemResult r;
        if (write) {
            memcpy(&v, data, len);
            return mosaic_as_write(as, addr, len, v);
        }
        r = mosaic_as_read(as, addr, len, &v);
        if (r != MOSAIC_MEM_OK)
            v = ~0ull;
        memcpy(data, &v, len);
        return r;
    }
    MosaicMemResult worst = MOSAIC_MEM_OK;
    for (unsigned i = 0; i < len; i++) {
        MosaicMemResult r = access(as, addr + i, data + i, 1, write);
        if (r != MOSAIC_MEM_OK)
            worst = r;
    }
    return worst;
}

void kvm_exit_io(KvmCpu *c)
{
    struct kvm_run *run = c->run;
    atomic_fetch_add_explicit(&c->k->stat_io, 1, memory_order_relaxed);
    unsigned size = run->io.size;
    bool write = run->io.direction == KVM_EXIT_IO_OUT;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    if (size != 1 && size != 2 && size != 4)
        return;
    /* rep ins/outs: `count` items in the page KVM gave us (it bounds count). */
    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        MosaicMemResult r = access(c->k->io, run->io.port, data, size, write);
        if (r != MOSAIC_MEM_OK && !write)
            memset(data, 0xff, size);
    }
}

void kvm_exit_mmio(KvmCpu *c)
{
    struct kvm_run *run = c->run;
    atomic_fetch_add_explicit(&c->k->stat_mmio, 1, memory_order_relaxed);
    unsigned len = run->mmio.len <= 8 ? run->mmio.len : 8;
    MosaicMemResult r = access(c->k->as, run->mmio.phys_addr, run->mmio.data, len,
                               run->mmio.is_write);
    if (r != MOSAIC_MEM_OK)
        report_unmapped(c, "address", run->mmio.phys_addr, len, run->mmio.is_write, r);
}
