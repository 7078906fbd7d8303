/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio for device plugins: the core's checked split virtqueues and the virtio-mmio
 * transport (virtio 1.2, "modern" version 2 registers).
 *
 * A device describes itself with MosaicVirtioDeviceOps and gets a transport on the bus
 * slot its realize() received.  The driver's queue notify arrives as an MMIO write on
 * a vCPU thread with the core lock held: queue_notify() should only schedule work (a
 * bottom half) and return.  The device pops elements, does the work, pushes them back
 * and calls mosaic_virtq_notify(), all on the main loop thread.
 *
 * Every value the guest controls is checked by the core: descriptor indexes, chain
 * length (at most the queue size: no loops), flags, lengths, and every buffer address
 * (it must lie in guest RAM, never in MMIO or outside memory).  A malformed ring puts
 * the device into DEVICE_NEEDS_RESET and stops the queue; it never crashes the emulator.
 *
 * Changelog
 *   1.0  first version.
 *   1.1  mosaic_virtio_new (virtio-mmio or virtio-pci, by the slot); mosaic_virtq_size,
 *        mosaic_virtq_unpop and mosaic_virtq_push_many (a frame over several receive
 *        buffers, virtio-net's mergeable buffers); MosaicVirtqRing and mosaic_virtq_ring
 *        (a device that hands its rings to a host engine: vhost-net); a shared
 *        memory region (MosaicVirtioDeviceOps.shm_id/shm_size/shm_base,
 *        mosaic_virtio_shm) on both transports.
 */
#ifndef MOSAIC_VIRTIO_H
#define MOSAIC_VIRTIO_H

#include <sys/uio.h>
#include <mosaic/plugin.h>
#include <mosaic/device.h>
#include <mosaic/iov.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MOSAIC_VIRTIO_F_VERSION_1 32 /* feature bit numbers, as in the spec */

typedef struct MosaicVirtio MosaicVirtio;       /* one device's transport */
typedef struct MosaicVirtQueue MosaicVirtQueue;

/* One popped descriptor chain.  out: device-readable buffers, in: device-writable.
 * The iovecs point into guest RAM (host addresses), already checked. */
typedef struct MosaicVirtqElem {
    uint16_t head;
    unsigned out_num, in_num;
    struct iovec *out;
    struct iovec *in;
    uint64_t out_len, in_len; /* totals */
} MosaicVirtqElem;

typedef struct MosaicVirtioDeviceOps {
    uint32_t size;            /* sizeof(MosaicVirtioDeviceOps) */
    uint32_t device_id;       /* 2: block, 25: sound, 16: gpu ... */
    uint64_t features;        /* device feature bits (the transport adds VERSION_1) */
    uint32_t num_queues;
    uint16_t queue_max;       /* largest queue size offered (power of two) */
    uint32_t config_size;     /* bytes of device config space */
    /* The device config space (little-endian fields); `buf` has config_size bytes. */
    void (*config_read)(void *opaque, uint8_t *buf);
    /* Optional: the driver wrote config bytes [offset, offset + len). */
    void (*config_write)(void *opaque, uint32_t offset, const uint8_t *data, uint32_t len);
    /* vCPU thread, core lock held: schedule work, do not block. */
    void (*queue_notify)(void *opaque, unsigned queue);
    /* Device reset by the driver (status 0) or the system; drop in-flight state. */
    void (*reset)(void *opaque);
    /* Optional: the driver set DRIVER_OK with these negotiated features. */
    void (*driver_ok)(void *opaque, uint64_t features);
    /* Since 1.1, optional: one shared memory region (virtio 1.2 §2.10) of shm_size
     * bytes (a power of two of at least 4 KiB; 0: none) with id shm_id, which the
     * device fills at run time (mosaic_virtio_shm).  virtio-pci puts it in a 64-bit
     * prefetchable BAR 2 described by a VIRTIO_PCI_CAP_SHARED_MEMORY_CFG capability;
     * virtio-mmio at guest-physical shm_base (SHMSel/SHMLen/SHMBase; a size without a
     * base is refused there: the board has no window for it). */
    uint8_t shm_id;
    uint64_t shm_size;
    uint64_t shm_base;
} MosaicVirtioDeviceOps;

/* Since 1.1: the device on whichever transport its slot is: virtio-pci (modern, MSI-X
 * or INTx) for a "pci" slot, virtio-mmio otherwise.  A device plugin that lists both
 * buses (.bus = "virtio-mmio|pci") sits where the machine file puts it. */
MOSAIC_API MosaicVirtio *mosaic_virtio_new(const MosaicBusSlot *slot,
                                           const MosaicVirtioDeviceOps *ops, void *opaque,
                                           MosaicError *err);
/* A virtio-mmio transport on `slot` (its base, irq, dma address space, container). */
MOSAIC_API MosaicVirtio *mosaic_virtio_mmio_new(const MosaicBusSlot *slot,
                                                const MosaicVirtioDeviceOps *ops, void *opaque,
                                                MosaicError *err);
MOSAIC_API void mosaic_virtio_free(MosaicVirtio *v);
/* Since 1.1: the container of the device's shared memory region (offsets from its
 * start), where it adds and removes regions while the machine runs; NULL when the
 * transport has none.  Borrowed: it lives as long as the transport. */
MOSAIC_API MosaicRegion *mosaic_virtio_shm(MosaicVirtio *v);
MOSAIC_API uint64_t mosaic_virtio_features(const MosaicVirtio *v); /* negotiated */
MOSAIC_API MosaicVirtQueue *mosaic_virtio_queue(MosaicVirtio *v, unsigned index);
/* The config space changed (raises the config interrupt). */
MOSAIC_API void mosaic_virtio_config_changed(MosaicVirtio *v);
/* Since 1.1: called from the reset op, the reset finishes later (work that must run on
 * the main loop): until mosaic_virtio_reset_done(), device_status keeps reading non-zero,
 * so a driver waits as the virtio spec (2.1.2) requires before it starts again. */
MOSAIC_API void mosaic_virtio_reset_defer(MosaicVirtio *v);
MOSAIC_API void mosaic_virtio_reset_done(MosaicVirtio *v);

/* Next available chain, or NULL (none, queue not ready, or the ring is malformed: the
 * device then needs a reset).  Free the element with mosaic_virtq_push(). */
MOSAIC_API MosaicVirtqElem *mosaic_virtq_pop(MosaicVirtQueue *q);
/* Returns the chain to the driver with `written` bytes written into its in buffers,
 * marking those pages dirty, and frees elem. */
MOSAIC_API void mosaic_virtq_push(MosaicVirtQueue *q, MosaicVirtqElem *elem, uint32_t written);
/* Since 1.1: returns `n` chains at once: every used entry is written before the used
 * index moves, so the driver never sees part of them (a frame over several buffers). */
MOSAIC_API void mosaic_virtq_push_many(MosaicVirtQueue *q, MosaicVirtqElem *const *elems,
                                       const uint32_t *written, unsigned n);
/* Since 1.1: gives back the chain popped last, unused: the next pop returns it again.
 * Give several back in the reverse order of their pops.  Frees elem. */
MOSAIC_API void mosaic_virtq_unpop(MosaicVirtQueue *q, MosaicVirtqElem *elem);
/* Since 1.1: the queue size the driver chose (0 while the queue is not ready): no more
 * chains than this can ever be available at once. */
MOSAIC_API unsigned mosaic_virtq_size(const MosaicVirtQueue *q);
/* Since 1.1: where a ready queue lives, for a device that lets a host engine (vhost)
 * run it: guest addresses in the device's DMA address space, and the indexes where the
 * core stands.  The core writes at most struct_size bytes (set it to the size). */
typedef struct MosaicVirtqRing {
    uint32_t struct_size;   /* sizeof(MosaicVirtqRing), set by the caller */
    uint16_t num;           /* queue size */
    uint16_t last_avail;    /* next avail ring slot the device takes */
    uint16_t used_idx;      /* next used ring slot the device fills */
    uint64_t desc, avail, used;
} MosaicVirtqRing;
/* Since 1.1: false when the queue is not ready (or broken). */
MOSAIC_API bool mosaic_virtq_ring(const MosaicVirtQueue *q, MosaicVirtqRing *out);
/* Interrupts the driver if it wants to be interrupted (after one or more pushes). */
MOSAIC_API void mosaic_virtq_notify(MosaicVirtQueue *q);

/* Copying between an element's buffers and linear memory: mosaic/iov.h. */

#ifdef __cplusplus
}
#endif
#endif
