/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Receive: frames from the backend go into buffers the guest posted on the receive
 * queue, one frame per buffer chain (no mergeable buffers). */
#include <string.h>
#include "vnet.h"

/* The receive queue of a frame: one flow (IPv4 addresses and ports) always lands on the
 * same queue of the active pairs, so its frames stay in order. */
static unsigned rx_pick(const VNet *d, const struct iovec *iov, unsigned niov)
{
    uint8_t f[14 + 20 + 4];
    if (d->active < 2 ||
        mosaic_iov_to_buf(iov, niov, MOSAIC_NET_HDR_LEN, f, sizeof f) < sizeof f ||
        f[12] != 0x08 || f[13] != 0x00)
        return 0;
    const uint8_t *ip = f + 14;
    unsigned ihl = (ip[0] & 15) * 4;
    unsigned end = ihl == 20 && (ip[9] == 6 || ip[9] == 17) ? 24 : 20; /* with the ports */
    uint32_t h = 2166136261u;
    for (unsigned i = 12; i < end; i++)
        h = (h ^ ip[i]) * 16777619u;
    return h % d->active;
}

bool vnet_receive(void *opaque, const struct iovec *iov, unsigned niov)
{
    VNet *d = opaque;
    if (!d->driver_ok || !mosaic_net_link_up(d->net))
        return true; /* nobody listens: dropped, never delivered late */
    size_t len = mosaic_iov_size(iov, niov);
    uint8_t raw[MOSAIC_NET_HDR_LEN];
    NetHdr h;
    mosaic_iov_to_buf(iov, niov, 0, raw, sizeof raw);
    hdr_read(&h, raw);
    bool tso_ok = (h.gso_type == 1 && has(d, F_GUEST_TSO4)) || (h.gso_type == 4 && has(d, F_GUEST_TSO6));
    if (h.gso_type != GSO_NONE && !tso_ok) {
        d->rx_dropped++;
        return true;
    }
    MosaicVirtQueue *q = mosaic_virtio_queue(d->v, RXQ(rx_pick(d, iov, niov)));
    MosaicVirtqElem *e = mosaic_virtq_pop(q);
    if (!e) {
        d->rx_waiting = true;
        return false;
    }
    if (e->in_len < len) {
        d->rx_dropped++; /* larger than the buffers the driver posts for this setup */
        mosaic_virtq_push(q, e, 0);
        mosaic_virtq_notify(q);
        return true;
    }
    const struct iovec *src = iov;
    unsigned nsrc = niov;
    struct iovec one;
    if ((h.flags & HDR_F_NEEDS_CSUM) && !has(d, F_GUEST_CSUM)) {
        mosaic_iov_to_buf(iov, niov, 0, d->buf, len);
        if (!csum_finish(d->buf, len)) {
            d->rx_dropped++;
            mosaic_virtq_push(q, e, 0);
            mosaic_virtq_notify(q);
            return true;
        }
        one = (struct iovec){.iov_base = d->buf, .iov_len = len};
        src = &one;
        nsrc = 1;
    }
    /* Header then frame, straight from the backend's buffers to the guest's. */
    size_t at = 0;
    for (unsigned i = 0; i < nsrc; i++) {
        mosaic_iov_from_buf(e->in, e->in_num, at, src[i].iov_base, src[i].iov_len);
        at += src[i].iov_len;
    }
    static const uint8_t one_buffer[2] = {1, 0};
    mosaic_iov_from_buf(e->in, e->in_num, 10, one_buffer, 2); /* num_buffers */
    mosaic_virtq_push(q, e, len);
    mosaic_virtq_notify(q);
    return true;
}

/* The guest posted receive buffers: a backend holding a frame may deliver again. */
void vnet_rx_bh(void *opaque)
{
    VNet *d = opaque;
    if (d->rx_waiting) {
        d->rx_waiting = false;
        mosaic_net_rx_ready(d->net);
    }
}
