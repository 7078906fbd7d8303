/* SPDX-License-Identifier: GPL-2.0-or-later */
/* MSI (PCI 3.0 6.8.1) and MSI-X (6.8.2): a message is a 32-bit write of the message
 * data to the message address in the host's DMA address space, sent only while the
 * function may master the bus.  MSI-X vectors masked (per vector or the whole
 * function) keep their message pending in the PBA until unmasked. */
#include <string.h>

#include "pci/pci-internal.h"

#define MSI_CTRL_ENABLE 0x1
#define MSI_CTRL_64 0x80
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_TABLE_BYTES 4096 /* 256 vectors of 16 bytes; the PBA follows */
#define MSIX_REGION_SIZE 8192

static void send(MosaicPciDev *d, uint64_t addr, uint32_t data)
{
    if (!(pci_get(d->cfg + PCI_COMMAND, 2) & PCI_CMD_MASTER) || !d->host)
        return;
    MosaicMemResult r = mosaic_as_write(d->host->desc.dma, addr, 4, data);
    if (r != MOSAIC_MEM_OK)
        mosaic_log("pci", 2, "%s: MSI write to 0x%llx reached nothing", d->name,
                   (unsigned long long)addr);
}

MOSAIC_API bool mosaic_pci_msi_init(MosaicPciDev *d, unsigned nvec, MosaicError *err)
{
    if (!nvec || nvec > 32 || (nvec & (nvec - 1)) || d->msi_cap) {
        mosaic_error_set(err, "%s: MSI with %u vectors (a power of two, 1-32, once)", d->name, nvec);
        return false;
    }
    unsigned at = mosaic_pci_add_cap(d, MOSAIC_PCI_CAP_MSI, 14, err);
    if (!at)
        return false;
    unsigned log2 = 0;
    while ((1u << log2) < nvec)
        log2++;
    pci_put(d->cfg + at + 2, 2, MSI_CTRL_64 | log2 << 1);
    pci_put(d->wmask + at + 2, 2, MSI_CTRL_ENABLE | 0x70);
    pci_put(d->wmask + at + 4, 4, 0xfffffffcu);
    pci_put(d->wmask + at + 8, 4, 0xffffffffu);
    pci_put(d->wmask + at + 12, 2, 0xffff);
    d->msi_cap = at;
    d->msi_nvec = nvec;
    return true;
}

static uint16_t msix_ctrl(MosaicPciDev *d)
{
    return d->msix.cap ? pci_get(d->cfg + d->msix.cap + 2, 2) : 0;
}

MOSAIC_API bool mosaic_pci_msix_enabled(MosaicPciDev *d)
{
    return msix_ctrl(d) & MSIX_CTRL_ENABLE;
}

MOSAIC_API bool mosaic_pci_msi_enabled(MosaicPciDev *d)
{
    return mosaic_pci_msix_enabled(d) ||
           (d->msi_cap && (pci_get(d->cfg + d->msi_cap + 2, 2) & MSI_CTRL_ENABLE));
}

static bool vector_masked(MosaicPciDev *d, unsigned v)
{
    return (msix_ctrl(d) & MSIX_CTRL_MASKALL) || (d->msix.table[16 * v + 12] & 1);
}

static void msix_send(MosaicPciDev *d, unsigned v)
{
    const uint8_t *e = d->msix.table + 16 * v;
    send(d, pci_get(e, 4) | (uint64_t)pci_get(e + 4, 4) << 32, pci_get(e + 8, 4));
}

static void msix_try_pending(MosaicPciDev *d)
{
    if (!mosaic_pci_msix_enabled(d))
        return;
    for (unsigned v = 0; v < d->msix.nvec; v++)
        if ((d->msix.pending[v / 64] >> (v % 64) & 1) && !vector_masked(d, v)) {
            d->msix.pending[v / 64] &= ~(1ull << (v % 64));
            msix_send(d, v);
        }
}

MOSAIC_API void mosaic_pci_msi_notify(MosaicPciDev *d, unsigned v)
{
    if (mosaic_pci_msix_enabled(d)) {
        if (v >= d->msix.nvec)
            return;
        if (vector_masked(d, v))
            d->msix.pending[v / 64] |= 1ull << (v % 64);
        else
            msix_send(d, v);
        return;
    }
    if (!d->msi_cap)
        return;
    uint16_t ctrl = pci_get(d->cfg + d->msi_cap + 2, 2);
    unsigned enabled = 1u << ((ctrl >> 4) & 7);
    if (!(ctrl & MSI_CTRL_ENABLE) || v >= enabled || v >= d->msi_nvec)
        return;
    uint64_t addr = pci_get(d->cfg + d->msi_cap + 4, 4) |
                    (uint64_t)pci_get(d->cfg + d->msi_cap + 8, 4) << 32;
    uint16_t data = pci_get(d->cfg + d->msi_cap + 12, 2);
    send(d, addr, (data & ~(enabled - 1)) | v);
}

void pci_msi_config_written(MosaicPciDev *d, unsigned off, unsigned size)
{
    if (d->msix.cap && off < d->msix.cap + 4 && d->msix.cap + 2 < off + size)
        msix_try_pending(d);
}

static uint64_t msix_read(void *opaque, uint64_t off, unsigned size)
{
    MosaicPciDev *d = opaque;
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t o = off + i;
        uint8_t b = 0;
        if (o < 16ull * d->msix.nvec)
            b = d->msix.table[o];
        else if (o >= MSIX_TABLE_BYTES && o - MSIX_TABLE_BYTES < sizeof d->msix.pending)
            b = ((const uint8_t *)d->msix.pending)[o - MSIX_TABLE_BYTES]; /* little-endian host */
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

static void msix_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    MosaicPciDev *d = opaque;
    for (unsigned i = 0; i < size; i++) {
        uint64_t o = off + i;
        if (o >= 16ull * d->msix.nvec)
            break; /* the PBA is read-only */
        /* Vector control: only the mask bit is defined. */
        d->msix.table[o] = (o % 16 == 12) ? (val >> (8 * i)) & 1 : (o % 16 > 12) ? 0 : val >> (8 * i);
    }
    msix_try_pending(d);
}

static const MosaicMmioOps msix_ops = {
    .size = sizeof(MosaicMmioOps),
    .read = msix_read,
    .write = msix_write,
    .min_access = 4,
    .max_access = 8,
};

MOSAIC_API bool mosaic_pci_msix_init(MosaicPciDev *d, unsigned nvec, unsigned bar, MosaicError *err)
{
    if (!nvec || nvec > 256 || d->msix.cap || bar >= PCI_NUM_BARS) {
        mosaic_error_set(err, "%s: MSI-X with %u vectors in BAR %u (1-256 vectors, once)",
                         d->name, nvec, bar);
        return false;
    }
    MosaicRegion *mr = mosaic_region_new_mmio("pci-msix", MSIX_REGION_SIZE, &msix_ops, d);
    if (!mosaic_pci_register_bar(d, bar, 0, mr, err)) {
        mosaic_region_unref(mr);
        return false;
    }
    unsigned at = mosaic_pci_add_cap(d, MOSAIC_PCI_CAP_MSIX, 12, err);
    if (!at) {
        d->bars[bar].mr = NULL;
        mosaic_region_unref(mr);
        return false;
    }
    pci_put(d->cfg + at + 2, 2, nvec - 1);
    pci_put(d->wmask + at + 2, 2, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
    pci_put(d->cfg + at + 4, 4, 0 | bar);
    pci_put(d->cfg + at + 8, 4, MSIX_TABLE_BYTES | bar);
    d->msix.cap = at;
    d->msix.nvec = nvec;
    d->msix.bar = bar;
    d->msix.mr = mr;
    d->msix.table = g_malloc0(16 * nvec);
    for (unsigned v = 0; v < nvec; v++)
        d->msix.table[16 * v + 12] = 1;
    return true;
}

void pci_msix_free(MosaicPciDev *d)
{
    if (!d->msix.mr)
        return;
    if (d->bars[d->msix.bar].mapped)
        mosaic_region_del(d->bars[d->msix.bar].window, d->msix.mr);
    d->bars[d->msix.bar].mapped = false;
    d->bars[d->msix.bar].mr = NULL;
    mosaic_region_unref(d->msix.mr);
    g_free(d->msix.table);
    memset(&d->msix, 0, sizeof d->msix);
}
