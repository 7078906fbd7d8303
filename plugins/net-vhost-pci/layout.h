/* SPDX-License-Identifier: GPL-2.0-or-later */
/* net-vhost-pci: the shared region two machines pass frames through, and the state of
 * one end.  The region (a sealed memfd the accepting side creates and sends over the
 * UNIX socket with SCM_RIGHTS, with two eventfd doorbells) holds two rings of fixed-size
 * slots: ring 0 carries frames from the accepting side to the connecting side, ring 1
 * the other way.  Each side writes only its producer index of one ring and its
 * consumer index of the other; it keeps its own copies and never reads back what it
 * wrote, so whatever the peer scribbles in the region can only cost its own frames:
 * an index out of range ends the connection, a bad length drops the frame, and every
 * frame is copied out of the region before anything looks at it. */
#ifndef VPCI_LAYOUT_H
#define VPCI_LAYOUT_H

#include <stdint.h>
#include <glib.h>
#include <mosaic/mosaic.h>
#include <mosaic/socket.h>

#define VPCI_MAGIC 0x4350564du /* "MVPC" */
#define VPCI_VERSION 1
#define VPCI_SLOTS 256u        /* per ring, a power of two */
#define VPCI_SLOT_SIZE 2048u   /* u32 length, u32 reserved, then header and frame */
#define VPCI_SLOT_DATA (VPCI_SLOT_SIZE - 8)
#define VPCI_HDR_SIZE 4096u
#define VPCI_RING_SIZE (VPCI_SLOTS * VPCI_SLOT_SIZE)
#define VPCI_REGION_SIZE (VPCI_HDR_SIZE + 2 * VPCI_RING_SIZE)
/* Offsets of the four indexes in the header page, one cache line each. */
#define VPCI_OFF_PROD(ring) (64u + (ring) * 128u)
#define VPCI_OFF_CONS(ring) (128u + (ring) * 128u)
#define VPCI_BUDGET 256        /* frames per main-loop turn */

/* The first message on the socket, from the accepting side, with three descriptors:
 * the region, the accepting side's doorbell, the connecting side's doorbell.  The
 * connecting side answers with VPCI_MAGIC (4 bytes) once it has mapped the region: only
 * then does the accepting side bring its link up, so a connection that closes at once
 * (another server probing whether the path is in use) never flaps the guest's link. */
typedef struct VpciHello {
    uint32_t magic, version, slots, slot_size;
    uint64_t region_size;
} VpciHello;

typedef enum VpciState {
    VPCI_IDLE,       /* no peer-socket yet (monitor) */
    VPCI_SEARCHING,  /* connecting, or listening for the peer */
    VPCI_HELLO,      /* connected: waiting for the region, or (accepting) for its ack */
    VPCI_UP,         /* rings mapped: link up */
} VpciState;

typedef struct Vpci {
    MosaicNet *net;
    char *label;
    char *path;                /* peer-socket */
    VpciState state;
    int listen_fd;             /* -1: not listening */
    MosaicSocketFile listen_file;
    MosaicFdWatch *listen_watch;
    int conn_fd;               /* -1: no connection */
    MosaicFdWatch *conn_watch;
    MosaicTimer *retry;
    bool accepted;             /* this side accepted (ring 0 is its transmit ring) */

    /* VPCI_UP */
    uint8_t *region;
    int bell_in, bell_out;     /* eventfds: ours to wait on, the peer's to ring */
    MosaicFdWatch *bell_watch;
    uint32_t tx_prod, rx_cons; /* our own copies: never read back from the region */
    bool tx_waiting;           /* the device has a frame for a full ring */
    bool ring_pending;         /* the peer should be told about new work */
    MosaicBH *bh;              /* rings the bell; continues receiving past the budget */
    bool rx_held;              /* frame holds a frame the device had no room for */
    size_t frame_len;
    uint8_t frame[VPCI_SLOT_DATA];
    uint64_t violations;       /* protocol errors the peer made */
} Vpci;

/* chan.c: finding the peer, the hello, teardown. */
void vpci_search(Vpci *p);
void vpci_disconnect(Vpci *p, const char *why);
void vpci_stop(Vpci *p);
/* ring.c */
bool vpci_send(void *state, const struct iovec *iov, unsigned niov);
void vpci_rx_ready(void *state);
void vpci_bell(void *opaque, int fd, unsigned events);
void vpci_bh(void *opaque);
void vpci_receive(Vpci *p);

static inline volatile uint32_t *vpci_index(Vpci *p, uint32_t off)
{
    return (volatile uint32_t *)(p->region + off);
}

#endif
