/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Clocks.  The virtual clock is CLOCK_MONOTONIC minus an offset, frozen at a value
 * while paused: vCPU threads read it on every time CSR read, so reading it is two
 * atomic loads and one clock_gettime (vDSO), no lock. */
#include <time.h>

#include "loop/loop.h"

#define RUNNING INT64_MIN

static int64_t virt_offset;          /* atomic: host ns at virtual 0 (plus paused time) */
static int64_t virt_frozen = RUNNING;/* atomic: the value while paused */
static GMutex pause_lock;            /* serialises pause/resume */

static int64_t ns_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Virtual time starts at 0 when the core is loaded. */
__attribute__((constructor)) static void clock_init(void)
{
    __atomic_store_n(&virt_offset, ns_of(CLOCK_MONOTONIC), __ATOMIC_RELEASE);
}

MOSAIC_API int64_t mosaic_clock_ns(MosaicClock clock)
{
    switch (clock) {
    case MOSAIC_CLOCK_VIRTUAL: {
        int64_t f = __atomic_load_n(&virt_frozen, __ATOMIC_ACQUIRE);
        if (f != RUNNING)
            return f;
        return ns_of(CLOCK_MONOTONIC) - __atomic_load_n(&virt_offset, __ATOMIC_ACQUIRE);
    }
    case MOSAIC_CLOCK_HOST:
        return ns_of(CLOCK_MONOTONIC);
    case MOSAIC_CLOCK_REALTIME:
        return ns_of(CLOCK_REALTIME);
    }
    return 0;
}

void clock_virtual_pause(void)
{
    g_mutex_lock(&pause_lock);
    if (__atomic_load_n(&virt_frozen, __ATOMIC_ACQUIRE) == RUNNING) {
        int64_t now = ns_of(CLOCK_MONOTONIC) - __atomic_load_n(&virt_offset, __ATOMIC_ACQUIRE);
        __atomic_store_n(&virt_frozen, now, __ATOMIC_RELEASE);
    }
    g_mutex_unlock(&pause_lock);
}

void clock_virtual_resume(void)
{
    g_mutex_lock(&pause_lock);
    int64_t f = __atomic_load_n(&virt_frozen, __ATOMIC_ACQUIRE);
    if (f != RUNNING) {
        /* The offset first, then "running": a reader that sees running sees the offset. */
        __atomic_store_n(&virt_offset, ns_of(CLOCK_MONOTONIC) - f, __ATOMIC_RELEASE);
        __atomic_store_n(&virt_frozen, RUNNING, __ATOMIC_RELEASE);
    }
    g_mutex_unlock(&pause_lock);
    /* Virtual timers: the loop recomputes its poll timeout on the running clock. */
    g_main_context_wakeup(loop_context());
}

bool clock_virtual_paused(void)
{
    return __atomic_load_n(&virt_frozen, __ATOMIC_ACQUIRE) != RUNNING;
}
