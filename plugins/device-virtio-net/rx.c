/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Receive: frames from the backend go into buffers the guest posted on the receive
 * queue: one buffer chain per frame, or, with mergeable buffers (MRG_RXBUF), as many
 * chains as the frame needs, published together (the header's num_buffers says how
 * many), so a driver can post page-sized buffers and still take 64 KiB GSO frames. */
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

/* Copies the frame (`src`, `len` bytes) into the writable buffers of e[0..n), in order;
 * written[k] gets what went into e[k]. */
static void fill(MosaicVirtqElem **e, uint32_t *written, unsigned n, const struct iovec *src,
                 unsigned nsrc, size_t len)
{
    size_t at = 0;
    for (unsigned k = 0; k < n; k++) {
        written[k] = 0;
        for (unsigned i = 0; i < e[k]->in_num && at < len; i++) {
            size_t take = MIN(e[k]->in[i].iov_len, len - at);
            mosaic_iov_to_buf(src, nsrc, at, e[k]->in[i].iov_base, take);
            at += take;
            written[k] += take;
        }
    }
}

/* One buffer chain for the whole frame (MRG_RXBUF not negotiated). */
static bool rx_single(VNet *d, MosaicVirtQueue *q, const struct iovec *src, unsigned nsrc,
                      size_t len)
{
    MosaicVirtqElem *e = mosaic_virtq_pop(q);
    if (!e) {
        d->rx_waiting = true;
        return false;
    }
    uint32_t written = 0;
    if (e->in_len < len)
        d->rx_dropped++; /* larger than the buffers the driver posts for this setup */
    else
        fill(&e, &written, 1, src, nsrc, len);
    if (written) {
        static const uint8_t one_buffer[2] = {1, 0};
        mosaic_iov_from_buf(e->in, e->in_num, 10, one_buffer, 2); /* num_buffers */
    }
    mosaic_virtq_push(q, e, written);
    mosaic_virtq_notify(q);
    return true;
}

/* As many chains as the frame needs (MRG_RXBUF).  Not enough posted yet: all are given
 * back and the backend waits; not even the whole ring is enough, or a chain the driver
 * cannot have meant (no writable byte, room for no header, device-readable parts):
 * the frame is dropped and the chains go back empty. */
static bool rx_mergeable(VNet *d, MosaicVirtQueue *q, const struct iovec *src, unsigned nsrc,
                         size_t len)
{
    MosaicVirtqElem **e = d->rx_elems;
    unsigned n = 0;
    size_t room = 0;
    bool bad = false;
    while (room < len && !bad) {
        MosaicVirtqElem *x = n < QUEUE_MAX ? mosaic_virtq_pop(q) : NULL;
        if (!x) {
            bool never = n >= QUEUE_MAX || (n && n >= mosaic_virtq_size(q));
            if (never)
                break;
            while (n)
                mosaic_virtq_unpop(q, e[--n]);
            d->rx_waiting = true;
            return false;
        }
        bad = !x->in_len || x->out_num || (!n && x->in_len < MOSAIC_NET_HDR_LEN);
        e[n++] = x;
        room += x->in_len;
    }
    if (room < len || bad) {
        d->rx_dropped++;
        memset(d->rx_written, 0, n * sizeof *d->rx_written);
    } else {
        fill(e, d->rx_written, n, src, nsrc, len);
        uint8_t nb[2] = {n & 0xff, n >> 8};
        mosaic_iov_from_buf(e[0]->in, e[0]->in_num, 10, nb, 2); /* num_buffers */
    }
    mosaic_virtq_push_many(q, e, d->rx_written, n);
    mosaic_virtq_notify(q);
    return true;
}

bool vnet_receive(void *opaque, const struct iovec *iov, unsigned niov)
{
    VNet *d = opaque;
    if (!d->driver_ok || d->vhost || !mosaic_net_link_up(d->net))
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
    const struct iovec *src = iov;
    unsigned nsrc = niov;
    struct iovec one;
    if ((h.flags & HDR_F_NEEDS_CSUM) && !has(d, F_GUEST_CSUM)) {
        /* The guest cannot take a partial checksum: finished in a copy (before any
         * buffer is taken, so a frame that waits is finished again, the same way). */
        mosaic_iov_to_buf(iov, niov, 0, d->buf, len);
        if (!csum_finish(d->buf, len)) {
            d->rx_dropped++;
            return true;
        }
        one = (struct iovec){.iov_base = d->buf, .iov_len = len};
        src = &one;
        nsrc = 1;
    }
    MosaicVirtQueue *q = mosaic_virtio_queue(d->v, RXQ(rx_pick(d, iov, niov)));
    return has(d, F_MRG_RXBUF) ? rx_mergeable(d, q, src, nsrc, len) : rx_single(d, q, src, nsrc, len);
}

/* The guest posted receive buffers: a backend holding a frame may deliver again. */
void vnet_rx_bh(void *opaque)
{
    VNet *d = opaque;
    if (d->rx_waiting && !d->vhost) {
        d->rx_waiting = false;
        mosaic_net_rx_ready(d->net);
    }
}
