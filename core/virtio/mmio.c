/* virtio-mmio transport, version 2 (virtio 1.2 §4.2.2). */
#include <string.h>

#include "virtio/virtio-internal.h"

#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x4d534943u /* "MSIC" */
#define VIRTIO_MMIO_SIZE 0x200

enum {
    R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_VENDOR_ID = 0x00c,
    R_DEV_FEATURES = 0x010, R_DEV_FEATURES_SEL = 0x014, R_DRV_FEATURES = 0x020,
    R_DRV_FEATURES_SEL = 0x024, R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034,
    R_QUEUE_NUM = 0x038, R_QUEUE_READY = 0x044, R_QUEUE_NOTIFY = 0x050,
    R_INT_STATUS = 0x060, R_INT_ACK = 0x064, R_STATUS = 0x070,
    R_QUEUE_DESC_LO = 0x080, R_QUEUE_DESC_HI = 0x084, R_QUEUE_AVAIL_LO = 0x090,
    R_QUEUE_AVAIL_HI = 0x094, R_QUEUE_USED_LO = 0x0a0, R_QUEUE_USED_HI = 0x0a4,
    R_SHM_SEL = 0x0ac, R_SHM_LEN_LO = 0x0b0, R_SHM_LEN_HI = 0x0b4, R_SHM_BASE_LO = 0x0b8,
    R_SHM_BASE_HI = 0x0bc, R_CONFIG_GEN = 0x0fc, R_CONFIG = 0x100,
};

uint64_t virtio_device_features(const MosaicVirtio *v)
{
    return v->ops.features | (1ULL << MOSAIC_VIRTIO_F_VERSION_1);
}

void virtio_update_irq(MosaicVirtio *v)
{
    mosaic_irq_set(&v->irq, v->isr != 0);
}

void virtio_set_needs_reset(MosaicVirtio *v, const char *why)
{
    if (!(v->status & VIRTIO_STATUS_NEEDS_RESET))
        mosaic_log("virtio", 1, "virtio device %u: %s: device needs reset", v->ops.device_id, why);
    v->status |= VIRTIO_STATUS_NEEDS_RESET;
    if (v->status & VIRTIO_STATUS_DRIVER_OK) {
        v->isr |= 2; /* configuration change interrupt tells the driver */
        virtio_update_irq(v);
    }
}

static void device_reset(MosaicVirtio *v)
{
    if (v->ops.reset)
        v->ops.reset(v->opaque);
    v->status = 0;
    v->isr = 0;
    v->driver_features = 0;
    v->dev_feat_sel = v->drv_feat_sel = v->queue_sel = 0;
    for (unsigned i = 0; i < v->ops.num_queues; i++) {
        virtio_notify_fd_off(v, i);
        virtq_reset(&v->queues[i]);
    }
    virtio_update_irq(v);
}

static MosaicVirtQueue *cur_queue(MosaicVirtio *v)
{
    return v->queue_sel < v->ops.num_queues ? &v->queues[v->queue_sel] : NULL;
}

static uint64_t config_read(MosaicVirtio *v, uint64_t off, unsigned size)
{
    uint8_t *buf = g_malloc0(v->ops.config_size + 8);
    if (v->ops.config_read)
        v->ops.config_read(v->opaque, buf);
    uint64_t val = 0;
    if (off + size <= v->ops.config_size)
        memcpy(&val, buf + off, size); /* little-endian host assumed (x86-64, arm64) */
    g_free(buf);
    return val;
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    MosaicVirtio *v = opaque;
    if (off >= R_CONFIG)
        return config_read(v, off - R_CONFIG, size);
    if (size != 4)
        return 0;
    MosaicVirtQueue *q = cur_queue(v);
    uint64_t feat = virtio_device_features(v);
    switch (off) {
    case R_MAGIC: return VIRTIO_MMIO_MAGIC;
    case R_VERSION: return 2;
    case R_DEVICE_ID: return v->ops.device_id;
    case R_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
    case R_DEV_FEATURES:
        return v->dev_feat_sel == 0 ? (uint32_t)feat : v->dev_feat_sel == 1 ? feat >> 32 : 0;
    case R_QUEUE_NUM_MAX: return q ? v->ops.queue_max : 0;
    case R_QUEUE_READY: return q ? q->ready : 0;
    case R_INT_STATUS: return v->isr;
    case R_STATUS: return v->status;
    case R_QUEUE_DESC_LO: return q ? (uint32_t)q->desc : 0;
    case R_QUEUE_DESC_HI: return q ? q->desc >> 32 : 0;
    case R_QUEUE_AVAIL_LO: return q ? (uint32_t)q->avail : 0;
    case R_QUEUE_AVAIL_HI: return q ? q->avail >> 32 : 0;
    case R_QUEUE_USED_LO: return q ? (uint32_t)q->used : 0;
    case R_QUEUE_USED_HI: return q ? q->used >> 32 : 0;
    case R_SHM_LEN_LO: case R_SHM_LEN_HI: return 0xffffffffu; /* no shared memory */
    case R_SHM_BASE_LO: case R_SHM_BASE_HI: return 0xffffffffu;
    case R_CONFIG_GEN: return v->config_gen;
    default: return 0;
    }
}

static void set_u64_half(uint64_t *field, bool high, uint32_t val)
{
    *field = high ? (*field & 0xffffffffULL) | ((uint64_t)val << 32)
                  : (*field & ~0xffffffffULL) | val;
}

static void write_status(MosaicVirtio *v, uint32_t val)
{
    if (val == 0) {
        device_reset(v);
        return;
    }
    if ((val & VIRTIO_STATUS_FEATURES_OK) && !(v->status & VIRTIO_STATUS_FEATURES_OK)) {
        /* Only what we offered, and the modern interface. */
        uint64_t offered = virtio_device_features(v);
        if ((v->driver_features & ~offered) ||
            !(v->driver_features & (1ULL << MOSAIC_VIRTIO_F_VERSION_1)))
            val &= ~VIRTIO_STATUS_FEATURES_OK;
    }
    bool ok_now = (val & VIRTIO_STATUS_DRIVER_OK) && !(v->status & VIRTIO_STATUS_DRIVER_OK);
    v->status = val | (v->status & VIRTIO_STATUS_NEEDS_RESET);
    if (ok_now && v->ops.driver_ok)
        v->ops.driver_ok(v->opaque, v->driver_features);
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    MosaicVirtio *v = opaque;
    if (off >= R_CONFIG) {
        if (v->ops.config_write && off - R_CONFIG + size <= v->ops.config_size) {
            uint8_t b[8];
            memcpy(b, &val, size);
            v->ops.config_write(v->opaque, off - R_CONFIG, b, size);
        }
        return;
    }
    if (size != 4)
        return;
    MosaicVirtQueue *q = cur_queue(v);
    /* Queue layout may change only while the queue is not ready (spec). */
    bool q_writable = q && !q->ready;
    switch (off) {
    case R_DEV_FEATURES_SEL: v->dev_feat_sel = val; break;
    case R_DRV_FEATURES_SEL: v->drv_feat_sel = val; break;
    case R_DRV_FEATURES:
        if (!(v->status & VIRTIO_STATUS_FEATURES_OK) && v->drv_feat_sel < 2)
            set_u64_half(&v->driver_features, v->drv_feat_sel == 1, val);
        break;
    case R_QUEUE_SEL: v->queue_sel = val; break;
    case R_QUEUE_NUM:
        /* A power of two no larger than we offered. */
        if (q_writable && val && val <= v->ops.queue_max && !(val & (val - 1)))
            q->num = val;
        break;
    case R_QUEUE_READY:
        if (!q)
            break;
        if (val & 1) {
            if (!q->num || (q->desc & 15) || (q->avail & 1) || (q->used & 3)) {
                virtio_set_needs_reset(v, "queue enabled with a bad size or misaligned rings");
                break;
            }
            q->ready = true;
            virtio_notify_fd_on(v, v->queue_sel);
        } else {
            q->ready = false;
            virtio_notify_fd_off(v, v->queue_sel);
        }
        break;
    case R_QUEUE_NOTIFY:
        if (val < v->ops.num_queues && v->queues[val].ready && v->ops.queue_notify)
            v->ops.queue_notify(v->opaque, val);
        break;
    case R_INT_ACK:
        v->isr &= ~val;
        virtio_update_irq(v);
        break;
    case R_STATUS: write_status(v, val); break;
    case R_QUEUE_DESC_LO: case R_QUEUE_DESC_HI:
        if (q_writable) set_u64_half(&q->desc, off == R_QUEUE_DESC_HI, val);
        break;
    case R_QUEUE_AVAIL_LO: case R_QUEUE_AVAIL_HI:
        if (q_writable) set_u64_half(&q->avail, off == R_QUEUE_AVAIL_HI, val);
        break;
    case R_QUEUE_USED_LO: case R_QUEUE_USED_HI:
        if (q_writable) set_u64_half(&q->used, off == R_QUEUE_USED_HI, val);
        break;
    case R_SHM_SEL: break;
    default: break; /* read-only or unknown: ignored */
    }
}

static const MosaicMmioOps virtio_mmio_ops = {
    .size = sizeof(MosaicMmioOps),
    .read = mmio_read,
    .write = mmio_write,
    .min_access = 1,
    .max_access = 4,
};

MOSAIC_API MosaicVirtio *mosaic_virtio_mmio_new(const MosaicBusSlot *slot,
                                                const MosaicVirtioDeviceOps *ops, void *opaque,
                                                MosaicError *err)
{
    if (!slot || !slot->container || !slot->dma) {
        mosaic_error_set(err, "virtio-mmio: the bus slot has no container or DMA address space");
        return NULL;
    }
    if (slot->length && slot->length < VIRTIO_MMIO_SIZE) {
        mosaic_error_set(err, "virtio-mmio: slot of %llu bytes is smaller than 0x200",
                         (unsigned long long)slot->length);
        return NULL;
    }
    if (!ops || ops->size < offsetof(MosaicVirtioDeviceOps, reset) || !ops->num_queues ||
        !ops->queue_max || (ops->queue_max & (ops->queue_max - 1)) ||
        ops->config_size > VIRTIO_MMIO_SIZE - R_CONFIG) {
        mosaic_error_set(err, "virtio-mmio: invalid device description");
        return NULL;
    }
    MosaicVirtio *v = g_new0(MosaicVirtio, 1);
    memcpy(&v->ops, ops, MIN(ops->size, sizeof v->ops));
    v->opaque = opaque;
    v->dma = slot->dma;
    v->irq = slot->irq;
    v->container = slot->container;
    v->base = slot->base;
    v->queues = g_new0(MosaicVirtQueue, ops->num_queues);
    v->notify = g_new0(NotifyFd, ops->num_queues);
    for (unsigned i = 0; i < ops->num_queues; i++) {
        v->queues[i].v = v;
        v->queues[i].index = i;
        v->notify[i].fd = -1;
    }
    v->mmio = mosaic_region_new_mmio("virtio-mmio", VIRTIO_MMIO_SIZE, &virtio_mmio_ops, v);
    if (!mosaic_region_add(slot->container, slot->base, v->mmio, 0, err)) {
        mosaic_region_unref(v->mmio);
        g_free(v->queues);
        g_free(v->notify);
        g_free(v);
        return NULL;
    }
    return v;
}

MOSAIC_API void mosaic_virtio_free(MosaicVirtio *v)
{
    if (!v)
        return;
    for (unsigned i = 0; i < v->ops.num_queues; i++)
        virtio_notify_fd_off(v, i);
    mosaic_region_del(v->container, v->mmio);
    mosaic_region_unref(v->mmio);
    g_free(v->queues);
    g_free(v->notify);
    g_free(v);
}

MOSAIC_API uint64_t mosaic_virtio_features(const MosaicVirtio *v) { return v->driver_features; }

MOSAIC_API MosaicVirtQueue *mosaic_virtio_queue(MosaicVirtio *v, unsigned index)
{
    return index < v->ops.num_queues ? &v->queues[index] : NULL;
}

MOSAIC_API void mosaic_virtio_config_changed(MosaicVirtio *v)
{
    v->config_gen++;
    if (v->status & VIRTIO_STATUS_DRIVER_OK) {
        v->isr |= 2;
        virtio_update_irq(v);
    }
}
