/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One host thread per vCPU.  The thread calls the accelerator's vcpu_run while the
 * machine runs and parks in between; pause waits until every vCPU is parked, with the
 * core lock released so that a vCPU finishing an MMIO access can get it. */
#include "machine/machine-internal.h"
#include <unistd.h>
#include <sys/syscall.h>
#include "loop/loop.h"

MOSAIC_API unsigned mosaic_vcpu_index(const MosaicVcpu *vcpu) { return vcpu->index; }
MOSAIC_API MosaicMachine *mosaic_vcpu_machine(const MosaicVcpu *vcpu) { return vcpu->m; }

MOSAIC_API bool mosaic_vcpu_exit_requested(const MosaicVcpu *vcpu)
{
    return g_atomic_int_get(&vcpu->exit_request) != 0;
}

MOSAIC_API bool mosaic_vcpu_halt(MosaicVcpu *vcpu)
{
    g_mutex_lock(&vcpu->lock);
    while (!vcpu->wake_pending && !g_atomic_int_get(&vcpu->exit_request))
        g_cond_wait(&vcpu->cond, &vcpu->lock);
    vcpu->wake_pending = FALSE;
    g_mutex_unlock(&vcpu->lock);
    return !g_atomic_int_get(&vcpu->exit_request);
}

MOSAIC_API void mosaic_vcpu_wake(MosaicVcpu *vcpu)
{
    g_mutex_lock(&vcpu->lock);
    vcpu->wake_pending = TRUE;
    g_cond_signal(&vcpu->cond);
    g_mutex_unlock(&vcpu->lock);
}

static void vcpu_request_exit(MosaicVcpu *v)
{
    g_atomic_int_set(&v->exit_request, 1);
    g_mutex_lock(&v->lock);
    g_cond_signal(&v->cond);
    g_mutex_unlock(&v->lock);
    if (v->m->aops->vcpu_kick)
        v->m->aops->vcpu_kick(v->state);
}

MOSAIC_API void mosaic_vcpu_debug_stop(MosaicVcpu *vcpu)
{
    MosaicMachine *m = vcpu->m;
    /* A debugger stop pauses the whole machine, as gdb expects in all-stop mode.  Until
     * the main loop gets to that, this vCPU must not run on (a single step would
     * become several). */
    g_mutex_lock(&m->run_lock);
    vcpu->debug_hold = TRUE;
    g_mutex_unlock(&m->run_lock);
    g_atomic_int_set(&m->req_debug_stop, 1);
    mosaic_bh_schedule(m->request_bh);
    vcpu_request_exit(vcpu);
}

static gboolean vcpu_may_run(MosaicVcpu *v)
{
    MosaicMachine *m = v->m;
    return m->state == MACHINE_RUNNING && !m->quitting && !v->debug_hold && !m->hold &&
           !m->req_hold;
}

static __thread MosaicVcpu *this_vcpu;

MosaicVcpu *vcpu_current(void)
{
    return this_vcpu;
}

static gpointer vcpu_thread(gpointer opaque)
{
    MosaicVcpu *v = opaque;
    MosaicMachine *m = v->m;

    v->tid = (gint64)syscall(SYS_gettid);
    this_vcpu = v;
    for (;;) {
        g_mutex_lock(&m->run_lock);
        while (!vcpu_may_run(v) && !m->quitting) {
            if (!v->parked) {
                v->parked = TRUE;
                g_cond_broadcast(&m->run_cond);
            }
            g_cond_wait(&m->run_cond, &m->run_lock);
        }
        if (m->quitting) {
            v->parked = TRUE;
            g_cond_broadcast(&m->run_cond);
            g_mutex_unlock(&m->run_lock);
            return NULL;
        }
        v->parked = FALSE;
        g_atomic_int_set(&v->exit_request, 0);
        g_mutex_unlock(&m->run_lock);

        m->aops->vcpu_run(v->state);
    }
}

void vcpu_threads_start(MosaicMachine *m)
{
    for (unsigned i = 0; i < m->ncpus; i++) {
        MosaicVcpu *v = m->vcpus[i];
        g_autofree char *name = g_strdup_printf("vcpu%u", i);
        v->parked = TRUE;
        v->thread = g_thread_new(name, vcpu_thread, v);
    }
}

static gboolean all_parked(MosaicMachine *m)
{
    for (unsigned i = 0; i < m->ncpus; i++)
        if (!m->vcpus[i]->parked)
            return FALSE;
    return TRUE;
}

void vcpu_threads_park(MosaicMachine *m)
{
    if (!m->vcpus)
        return; /* a board without CPUs (machine type none) */
    /* The caller already moved m->state away from RUNNING under run_lock. */
    for (unsigned i = 0; i < m->ncpus; i++)
        vcpu_request_exit(m->vcpus[i]);
    gboolean locked = mosaic_lock_held();
    if (locked)
        mosaic_unlock();
    g_mutex_lock(&m->run_lock);
    while (!all_parked(m)) {
        gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_MILLISECOND;
        g_cond_wait_until(&m->run_cond, &m->run_lock, deadline);
        if (!all_parked(m)) {
            g_mutex_unlock(&m->run_lock);
            /* A vCPU may have missed the kick while entering vcpu_run: kick again. */
            for (unsigned i = 0; i < m->ncpus; i++)
                if (!m->vcpus[i]->parked)
                    vcpu_request_exit(m->vcpus[i]);
            g_mutex_lock(&m->run_lock);
        }
    }
    g_mutex_unlock(&m->run_lock);
    if (locked)
        mosaic_lock();
}

void vcpu_threads_unpark(MosaicMachine *m)
{
    g_mutex_lock(&m->run_lock);
    g_cond_broadcast(&m->run_cond);
    g_mutex_unlock(&m->run_lock);
}

void vcpu_threads_join(MosaicMachine *m)
{
    for (unsigned i = 0; i < m->ncpus; i++) {
        if (m->vcpus[i] && m->vcpus[i]->thread) {
            g_thread_join(m->vcpus[i]->thread);
            m->vcpus[i]->thread = NULL;
        }
    }
}

void vcpu_free(MosaicVcpu *v)
{
    if (!v)
        return;
    if (v->state && v->m->aops->vcpu_destroy)
        v->m->aops->vcpu_destroy(v->state);
    g_mutex_clear(&v->lock);
    g_cond_clear(&v->cond);
    g_free(v);
}

MOSAIC_API bool mosaic_machine_create_vcpus(MosaicMachine *m, MosaicError *err)
{
    if (m->vcpus) {
        mosaic_error_set(err, "vCPUs were already created");
        return false;
    }
    if (!m->aops) {
        mosaic_error_set(err, "machine type has no accelerator (arch none)");
        return false;
    }
    m->vcpus = g_new0(MosaicVcpu *, m->ncpus);
    for (unsigned i = 0; i < m->ncpus; i++) {
        MosaicVcpu *v = g_new0(MosaicVcpu, 1);
        v->m = m;
        v->index = i;
        g_mutex_init(&v->lock);
        g_cond_init(&v->cond);
        m->vcpus[i] = v;
        v->state = m->aops->vcpu_create(m->accel, v, i, err);
        if (!v->state) {
            if (!mosaic_error_is_set(err))
                mosaic_error_set(err, "accelerator '%s' failed to create vCPU %u",
                                 m->accel_desc->name, i);
            return false;
        }
    }
    return true;
}

MOSAIC_API MosaicVcpu *mosaic_machine_vcpu(MosaicMachine *m, unsigned index)
{
    if (!m->vcpus || index >= m->ncpus)
        return NULL;
    return m->vcpus[index];
}

static void vcpu_irq_set(void *opaque, unsigned n, bool level)
{
    MosaicVcpu *v = opaque;
    v->m->aops->vcpu_set_irq(v->state, n, level);
}

MOSAIC_API MosaicIrq mosaic_vcpu_irq(MosaicVcpu *vcpu, unsigned line)
{
    return (MosaicIrq){.set = vcpu_irq_set, .opaque = vcpu, .n = line};
}

gboolean machine_irq_fast(const MosaicIrq *irq, gboolean on)
{
    if (!irq || irq->set != vcpu_irq_set)
        return FALSE; /* an interrupt controller of the board's, not the accelerator's */
    MosaicVcpu *v = irq->opaque;
    const MosaicAccelOps *ops = v->m->aops;
    return ops && ops->irq_fast && ops->irq_fast(v->m->accel, irq->n, on);
}

MOSAIC_API bool mosaic_machine_msi(MosaicMachine *m, uint64_t addr, uint32_t data)
{
    return m && m->aops && m->aops->msi && m->aops->msi(m->accel, addr, data);
}

MOSAIC_API void mosaic_machine_dirty_sync(MosaicMachine *m)
{
    if (m && m->aops && m->aops->dirty_sync)
        m->aops->dirty_sync(m->accel);
}

MOSAIC_API bool mosaic_vcpu_set_reg(MosaicVcpu *vcpu, unsigned regno, uint64_t value)
{
    return vcpu->m->aops->vcpu_set_reg(vcpu->state, regno, value);
}

MOSAIC_API bool mosaic_vcpu_get_reg(MosaicVcpu *vcpu, unsigned regno, uint64_t *value)
{
    return vcpu->m->aops->vcpu_get_reg(vcpu->state, regno, value);
}

void *machine_vcpu_state(MosaicVcpu *vcpu) { return vcpu->state; }

int64_t machine_vcpu_thread_id(MosaicMachine *m, unsigned index)
{
    if (!m->vcpus || index >= m->ncpus || !m->vcpus[index]->thread)
        return -1;
    return m->vcpus[index]->tid ? m->vcpus[index]->tid : -1;
}

const char *machine_arch(MosaicMachine *m)
{
    return m->aops ? m->mops->arch : NULL;
}
