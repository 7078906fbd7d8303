/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-mmio queue notifications through an eventfd (ioeventfd): when the machine's
 * accelerator can turn the guest's write to QueueNotify into an eventfd signal, the
 * vCPU no longer leaves the guest for it, and the device's queue_notify runs on the
 * main loop (with the core lock, as fd callbacks do).  Without such an accelerator
 * (TCG, unit tests) nothing changes: the register write reaches mmio.c. */
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif
#include "virtio/virtio-internal.h"
#include "machine/machine.h"

#define R_QUEUE_NOTIFY 0x050

static void notified(void *opaque, int fd, unsigned events)
{
    MosaicVirtQueue *q = opaque;
    MosaicVirtio *v = q->v;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) != sizeof(n))
        return;
    if (q->ready && v->ops.queue_notify)
        v->ops.queue_notify(v->opaque, q->index);
}

void virtio_notify_fd_on(MosaicVirtio *v, unsigned index)
{
#ifdef __linux__
    NotifyFd *n = &v->notify[index];
    if (n->fd >= 0)
        return;
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return;
    if (!machine_notify_fd(v->container, v->base + R_QUEUE_NOTIFY, 4, index, fd, TRUE)) {
        close(fd);
        return;
    }
    n->fd = fd;
    n->watch = mosaic_fd_watch(fd, MOSAIC_FD_READ, notified, &v->queues[index]);
#endif
}

void virtio_notify_fd_off(MosaicVirtio *v, unsigned index)
{
    NotifyFd *n = &v->notify[index];
    if (n->fd < 0)
        return;
    machine_notify_fd(v->container, v->base + R_QUEUE_NOTIFY, 4, index, n->fd, FALSE);
    if (n->watch)
        mosaic_fd_unwatch(n->watch);
    /* A signal that raced with the switch-off is not lost: the guest rewrites it when
     * the queue is enabled again, and a disabled queue has nothing to notify. */
    close(n->fd);
    n->fd = -1;
    n->watch = NULL;
}
