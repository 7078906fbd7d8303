/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SiFive CLINT / ACLINT (MSWI + MTIMER) at 0x2000000, as QEMU's virt lays it out:
 *   0x0000 + 4*hart  msip      (bit 0 drives the hart's MSIP line)
 *   0x4000 + 8*hart  mtimecmp  (MTIP is raised while mtime >= mtimecmp)
 *   0xbff8           mtime     (read only here: it is the virtual clock at 10 MHz, the
 *                               same source the accelerator's time CSR uses)
 * Called with the core lock held (MMIO dispatch and timer callbacks). */
#include <stdlib.h>
#include "virt.h"

#define CLINT_MSIP 0x0
#define CLINT_MTIMECMP 0x4000
#define CLINT_MTIME 0xbff8
#define NS_PER_TICK (1000000000ull / MOSAIC_RISCV_TIMEBASE_HZ)

typedef struct ClintHart {
    Clint *c;
    unsigned index;
    MosaicIrq msip_line, mtip_line;
    uint32_t msip;
    uint64_t mtimecmp;
    bool mtip;
    MosaicTimer *timer;
} ClintHart;

struct Clint {
    MosaicRegion *mr, *container;
    unsigned nharts;
    ClintHart harts[];
};

static uint64_t clint_mtime(void)
{
    int64_t ns = mosaic_clock_ns(MOSAIC_CLOCK_VIRTUAL);
    return ns > 0 ? (uint64_t)ns / NS_PER_TICK : 0;
}

static void set_mtip(ClintHart *h, bool level)
{
    if (h->mtip != level) {
        h->mtip = level;
        mosaic_irq_set(&h->mtip_line, level);
    }
}

/* Re-evaluates MTIP and arms the timer for the compare time when it lies ahead. */
static void update_timer(ClintHart *h)
{
    uint64_t now = clint_mtime();
    if (now >= h->mtimecmp) {
        mosaic_timer_del(h->timer);
        set_mtip(h, true);
        return;
    }
    set_mtip(h, false);
    if (h->mtimecmp >= (uint64_t)INT64_MAX / NS_PER_TICK) {
        mosaic_timer_del(h->timer); /* "never" (e.g. all ones) */
        return;
    }
    mosaic_timer_mod(h->timer, (int64_t)(h->mtimecmp * NS_PER_TICK));
}

static void timer_cb(void *opaque)
{
    update_timer(opaque);
}

static uint64_t clint_read(void *opaque, uint64_t off, unsigned size)
{
    Clint *c = opaque;
    if (off < CLINT_MSIP + 4ull * c->nharts) {
        return size == 4 && !(off & 3) ? c->harts[off / 4].msip : 0;
    }
    if (off >= CLINT_MTIMECMP && off < CLINT_MTIMECMP + 8ull * c->nharts) {
        ClintHart *h = &c->harts[(off - CLINT_MTIMECMP) / 8];
        uint64_t v = h->mtimecmp;
        if (size == 4)
            return (off & 4) ? v >> 32 : (uint32_t)v;
        return v;
    }
    if (off == CLINT_MTIME || off == CLINT_MTIME + 4) {
        uint64_t v = clint_mtime();
        if (size == 4)
            return (off & 4) ? v >> 32 : (uint32_t)v;
        return v;
    }
    return 0;
}

static void clint_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Clint *c = opaque;
    if (off < CLINT_MSIP + 4ull * c->nharts) {
        if (size != 4 || (off & 3))
            return;
        ClintHart *h = &c->harts[off / 4];
        bool level = val & 1;
        if (level != (h->msip & 1))
            mosaic_irq_set(&h->msip_line, level);
        h->msip = level;
        return;
    }
    if (off >= CLINT_MTIMECMP && off < CLINT_MTIMECMP + 8ull * c->nharts) {
        ClintHart *h = &c->harts[(off - CLINT_MTIMECMP) / 8];
        if (size == 4) {
            if (off & 4)
                h->mtimecmp = (h->mtimecmp & 0xffffffffull) | (val << 32);
            else
                h->mtimecmp = (h->mtimecmp & ~0xffffffffull) | (uint32_t)val;
        } else {
            h->mtimecmp = val;
        }
        update_timer(h);
        return;
    }
    if (off == CLINT_MTIME || off == CLINT_MTIME + 4) {
        /* mtime is shared with the time CSR of every hart; moving it is not supported. */
        mosaic_log("riscv-virt", 1, "clint: guest write to mtime ignored");
    }
}

static const MosaicMmioOps clint_ops = {
    .size = sizeof(MosaicMmioOps),
    .read = clint_read,
    .write = clint_write,
    .min_access = 4,
    .max_access = 8,
};

Clint *clint_new(MosaicMachine *m, unsigned nharts, MosaicError *err)
{
    Clint *c = calloc(1, sizeof(*c) + nharts * sizeof(ClintHart));
    if (!c) {
        mosaic_error_set(err, "clint: out of memory");
        return NULL;
    }
    c->nharts = nharts;
    for (unsigned i = 0; i < nharts; i++) {
        ClintHart *h = &c->harts[i];
        MosaicVcpu *vcpu = mosaic_machine_vcpu(m, i);
        h->c = c;
        h->index = i;
        h->msip_line = mosaic_vcpu_irq(vcpu, MOSAIC_RISCV_IRQ_MSIP);
        h->mtip_line = mosaic_vcpu_irq(vcpu, MOSAIC_RISCV_IRQ_MTIP);
        h->timer = mosaic_timer_new(MOSAIC_CLOCK_VIRTUAL, timer_cb, h);
        h->mtimecmp = UINT64_MAX;
    }
    c->mr = mosaic_region_new_mmio("clint", VIRT_CLINT_SIZE, &clint_ops, c);
    if (!mosaic_region_add(mosaic_machine_memory(m), VIRT_CLINT_BASE, c->mr, 0, err)) {
        clint_free(c);
        return NULL;
    }
    c->container = mosaic_machine_memory(m);
    return c;
}

void clint_reset(Clint *c)
{
    for (unsigned i = 0; i < c->nharts; i++) {
        ClintHart *h = &c->harts[i];
        mosaic_timer_del(h->timer);
        h->msip = 0;
        mosaic_irq_set(&h->msip_line, false);
        h->mtimecmp = UINT64_MAX;
        h->mtip = false;
        mosaic_irq_set(&h->mtip_line, false);
    }
}

void clint_free(Clint *c)
{
    if (!c)
        return;
    virt_region_remove(c->container, c->mr);
    for (unsigned i = 0; i < c->nharts; i++)
        if (c->harts[i].timer)
            mosaic_timer_free(c->harts[i].timer);
    free(c);
}
