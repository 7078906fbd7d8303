/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The rings in a host engine (vhost-net, through a backend that has the vhost ops):
 * when the driver is ready, the device hands the backend the guest's RAM, the addresses
 * of its receive and transmit ring and two eventfds per queue: the driver's notify is
 * passed on as a kick, the engine's call becomes the queue's interrupt.  The device then
 * keeps its hands off the rings until reset.  Not with multiqueue, nor while guest RAM
 * is dirty-tracked (the engine writes RAM without telling the core). */
#include <errno.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "vnet.h"

/* Host address of guest [gpa, gpa + len), which must be one RAM section. */
static void *host_of(VNet *d, uint64_t gpa, uint64_t len)
{
    MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
    if (!mosaic_as_lookup(d->dma, gpa, &s) || !s.host || s.readonly || gpa + len > s.base + s.size ||
        gpa + len < gpa)
        return NULL;
    return s.host + (gpa - s.base);
}

static void call_ready(void *opaque, int fd, unsigned events)
{
    VNet *d = opaque;
    uint64_t n;
    if (read(fd, &n, sizeof n) != sizeof n)
        return;
    for (unsigned i = 0; i < 2; i++)
        if (fd == d->vh_call[i])
            mosaic_virtq_notify(mosaic_virtio_queue(d->v, i));
}

static bool ring(VNet *d, unsigned qi, MosaicNetVhostQueue *out)
{
    MosaicVirtqRing r = {.struct_size = sizeof r};
    if (!mosaic_virtq_ring(mosaic_virtio_queue(d->v, qi), &r))
        return false;
    out->num = r.num;
    out->last_avail = r.last_avail;
    out->desc = host_of(d, r.desc, 16ull * r.num);
    out->avail = host_of(d, r.avail, 6 + 2ull * r.num);
    out->used = host_of(d, r.used, 6 + 8ull * r.num);
    out->kick = d->vh_kick[qi];
    out->call = d->vh_call[qi];
    return out->desc && out->avail && out->used;
}

static void close_fds(VNet *d)
{
    for (unsigned i = 0; i < 2; i++) {
        if (d->vh_watch[i])
            mosaic_fd_unwatch(d->vh_watch[i]);
        d->vh_watch[i] = NULL;
        if (d->vh_kick[i] >= 0)
            close(d->vh_kick[i]);
        if (d->vh_call[i] >= 0)
            close(d->vh_call[i]);
        d->vh_kick[i] = d->vh_call[i] = -1;
    }
}

void vnet_vhost_start(VNet *d)
{
    if (!mosaic_net_has_vhost(d->net) || d->pairs > 1)
        return;
    g_autoptr(GArray) mem = g_array_new(FALSE, FALSE, sizeof(MosaicNetVhostMem));
    MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
    for (uint64_t at = 0; mosaic_as_next_section(d->dma, at, &s) && s.base + s.size > at;
         at = s.base + s.size) {
        if (!s.host || s.readonly)
            continue;
        if (s.dirty_tracking) {
            mosaic_log("virtio-net", 1, "vhost-net not used: guest RAM is dirty-tracked (a "
                       "backup or dump runs); the device moves the frames itself");
            return;
        }
        MosaicNetVhostMem m = {.gpa = s.base, .size = s.size, .host = s.host};
        g_array_append_val(mem, m);
        if (s.base + s.size == 0)
            break; /* the top of the address space */
    }
    for (unsigned i = 0; i < 2; i++) {
        d->vh_kick[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        d->vh_call[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    MosaicNetVhost vh = {.struct_size = sizeof vh, .features = d->features, .nmem = mem->len,
                         .mem = (const MosaicNetVhostMem *)(void *)mem->data};
    if (d->vh_kick[0] < 0 || d->vh_kick[1] < 0 || d->vh_call[0] < 0 || d->vh_call[1] < 0 ||
        !ring(d, RXQ(0), &vh.rx) || !ring(d, TXQ(0), &vh.tx) || !mosaic_net_vhost_start(d->net, &vh)) {
        close_fds(d);
        return;
    }
    for (unsigned i = 0; i < 2; i++)
        d->vh_watch[i] = mosaic_fd_watch(d->vh_call[i], MOSAIC_FD_READ, call_ready, d);
    d->vhost = true;
    mosaic_log("virtio-net", 2, "netdev %s: the rings run in vhost-net", mosaic_net_label(d->net));
}

void vnet_vhost_stop(VNet *d)
{
    if (!d->vhost)
        return;
    mosaic_net_vhost_stop(d->net);
    close_fds(d);
    d->vhost = false;
}

/* vCPU thread: the driver notified queue `q`; the engine takes it from here. */
void vnet_vhost_kick(VNet *d, unsigned q)
{
    uint64_t one = 1;
    if (q < 2 && d->vh_kick[q] >= 0 && write(d->vh_kick[q], &one, sizeof one) < 0 && errno != EAGAIN)
        mosaic_log("virtio-net", 1, "vhost kick: %s", g_strerror(errno));
}
