/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-mmio transport, version 2 (virtio 1.2 §4.2.2): register decoding onto the
 * shared transport code (transport.c); one level-triggered interrupt line (given to the
 * accelerator's fast path where it has one: machine_irq_fast). */
#include <string.h>

#include "virtio/virtio-internal.h"
#include "machine/machine.h"

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

static void mmio_interrupt(MosaicVirtio *v, int queue)
{
    mosaic_irq_set(&v->irq, v->isr != 0);
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    MosaicVirtio *v = opaque;
    if (off >= R_CONFIG)
        return virtio_config_read(v, off - R_CONFIG, size);
    if (size != 4)
        return 0;
    MosaicVirtQueue *q = virtio_cur_queue(v);
    switch (off) {
    case R_MAGIC: return VIRTIO_MMIO_MAGIC;
    case R_VERSION: return 2;
    case R_DEVICE_ID: return v->ops.device_id;
    case R_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
    case R_DEV_FEATURES: return virtio_read_device_features(v, v->dev_feat_sel);
    case R_QUEUE_NUM_MAX: return q ? v->ops.queue_max : 0;
    case R_QUEUE_READY: return q ? q->ready : 0;
    case R_INT_STATUS: return v->isr;
    case R_STATUS: return virtio_read_status(v);
    case R_QUEUE_DESC_LO: return q ? (uint32_t)q->desc : 0;
    case R_QUEUE_DESC_HI: return q ? q->desc >> 32 : 0;
    case R_QUEUE_AVAIL_LO: return q ? (uint32_t)q->avail : 0;
    case R_QUEUE_AVAIL_HI: return q ? q->avail >> 32 : 0;
    case R_QUEUE_USED_LO: return q ? (uint32_t)q->used : 0;
    case R_QUEUE_USED_HI: return q ? q->used >> 32 : 0;
    case R_SHM_LEN_LO: case R_SHM_LEN_HI: case R_SHM_BASE_LO: case R_SHM_BASE_HI: {
        /* A region that does not exist reads as all ones (virtio 1.2 §4.2.2). */
        if (!v->shm || v->shm_sel != v->ops.shm_id)
            return 0xffffffffu;
        uint64_t x = off <= R_SHM_LEN_HI ? v->ops.shm_size : v->ops.shm_base;
        return off == R_SHM_LEN_LO || off == R_SHM_BASE_LO ? (uint32_t)x : x >> 32;
    }
    case R_CONFIG_GEN: return v->config_gen;
    default: return 0;
    }
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    MosaicVirtio *v = opaque;
    if (off >= R_CONFIG) {
        virtio_config_write(v, off - R_CONFIG, val, size);
        return;
    }
    if (size != 4)
        return;
    MosaicVirtQueue *q = virtio_cur_queue(v);
    /* Queue layout may change only while the queue is not ready (spec). */
    bool q_writable = q && !q->ready;
    switch (off) {
    case R_DEV_FEATURES_SEL: v->dev_feat_sel = val; break;
    case R_DRV_FEATURES_SEL: v->drv_feat_sel = val; break;
    case R_DRV_FEATURES: virtio_write_driver_features(v, v->drv_feat_sel, val); break;
    case R_QUEUE_SEL: v->queue_sel = val; break;
    case R_SHM_SEL: v->shm_sel = val; break;
    case R_QUEUE_NUM: virtio_queue_set_num(v, q, val); break;
    case R_QUEUE_READY: virtio_queue_set_ready(v, q, val & 1); break;
    case R_QUEUE_NOTIFY: virtio_queue_kick(v, val); break;
    case R_INT_ACK:
        v->isr &= ~val;
        mmio_interrupt(v, -1);
        break;
    case R_STATUS: virtio_write_status(v, val); break;
    case R_QUEUE_DESC_LO: case R_QUEUE_DESC_HI:
        if (q_writable) virtio_set_u64_half(&q->desc, off == R_QUEUE_DESC_HI, val);
        break;
    case R_QUEUE_AVAIL_LO: case R_QUEUE_AVAIL_HI:
        if (q_writable) virtio_set_u64_half(&q->avail, off == R_QUEUE_AVAIL_HI, val);
        break;
    case R_QUEUE_USED_LO: case R_QUEUE_USED_HI:
        if (q_writable) virtio_set_u64_half(&q->used, off == R_QUEUE_USED_HI, val);
        break;
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

static void mmio_free(MosaicVirtio *v)
{
    if (v->irq_fast)
        machine_irq_fast(&v->irq, FALSE);
    mosaic_region_del(v->container, v->mmio);
    mosaic_region_unref(v->mmio);
    if (v->shm)
        mosaic_region_del(v->container, v->shm);
    virtio_free_common(v);
}

static void mmio_queue_ready(MosaicVirtio *v, unsigned index, bool ready)
{
    if (ready)
        virtio_notify_fd_on(v, index);
    else
        virtio_notify_fd_off(v, index);
}

static const VirtioTransport mmio_transport = {
    .name = "virtio-mmio",
    .interrupt = mmio_interrupt,
    .free = mmio_free,
    .queue_ready = mmio_queue_ready,
};

MOSAIC_API MosaicVirtio *mosaic_virtio_mmio_new(const MosaicBusSlot *slot,
                                                const MosaicVirtioDeviceOps *ops, void *opaque,
                                                MosaicError *err)
{
    if (slot && slot->length && slot->length < VIRTIO_MMIO_SIZE) {
        mosaic_error_set(err, "virtio-mmio: slot of %llu bytes is smaller than 0x200",
                         (unsigned long long)slot->length);
        return NULL;
    }
    MosaicVirtio *v = virtio_alloc("virtio-mmio", slot, ops, opaque, VIRTIO_MMIO_SIZE - R_CONFIG, err);
    if (!v)
        return NULL;
    v->t = &mmio_transport;
    if (v->ops.shm_size && !v->ops.shm_base) {
        mosaic_error_set(err, "virtio-mmio: a shared memory region needs a guest-physical "
                         "base (the board has no window for it)");
        virtio_free_common(v);
        return NULL;
    }
    if (!virtio_shm_new(v, err)) {
        virtio_free_common(v);
        return NULL;
    }
    if (v->shm && !mosaic_region_add(slot->container, v->ops.shm_base, v->shm, 0, err)) {
        mosaic_error_prefix(err, "virtio-mmio shared memory region at 0x%" G_GINT64_MODIFIER
                            "x: ", v->ops.shm_base);
        virtio_free_common(v);
        return NULL;
    }
    v->mmio = mosaic_region_new_mmio("virtio-mmio", VIRTIO_MMIO_SIZE, &virtio_mmio_ops, v);
    if (!mosaic_region_add(slot->container, slot->base, v->mmio, 0, err)) {
        mosaic_region_unref(v->mmio);
        if (v->shm)
            mosaic_region_del(v->container, v->shm);
        virtio_free_common(v);
        return NULL;
    }
    /* The line is level-triggered and raised on every completion: where the
     * accelerator can (KVM's irqfd), it takes the line without an ioctl per change. */
    v->irq_fast = machine_irq_fast(&v->irq, TRUE);
    return v;
}
