/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Memory dispatch microbenchmark: what a vCPU pays per access on the slow path.
 *   - RAM lookups/s: mosaic_as_lookup on a realistic board map (binary search)
 *   - RAM accesses/s: mosaic_as_read of 8 bytes from RAM (lookup + copy)
 *   - MMIO dispatches/s: mosaic_as_write to a device (lookup, checks, core lock, op)
 *   - the same through a cached section (mosaic_as_access_section, what accel-tcg's
 *     TLB does for a device page): checks, core lock, op, no lookup
 *   - the same on every host CPU: MMIO serialises on the core lock, RAM does not
 * Absolute numbers only (a QEMU comparison is not meaningful for a microbenchmark).
 * Usage: bench-memory [seconds-per-test, default 0.5] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <mosaic/memory.h>
#include <mosaic/loop.h>

static volatile uint64_t sink;

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
    return off;
}

static void dev_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    (*(uint64_t *)opaque) += v;
}

static const MosaicMmioOps ops = {sizeof(MosaicMmioOps), dev_read, dev_write, 1, 8, false};

typedef enum { T_LOOKUP, T_RAM_READ, T_MMIO_WRITE, T_MMIO_CACHED } Kind;

typedef struct Job {
    MosaicAddressSpace *as;
    Kind kind;
    double seconds;
    uint64_t ops;
    unsigned seed;
} Job;

static uint64_t devstate;

static gpointer run(gpointer p)
{
    Job *j = p;
    uint64_t n = 0, acc = 0;
    unsigned x = j->seed;
    int64_t end = g_get_monotonic_time() + (int64_t)(j->seconds * 1e6);
    MosaicMemSection dev; /* a virtio-mmio slot: one page, one section */
    mosaic_as_lookup(j->as, 0x10001000, &dev);
    uint64_t gen = mosaic_address_space_generation(j->as);
    while (g_get_monotonic_time() < end) {
        for (int i = 0; i < 4096; i++) {
            x = x * 1103515245u + 12345u;
            MosaicMemSection s;
            uint64_t v;
            switch (j->kind) {
            case T_LOOKUP: /* anywhere in the 1 GiB of RAM (the lookup does not touch it) */
                acc += mosaic_as_lookup(j->as, 0x80000000ull + ((uint64_t)x << 6 & 0x3ffffff8), &s);
                break;
            case T_RAM_READ:
                /* 1 MiB, pre-faulted and cache resident: dispatch cost, not DRAM latency */
                mosaic_as_read(j->as, 0x80000000ull + ((uint64_t)x << 3 & 0xffff8), 8, &v);
                acc += v;
                break;
            case T_MMIO_WRITE: /* a UART-like register, 4-byte */
                mosaic_as_write(j->as, 0x10000000 + (x & 0xf8), 4, i);
                break;
            case T_MMIO_CACHED:
                v = (uint64_t)i;
                mosaic_as_access_section(j->as, gen, &dev, 0x10001000 + (x & 0xf8), 4, &v, true);
                break;
            }
        }
        n += 4096;
    }
    sink += acc;
    j->ops = n;
    return NULL;
}

static double measure(MosaicAddressSpace *as, Kind kind, unsigned threads, double seconds)
{
    Job jobs[16];
    GThread *t[16];
    for (unsigned i = 0; i < threads; i++) {
        jobs[i] = (Job){as, kind, seconds, 0, 1234 + i};
        t[i] = g_thread_new("bench", run, &jobs[i]);
    }
    uint64_t total = 0;
    for (unsigned i = 0; i < threads; i++) {
        g_thread_join(t[i]);
        total += jobs[i].ops;
    }
    return total / seconds;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.5;
    if (secs <= 0)
        secs = 0.5;
    /* A riscv-virt-like map: ROM, CLINT, PLIC, UART, 8 virtio-mmio slots, 1 GiB RAM. */
    MosaicRegion *root = mosaic_region_new_container("system", UINT64_MAX);
    MosaicRegion *regs[16];
    unsigned n = 0;
    regs[n] = mosaic_region_new_rom("rom", 0x10000, NULL);
    mosaic_region_add(root, 0x1000, regs[n++], 0, NULL);
    regs[n] = mosaic_region_new_mmio("clint", 0x10000, &ops, &devstate);
    mosaic_region_add(root, 0x2000000, regs[n++], 0, NULL);
    regs[n] = mosaic_region_new_mmio("plic", 0x600000, &ops, &devstate);
    mosaic_region_add(root, 0xc000000, regs[n++], 0, NULL);
    regs[n] = mosaic_region_new_mmio("uart", 0x100, &ops, &devstate);
    mosaic_region_add(root, 0x10000000, regs[n++], 0, NULL);
    for (int i = 0; i < 8; i++) {
        regs[n] = mosaic_region_new_mmio("virtio", 0x1000, &ops, &devstate);
        mosaic_region_add(root, 0x10001000 + i * 0x1000, regs[n++], 0, NULL);
    }
    regs[n] = mosaic_region_new_ram("ram", 1ull << 30, NULL);
    mosaic_region_add(root, 0x80000000, regs[n++], 0, NULL);
    MosaicAddressSpace *as = mosaic_address_space_new("system", root);
    /* Fault in the part we read, so we time dispatch and not first-touch page faults. */
    memset(mosaic_region_host_ptr(regs[n - 1]), 1, 1 << 20);
    unsigned nt = MIN(g_get_num_processors(), 16);

    printf("bench-memory: %.2f s per test, map of %u regions\n", secs, n);
    printf("  RAM lookups/s             (1 thread):  %12.0f\n", measure(as, T_LOOKUP, 1, secs));
    printf("  RAM 8-byte reads/s        (1 thread):  %12.0f\n", measure(as, T_RAM_READ, 1, secs));
    double by_addr = measure(as, T_MMIO_WRITE, 1, secs), cached = measure(as, T_MMIO_CACHED, 1, secs);
    printf("  MMIO dispatches/s         (1 thread):  %12.0f\n", by_addr);
    printf("  MMIO cached-section/s     (1 thread):  %12.0f  (%.2fx)\n", cached, cached / by_addr);
    printf("  RAM lookups/s             (%u threads): %11.0f\n", nt, measure(as, T_LOOKUP, nt, secs));
    printf("  RAM 8-byte reads/s        (%u threads): %11.0f\n", nt, measure(as, T_RAM_READ, nt, secs));
    printf("  MMIO dispatches/s         (%u threads): %11.0f\n", nt, measure(as, T_MMIO_WRITE, nt, secs));

    mosaic_address_space_free(as);
    for (unsigned i = 0; i < n; i++)
        mosaic_region_unref(regs[i]);
    mosaic_region_unref(root);
    return 0;
}
