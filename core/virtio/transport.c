/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What virtio-mmio and virtio-pci share (virtio 1.2 §2, §3): feature negotiation,
 * the status machine and reset, device config space, queue set-up rules and the
 * interrupt status.  The transports only decode their registers into these calls. */
#include <string.h>

#include "virtio/virtio-internal.h"

uint64_t virtio_device_features(const MosaicVirtio *v)
{
    return v->ops.features | (1ULL << MOSAIC_VIRTIO_F_VERSION_1);
}

void virtio_interrupt(MosaicVirtio *v, int queue)
{
    v->isr |= queue < 0 ? 2 : 1;
    if (v->t)
        v->t->interrupt(v, queue);
}

void virtio_set_needs_reset(MosaicVirtio *v, const char *why)
{
    if (!(v->status & VIRTIO_STATUS_NEEDS_RESET))
        mosaic_log("virtio", 1, "virtio device %u: %s: device needs reset", v->ops.device_id, why);
    v->status |= VIRTIO_STATUS_NEEDS_RESET;
    if (v->status & VIRTIO_STATUS_DRIVER_OK)
        virtio_interrupt(v, -1); /* the configuration change interrupt tells the driver */
}

void virtio_reset(MosaicVirtio *v)
{
    if (v->ops.reset)
        v->ops.reset(v->opaque);
    v->status = 0;
    v->isr = 0;
    v->driver_features = 0;
    v->dev_feat_sel = v->drv_feat_sel = v->queue_sel = 0;
    v->config_vector = 0xffff;
    for (unsigned i = 0; i < v->ops.num_queues; i++) {
        if (v->t && v->t->queue_ready)
            v->t->queue_ready(v, i, false);
        virtq_reset(&v->queues[i]);
        if (v->queue_vector)
            v->queue_vector[i] = 0xffff;
    }
    if (v->t)
        v->t->interrupt(v, -2); /* isr is 0: lowers a level-triggered line */
}

MosaicVirtQueue *virtio_cur_queue(MosaicVirtio *v)
{
    return v->queue_sel < v->ops.num_queues ? &v->queues[v->queue_sel] : NULL;
}

uint64_t virtio_config_read(MosaicVirtio *v, uint64_t off, unsigned size)
{
    uint64_t val = 0;
    if (size > 8 || off > v->ops.config_size || size > v->ops.config_size - off)
        return 0;
    uint8_t *buf = g_malloc0(v->ops.config_size + 8);
    if (v->ops.config_read)
        v->ops.config_read(v->opaque, buf);
    memcpy(&val, buf + off, size); /* little-endian host assumed (x86-64, arm64) */
    g_free(buf);
    return val;
}

void virtio_config_write(MosaicVirtio *v, uint64_t off, uint64_t val, unsigned size)
{
    if (v->ops.config_write && size <= 8 && off <= v->ops.config_size &&
        size <= v->ops.config_size - off) {
        uint8_t b[8];
        memcpy(b, &val, size);
        v->ops.config_write(v->opaque, off, b, size);
    }
}

void virtio_set_u64_half(uint64_t *field, bool high, uint32_t val)
{
    *field = high ? (*field & 0xffffffffULL) | ((uint64_t)val << 32)
                  : (*field & ~0xffffffffULL) | val;
}

uint32_t virtio_read_device_features(const MosaicVirtio *v, uint32_t sel)
{
    uint64_t feat = virtio_device_features(v);
    return sel == 0 ? (uint32_t)feat : sel == 1 ? feat >> 32 : 0;
}

void virtio_write_driver_features(MosaicVirtio *v, uint32_t sel, uint32_t val)
{
    if (!(v->status & VIRTIO_STATUS_FEATURES_OK) && sel < 2)
        virtio_set_u64_half(&v->driver_features, sel == 1, val);
}

MOSAIC_API void mosaic_virtio_reset_defer(MosaicVirtio *v)
{
    v->status_in_reset = v->status ? v->status : VIRTIO_STATUS_ACK;
    g_atomic_int_set(&v->reset_pending, 1);
}

MOSAIC_API void mosaic_virtio_reset_done(MosaicVirtio *v)
{
    g_atomic_int_set(&v->reset_pending, 0);
}

uint32_t virtio_read_status(const MosaicVirtio *v)
{
    return g_atomic_int_get(&v->reset_pending) ? v->status_in_reset : v->status;
}

void virtio_write_status(MosaicVirtio *v, uint32_t val)
{
    if (val == 0) {
        virtio_reset(v);
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

void virtio_queue_set_num(MosaicVirtio *v, MosaicVirtQueue *q, uint32_t val)
{
    if (q && !q->ready && val && val <= v->ops.queue_max && !(val & (val - 1)))
        q->num = val;
}

void virtio_queue_set_ready(MosaicVirtio *v, MosaicVirtQueue *q, bool ready)
{
    if (!q)
        return;
    if (!ready) {
        q->ready = false;
        if (v->t->queue_ready)
            v->t->queue_ready(v, q->index, false);
        return;
    }
    if (!q->num || (q->desc & 15) || (q->avail & 1) || (q->used & 3)) {
        virtio_set_needs_reset(v, "queue enabled with a bad size or misaligned rings");
        return;
    }
    q->ready = true;
    if (v->t->queue_ready)
        v->t->queue_ready(v, q->index, true);
}

void virtio_queue_kick(MosaicVirtio *v, uint32_t index)
{
    if (index < v->ops.num_queues && v->queues[index].ready && v->ops.queue_notify)
        v->ops.queue_notify(v->opaque, index);
}

MosaicVirtio *virtio_alloc(const char *transport, const MosaicBusSlot *slot,
                           const MosaicVirtioDeviceOps *ops, void *opaque, uint32_t max_config,
                           MosaicError *err)
{
    if (!slot || !slot->container || !slot->dma) {
        mosaic_error_set(err, "%s: the bus slot has no container or DMA address space", transport);
        return NULL;
    }
    if (!ops || ops->size < offsetof(MosaicVirtioDeviceOps, reset) || !ops->num_queues ||
        ops->num_queues > 1024 || !ops->queue_max || (ops->queue_max & (ops->queue_max - 1)) ||
        ops->config_size > max_config) {
        mosaic_error_set(err, "%s: invalid device description", transport);
        return NULL;
    }
    MosaicVirtio *v = g_new0(MosaicVirtio, 1);
    memcpy(&v->ops, ops, MIN(ops->size, sizeof v->ops));
    v->opaque = opaque;
    v->dma = slot->dma;
    v->irq = slot->irq;
    v->container = slot->container;
    v->base = slot->base;
    v->config_vector = 0xffff;
    v->queues = g_new0(MosaicVirtQueue, ops->num_queues);
    v->notify = g_new0(NotifyFd, ops->num_queues);
    for (unsigned i = 0; i < ops->num_queues; i++) {
        v->queues[i].v = v;
        v->queues[i].index = i;
        v->notify[i].fd = -1;
    }
    return v;
}

bool virtio_shm_new(MosaicVirtio *v, MosaicError *err)
{
    uint64_t size = v->ops.shm_size;
    if (!size)
        return true;
    if (size < 4096 || (size & (size - 1))) {
        mosaic_error_set(err, "%s: shared memory region of %" G_GUINT64_FORMAT " bytes: "
                         "the size must be a power of two of at least 4 KiB", v->t->name, size);
        return false;
    }
    v->shm = mosaic_region_new_container("virtio-shm", size);
    return true;
}

void virtio_free_common(MosaicVirtio *v)
{
    mosaic_region_unref(v->shm);
    for (unsigned i = 0; i < v->ops.num_queues; i++)
        virtio_notify_fd_off(v, i);
    g_free(v->notify);
    g_free(v->queue_vector);
    g_free(v->queues);
    g_free(v);
}

MOSAIC_API MosaicVirtio *mosaic_virtio_new(const MosaicBusSlot *slot,
                                           const MosaicVirtioDeviceOps *ops, void *opaque,
                                           MosaicError *err)
{
    if (slot && slot->bus && !strcmp(slot->bus, "pci") &&
        slot->size >= offsetof(MosaicBusSlot, pci) + sizeof(void *) && slot->pci)
        return virtio_pci_new(slot, ops, opaque, err);
    return mosaic_virtio_mmio_new(slot, ops, opaque, err);
}

MOSAIC_API void mosaic_virtio_free(MosaicVirtio *v)
{
    if (v)
        v->t->free(v);
}

MOSAIC_API MosaicRegion *mosaic_virtio_shm(MosaicVirtio *v) { return v ? v->shm : NULL; }

MOSAIC_API uint64_t mosaic_virtio_features(const MosaicVirtio *v) { return v->driver_features; }

MOSAIC_API MosaicVirtQueue *mosaic_virtio_queue(MosaicVirtio *v, unsigned index)
{
    return index < v->ops.num_queues ? &v->queues[index] : NULL;
}

MOSAIC_API void mosaic_virtio_config_changed(MosaicVirtio *v)
{
    v->config_gen++;
    if (v->status & VIRTIO_STATUS_DRIVER_OK)
        virtio_interrupt(v, -1);
}
