/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Networking: host backends (plugins of kind net) and the network devices that use them.
 *
 * A machine file names a backend in a [netdev LABEL] section, `type` selecting the net
 * plugin (user, socket, tap, vhost-pci ...), and a device refers to it by label:
 *
 *     [netdev n0]
 *     type = user
 *     [device eth0]
 *     type = virtio-net
 *     netdev = n0
 *
 * The core joins exactly one frontend (the device) to one backend per [netdev] and
 * keeps nothing else: no queue, no copy.  Everything runs on the main loop thread with
 * the core lock held.
 *
 * Frames.  Every frame that crosses this interface, in both directions, is one iovec
 * list that starts with a struct virtio_net_hdr_v1 (MOSAIC_NET_HDR_LEN bytes,
 * little-endian, virtio 1.2 §5.1.6) followed by the Ethernet frame (destination MAC
 * first, no FCS).  A backend that carries no offloads (`offloads` 0) receives headers
 * whose flags and gso_type are 0 and gives headers that are all zero; frames larger
 * than MOSAIC_NET_MAX_FRAME are never passed.
 *
 * Offloads.  A backend declares in MosaicNetBackendOps.offloads the header features it
 * can carry to wherever the frame goes (a TAP device with IFF_VNET_HDR, another virtio
 * guest).  A frontend gives it only frames that use those; it finishes anything else
 * itself (e.g. computes a partial checksum).  Frames a backend delivers may use the
 * same offloads; the frontend finishes them if its guest cannot take them, except
 * segmentation: a frontend tells the backend which offloads its guest takes on receive
 * (mosaic_net_set_rx_offloads, 0 until a driver runs) and a backend with a
 * set_rx_offloads op delivers no GSO frame beyond those.
 *
 * Flow control.  send() returns false when the backend cannot take the frame now (a
 * full ring): the frontend keeps it and tries again after the backend calls
 * mosaic_net_tx_ready().  mosaic_net_receive() returns false when the frontend has no
 * buffer for the frame: the backend keeps it (or stops reading its source) until the
 * frontend calls mosaic_net_rx_ready().  A frontend whose guest is not ready to
 * receive drops frames (returns true), so nothing stale reaches a driver later.
 *
 * Writing a backend out of tree: define MosaicNetBackendOps with .size, .open, .close,
 * .send (mandatory; the loader refuses the plugin without them), declare the keys of
 * your [netdev] section in the descriptor's props (`type` is the core's), and export
 *
 *     MOSAIC_PLUGIN(.kind = MOSAIC_KIND_NET, .kind_abi = MOSAIC_NET_ABI,
 *                   .name = "mynet", ..., .props = my_props, .ops = &my_ops);
 *
 * as mosaic-net-mynet.so.  Whatever reaches a backend from outside (a socket, shared
 * memory, a TAP device) is untrusted: check lengths before calling mosaic_net_receive.
 *
 * Changelog
 *   1.1  first version (ABI 1.1; MOSAIC_NET_ABI 1), with set_rx_offloads and the
 *        vhost ops (a backend that runs the device's rings in the host kernel).
 */
#ifndef MOSAIC_NET_H
#define MOSAIC_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <mosaic/plugin.h>
#include <mosaic/props.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MosaicMachine MosaicMachine;
/* One [netdev LABEL] in use: joins one frontend and one backend. */
typedef struct MosaicNet MosaicNet;

/* struct virtio_net_hdr_v1: flags, gso_type, hdr_len, gso_size, csum_start,
 * csum_offset, num_buffers (num_buffers is the frontend's business). */
#define MOSAIC_NET_HDR_LEN 12
/* Largest Ethernet frame (without the header) passed either way: a 64 KiB GSO frame
 * with its link-layer header. */
#define MOSAIC_NET_MAX_FRAME (65535 + 14)

/* Offloads (MosaicNetBackendOps.offloads). */
enum {
    MOSAIC_NET_OFFLOAD_CSUM = 1u << 0, /* VIRTIO_NET_HDR_F_NEEDS_CSUM: partial checksums */
    MOSAIC_NET_OFFLOAD_TSO4 = 1u << 1, /* VIRTIO_NET_HDR_GSO_TCPV4 (needs CSUM) */
    MOSAIC_NET_OFFLOAD_TSO6 = 1u << 2, /* VIRTIO_NET_HDR_GSO_TCPV6 (needs CSUM) */
};

/* ---- Backends ---- */

/* A guest RAM range for a host engine: guest physical [gpa, gpa + size) is host
 * memory at `host`. */
typedef struct MosaicNetVhostMem {
    uint64_t gpa, size;
    void *host;
} MosaicNetVhostMem;

/* One queue for a host engine: ring addresses as host pointers into guest RAM, the
 * avail index to start from, and eventfds: `kick` is signalled when the driver
 * notifies the queue, the engine signals `call` when the driver is to be interrupted. */
typedef struct MosaicNetVhostQueue {
    uint16_t num, last_avail;
    void *desc, *avail, *used;
    uint64_t used_gpa; /* the used ring's guest address (its writes are logged there) */
    int kick, call;
} MosaicNetVhostQueue;

/* What a frontend hands a backend's vhost_start: the virtio features the driver
 * negotiated, the guest's RAM, its receive and transmit queue (one pair) and a write
 * log: the engine sets bit (gpa / 4096) of `log` (log_size bytes, 64-bit words) for
 * every guest page it writes and signals `log_fd`; the frontend passes those pages on
 * as dirty (mosaic_ram_set_dirty), so a CPU emulator that caches translated code, or
 * a backup, sees what the engine wrote. */
typedef struct MosaicNetVhost {
    uint32_t struct_size; /* sizeof(MosaicNetVhost) */
    uint64_t features;
    unsigned nmem;
    const MosaicNetVhostMem *mem;
    MosaicNetVhostQueue rx, tx;
    uint64_t *log;
    uint64_t log_size;
    int log_fd;
} MosaicNetVhost;

typedef struct MosaicNetBackendOps {
    uint32_t size; /* sizeof(MosaicNetBackendOps) */
    /* Offloads this backend carries (MOSAIC_NET_OFFLOAD_*). */
    uint32_t offloads;
    /* Opens the backend of one [netdev] section when a frontend attaches to it.  Keep
     * `net` to deliver frames and link changes; do not deliver before returning.
     * Returns the backend's state, or NULL + err. */
    void *(*open)(MosaicNet *net, const MosaicProps *props, MosaicError *err);
    /* The frontend is gone: release everything; no call on `net` after this. */
    void (*close)(void *state);
    /* One frame from the guest (see "Frames").  true: taken (sent, or dropped for a
     * reason of the backend's); false: not now, call mosaic_net_tx_ready() later. */
    bool (*send)(void *state, const struct iovec *iov, unsigned niov);
    /* Optional: the frontend has room again after mosaic_net_receive() returned false. */
    void (*rx_ready)(void *state);
    /* Optional: the offloads (MOSAIC_NET_OFFLOAD_*) the frontend takes in frames it
     * receives from now on; 0 at open.  Without this op, a backend delivers frames with
     * offloads its frontend may have to drop (GSO). */
    void (*set_rx_offloads)(void *state, uint32_t offloads);
    /* Optional: runs the frontend's rings in a host engine (vhost-net) instead of
     * frames through send/receive.  true: started (send/receive are not called until
     * vhost_stop); false: not possible now (a message says why once), the frontend
     * keeps moving frames itself.  See MosaicNetVhost. */
    bool (*vhost_start)(void *state, const struct MosaicNetVhost *vh);
    /* Stops the engine; the rings are the frontend's again (it resets them next). */
    void (*vhost_stop)(void *state);
} MosaicNetBackendOps;

/* Delivers one frame to the frontend (see "Frames").  false: no room now, the backend
 * keeps it and waits for its rx_ready op.  Frames longer than MOSAIC_NET_HDR_LEN +
 * MOSAIC_NET_MAX_FRAME or shorter than the header are dropped (true). */
MOSAIC_API bool mosaic_net_receive(MosaicNet *net, const struct iovec *iov, unsigned niov);
/* The backend can take frames again after send() returned false. */
MOSAIC_API void mosaic_net_tx_ready(MosaicNet *net);
/* The link (a peer connected, a TAP device up): the frontend tells its guest. */
MOSAIC_API void mosaic_net_set_link(MosaicNet *net, bool up);
MOSAIC_API const char *mosaic_net_label(const MosaicNet *net);

/* ---- Frontends (network devices) ---- */

typedef struct MosaicNetFrontendOps {
    uint32_t size; /* sizeof(MosaicNetFrontendOps) */
    /* A frame from the backend; false: no buffer now (call mosaic_net_rx_ready later). */
    bool (*receive)(void *opaque, const struct iovec *iov, unsigned niov);
    /* Optional: the backend takes frames again (after send returned false). */
    void (*tx_ready)(void *opaque);
    /* Optional: the link went up or down. */
    void (*link_changed)(void *opaque, bool up);
} MosaicNetFrontendOps;

/* Attaches to [netdev LABEL] of the machine: loads its plugin (deployment policy
 * applies) and opens the backend.  One frontend per netdev.  The link starts up unless
 * the backend says otherwise during open.  NULL + err on failure. */
MOSAIC_API MosaicNet *mosaic_net_attach(MosaicMachine *m, const char *label,
                                        const MosaicNetFrontendOps *fe, void *opaque,
                                        MosaicError *err);
/* Closes the backend; no frontend call after this. */
MOSAIC_API void mosaic_net_detach(MosaicNet *net);
/* See "Flow control"; false: keep the frame, wait for the tx_ready callback. */
MOSAIC_API bool mosaic_net_send(MosaicNet *net, const struct iovec *iov, unsigned niov);
/* The frontend has buffers again after refusing a frame. */
MOSAIC_API void mosaic_net_rx_ready(MosaicNet *net);
MOSAIC_API uint32_t mosaic_net_offloads(const MosaicNet *net);
/* The offloads the frontend's guest takes on receive now (see "Offloads"). */
MOSAIC_API void mosaic_net_set_rx_offloads(MosaicNet *net, uint32_t offloads);
/* Hands the rings to the backend's host engine, when it has one: true when it runs
 * them now.  mosaic_net_vhost_stop gives them back (no-op when not started). */
MOSAIC_API bool mosaic_net_vhost_start(MosaicNet *net, const MosaicNetVhost *vh);
MOSAIC_API void mosaic_net_vhost_stop(MosaicNet *net);
/* Whether the backend can have a host engine at all (it has the vhost ops). */
MOSAIC_API bool mosaic_net_has_vhost(const MosaicNet *net);
MOSAIC_API bool mosaic_net_link_up(const MosaicNet *net);

#ifdef __cplusplus
}
#endif
#endif
