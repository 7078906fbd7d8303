/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-net (virtio 1.2 §5.1): the state shared by the device's files. */
#ifndef VNET_H
#define VNET_H

#include <glib.h>
#include <mosaic/mosaic.h>

enum {
    F_CSUM = 0, F_GUEST_CSUM = 1, F_MAC = 5, F_GUEST_TSO4 = 7, F_GUEST_TSO6 = 8,
    F_HOST_TSO4 = 11, F_HOST_TSO6 = 12, F_MRG_RXBUF = 15, F_STATUS = 16, F_CTRL_VQ = 17, F_MQ = 22,
};
#define HDR_F_NEEDS_CSUM 1
#define GSO_NONE 0
#define STATUS_LINK_UP 1
#define QUEUE_MAX 256
/* Queue pair i: receive queue 2i, transmit queue 2i + 1; the control queue comes last. */
#define RXQ(i) (2 * (i))
#define TXQ(i) (2 * (i) + 1)
#define PAIRS_MAX 8
/* Frames handled per bottom-half run: a busy guest cannot hold the main loop. */
#define TX_BUDGET 256
#define FRAME_MAX (MOSAIC_NET_HDR_LEN + MOSAIC_NET_MAX_FRAME)

typedef struct VNet {
    MosaicVirtio *v;
    MosaicNet *net;
    MosaicBH *tx_bh, *rx_bh;
    uint8_t mac[6];
    uint64_t features;        /* negotiated, valid while driver_ok */
    bool driver_ok;
    bool rx_waiting;          /* the backend holds a frame until the guest adds buffers */
    unsigned pairs;           /* queue pairs offered (`queues`) */
    unsigned active;          /* pairs the driver uses (VQ_PAIRS_SET; 1 before) */
    MosaicVirtqElem *tx_held; /* popped, refused by a full backend: sent first next time */
    unsigned tx_held_q;       /* its queue */
    MosaicBH *ctrl_bh;
    uint8_t *buf;             /* FRAME_MAX bytes: frames whose checksum the device finishes */
    uint64_t tx_dropped, rx_dropped;
    /* The chains of one frame over mergeable buffers, and what went into each. */
    MosaicVirtqElem *rx_elems[QUEUE_MAX];
    uint32_t rx_written[QUEUE_MAX];
    /* vhost.c: the rings run in a host engine (vh_* -1 / NULL when not). */
    MosaicAddressSpace *dma;
    bool vhost;
    int vh_kick[2], vh_call[2];
    MosaicFdWatch *vh_watch[2];
    uint64_t *vh_log;         /* the engine's write log: one bit per 4 KiB guest page */
    uint64_t vh_log_words;
    int vh_log_fd;
    MosaicFdWatch *vh_log_watch;
} VNet;

/* The header of a frame (MOSAIC_NET_HDR_LEN bytes, little-endian fields). */
typedef struct NetHdr {
    uint8_t flags, gso_type;
    uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
} NetHdr;
void hdr_read(NetHdr *h, const uint8_t *raw);

/* Finishes a partial checksum (NEEDS_CSUM) in the linear frame `f` of `len` bytes
 * (header first) and clears the flag; false when the header points outside the frame. */
bool csum_finish(uint8_t *f, size_t len);

void vnet_tx_bh(void *opaque);
void vnet_tx_reset(VNet *d);
bool vnet_receive(void *opaque, const struct iovec *iov, unsigned niov);
void vnet_rx_bh(void *opaque);
void vnet_ctrl_bh(void *opaque);
void vnet_vhost_start(VNet *d);
void vnet_vhost_stop(VNet *d);
void vnet_vhost_kick(VNet *d, unsigned q);
static inline unsigned ctrl_queue(const VNet *d) { return 2 * d->pairs; }

static inline bool has(const VNet *d, unsigned bit) { return d->features >> bit & 1; }

#endif
