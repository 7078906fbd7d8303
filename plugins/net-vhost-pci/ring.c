/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The data path: frames into our transmit ring, out of our receive ring. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "layout.h"

static unsigned tx_ring(const Vpci *p) { return p->accepted ? 0 : 1; }
static unsigned rx_ring(const Vpci *p) { return p->accepted ? 1 : 0; }

static uint8_t *slot(Vpci *p, unsigned ring, uint32_t index)
{
    return p->region + VPCI_HDR_SIZE + (size_t)ring * VPCI_RING_SIZE +
           (size_t)(index % VPCI_SLOTS) * VPCI_SLOT_SIZE;
}

static uint32_t load(Vpci *p, uint32_t off)
{
    return __atomic_load_n((uint32_t *)vpci_index(p, off), __ATOMIC_ACQUIRE);
}

static void store(Vpci *p, uint32_t off, uint32_t v)
{
    __atomic_store_n((uint32_t *)vpci_index(p, off), v, __ATOMIC_RELEASE);
}

/* Tells the peer there is something new (once per main-loop turn). */
static void ring_later(Vpci *p)
{
    p->ring_pending = true;
    mosaic_bh_schedule(p->bh);
}

bool vpci_send(void *state, const struct iovec *iov, unsigned niov)
{
    Vpci *p = state;
    if (p->state != VPCI_UP)
        return true; /* link down: dropped */
    size_t len = mosaic_iov_size(iov, niov);
    if (len > VPCI_SLOT_DATA)
        return true; /* larger than the MTU the rings carry */
    unsigned r = tx_ring(p);
    uint32_t used = p->tx_prod - load(p, VPCI_OFF_CONS(r));
    if (used > VPCI_SLOTS) {
        p->violations++;
        vpci_disconnect(p, "the peer's consumer index is out of range");
        return true;
    }
    if (used == VPCI_SLOTS) {
        p->tx_waiting = true;
        return false;
    }
    uint8_t *s = slot(p, r, p->tx_prod);
    uint32_t l = len;
    memcpy(s, &l, 4);
    mosaic_iov_to_buf(iov, niov, 0, s + 8, len);
    store(p, VPCI_OFF_PROD(r), ++p->tx_prod);
    ring_later(p);
    return true;
}

/* true: the held frame was taken (or there is none). */
static bool deliver_held(Vpci *p)
{
    if (!p->rx_held)
        return true;
    struct iovec iov = {.iov_base = p->frame, .iov_len = p->frame_len};
    if (!mosaic_net_receive(p->net, &iov, 1))
        return false;
    p->rx_held = false;
    return true;
}

void vpci_receive(Vpci *p)
{
    unsigned r = rx_ring(p);
    for (unsigned n = 0; p->state == VPCI_UP; n++) {
        if (!deliver_held(p))
            return; /* the device calls rx_ready when it has room */
        if (n == VPCI_BUDGET) {
            mosaic_bh_schedule(p->bh); /* more next turn: the loop has other work */
            return;
        }
        uint32_t avail = load(p, VPCI_OFF_PROD(r)) - p->rx_cons;
        if (avail > VPCI_SLOTS) {
            p->violations++;
            vpci_disconnect(p, "the peer's producer index is out of range");
            return;
        }
        if (!avail)
            return;
        const uint8_t *s = slot(p, r, p->rx_cons);
        uint32_t len;
        memcpy(&len, s, 4); /* read once: the peer may change it under us */
        if (len >= MOSAIC_NET_HDR_LEN + 14 && len <= VPCI_SLOT_DATA) {
            memcpy(p->frame, s + 8, len);
            p->frame_len = len;
            p->rx_held = true;
        } else {
            p->violations++; /* a length no frame has: dropped */
        }
        store(p, VPCI_OFF_CONS(r), ++p->rx_cons);
        ring_later(p);
    }
}

void vpci_rx_ready(void *state)
{
    Vpci *p = state;
    if (p->state == VPCI_UP)
        vpci_receive(p);
}

/* The peer rang: new frames, or room in our transmit ring. */
void vpci_bell(void *opaque, int fd, unsigned events)
{
    Vpci *p = opaque;
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN) {
        vpci_disconnect(p, "its doorbell failed");
        return;
    }
    if (p->tx_waiting) {
        p->tx_waiting = false;
        mosaic_net_tx_ready(p->net);
    }
    vpci_receive(p);
}

void vpci_bh(void *opaque)
{
    Vpci *p = opaque;
    if (p->state != VPCI_UP)
        return;
    vpci_receive(p);
    if (p->ring_pending && p->state == VPCI_UP) {
        uint64_t one = 1;
        p->ring_pending = false;
        if (write(p->bell_out, &one, sizeof one) < 0 && errno != EAGAIN)
            vpci_disconnect(p, "its doorbell cannot be rung");
    }
}
