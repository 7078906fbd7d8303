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

/* A queue's notification eventfd (notify-fd.c); fd -1: notifications exit. */
typedef struct NotifyFd {
    int fd;
    struct MosaicFdWatch *watch;
} NotifyFd;

struct MosaicVirtio {
    MosaicVirtioDeviceOps ops;
    void *opaque;
    MosaicAddressSpace *dma;
    MosaicIrq irq;
    MosaicRegion *container;
    MosaicRegion *mmio;
    uint32_t status;
    uint32_t isr;
    uint64_t driver_features;
    uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
    uint32_t config_gen;
    MosaicVirtQueue *queues;
    uint64_t base;      /* of the registers in `container` */
    NotifyFd *notify;   /* one per queue */
};

void virtio_notify_fd_on(MosaicVirtio *v, unsigned index);
void virtio_notify_fd_off(MosaicVirtio *v, unsigned index);

/* Internal element: the public one plus where its device-writable pages live. */
typedef struct VqElem {
    MosaicVirtqElem pub;
    MosaicRegion **in_region;
    uint64_t *in_offset;
} VqElem;

void virtq_reset(MosaicVirtQueue *q);
/* Marks the device broken (DEVICE_NEEDS_RESET) with a log line naming the reason. */
void virtio_set_needs_reset(MosaicVirtio *v, const char *why);
void virtio_update_irq(MosaicVirtio *v);
uint64_t virtio_device_features(const MosaicVirtio *v);

#endif
