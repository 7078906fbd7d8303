/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The rings in a host engine (vhost-net, through a backend that has the vhost ops):
 * when the driver is ready, the device hands the backend the guest's RAM, the addresses
 * of its receive and transmit ring and two eventfds per queue: the driver's notify is
 * passed on as a kick, the engine's call becomes the queue's interrupt.  The device then
 * keeps its hands off the rings until reset.  The engine logs the guest pages it
 * writes (a bitmap, and an eventfd it signals): they are passed on as dirty before the
 * driver is interrupted, so TCG's translated code and a running backup see them.  Not
 * with multiqueue. */
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

/* The pages the engine logged since the last time: dirty for the core. */
static void sync_log(VNet *d)
{
    for (uint64_t i = 0; i < d->vh_log_words; i++) {
        uint64_t w = __atomic_exchange_n(&d->vh_log[i], 0, __ATOMIC_ACQ_REL);
        while (w) {
            uint64_t gpa = (i * 64 + __builtin_ctzll(w)) * 4096;
            w &= w - 1;
            MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
            if (mosaic_as_lookup(d->dma, gpa, &s) && s.host && s.region)
                mosaic_ram_set_dirty(s.region, s.region_offset + (gpa - s.base),
                                     MIN(4096, s.base + s.size - gpa));
        }
    }
}

static void log_ready(void *opaque, int fd, unsigned events)
{
    uint64_t n;
    if (read(fd, &n, sizeof n) == sizeof n)
        sync_log(opaque);
}

static void call_ready(void *opaque, int fd, unsigned events)
{
    VNet *d = opaque;
    uint64_t n;
    if (read(fd, &n, sizeof n) != sizeof n)
        return;
    sync_log(d); /* what the driver is about to read is dirty first */
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
    out->used_gpa = r.used;
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
    if (d->vh_log_watch)
        mosaic_fd_unwatch(d->vh_log_watch);
    d->vh_log_watch = NULL;
    if (d->vh_log_fd >= 0)
        close(d->vh_log_fd);
    d->vh_log_fd = -1;
    g_free(d->vh_log);
    d->vh_log = NULL;
    d->vh_log_words = 0;
}

void vnet_vhost_start(VNet *d)
{
    if (!mosaic_net_has_vhost(d->net) || d->pairs > 1)
        return;
    g_autoptr(GArray) mem = g_array_new(FALSE, FALSE, sizeof(MosaicNetVhostMem));
    MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
    uint64_t top = 0;
    for (uint64_t at = 0; mosaic_as_next_section(d->dma, at, &s) && s.base + s.size > at;
         at = s.base + s.size) {
        if (!s.host || s.readonly)
            continue;
        MosaicNetVhostMem m = {.gpa = s.base, .size = s.size, .host = s.host};
        g_array_append_val(mem, m);
        top = MAX(top, s.base + s.size);
        if (s.base + s.size == 0)
            break; /* the top of the address space */
    }
    if (!mem->len || !top || top > (1ull << 48)) {
        mosaic_log("virtio-net", 1, "vhost-net not used: no guest RAM below 2^48 for its "
                   "memory table; the device moves the frames itself");
        return;
    }
    d->vh_log_words = (top / 4096 + 63) / 64;
    d->vh_log = g_new0(uint64_t, d->vh_log_words);
    d->vh_log_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    for (unsigned i = 0; i < 2; i++) {
        d->vh_kick[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        d->vh_call[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    MosaicNetVhost vh = {.struct_size = sizeof vh, .features = d->features, .nmem = mem->len,
                         .mem = (const MosaicNetVhostMem *)(void *)mem->data,
                         .log = d->vh_log, .log_size = d->vh_log_words * 8, .log_fd = d->vh_log_fd};
    if (d->vh_log_fd < 0 || d->vh_kick[0] < 0 || d->vh_kick[1] < 0 || d->vh_call[0] < 0 || d->vh_call[1] < 0 ||
        !ring(d, RXQ(0), &vh.rx) || !ring(d, TXQ(0), &vh.tx) || !mosaic_net_vhost_start(d->net, &vh)) {
        close_fds(d);
        return;
    }
    for (unsigned i = 0; i < 2; i++)
        d->vh_watch[i] = mosaic_fd_watch(d->vh_call[i], MOSAIC_FD_READ, call_ready, d);
    d->vh_log_watch = mosaic_fd_watch(d->vh_log_fd, MOSAIC_FD_READ, log_ready, d);
    d->vhost = true;
    mosaic_log("virtio-net", 2, "netdev %s: the rings run in vhost-net", mosaic_net_label(d->net));
}

void vnet_vhost_stop(VNet *d)
{
    if (!d->vhost)
        return;
    mosaic_net_vhost_stop(d->net);
    sync_log(d);
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
