/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Run-time memory map changes on a running machine (core/machine/memsync.c): the
 * accelerator's memory_changed is called for each, and RAM over an owner's memory
 * (mosaic_region_new_ram_ptr) is released only when no vCPU can reach it any more.
 *
 * The fake accelerator behaves like TCG: a vCPU caches a host pointer from a lookup
 * and keeps using it until its next "block boundary", where it checks for exit
 * requests and map changes; after each use it checks that the owner has not been
 * released yet.  A core that released the owner while a vCPU might still use the
 * pointer (no parking, or a reclaim too early) makes that check fail. */
#include <string.h>
#include <sys/mman.h>

#include <glib.h>
#include <mosaic/mosaic.h>

#include "loop/loop.h"
#include "machine/machine-internal.h"
#include "memory/memory.h"

#define WIN 0x40000000ull

typedef struct Owner {
    uint8_t *mem;
    gint released;
    gint releases;
} Owner;

static void owner_release(void *opaque)
{
    Owner *o = opaque;
    g_atomic_int_set(&o->released, 1);
    g_atomic_int_inc(&o->releases);
}

typedef struct FakeAccel {
    MosaicAddressSpace *as;
    gint changed;          /* memory_changed calls */
    gint uses;             /* reads through a cached pointer */
    gint violations;       /* reads after the owner's release */
    Owner *volatile owner; /* the owner of what is mapped at WIN, for the check */
    /* A request to the vCPU to delete `del_sub` from `del_in` itself (a device reset
     * by a register write): 1 asked, 3 taken by a vCPU, 2 done. */
    gint del_state;
    MosaicRegion *del_in, *del_sub;
} FakeAccel;

typedef struct FakeCpu {
    FakeAccel *a;
    MosaicVcpu *vcpu;
} FakeCpu;

static FakeAccel fa;

static void *fake_vcpu_create(void *accel, MosaicVcpu *vcpu, unsigned index, MosaicError *err)
{
    FakeCpu *c = g_new0(FakeCpu, 1);
    c->a = accel;
    c->vcpu = vcpu;
    return c;
}

static void fake_vcpu_destroy(void *cpu) { g_free(cpu); }

static void fake_vcpu_run(void *cpu)
{
    FakeCpu *c = cpu;
    FakeAccel *a = c->a;
    for (;;) {
        /* Block boundary: exits, then the map as it is now. */
        if (mosaic_vcpu_exit_requested(c->vcpu))
            return;
        if (g_atomic_int_compare_and_exchange(&a->del_state, 1, 3)) { /* one vCPU takes it */
            mosaic_region_del(a->del_in, a->del_sub);
            g_atomic_int_set(&a->del_state, 2);
        }
        MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
        Owner *o = a->owner;
        if (!mosaic_as_lookup(a->as, WIN, &s) || !s.host) {
            g_thread_yield();
            continue;
        }
        /* A "block": many uses of the cached pointer, no checks of the map. */
        for (int i = 0; i < 2000; i++) {
            volatile uint8_t v = s.host[i % 4096];
            (void)v;
            g_atomic_int_inc(&a->uses);
            if (o && g_atomic_int_get(&o->released))
                g_atomic_int_inc(&a->violations);
        }
    }
}

static void fake_vcpu_kick(void *cpu) {}
static void fake_set_irq(void *cpu, unsigned line, bool level) {}
static bool fake_get_reg(void *cpu, unsigned r, uint64_t *v) { return false; }
static bool fake_set_reg(void *cpu, unsigned r, uint64_t v) { return false; }
static void fake_memory_changed(void *accel) { g_atomic_int_inc(&((FakeAccel *)accel)->changed); }

static const MosaicAccelOps fake_ops = {
    .size = sizeof(MosaicAccelOps),
    .vcpu_create = fake_vcpu_create, .vcpu_destroy = fake_vcpu_destroy,
    .vcpu_run = fake_vcpu_run, .vcpu_kick = fake_vcpu_kick, .vcpu_set_irq = fake_set_irq,
    .vcpu_get_reg = fake_get_reg, .vcpu_set_reg = fake_set_reg,
    .memory_changed = fake_memory_changed,
};

static MosaicMachine *machine_new(unsigned ncpus)
{
    MosaicMachine *m = g_new0(MosaicMachine, 1);
    g_mutex_init(&m->run_lock);
    g_cond_init(&m->run_cond);
    m->aops = g_memdup2(&fake_ops, sizeof fake_ops);
    m->accel = &fa;
    m->ncpus = ncpus;
    m->sysmem = mosaic_region_new_container("system", UINT64_MAX);
    m->as = mosaic_address_space_new("memory", m->sysmem);
    fa.as = m->as;
    machine_memsync_init(m);
    MosaicError *err = mosaic_error_new();
    g_assert_true(mosaic_machine_create_vcpus(m, err));
    mosaic_error_free(err);
    m->started = TRUE;
    vcpu_threads_start(m);
    g_mutex_lock(&m->run_lock);
    m->state = MACHINE_RUNNING;
    g_cond_broadcast(&m->run_cond);
    g_mutex_unlock(&m->run_lock);
    return m;
}

static void machine_free(MosaicMachine *m)
{
    g_mutex_lock(&m->run_lock);
    m->quitting = TRUE;
    g_cond_broadcast(&m->run_cond);
    g_mutex_unlock(&m->run_lock);
    for (unsigned i = 0; i < m->ncpus; i++)
        g_atomic_int_set(&m->vcpus[i]->exit_request, 1);
    vcpu_threads_join(m);
    machine_memsync_fini(m);
    for (unsigned i = 0; i < m->ncpus; i++)
        vcpu_free(m->vcpus[i]);
    g_free(m->vcpus);
    mosaic_address_space_free(m->as);
    mosaic_region_unref(m->sysmem);
    g_free(m->aops);
    g_mutex_clear(&m->run_lock);
    g_cond_clear(&m->run_cond);
    g_free(m);
}

static MosaicRegion *map_owner(MosaicMachine *m, MosaicRegion *win, Owner *o)
{
    MosaicError *err = mosaic_error_new();
    MosaicRegion *r = mosaic_region_new_ram_ptr("blob", o->mem, 4096, owner_release, o, err);
    g_assert_nonnull(r);
    fa.owner = o;
    g_assert_true(mosaic_region_add(win, 0, r, 0, err));
    mosaic_error_free(err);
    return r;
}

static void wait_uses(void)
{
    int u = g_atomic_int_get(&fa.uses);
    gint64 end = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
    while (g_atomic_int_get(&fa.uses) < u + 4000 && g_get_monotonic_time() < end)
        g_usleep(100);
    g_assert_cmpint(g_atomic_int_get(&fa.uses), >=, u + 4000); /* vCPUs use the blob */
}

/* Main loop thread: every delete parks the vCPUs, the owner is released before the
 * last unref returns, and no vCPU used the pointer after. */
static void test_remove_from_main_loop(void)
{
    MosaicMachine *m = machine_new(2);
    MosaicRegion *win = mosaic_region_new_container("shm", 1 << 20);
    g_assert_true(mosaic_region_add(m->sysmem, WIN, win, 0, NULL));
    uint8_t *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int round = 0; round < 50; round++) {
        Owner o = {.mem = mem};
        int changed0 = g_atomic_int_get(&fa.changed);
        MosaicRegion *r = map_owner(m, win, &o);
        g_assert_cmpint(g_atomic_int_get(&fa.changed), ==, changed0 + 1);
        wait_uses();
        mosaic_region_del(win, r);
        g_assert_cmpint(g_atomic_int_get(&fa.changed), ==, changed0 + 2);
        g_assert_cmpint(g_atomic_int_get(&o.releases), ==, 0); /* we still hold it */
        mosaic_region_unref(r);
        g_assert_cmpint(g_atomic_int_get(&o.releases), ==, 1); /* released now */
        fa.owner = NULL;
    }
    g_assert_cmpint(g_atomic_int_get(&fa.violations), ==, 0);
    machine_free(m);
    mosaic_region_unref(win);
    munmap(mem, 4096);
}

/* A vCPU thread deletes (a device reset by a register write): it cannot park itself,
 * so the release waits for the main loop's bottom half, and still no vCPU used the
 * pointer after it. */
static void test_remove_from_vcpu_thread(void)
{
    MosaicMachine *m = machine_new(2);
    MosaicRegion *win = mosaic_region_new_container("shm", 1 << 20);
    g_assert_true(mosaic_region_add(m->sysmem, WIN, win, 0, NULL));
    uint8_t *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int round = 0; round < 20; round++) {
        Owner o = {.mem = mem};
        MosaicRegion *r = map_owner(m, win, &o);
        wait_uses();
        fa.del_in = win;
        fa.del_sub = r;
        g_atomic_int_set(&fa.del_state, 1);
        while (g_atomic_int_get(&fa.del_state) != 2)
            g_usleep(100);
        g_atomic_int_set(&fa.del_state, 0);
        mosaic_region_unref(r);
        g_assert_cmpint(g_atomic_int_get(&o.releases), ==, 0); /* not yet: no quiescent point */
        while (loop_iterate(false))
            ;
        g_assert_cmpint(g_atomic_int_get(&o.releases), ==, 1);
        fa.owner = NULL;
    }
    g_assert_cmpint(g_atomic_int_get(&fa.violations), ==, 0);
    machine_free(m);
    mosaic_region_unref(win);
    munmap(mem, 4096);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memsync/remove-from-main-loop", test_remove_from_main_loop);
    g_test_add_func("/memsync/remove-from-vcpu-thread", test_remove_from_vcpu_thread);
    return g_test_run();
}
