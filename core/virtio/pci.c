/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio over PCI, modern interface only (virtio 1.2 §4.1): vendor 1af4, device
 * 0x1040 + virtio id, revision 1; vendor-specific capabilities point into BAR 4, 64-bit
 * and prefetchable as QEMU's modern BAR is (boards with a 64-bit window place it above
 * 4 GiB) (common config 0x0000, ISR 0x1000, device config 0x2000, notifications 0x3000,
 * 4 bytes per queue); MSI-X with one vector per queue plus config in BAR 1.  Without
 * MSI-X (a board without an MSI controller, as riscv-virt today) the ISR drives INTA,
 * read-to-clear.  The register decoding maps onto the shared code of transport.c. */
#include <string.h>

#include "virtio/virtio-internal.h"
#include "pci/pci-internal.h"

#define BAR_SIZE 0x4000
#define BAR 4 /* and 5: the registers' BAR, 64-bit */
#define OFF_COMMON 0x0000
#define OFF_ISR 0x1000
#define OFF_DEVICE 0x2000
#define OFF_NOTIFY 0x3000
#define NOTIFY_MULT 4
#define NO_VECTOR 0xffff

enum { CAP_COMMON = 1, CAP_NOTIFY = 2, CAP_ISR = 3, CAP_DEVICE = 4, CAP_SHM = 8 };
#define SHM_BAR 2 /* 64-bit, prefetchable: BARs 2 and 3 (BAR 1 holds MSI-X) */

/* struct virtio_pci_common_cfg */
enum {
    C_DFSELECT = 0, C_DF = 4, C_GFSELECT = 8, C_GF = 12, C_MSIX = 16, C_NUMQ = 18,
    C_STATUS = 20, C_CFGGEN = 21, C_Q_SELECT = 22, C_Q_SIZE = 24, C_Q_MSIX = 26,
    C_Q_ENABLE = 28, C_Q_NOFF = 30, C_Q_DESCLO = 32, C_Q_DESCHI = 36, C_Q_AVAILLO = 40,
    C_Q_AVAILHI = 44, C_Q_USEDLO = 48, C_Q_USEDHI = 52, C_Q_NDATA = 56, C_Q_RESET = 58,
    C_SIZE = 60,
};

static unsigned nvectors(MosaicVirtio *v)
{
    return v->ops.num_queues + 1;
}

static void pci_interrupt(MosaicVirtio *v, int queue)
{
    if (mosaic_pci_msix_enabled(v->pci)) {
        if (queue == -2)
            return;
        uint16_t vec = queue < 0 ? v->config_vector : v->queue_vector[queue];
        if (vec != NO_VECTOR)
            mosaic_pci_msi_notify(v->pci, vec);
        return;
    }
    mosaic_pci_set_intx(v->pci, v->isr != 0);
}

static uint16_t checked_vector(MosaicVirtio *v, uint32_t val)
{
    /* A vector the table does not have reads back as NO_VECTOR: the driver checks. */
    return val < nvectors(v) ? val : NO_VECTOR;
}

static uint64_t common_read(MosaicVirtio *v, uint64_t off, unsigned size)
{
    MosaicVirtQueue *q = virtio_cur_queue(v);
    switch (off) {
    case C_DFSELECT: return v->dev_feat_sel;
    case C_DF: return virtio_read_device_features(v, v->dev_feat_sel);
    case C_GFSELECT: return v->drv_feat_sel;
    case C_GF: return v->drv_feat_sel < 2 ? (uint32_t)(v->driver_features >> (32 * v->drv_feat_sel)) : 0;
    case C_MSIX: return v->config_vector;
    case C_NUMQ: return v->ops.num_queues;
    case C_STATUS: return virtio_read_status(v);
    case C_CFGGEN: return v->config_gen & 0xff;
    case C_Q_SELECT: return v->queue_sel;
    case C_Q_SIZE: return q ? (q->num ? q->num : v->ops.queue_max) : 0;
    case C_Q_MSIX: return q ? v->queue_vector[q->index] : NO_VECTOR;
    case C_Q_ENABLE: return q ? q->ready : 0;
    case C_Q_NOFF: return q ? q->index : 0;
    case C_Q_DESCLO: return q ? (uint32_t)q->desc : 0;
    case C_Q_DESCHI: return q ? q->desc >> 32 : 0;
    case C_Q_AVAILLO: return q ? (uint32_t)q->avail : 0;
    case C_Q_AVAILHI: return q ? q->avail >> 32 : 0;
    case C_Q_USEDLO: return q ? (uint32_t)q->used : 0;
    case C_Q_USEDHI: return q ? q->used >> 32 : 0;
    case C_Q_NDATA: return q ? q->index : 0;
    default: return 0;
    }
}

static void common_write(MosaicVirtio *v, uint64_t off, uint64_t val, unsigned size)
{
    MosaicVirtQueue *q = virtio_cur_queue(v);
    bool q_writable = q && !q->ready;
    switch (off) {
    case C_DFSELECT: v->dev_feat_sel = val; break;
    case C_GFSELECT: v->drv_feat_sel = val; break;
    case C_GF: virtio_write_driver_features(v, v->drv_feat_sel, val); break;
    case C_MSIX: v->config_vector = checked_vector(v, val); break;
    case C_STATUS: virtio_write_status(v, val & 0xff); break;
    case C_Q_SELECT: v->queue_sel = val & 0xffff; break;
    case C_Q_SIZE: virtio_queue_set_num(v, q, val); break;
    case C_Q_MSIX:
        if (q)
            v->queue_vector[q->index] = checked_vector(v, val);
        break;
    case C_Q_ENABLE:
        if (q && (val & 1) && !q->num)
            q->num = v->ops.queue_max; /* the size the driver read and kept */
        if (q && (val & 1))
            virtio_queue_set_ready(v, q, true);
        break;
    case C_Q_DESCLO: case C_Q_DESCHI:
        if (q_writable) virtio_set_u64_half(&q->desc, off == C_Q_DESCHI, val);
        break;
    case C_Q_AVAILLO: case C_Q_AVAILHI:
        if (q_writable) virtio_set_u64_half(&q->avail, off == C_Q_AVAILHI, val);
        break;
    case C_Q_USEDLO: case C_Q_USEDHI:
        if (q_writable) virtio_set_u64_half(&q->used, off == C_Q_USEDHI, val);
        break;
    default: break; /* read-only or unknown */
    }
}

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
    MosaicVirtio *v = opaque;
    if (off < OFF_COMMON + C_SIZE) {
        if (size == 8)
            return common_read(v, off, 4) | common_read(v, off + 4, 4) << 32;
        return common_read(v, off, size);
    }
    if (off == OFF_ISR) {
        uint32_t isr = v->isr;
        v->isr = 0; /* read-to-clear, and the line drops */
        pci_interrupt(v, -2);
        return isr;
    }
    if (off >= OFF_DEVICE && off < OFF_NOTIFY)
        return virtio_config_read(v, off - OFF_DEVICE, size);
    return 0;
}

static void bar_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    MosaicVirtio *v = opaque;
    if (off < OFF_COMMON + C_SIZE) {
        common_write(v, off, size == 8 ? (uint32_t)val : val, size == 8 ? 4 : size);
        if (size == 8)
            common_write(v, off + 4, val >> 32, 4);
    } else if (off >= OFF_DEVICE && off < OFF_NOTIFY) {
        virtio_config_write(v, off - OFF_DEVICE, val, size);
    } else if (off >= OFF_NOTIFY && off < OFF_NOTIFY + (uint64_t)NOTIFY_MULT * v->ops.num_queues) {
        virtio_queue_kick(v, (off - OFF_NOTIFY) / NOTIFY_MULT);
    }
}

static const MosaicMmioOps bar_ops = {
    .size = sizeof(MosaicMmioOps),
    .read = bar_read,
    .write = bar_write,
    .min_access = 1,
    .max_access = 8,
};

static bool add_cap(MosaicVirtio *v, uint8_t type, uint32_t off, uint32_t len, MosaicError *err)
{
    unsigned size = type == CAP_NOTIFY ? 20 : 16;
    unsigned at = mosaic_pci_add_cap(v->pci, MOSAIC_PCI_CAP_VENDOR, size, err);
    if (!at)
        return false;
    mosaic_pci_config_set(v->pci, at + 2, 1, size);
    mosaic_pci_config_set(v->pci, at + 3, 1, type);
    mosaic_pci_config_set(v->pci, at + 4, 1, BAR);
    mosaic_pci_config_set(v->pci, at + 8, 4, off);
    mosaic_pci_config_set(v->pci, at + 12, 4, len);
    if (type == CAP_NOTIFY)
        mosaic_pci_config_set(v->pci, at + 16, 4, NOTIFY_MULT);
    return true;
}

/* struct virtio_pci_cap64: the shared memory region is all of BAR 2. */
static bool add_shm_cap(MosaicVirtio *v, MosaicError *err)
{
    unsigned at = mosaic_pci_add_cap(v->pci, MOSAIC_PCI_CAP_VENDOR, 24, err);
    if (!at)
        return false;
    mosaic_pci_config_set(v->pci, at + 2, 1, 24);
    mosaic_pci_config_set(v->pci, at + 3, 1, CAP_SHM);
    mosaic_pci_config_set(v->pci, at + 4, 1, SHM_BAR);
    mosaic_pci_config_set(v->pci, at + 5, 1, v->ops.shm_id);
    mosaic_pci_config_set(v->pci, at + 8, 4, 0);                                /* offset */
    mosaic_pci_config_set(v->pci, at + 12, 4, (uint32_t)v->ops.shm_size);       /* length */
    mosaic_pci_config_set(v->pci, at + 16, 4, 0);                               /* offset_hi */
    mosaic_pci_config_set(v->pci, at + 20, 4, (uint32_t)(v->ops.shm_size >> 32)); /* length_hi */
    return true;
}

static void pci_reset_hook(void *opaque)
{
    virtio_reset(opaque);
}

static const MosaicPciConfigOps virtio_pci_config_ops = {
    .size = sizeof(MosaicPciConfigOps),
    .reset = pci_reset_hook,
};

static void pci_free(MosaicVirtio *v)
{
    mosaic_pci_set_intx(v->pci, false);
    mosaic_pci_set_config_ops(v->pci, NULL, NULL);
    /* The function outlives us (the core frees it after unrealize): the BAR leaves it
     * now, so nothing reaches the freed transport. */
    pci_dev_unmap_all(v->pci);
    v->pci->bars[BAR].mr = NULL;
    if (v->shm)
        v->pci->bars[SHM_BAR].mr = NULL;
    mosaic_region_unref(v->mmio);
    virtio_free_common(v);
}

static const VirtioTransport pci_transport = {
    .name = "virtio-pci",
    .interrupt = pci_interrupt,
    .free = pci_free,
};

static uint32_t class_of(uint32_t device_id)
{
    switch (device_id) {
    case 1: return 0x020000; /* network */
    case 2: return 0x018000; /* mass storage */
    case 16: return 0x038000; /* display */
    case 25: return 0x040100; /* multimedia audio */
    default: return 0xff0000;
    }
}

MosaicVirtio *virtio_pci_new(const MosaicBusSlot *slot, const MosaicVirtioDeviceOps *ops,
                             void *opaque, MosaicError *err)
{
    MosaicVirtio *v = virtio_alloc("virtio-pci", slot, ops, opaque, OFF_NOTIFY - OFF_DEVICE, err);
    if (!v)
        return NULL;
    v->t = &pci_transport;
    v->pci = slot->pci;
    v->queue_vector = g_new(uint16_t, ops->num_queues);
    for (unsigned i = 0; i < ops->num_queues; i++)
        v->queue_vector[i] = NO_VECTOR;
    mosaic_pci_set_ids(v->pci, 0x1af4, 0x1040 + ops->device_id, class_of(ops->device_id), 1,
                       0x1af4, 0x1100);
    mosaic_pci_set_intx_pin(v->pci, 1);
    v->mmio = mosaic_region_new_mmio("virtio-pci", BAR_SIZE, &bar_ops, v);
    if (!mosaic_pci_register_bar(v->pci, BAR, MOSAIC_PCI_BAR_MEM64 | MOSAIC_PCI_BAR_PREFETCH,
                                 v->mmio, err) ||
        !mosaic_pci_msix_init(v->pci, nvectors(v), 1, err) ||
        !add_cap(v, CAP_COMMON, OFF_COMMON, C_SIZE, err) ||
        !add_cap(v, CAP_ISR, OFF_ISR, 4, err) ||
        !add_cap(v, CAP_DEVICE, OFF_DEVICE, MAX(ops->config_size, 4u), err) ||
        !add_cap(v, CAP_NOTIFY, OFF_NOTIFY, NOTIFY_MULT * ops->num_queues, err) ||
        !virtio_shm_new(v, err) ||
        (v->shm && (!mosaic_pci_register_bar(v->pci, SHM_BAR, MOSAIC_PCI_BAR_MEM64 |
                                             MOSAIC_PCI_BAR_PREFETCH, v->shm, err) ||
                    !add_shm_cap(v, err)))) {
        pci_dev_unmap_all(v->pci);
        if (v->pci->bars[BAR].mr == v->mmio)
            v->pci->bars[BAR].mr = NULL;
        if (v->shm && v->pci->bars[SHM_BAR].mr == v->shm)
            v->pci->bars[SHM_BAR].mr = NULL;
        mosaic_region_unref(v->mmio);
        virtio_free_common(v);
        return NULL;
    }
    mosaic_pci_set_config_ops(v->pci, &virtio_pci_config_ops, v);
    return v;
}
