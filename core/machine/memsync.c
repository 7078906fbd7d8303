/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Run-time memory map changes (core/memory's change hook): the accelerator hears of
 * each one at once (memory_changed: TCG drops its TLBs and jump caches on every hart,
 * KVM rewrites its slots), and RAM over an owner's memory (a GPU blob's mapping) that
 * left the map is handed back to its owner only once no vCPU can reach it: the vCPUs
 * are parked for a moment, which is the quiescent point mem_reclaim() needs.  A vCPU
 * thread cannot park the others and itself (a device reset by a register write), so
 * there the reclaim runs from a bottom half; the owner's memory stays valid until then. */
#include "machine/machine-internal.h"
#include "memory/memory.h"
#include "loop/loop.h"

static void quiesce_and_reclaim(MosaicMachine *m)
{
    if (m->state != MACHINE_RUNNING || !m->vcpus) {
        mem_reclaim(); /* paused or not started: every vCPU is parked already */
        return;
    }
    g_mutex_lock(&m->run_lock);
    m->hold++;
    g_mutex_unlock(&m->run_lock);
    vcpu_threads_park(m);
    mem_reclaim();
    g_mutex_lock(&m->run_lock);
    m->hold--;
    g_cond_broadcast(&m->run_cond);
    g_mutex_unlock(&m->run_lock);
}

static void memsync_bh(void *opaque)
{
    quiesce_and_reclaim(opaque);
}

static void map_changed(void *opaque, bool retired_foreign)
{
    MosaicMachine *m = opaque;
    if (!m->started) {
        /* Board set-up or tear-down: no vCPU runs, and accelerators read the whole map
         * when vCPUs start. */
        if (retired_foreign)
            mem_reclaim();
        return;
    }
    if (m->aops && m->aops->memory_changed)
        m->aops->memory_changed(m->accel);
    if (!retired_foreign)
        return;
    if (vcpu_current())
        mosaic_bh_schedule(m->memsync_bh);
    else
        quiesce_and_reclaim(m);
}

void machine_memsync_init(MosaicMachine *m)
{
    m->memsync_bh = mosaic_bh_new(memsync_bh, m);
    mem_set_change_hook(map_changed, m);
}

void machine_memsync_fini(MosaicMachine *m)
{
    mem_set_change_hook(NULL, NULL);
    if (m->memsync_bh)
        mosaic_bh_free(m->memsync_bh);
    m->memsync_bh = NULL;
}
