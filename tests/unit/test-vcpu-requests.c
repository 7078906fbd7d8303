/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A vCPU that asked the machine to reset, power off or stop (a triple fault, a power
 * register write, a fatal accelerator error) runs no guest code again until the main
 * loop has handled that request: not when its vcpu_run returns and the vCPU thread
 * loops, not when another vCPU or a kick wakes it.  Under KVM a vCPU re-entered after
 * a triple fault runs from the state KVM left it in (the reset vector, with nothing
 * there), fails, and turns the guest's reboot into a stop.
 *
 * A fake board and accelerator, built into a real machine (machine_create), whose
 * vCPU 1 asks for the request the way accel-kvm does after KVM_EXIT_SHUTDOWN
 * (mosaic_machine_request_shutdown, mosaic_vcpu_halt, return) while vCPU 0 runs and
 * another thread (an interrupt source) wakes vCPU 1 again and again; the test waits a
 * while before it lets the main loop handle the request.  Entering vcpu_run in between
 * counts as a violation. */
#include <glib.h>
#include <mosaic/mosaic.h>

#include "config/config.h"
#include "loop/loop.h"
#include "machine/machine-internal.h"
#include "plugin/registry.h"

typedef struct FakeCpu {
    MosaicVcpu *vcpu;
    unsigned index;
    gint asked;  /* asked the machine to end/reset, and was not reset since */
    gint runs;   /* vcpu_run calls */
    gint resets; /* vcpu_reset calls */
} FakeCpu;

static struct {
    MosaicMachine *m;
    FakeCpu *cpu[2];
    gint trigger;      /* 1 + MosaicShutdownCause: vCPU 1 asks for it */
    gint violations;   /* vcpu_run entered by a vCPU whose request is pending */
    gint wakes;        /* the interrupt source's wake-ups of vCPU 1 */
    gint waking;       /* the interrupt source runs */
} fa;

static void *fake_accel_create(MosaicMachine *m, const MosaicProps *props, MosaicError *err)
{
    fa.m = m;
    return &fa;
}

static void *fake_vcpu_create(void *accel, MosaicVcpu *vcpu, unsigned index, MosaicError *err)
{
    FakeCpu *c = g_new0(FakeCpu, 1);
    c->vcpu = vcpu;
    c->index = index;
    fa.cpu[index] = c;
    return c;
}

static void fake_vcpu_destroy(void *cpu)
{
    FakeCpu *c = cpu;
    fa.cpu[c->index] = NULL;
    g_free(c);
}

static void fake_vcpu_reset(void *cpu)
{
    FakeCpu *c = cpu;
    g_atomic_int_set(&c->asked, 0);
    g_atomic_int_inc(&c->resets);
}

static void fake_vcpu_run(void *cpu)
{
    FakeCpu *c = cpu;
    if (g_atomic_int_get(&c->asked))
        g_atomic_int_inc(&fa.violations); /* guest code before the reset it asked for */
    g_atomic_int_inc(&c->runs);
    while (!mosaic_vcpu_exit_requested(c->vcpu)) {
        int t = g_atomic_int_get(&fa.trigger);
        if (c->index == 1 && t && g_atomic_int_compare_and_exchange(&fa.trigger, t, 0)) {
            /* accel-kvm's KVM_EXIT_SHUTDOWN path as it was */
            g_atomic_int_set(&c->asked, 1);
            mosaic_machine_request_shutdown(fa.m, (MosaicShutdownCause)(t - 1), 0);
            mosaic_vcpu_halt(c->vcpu);
            return;
        }
        g_usleep(200);
    }
}

static void fake_vcpu_kick(void *cpu) {}
static void fake_set_irq(void *cpu, unsigned line, bool level) {}
static bool fake_get_reg(void *cpu, unsigned r, uint64_t *v) { return false; }
static bool fake_set_reg(void *cpu, unsigned r, uint64_t v) { return false; }

static int board;
static void *fake_board_init(MosaicMachine *m, const MosaicProps *props, MosaicError *err)
{
    return mosaic_machine_create_vcpus(m, err) ? &board : NULL;
}

static const char *const archs[] = {"req-arch", NULL};
static const MosaicAccelOps accel_ops = {
    .size = sizeof(MosaicAccelOps), .archs = archs, .create = fake_accel_create,
    .vcpu_create = fake_vcpu_create, .vcpu_destroy = fake_vcpu_destroy,
    .vcpu_reset = fake_vcpu_reset, .vcpu_run = fake_vcpu_run, .vcpu_kick = fake_vcpu_kick,
    .vcpu_set_irq = fake_set_irq, .vcpu_get_reg = fake_get_reg, .vcpu_set_reg = fake_set_reg,
};
static const MosaicMachineOps board_ops = {
    .size = sizeof(MosaicMachineOps), .arch = "req-arch", .init = fake_board_init,
};

#define DESC(k, n, o) {.magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR,          \
                       .abi_minor = MOSAIC_ABI_MINOR, .size = sizeof(MosaicPluginDesc),      \
                       .kind = k, .kind_abi = 1, .name = n, .version = "1", .license = "MIT", \
                       .description = "fake", .ops = o}
static const MosaicPluginDesc fakes[] = {
    DESC(MOSAIC_KIND_MACHINE, "req-board", &board_ops),
    DESC(MOSAIC_KIND_ACCEL, "req-accel", &accel_ops),
};

static MosaicMachine *start_machine(MosaicConfig **cfg)
{
    GError *err = NULL;
    *cfg = config_load_string("req.ini", "[machine]\ntype = req-board\naccel = req-accel\n"
                                         "cpus = 2\nmemory = 1M\n", NULL, &err);
    g_assert_no_error(err);
    g_assert_true(config_validate(*cfg, &err));
    mosaic_lock();
    MosaicMachine *m = machine_create(*cfg, &err);
    g_assert_no_error(err);
    machine_start(m, FALSE);
    mosaic_unlock();
    return m;
}

static gpointer interrupt_source(gpointer unused)
{
    while (g_atomic_int_get(&fa.waking)) {
        mosaic_vcpu_wake(fa.cpu[1]->vcpu);
        g_atomic_int_inc(&fa.wakes);
        g_usleep(200);
    }
    return NULL;
}

/* vCPU 1 asks for `cause` while it is woken again and again; the main loop handles the
 * request only 50 ms later.  Returns how often vCPU 1 had entered vcpu_run then. */
static int ask_and_wait(MosaicShutdownCause cause)
{
    g_atomic_int_set(&fa.waking, 1);
    GThread *t = g_thread_new("irq", interrupt_source, NULL);
    g_atomic_int_set(&fa.trigger, 1 + (int)cause);
    while (g_atomic_int_get(&fa.trigger))
        g_usleep(100);
    int wakes = g_atomic_int_get(&fa.wakes);
    g_usleep(50 * 1000);
    g_assert_cmpint(g_atomic_int_get(&fa.wakes), >, wakes); /* it was woken meanwhile */
    g_atomic_int_set(&fa.waking, 0);
    g_thread_join(t);
    return g_atomic_int_get(&fa.cpu[1]->runs);
}

static void test_reset_request(void)
{
    MosaicConfig *cfg;
    MosaicMachine *m = start_machine(&cfg);
    for (int round = 1; round <= 5; round++) {
        int runs = ask_and_wait(MOSAIC_SHUTDOWN_GUEST_RESET);
        g_assert_cmpint(g_atomic_int_get(&fa.violations), ==, 0);
        gint64 end = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
        while (g_atomic_int_get(&fa.cpu[1]->resets) < 1 + round && g_get_monotonic_time() < end)
            loop_iterate(false);
        g_assert_cmpint(g_atomic_int_get(&fa.cpu[1]->resets), ==, 1 + round); /* 1: the start */
        /* After the reset it runs again. */
        g_assert_cmpint(m->state, ==, MACHINE_RUNNING);
        while (g_atomic_int_get(&fa.cpu[1]->runs) == runs && g_get_monotonic_time() < end)
            g_usleep(100);
        g_assert_cmpint(g_atomic_int_get(&fa.cpu[1]->runs), >, runs);
    }
    g_assert_cmpint(g_atomic_int_get(&fa.violations), ==, 0);
    mosaic_lock();
    machine_destroy(m);
    mosaic_unlock();
    config_free(cfg);
}

static void test_poweroff_request(void)
{
    MosaicConfig *cfg;
    MosaicMachine *m = start_machine(&cfg);
    ask_and_wait(MOSAIC_SHUTDOWN_GUEST_POWEROFF);
    g_assert_cmpint(g_atomic_int_get(&fa.violations), ==, 0);
    gint64 end = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
    while (!m->quitting && g_get_monotonic_time() < end)
        loop_iterate(false);
    g_assert_true(m->quitting);
    g_assert_cmpint(g_atomic_int_get(&fa.violations), ==, 0);
    mosaic_lock();
    machine_destroy(m);
    mosaic_unlock();
    config_free(cfg);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    const char *none[] = {NULL};
    plugin_registry_init_dirs(none);
    for (guint i = 0; i < G_N_ELEMENTS(fakes); i++)
        plugin_registry_add_builtin(&fakes[i]);
    g_test_add_func("/vcpu-requests/reset-waits-for-the-main-loop", test_reset_request);
    g_test_add_func("/vcpu-requests/poweroff-waits-for-the-main-loop", test_poweroff_request);
    return g_test_run();
}
