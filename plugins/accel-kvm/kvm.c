/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: the plugin descriptor, opening /dev/kvm with its checks, the VM and its
 * in-kernel interrupt controllers (PIC, IOAPIC, local APICs, PIT). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <mosaic/debug.h>
#include "kvm-internal.h"

extern const MosaicDebugTarget kvm_gdb_target; /* gdb-target.c */

/* Where the VM's real-mode TSS and identity page table go (Intel needs them; they
 * must not overlap RAM or devices): just below the BIOS area, as other VMMs do. */
#define KVM_TSS_ADDR 0xfffbd000ull
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ull

/* KVM capabilities Mosaic cannot run without, and why. */
static const struct {
    int cap;
    const char *name, *why;
} required_caps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM in memory slots"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "the in-kernel interrupt controllers"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "CPUID passed through to the guest"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "the real-mode TSS"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2", "the in-kernel i8254 timer"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping a vCPU without a race"},
    {KVM_CAP_IRQ_INJECT_STATUS, "KVM_CAP_IRQ_INJECT_STATUS", "interrupt lines"},
};

static bool open_device(Kvm *k, MosaicError *err)
{
    k->kvm_fd = open(k->device, O_RDWR | O_CLOEXEC);
    if (k->kvm_fd < 0) {
        int e = errno;
        if (e == ENOENT)
            mosaic_error_set(err, "accel kvm: %s does not exist: this host offers no KVM "
                             "(enable virtualization in the firmware and load kvm_intel or "
                             "kvm_amd, or run the machine where KVM is available)", k->device);
        else if (e == EACCES || e == EPERM)
            mosaic_error_set(err, "accel kvm: no permission to open %s: add your user to its "
                             "group (usually 'kvm': usermod -aG kvm USER) and log in again",
                             k->device);
        else
            mosaic_error_set(err, "accel kvm: cannot open %s: %s", k->device, strerror(e));
        return false;
    }
    int api = ioctl(k->kvm_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        mosaic_error_set(err, "accel kvm: %s is not a KVM device of API version %d (it answered %d)",
                         k->device, KVM_API_VERSION, api);
        return false;
    }
    for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++)
        if (ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
            mosaic_error_set(err, "accel kvm: the host's KVM (%s) lacks %s, needed for %s: "
                             "run on a newer host kernel", k->device, required_caps[i].name,
                             required_caps[i].why);
            return false;
        }
    k->readonly_mem = ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
    k->ioeventfd = ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) > 0;
    k->signal_msi = ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SIGNAL_MSI) > 0;
    int slots = ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
    k->max_slots = slots > 0 && slots < KVM_MAX_SLOTS ? (unsigned)slots : KVM_MAX_SLOTS;
    k->run_size = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (k->run_size < (int)sizeof(struct kvm_run)) {
        mosaic_error_set(err, "accel kvm: %s: KVM_GET_VCPU_MMAP_SIZE failed", k->device);
        return false;
    }
    return true;
}

static bool create_vm(Kvm *k, MosaicError *err)
{
    do
        k->vm_fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
    while (k->vm_fd < 0 && errno == EINTR);
    if (k->vm_fd < 0) {
        mosaic_error_set(err, "accel kvm: %s: cannot create a VM: %s", k->device, strerror(errno));
        return false;
    }
    if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0) {
        mosaic_error_set(err, "accel kvm: KVM_SET_TSS_ADDR: %s", strerror(errno));
        return false;
    }
    uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
    if (ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
        ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0) {
        mosaic_error_set(err, "accel kvm: KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
        return false;
    }
    if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        mosaic_error_set(err, "accel kvm: cannot create the in-kernel interrupt controllers: %s",
                         strerror(errno));
        return false;
    }
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        mosaic_error_set(err, "accel kvm: cannot create the in-kernel i8254 timer: %s",
                         strerror(errno));
        return false;
    }
    kvm_chips_snapshot(k);
    return true;
}

static void kvm_destroy(void *accel);

static void *kvm_create(MosaicMachine *m, const MosaicProps *props, MosaicError *err)
{
    Kvm *k = calloc(1, sizeof(*k));
    if (!k) {
        mosaic_error_set(err, "accel kvm: out of memory");
        return NULL;
    }
    k->m = m;
    k->kvm_fd = k->vm_fd = -1;
    for (unsigned i = 0; i < MOSAIC_X86_NGSI; i++)
        k->irqfds[i].fd = k->irqfds[i].resample = -1;
    k->as = mosaic_machine_address_space(m);
    k->io = mosaic_machine_io_space(m);
    pthread_mutex_init(&k->slots_lock, NULL);
    const char *dev = props && mosaic_props_has(props, "device") ? mosaic_props_get_str(props, "device")
                                                                 : NULL;
    k->device = strdup(dev && *dev ? dev : "/dev/kvm");
    unsigned ncpus = mosaic_machine_ncpus(m);
    if (ncpus > KVM_MAX_VCPUS) {
        mosaic_error_set(err, "accel kvm: %u vCPUs asked, at most %u are supported (lower "
                         "[machine] cpus)", ncpus, KVM_MAX_VCPUS);
        goto fail;
    }
    if (!k->device || !open_device(k, err) || !create_vm(k, err) || !kvm_cpuid_init(k, err))
        goto fail;
    kvm_irqfd_init(k);
    int nr = ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (nr > 0 && ncpus > (unsigned)nr) {
        mosaic_error_set(err, "accel kvm: %u vCPUs asked, the host's KVM allows %d", ncpus, nr);
        goto fail;
    }
    return k;
fail:
    kvm_destroy(k);
    return NULL;
}

static void kvm_destroy(void *accel)
{
    Kvm *k = accel;
    if (!k)
        return;
    kvm_irqfd_fini(k);
    if (k->vm_fd >= 0)
        close(k->vm_fd);
    if (k->kvm_fd >= 0)
        close(k->kvm_fd);
    pthread_mutex_destroy(&k->slots_lock);
    free(k->cpuid);
    free(k->device);
    free(k);
}

/* Interrupt lines are GSIs of the in-kernel IOAPIC/PIC, whichever vCPU they come
 * through (x86.h). */
static void kvm_vcpu_set_irq(void *cpu, unsigned line, bool level)
{
    KvmCpu *c = cpu;
    if (line >= MOSAIC_X86_NGSI)
        return;
    kvm_irq_line(c->k, line, level);
}

static bool kvm_vcpu_get_reg(void *cpu, unsigned regno, uint64_t *value)
{
    return kvm_regs_get(cpu, regno, value);
}

static bool kvm_vcpu_set_reg(void *cpu, unsigned regno, uint64_t value)
{
    return kvm_regs_set(cpu, regno, value);
}

static void kvm_memory_changed(void *accel)
{
    Kvm *k = accel;
    MosaicError *e = mosaic_error_new();
    if (!kvm_slots_sync(k, e))
        mosaic_log(KVM_LOG, 0, "%s", mosaic_error_message(e));
    mosaic_error_free(e);
}

/* ioeventfd: a guest write of `data` to `addr` signals `fd` inside KVM, no exit. */
static bool kvm_notify_fd(void *accel, uint64_t addr, unsigned size, uint64_t data, int fd,
                          bool assign)
{
    Kvm *k = accel;
    if (!k->ioeventfd)
        return false;
    struct kvm_ioeventfd e = {
        .datamatch = data, .addr = addr, .len = size, .fd = fd,
        .flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };
    if (ioctl(k->vm_fd, KVM_IOEVENTFD, &e) < 0) {
        mosaic_log(KVM_LOG, 1, "ioeventfd at 0x%llx: %s; notifications take the exit path",
                   (unsigned long long)addr, strerror(errno));
        return false;
    }
    atomic_fetch_add(&k->stat_notify_fds, assign ? 1 : -1);
    return true;
}

/* An MSI into the in-kernel local APICs. */
static bool kvm_msi(void *accel, uint64_t addr, uint32_t data)
{
    Kvm *k = accel;
    struct kvm_msi msi = {.address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32),
                          .data = data};
    if (!k->signal_msi || ioctl(k->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
        return false;
    atomic_fetch_add_explicit(&k->stat_msis, 1, memory_order_relaxed);
    return true;
}

static void kvm_query_stats(void *accel, MosaicStatFn *fn, void *opaque)
{
    Kvm *k = accel;
    fn(opaque, "runs", atomic_load(&k->stat_runs));
    fn(opaque, "pio-exits", atomic_load(&k->stat_io));
    fn(opaque, "mmio-exits", atomic_load(&k->stat_mmio));
    fn(opaque, "unmapped-accesses", atomic_load(&k->stat_unmapped));
    fn(opaque, "notify-fds", atomic_load(&k->stat_notify_fds));
    fn(opaque, "irq-fds", atomic_load(&k->stat_irq_fds));
    fn(opaque, "irqfd-signals", atomic_load(&k->stat_irqfd_signals));
    fn(opaque, "irqfd-resamples", atomic_load(&k->stat_irqfd_resamples));
    fn(opaque, "irq-line-ioctls", atomic_load(&k->stat_irq_ioctls));
    fn(opaque, "dirty-log-pages", atomic_load(&k->stat_dirty_pages));
    fn(opaque, "msis", atomic_load(&k->stat_msis));
    fn(opaque, "breakpoint-hits", atomic_load(&k->stat_bp_hits));
}

/* vcpu.c */
void *kvm_vcpu_create(void *accel, MosaicVcpu *vcpu, unsigned index, MosaicError *err);
void kvm_vcpu_destroy(void *cpu);
void kvm_vcpu_reset(void *cpu);
void kvm_vcpu_run(void *cpu);
void kvm_vcpu_kick(void *cpu);

static const char *const kvm_archs[] = {"x86_64", NULL};

static const MosaicAccelOps kvm_ops = {
    .size = sizeof(MosaicAccelOps),
    .archs = kvm_archs,
    .create = kvm_create,
    .destroy = kvm_destroy,
    .vcpu_create = kvm_vcpu_create,
    .vcpu_destroy = kvm_vcpu_destroy,
    .vcpu_reset = kvm_vcpu_reset,
    .vcpu_run = kvm_vcpu_run,
    .vcpu_kick = kvm_vcpu_kick,
    .vcpu_set_irq = kvm_vcpu_set_irq,
    .vcpu_get_reg = kvm_vcpu_get_reg,
    .vcpu_set_reg = kvm_vcpu_set_reg,
    .memory_changed = kvm_memory_changed,
    .query_stats = kvm_query_stats,
    .notify_fd = kvm_notify_fd,
    .irq_fast = kvm_irq_fast,
    .dirty_sync = kvm_dirty_sync,
    .debug_target = &kvm_gdb_target,
    .msi = kvm_msi,
    .vcpu_set_step = kvm_vcpu_set_step,
    .breakpoint = kvm_breakpoint,
    .vcpu_virt_to_phys = kvm_vcpu_virt_to_phys,
    .vcpu_get_reg_bytes = kvm_regs_get_bytes,
    .vcpu_set_reg_bytes = kvm_regs_set_bytes,
};

static const MosaicPropDesc kvm_props[] = {
    {.key = "device", .type = MOSAIC_PROP_PATH, .defval = "/dev/kvm",
     .help = "the KVM device to open"},
    {.key = NULL},
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_ACCEL, .kind_abi = MOSAIC_ACCEL_ABI, .name = "kvm",
              .version = "0.1.0", .license = "GPL-2.0-or-later",
              .description = "x86-64 vCPUs on the host's KVM (in-kernel APIC, IOAPIC, PIC, PIT)",
              .props = kvm_props, .ops = &kvm_ops);
