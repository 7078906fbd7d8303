/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Transmit: frames the guest queued on the transmit queue go to the backend. */
#include <string.h>
#include "vnet.h"

/* Drops the element: the driver gets its buffer back. */
static void tx_done(VNet *d, unsigned q, MosaicVirtqElem *e)
{
    mosaic_virtq_push(mosaic_virtio_queue(d->v, q), e, 0);
}

/* true: done with `e` (sent or dropped); false: the backend is full, keep it. */
static bool tx_one(VNet *d, MosaicVirtqElem *e)
{
    uint8_t raw[MOSAIC_NET_HDR_LEN];
    NetHdr h;
    if (e->out_len < MOSAIC_NET_HDR_LEN + 14 || e->out_len > FRAME_MAX || e->in_num) {
        d->tx_dropped++;
        return true;
    }
    mosaic_iov_to_buf(e->out, e->out_num, 0, raw, sizeof raw);
    hdr_read(&h, raw);
    uint32_t offl = mosaic_net_offloads(d->net);
    bool gso = h.gso_type != GSO_NONE;
    if (gso && !(offl & (MOSAIC_NET_OFFLOAD_TSO4 | MOSAIC_NET_OFFLOAD_TSO6))) {
        d->tx_dropped++; /* not offered: a driver that honours the features never sends it */
        return true;
    }
    if (!(h.flags & HDR_F_NEEDS_CSUM) || (offl & MOSAIC_NET_OFFLOAD_CSUM))
        return mosaic_net_send(d->net, e->out, e->out_num);
    /* The backend cannot carry a partial checksum: finish it in a copy. */
    size_t len = mosaic_iov_to_buf(e->out, e->out_num, 0, d->buf, e->out_len);
    if (!csum_finish(d->buf, len)) {
        d->tx_dropped++;
        return true;
    }
    struct iovec one = {.iov_base = d->buf, .iov_len = len};
    return mosaic_net_send(d->net, &one, 1);
}

/* One transmit queue, up to `budget` frames; false when the backend is full. */
static bool tx_queue(VNet *d, unsigned qi, unsigned *budget)
{
    MosaicVirtQueue *q = mosaic_virtio_queue(d->v, qi);
    unsigned done = 0;
    bool more = true;
    while (*budget) {
        MosaicVirtqElem *e = d->tx_held && d->tx_held_q == qi ? d->tx_held : mosaic_virtq_pop(q);
        if (e == d->tx_held)
            d->tx_held = NULL;
        if (!e)
            break;
        if (!mosaic_net_link_up(d->net)) {
            d->tx_dropped++; /* no peer: what the guest sends now goes nowhere */
        } else if (!tx_one(d, e)) {
            d->tx_held = e; /* resumed by the backend's tx_ready */
            d->tx_held_q = qi;
            more = false;
            break;
        }
        tx_done(d, qi, e);
        done++;
        (*budget)--;
    }
    if (done)
        mosaic_virtq_notify(q);
    return more;
}

void vnet_tx_bh(void *opaque)
{
    VNet *d = opaque;
    unsigned budget = TX_BUDGET;
    if (!d->driver_ok || d->vhost)
        return;
    /* The held frame's queue first: frames of one queue stay in order. */
    if (d->tx_held && !tx_queue(d, d->tx_held_q, &budget))
        return;
    for (unsigned i = 0; i < d->active; i++)
        if (!tx_queue(d, TXQ(i), &budget))
            return;
    if (!budget)
        mosaic_bh_schedule(d->tx_bh);
}

void vnet_tx_reset(VNet *d)
{
    if (d->tx_held) {
        tx_done(d, d->tx_held_q, d->tx_held); /* the driver gets the buffer back, unsent */
        if (d->driver_ok)
            mosaic_virtq_notify(mosaic_virtio_queue(d->v, d->tx_held_q));
    }
    d->tx_held = NULL;
}
