/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: level-triggered lines on irqfds (KVM_IRQFD with a resample fd).
 *
 * A line the core hands over (irq_fast: a virtio-mmio transport's) is raised by writing
 * its eventfd: no ioctl and no trip through KVM's VM lock per interrupt.  KVM cannot
 * lower a line through an irqfd, so the resample fd does that: when the guest's EOI
 * reaches the IOAPIC, KVM drops the line and signals the resample fd; the main loop then
 * raises it again if the device still holds it high (the guest acknowledged only part
 * of what was pending, or a completion came in between).  Lowering it ourselves is
 * therefore a no-op: the line falls at the next EOI, which is what level-triggered
 * interrupt handling in the guest does anyway. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include "kvm-internal.h"

static void irqfd_raise(Kvm *k, KvmIrqFd *q)
{
    uint64_t one = 1;
    if (write(q->fd, &one, sizeof(one)) == sizeof(one))
        atomic_fetch_add_explicit(&k->stat_irqfd_signals, 1, memory_order_relaxed);
}

/* Main loop, core lock held (as every level change of the line is). */
static void resampled(void *opaque, int fd, unsigned events)
{
    KvmIrqFd *q = opaque;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) != sizeof(n))
        return;
    atomic_fetch_add_explicit(&q->k->stat_irqfd_resamples, 1, memory_order_relaxed);
    if (atomic_load(&q->level))
        irqfd_raise(q->k, q);
}

static bool line_ioctl(Kvm *k, unsigned line, bool level)
{
    struct kvm_irq_level irq = {.irq = line, .level = level};
    atomic_fetch_add_explicit(&k->stat_irq_ioctls, 1, memory_order_relaxed);
    return ioctl(k->vm_fd, KVM_IRQ_LINE_STATUS, &irq) == 0;
}

void kvm_irq_line(Kvm *k, unsigned line, bool level)
{
    KvmIrqFd *q = &k->irqfds[line];
    if (q->fd >= 0) {
        atomic_store(&q->level, level);
        if (level)
            irqfd_raise(k, q);
        return;
    }
    if (!line_ioctl(k, line, level))
        mosaic_log(KVM_LOG, 1, "interrupt line %u: KVM_IRQ_LINE_STATUS: %s", line, strerror(errno));
}

static bool irqfd_assign(Kvm *k, unsigned line, KvmIrqFd *q, bool assign)
{
    struct kvm_irqfd r = {
        .fd = (uint32_t)q->fd, .gsi = line, .resamplefd = (uint32_t)q->resample,
        .flags = assign ? KVM_IRQFD_FLAG_RESAMPLE : KVM_IRQFD_FLAG_DEASSIGN,
    };
    return ioctl(k->vm_fd, KVM_IRQFD, &r) == 0;
}

bool kvm_irq_fast(void *accel, unsigned line, bool on)
{
    Kvm *k = accel;
    if (!k->irqfd_ok || line >= MOSAIC_X86_NGSI)
        return false;
    KvmIrqFd *q = &k->irqfds[line];
    if (on == (q->fd >= 0))
        return true;
    if (!on) {
        bool level = atomic_load(&q->level);
        irqfd_assign(k, line, q, false);
        mosaic_fd_unwatch(q->watch);
        close(q->fd);
        close(q->resample);
        q->fd = q->resample = -1;
        q->watch = NULL;
        atomic_fetch_sub(&k->stat_irq_fds, 1);
        line_ioctl(k, line, level); /* the line keeps its level on the ioctl path */
        return true;
    }
    q->k = k;
    q->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    q->resample = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    /* The ioctl path's level is a source of its own in KVM: drop it first, so that
     * only the irqfd drives the line from now on. */
    if (q->fd < 0 || q->resample < 0 || !line_ioctl(k, line, false) ||
        !irqfd_assign(k, line, q, true)) {
        mosaic_log(KVM_LOG, 1, "interrupt line %u: no irqfd (%s); it stays on KVM_IRQ_LINE",
                   line, strerror(errno));
        if (q->fd >= 0)
            close(q->fd);
        if (q->resample >= 0)
            close(q->resample);
        q->fd = q->resample = -1;
        return false;
    }
    q->watch = mosaic_fd_watch(q->resample, MOSAIC_FD_READ, resampled, q);
    atomic_fetch_add(&k->stat_irq_fds, 1);
    if (atomic_load(&q->level))
        irqfd_raise(k, q);
    return true;
}

void kvm_irqfd_init(Kvm *k)
{
    for (unsigned i = 0; i < MOSAIC_X86_NGSI; i++)
        k->irqfds[i].fd = k->irqfds[i].resample = -1;
    k->irqfd_ok = ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) > 0 &&
                  ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD_RESAMPLE) > 0;
}

void kvm_irqfd_fini(Kvm *k)
{
    for (unsigned i = 0; i < MOSAIC_X86_NGSI; i++) {
        KvmIrqFd *q = &k->irqfds[i];
        if (q->fd < 0)
            continue;
        if (q->watch)
            mosaic_fd_unwatch(q->watch);
        close(q->fd);
        close(q->resample);
        q->fd = q->resample = -1;
    }
}
