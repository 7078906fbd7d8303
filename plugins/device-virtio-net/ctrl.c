/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control queue (only with multiqueue): the driver sets how many queue pairs it
 * uses.  Other command classes need features the device does not offer (CTRL_RX,
 * CTRL_MAC_ADDR, CTRL_VLAN, GUEST_ANNOUNCE) and are answered with an error. */
#include <string.h>
#include "vnet.h"

enum { CTRL_OK = 0, CTRL_ERR = 1, CLASS_MQ = 4, MQ_VQ_PAIRS_SET = 0 };

static uint8_t command(VNet *d, const MosaicVirtqElem *e)
{
    uint8_t hdr[2];
    if (mosaic_iov_to_buf(e->out, e->out_num, 0, hdr, 2) < 2)
        return CTRL_ERR;
    if (hdr[0] == CLASS_MQ && hdr[1] == MQ_VQ_PAIRS_SET && e->out_len == 4) {
        uint8_t v[2];
        mosaic_iov_to_buf(e->out, e->out_num, 2, v, 2);
        unsigned pairs = v[0] | v[1] << 8;
        if (pairs < 1 || pairs > d->pairs)
            return CTRL_ERR;
        d->active = pairs;
        mosaic_log("virtio-net", 2, "the driver uses %u queue pairs", pairs);
        mosaic_bh_schedule(d->tx_bh);
        return CTRL_OK;
    }
    return CTRL_ERR;
}

void vnet_ctrl_bh(void *opaque)
{
    VNet *d = opaque;
    MosaicVirtQueue *q = mosaic_virtio_queue(d->v, ctrl_queue(d));
    MosaicVirtqElem *e;
    unsigned n = 0;
    while (d->driver_ok && n < 64 && (e = mosaic_virtq_pop(q))) {
        uint8_t ack = command(d, e);
        uint32_t written = 0;
        if (e->in_len >= 1) {
            /* the ack is the last byte the driver made writable */
            written = mosaic_iov_from_buf(e->in, e->in_num, e->in_len - 1, &ack, 1) ? 1 : 0;
        }
        mosaic_virtq_push(q, e, written);
        n++;
    }
    if (n)
        mosaic_virtq_notify(q);
    if (n == 64)
        mosaic_bh_schedule(d->ctrl_bh);
}
