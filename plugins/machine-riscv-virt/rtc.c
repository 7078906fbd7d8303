/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Goldfish RTC at 0x101000 (PLIC source 11): nanoseconds of wall-clock time with a
 * guest-settable offset, and one alarm.  Reading TIME_LOW latches TIME_HIGH.
 * Called with the core lock held (MMIO dispatch and timer callbacks). */
#include <stdlib.h>
#include "virt.h"

enum {
    TIME_LOW = 0x00, TIME_HIGH = 0x04, ALARM_LOW = 0x08, ALARM_HIGH = 0x0c,
    IRQ_ENABLED = 0x10, CLEAR_ALARM = 0x14, ALARM_STATUS = 0x18, CLEAR_INTERRUPT = 0x1c,
};

struct Rtc {
    MosaicRegion *mr, *container;
    MosaicIrq irq;
    MosaicTimer *timer;
    uint64_t offset;    /* guest time - host wall-clock time, ns (mod 2^64: any guest value) */
    uint64_t alarm;     /* guest ns */
    uint32_t time_high; /* latched by a TIME_LOW read */
    uint32_t alarm_high;
    uint32_t irq_enabled;
    bool alarm_running;
    bool irq_pending;
};

static uint64_t now(Rtc *r)
{
    return (uint64_t)mosaic_clock_ns(MOSAIC_CLOCK_REALTIME) + r->offset;
}

static void update_irq(Rtc *r)
{
    mosaic_irq_set(&r->irq, r->irq_pending && r->irq_enabled);
}

static void fire(void *opaque)
{
    Rtc *r = opaque;
    r->alarm_running = false;
    r->irq_pending = true;
    update_irq(r);
}

static void arm(Rtc *r)
{
    uint64_t host_ns = r->alarm - r->offset;
    r->alarm_running = true;
    /* An alarm beyond the clock's range never fires; one in the past fires at once. */
    if (host_ns > (uint64_t)INT64_MAX)
        mosaic_timer_del(r->timer);
    else
        mosaic_timer_mod(r->timer, (int64_t)host_ns);
}

static uint64_t rtc_read(void *opaque, uint64_t off, unsigned size)
{
    Rtc *r = opaque;
    switch (off) {
    case TIME_LOW: {
        uint64_t t = now(r);
        r->time_high = t >> 32;
        return (uint32_t)t;
    }
    case TIME_HIGH:
        return r->time_high;
    case ALARM_LOW:
        return (uint32_t)r->alarm;
    case ALARM_HIGH:
        return r->alarm >> 32;
    case IRQ_ENABLED:
        return r->irq_enabled;
    case ALARM_STATUS:
        return r->alarm_running;
    }
    return 0;
}

static void rtc_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Rtc *r = opaque;
    uint32_t v = (uint32_t)val;
    switch (off) {
    case TIME_LOW: {
        uint64_t t = ((uint64_t)r->time_high << 32) | v;
        r->offset = t - (uint64_t)mosaic_clock_ns(MOSAIC_CLOCK_REALTIME);
        if (r->alarm_running)
            arm(r);
        break;
    }
    case TIME_HIGH:
        r->time_high = v;
        break;
    case ALARM_LOW:
        r->alarm = ((uint64_t)r->alarm_high << 32) | v;
        arm(r);
        break;
    case ALARM_HIGH:
        r->alarm_high = v;
        break;
    case IRQ_ENABLED:
        r->irq_enabled = v & 1;
        update_irq(r);
        break;
    case CLEAR_ALARM:
        mosaic_timer_del(r->timer);
        r->alarm_running = false;
        break;
    case CLEAR_INTERRUPT:
        r->irq_pending = false;
        update_irq(r);
        break;
    }
}

static const MosaicMmioOps rtc_ops = {
    .size = sizeof(MosaicMmioOps),
    .read = rtc_read,
    .write = rtc_write,
    .min_access = 4,
    .max_access = 4,
};

Rtc *rtc_new(MosaicMachine *m, uint64_t base, MosaicIrq irq, MosaicError *err)
{
    Rtc *r = calloc(1, sizeof(*r));
    if (!r) {
        mosaic_error_set(err, "rtc: out of memory");
        return NULL;
    }
    r->irq = irq;
    r->timer = mosaic_timer_new(MOSAIC_CLOCK_REALTIME, fire, r);
    r->mr = mosaic_region_new_mmio("goldfish-rtc", 0x1000, &rtc_ops, r);
    if (!mosaic_region_add(mosaic_machine_memory(m), base, r->mr, 0, err)) {
        rtc_free(r);
        return NULL;
    }
    r->container = mosaic_machine_memory(m);
    return r;
}

void rtc_reset(Rtc *r)
{
    mosaic_timer_del(r->timer);
    r->alarm_running = r->irq_pending = false;
    r->irq_enabled = 0;
    r->alarm = 0;
    r->time_high = r->alarm_high = 0;
    update_irq(r); /* the wall-clock offset survives a reset, like a battery */
}

void rtc_free(Rtc *r)
{
    if (!r)
        return;
    if (r->timer)
        mosaic_timer_free(r->timer);
    virt_region_remove(r->container, r->mr);
    free(r);
}
