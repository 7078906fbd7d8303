/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-hvf: x86 guests on macOS Hypervisor.framework.  The VM, its vCPUs (each created
 * and run on its own vCPU thread, as the framework requires), the memory map, and the
 * plugin descriptor.  Exits are handled in hvf-exit.c; MMIO instructions are emulated by
 * x86-emu/. */
#include <stdlib.h>
#include <string.h>

#include "hvf.h"

static Hvf *the_vm;   /* Hypervisor.framework allows one VM per process */

static void *hvf_create(MosaicMachine *m, const MosaicProps *props, MosaicError *err)
{
    if (the_vm) {
        mosaic_error_set(err, "accel hvf: one VM per process (Hypervisor.framework)");
        return NULL;
    }
    hv_return_t r = hv_vm_create(HV_VM_DEFAULT);
    if (r != HV_SUCCESS) {
        mosaic_error_set(err, "accel hvf: hv_vm_create failed (0x%x): does this Mac support "
                              "Hypervisor.framework (sysctl kern.hv_support) and does mosaic have "
                              "the com.apple.security.hypervisor entitlement?", (unsigned)r);
        return NULL;
    }
    Hvf *h = calloc(1, sizeof(*h));
    if (!h) {
        hv_vm_destroy();
        mosaic_error_set(err, "accel hvf: out of memory");
        return NULL;
    }
    h->machine = m;
    h->as = mosaic_machine_address_space(m);
    h->io = mosaic_machine_io_space(m);
    pthread_mutex_init(&h->map_lock, NULL);
    the_vm = h;
    return h;
}

static void hvf_destroy(void *accel)
{
    Hvf *h = accel;
    pthread_mutex_lock(&h->map_lock);
    hvf_unmap_memory(h);
    pthread_mutex_unlock(&h->map_lock);
    hv_vm_destroy();
    pthread_mutex_destroy(&h->map_lock);
    free(h);
    the_vm = NULL;
}

static void *hvf_vcpu_create(void *accel, MosaicVcpu *vcpu, unsigned index, MosaicError *err)
{
    if (index >= HVF_MAX_VCPUS) {
        mosaic_error_set(err, "accel hvf: vCPU %u: at most %u vCPUs", index, HVF_MAX_VCPUS);
        return NULL;
    }
    HvfCpu *c = calloc(1, sizeof(*c));
    if (!c) {
        mosaic_error_set(err, "accel hvf: out of memory");
        return NULL;
    }
    c->hvf = accel;
    c->vcpu = vcpu;
    c->index = index;
    pthread_mutex_init(&c->irq_lock, NULL);
    hvf_regs_reset(&c->regs);
    c->apic_base = 0xfee00000 | (1u << 11) | (index == 0 ? 1u << 8 : 0);
    c->dirty = true;
    return c;
}

static void hvf_vcpu_destroy(void *cpu)
{
    HvfCpu *c = cpu;
    /* hv_vcpu_destroy must run on the vCPU's thread; the framework frees what is left
     * with the VM (hv_vm_destroy). */
    pthread_mutex_destroy(&c->irq_lock);
    free(c);
}

static void hvf_vcpu_reset(void *cpu)
{
    HvfCpu *c = cpu;
    hvf_regs_reset(&c->regs);
    c->dirty = true;
    c->stopped = false;
    pthread_mutex_lock(&c->irq_lock);
    memset(c->pending, 0, sizeof(c->pending));
    pthread_mutex_unlock(&c->irq_lock);
}

static void hvf_vcpu_run(void *cpu)
{
    HvfCpu *c = cpu;
    if (!c->created) {
        if (hv_vcpu_create(&c->id, HV_VCPU_DEFAULT) != HV_SUCCESS) {
            mosaic_log("accel-hvf", 0, "vCPU %u: hv_vcpu_create failed", c->index);
            c->stopped = true;
        } else {
            c->created = true;
            hvf_setup_controls(c);
            if (c->index == 0) {
                MosaicError *err = mosaic_error_new();
                if (!hvf_map_memory(c->hvf, err)) {
                    mosaic_log("accel-hvf", 0, "%s", mosaic_error_message(err));
                    c->stopped = true;
                }
                mosaic_error_free(err);
            }
        }
    }
    while (c->stopped) {               /* until reset: a stopped vCPU only sleeps */
        if (!mosaic_vcpu_halt(c->vcpu))
            return;
    }
    if (c->dirty)
        hvf_regs_store(c);
    while (!mosaic_vcpu_exit_requested(c->vcpu) && !atomic_exchange(&c->kicked, false)) {
        hvf_inject_pending(c);
        if (hv_vcpu_run_until(c->id, HV_DEADLINE_FOREVER) != HV_SUCCESS) {
            mosaic_log("accel-hvf", 0, "vCPU %u: hv_vcpu_run_until failed", c->index);
            c->stopped = true;
            break;
        }
        if (hvf_handle_exit(c) == HVF_RETURN)
            break;
    }
    hvf_regs_load(c);                  /* the core may read registers while stopped */
}

static void hvf_vcpu_kick(void *cpu)
{
    HvfCpu *c = cpu;
    atomic_store(&c->kicked, true);
    if (c->created) {
        hv_vcpuid_t id = c->id;
        hv_vcpu_interrupt(&id, 1);
    }
    mosaic_vcpu_wake(c->vcpu);
}

/* Line N (0..255) raised: external interrupt vector N is pending for this vCPU.  The
 * interrupt controller (PIC/APIC of the x86 machine) decides vectors and priorities;
 * this interface is provisional until that machine exists (see README). */
static void hvf_vcpu_set_irq(void *cpu, unsigned line, bool level)
{
    HvfCpu *c = cpu;
    if (line > 255)
        return;
    pthread_mutex_lock(&c->irq_lock);
    if (level)
        c->pending[line / 64] |= 1ull << (line % 64);
    else
        c->pending[line / 64] &= ~(1ull << (line % 64));
    pthread_mutex_unlock(&c->irq_lock);
    if (level)
        hvf_vcpu_kick(c);
}

static bool hvf_vcpu_get_reg(void *cpu, unsigned regno, uint64_t *value)
{
    return hvf_reg_get(cpu, regno, value);
}

static bool hvf_vcpu_set_reg(void *cpu, unsigned regno, uint64_t value)
{
    return hvf_reg_set(cpu, regno, value);
}

static void hvf_memory_changed(void *accel)
{
    Hvf *h = accel;
    MosaicError *err = mosaic_error_new();
    if (!hvf_map_memory(h, err))
        mosaic_log("accel-hvf", 0, "%s", mosaic_error_message(err));
    mosaic_error_free(err);
}

static void hvf_query_stats(void *accel, MosaicStatFn *fn, void *opaque)
{
    Hvf *h = accel;
    fn(opaque, "exits", atomic_load(&h->exits));
    fn(opaque, "mmio-exits", atomic_load(&h->mmio_exits));
    fn(opaque, "io-exits", atomic_load(&h->io_exits));
    fn(opaque, "emulated-instructions", atomic_load(&h->emulated));
}

static const char *const hvf_archs[] = { "x86_64", NULL };

static const MosaicAccelOps hvf_ops = {
    .size = sizeof(MosaicAccelOps),
    .archs = hvf_archs,
    .create = hvf_create,
    .destroy = hvf_destroy,
    .vcpu_create = hvf_vcpu_create,
    .vcpu_destroy = hvf_vcpu_destroy,
    .vcpu_reset = hvf_vcpu_reset,
    .vcpu_run = hvf_vcpu_run,
    .vcpu_kick = hvf_vcpu_kick,
    .vcpu_set_irq = hvf_vcpu_set_irq,
    .vcpu_get_reg = hvf_vcpu_get_reg,
    .vcpu_set_reg = hvf_vcpu_set_reg,
    .memory_changed = hvf_memory_changed,
    .query_stats = hvf_query_stats,
};

static const MosaicPropDesc hvf_props[] = {
    { .key = NULL },
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_ACCEL, .kind_abi = MOSAIC_ACCEL_ABI, .name = "hvf",
              .version = "0.1.0", .license = "GPL-2.0-or-later",
              .description = "x86-64 guests on macOS Hypervisor.framework (MMIO through x86-emu)",
              .props = hvf_props, .ops = &hvf_ops);
