/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio transport and queues (core/virtio/ only). */
#ifndef MOSAIC_CORE_VIRTIO_INTERNAL_H
#define MOSAIC_CORE_VIRTIO_INTERNAL_H

#include <glib.h>
#include <mosaic/mosaic.h>

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

#define VIRTIO_STATUS_ACK 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

struct MosaicVirtQueue {
    MosaicVirtio *v;
    unsigned index;
    uint16_t num;          /* size the driver chose */
    bool ready;
    bool broken;
    uint64_t desc, avail, used;
    uint16_t last_avail;   /* next avail ring slot to take */
    uint16_t used_idx;
    unsigned inflight;     /* popped, not pushed */
};

/* What differs between virtio-mmio and virtio-pci: how the driver is interrupted and
 * what the transport owns. */
typedef struct VirtioTransport {
    const char *name;
    /* Interrupt for queue `queue`, or for the config space when queue < 0 (the ISR bit
     * is already set). */
    void (*interrupt)(MosaicVirtio *v, int queue);
    void (*free)(MosaicVirtio *v);
    /* Optional: queue `index` was enabled or disabled by the driver, or reset (a
     * transport whose notifications can bypass the vCPU exit switches them here). */
    void (*queue_ready)(MosaicVirtio *v, unsigned index, bool ready);
} VirtioTransport;

/* A queue's notification eventfd (notify-fd.c); fd -1: notifications exit. */
typedef struct NotifyFd {
    int fd;
    struct MosaicFdWatch *watch;
} NotifyFd;

struct MosaicVirtio {
    MosaicVirtioDeviceOps ops;
    const VirtioTransport *t;
    void *opaque;
    MosaicAddressSpace *dma;
    MosaicIrq irq;
    MosaicRegion *container;
    MosaicRegion *mmio;        /* mmio: the register block; pci: BAR 4 */
    MosaicPciDev *pci;
    uint16_t config_vector;    /* pci: MSI-X vector of config changes */
    uint16_t *queue_vector;    /* pci: per queue */
    uint32_t status;
    /* A deferred reset (mosaic_virtio_reset_defer): the status the driver reads meanwhile. */
    gint reset_pending;
    uint32_t status_in_reset;
    uint32_t isr;
    uint64_t driver_features;
    uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
    uint32_t config_gen;
    MosaicVirtQueue *queues;
    uint64_t base;             /* mmio: of the registers in `container` */
    NotifyFd *notify;          /* one per queue */
    bool irq_fast;             /* mmio: the accelerator delivers `irq` (irqfd) */
    MosaicRegion *shm;         /* the shared memory region's container, or NULL */
    uint32_t shm_sel;          /* mmio: SHMSel */
};

/* notify-fd.c: virtio-mmio QueueNotify writes as eventfd signals, where the machine's
 * accelerator can do that. */
void virtio_notify_fd_on(MosaicVirtio *v, unsigned index);
void virtio_notify_fd_off(MosaicVirtio *v, unsigned index);

/* Internal element: the public one plus where its device-writable pages live. */
typedef struct VqElem {
    MosaicVirtqElem pub;
    MosaicRegion **in_region;
    uint64_t *in_offset;
} VqElem;

void virtq_reset(MosaicVirtQueue *q);

/* ---- transport.c: what every transport shares ---- */
/* Marks the device broken (DEVICE_NEEDS_RESET) with a log line naming the reason. */
void virtio_set_needs_reset(MosaicVirtio *v, const char *why);
uint64_t virtio_device_features(const MosaicVirtio *v);
/* A new device with its queues, the ops checked (config at most max_config bytes). */
MosaicVirtio *virtio_alloc(const char *transport, const MosaicBusSlot *slot,
                           const MosaicVirtioDeviceOps *ops, void *opaque, uint32_t max_config,
                           MosaicError *err);
void virtio_free_common(MosaicVirtio *v);
/* The shared memory region's container (v->shm) when the device asks for one: false
 * with err for a size that is not a power of two of at least 4 KiB. */
bool virtio_shm_new(MosaicVirtio *v, MosaicError *err);
void virtio_reset(MosaicVirtio *v);
void virtio_write_status(MosaicVirtio *v, uint32_t val);
uint32_t virtio_read_status(const MosaicVirtio *v);
/* Driver features: 32 bits at a time, `sel` 0 or 1; ignored after FEATURES_OK. */
void virtio_write_driver_features(MosaicVirtio *v, uint32_t sel, uint32_t val);
uint32_t virtio_read_device_features(const MosaicVirtio *v, uint32_t sel);
uint64_t virtio_config_read(MosaicVirtio *v, uint64_t off, unsigned size);
void virtio_config_write(MosaicVirtio *v, uint64_t off, uint64_t val, unsigned size);
MosaicVirtQueue *virtio_cur_queue(MosaicVirtio *v);
/* Queue size from the driver: a power of two no larger than offered, while not ready. */
void virtio_queue_set_num(MosaicVirtio *v, MosaicVirtQueue *q, uint32_t val);
void virtio_queue_set_ready(MosaicVirtio *v, MosaicVirtQueue *q, bool ready);
/* The driver notified queue `index`. */
void virtio_queue_kick(MosaicVirtio *v, uint32_t index);
/* Sets the ISR bit (1 queue, 2 config) and interrupts through the transport. */
void virtio_interrupt(MosaicVirtio *v, int queue);
void virtio_set_u64_half(uint64_t *field, bool high, uint32_t val);

/* ---- mmio.c, pci.c ---- */
MosaicVirtio *virtio_pci_new(const MosaicBusSlot *slot, const MosaicVirtioDeviceOps *ops,
                             void *opaque, MosaicError *err);

#endif
