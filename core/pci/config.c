/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config space of one function: 4 KiB of bytes, a write mask (bits the guest may
 * change) and a write-1-to-clear mask (status bits the guest clears by writing 1).
 * Every guest write goes through both; side effects (BAR mapping, INTx disable,
 * MSI/MSI-X enables, the device's own hook) follow the write. */
#include <string.h>

#include "pci/pci-internal.h"

MosaicPciDev *pci_dev_new(MosaicPciHost *h, const char *name)
{
    MosaicPciDev *d = g_new0(MosaicPciDev, 1);
    d->host = h;
    d->name = g_strdup(name ? name : "pci");
    d->cap_end = 0x40;
    /* Command: I/O, memory, bus master, parity, SERR, INTx disable. */
    pci_put(d->wmask + PCI_COMMAND, 2, 0x0547);
    /* Status: the error bits are write-1-to-clear. */
    pci_put(d->w1cmask + PCI_STATUS, 2, 0xf900);
    d->wmask[0x0c] = 0xff; /* cache line size */
    d->wmask[0x0d] = 0xff; /* latency timer */
    d->wmask[PCI_INT_LINE] = 0xff;
    pci_dev_seal(d);
    return d;
}

void pci_dev_free(MosaicPciDev *d)
{
    if (!d)
        return;
    pci_bus_unplug(d);
    pci_bus_free(d->secondary);
    pci_msix_free(d);
    g_free(d->name);
    g_free(d);
}

void pci_dev_seal(MosaicPciDev *d)
{
    memcpy(d->reset_cfg, d->cfg, sizeof d->cfg);
}

void pci_dev_reset(MosaicPciDev *d)
{
    pci_dev_unmap_all(d);
    memcpy(d->cfg, d->reset_cfg, sizeof d->cfg);
    if (d->msix.table) {
        memset(d->msix.table, 0, 16 * d->msix.nvec);
        for (unsigned v = 0; v < d->msix.nvec; v++)
            d->msix.table[16 * v + 12] = 1; /* vector masked */
        memset(d->msix.pending, 0, sizeof d->msix.pending);
    }
    pci_intx_update(d);
    if (d->ops.reset)
        d->ops.reset(d->ops_opaque);
}

uint32_t pci_config_read(MosaicPciDev *d, unsigned off, unsigned size)
{
    if (off >= MOSAIC_PCI_CONFIG_SIZE || size > 4 || off + size > MOSAIC_PCI_CONFIG_SIZE)
        return 0xffffffffu >> (32 - 8 * (size ? MIN(size, 4u) : 4));
    return pci_get(d->cfg + off, size);
}

static bool touches(unsigned off, unsigned size, unsigned start, unsigned len)
{
    return off < start + len && start < off + size;
}

void pci_config_write(MosaicPciDev *d, unsigned off, unsigned size, uint32_t val)
{
    if (size == 0 || size > 4 || off >= MOSAIC_PCI_CONFIG_SIZE || off + size > MOSAIC_PCI_CONFIG_SIZE)
        return;
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = val >> (8 * i), wm = d->wmask[off + i], w1c = d->w1cmask[off + i];
        uint8_t *p = &d->cfg[off + i];
        *p = (*p & ~wm) | (b & wm);
        *p &= ~(b & w1c);
    }
    bool bars = touches(off, size, PCI_COMMAND, 2) ||
                (pci_is_bridge(d) ? touches(off, size, PCI_BAR0, 8) || touches(off, size, 0x18, 0x28)
                                  : touches(off, size, PCI_BAR0, 24));
    if (touches(off, size, PCI_COMMAND, 2))
        pci_intx_update(d);
    pci_msi_config_written(d, off, size);
    pci_bridge_written(d, off, size, val);
    if (bars)
        pci_host_update_mappings(d->host);
    if (d->ops.written)
        d->ops.written(d->ops_opaque, off, size, val);
}

/* ---- the SDK's view ---- */

MOSAIC_API uint32_t mosaic_pci_config_get(MosaicPciDev *d, unsigned off, unsigned size)
{
    return pci_config_read(d, off, size);
}

MOSAIC_API void mosaic_pci_config_set(MosaicPciDev *d, unsigned off, unsigned size, uint32_t val)
{
    if (size && size <= 4 && off < MOSAIC_PCI_CONFIG_SIZE && off + size <= MOSAIC_PCI_CONFIG_SIZE)
        pci_put(d->cfg + off, size, val);
}

MOSAIC_API void mosaic_pci_set_wmask(MosaicPciDev *d, unsigned off, unsigned size, uint32_t mask)
{
    if (size && size <= 4 && off < MOSAIC_PCI_CONFIG_SIZE && off + size <= MOSAIC_PCI_CONFIG_SIZE)
        pci_put(d->wmask + off, size, mask);
}

MOSAIC_API void mosaic_pci_set_w1cmask(MosaicPciDev *d, unsigned off, unsigned size, uint32_t mask)
{
    if (size && size <= 4 && off < MOSAIC_PCI_CONFIG_SIZE && off + size <= MOSAIC_PCI_CONFIG_SIZE)
        pci_put(d->w1cmask + off, size, mask);
}

MOSAIC_API void mosaic_pci_set_ids(MosaicPciDev *d, uint16_t vendor, uint16_t device,
                                   uint32_t class_code, uint8_t revision, uint16_t subsys_vendor,
                                   uint16_t subsys)
{
    pci_put(d->cfg + PCI_VENDOR_ID, 2, vendor);
    pci_put(d->cfg + PCI_VENDOR_ID + 2, 2, device);
    d->cfg[PCI_REVISION] = revision;
    pci_put(d->cfg + PCI_CLASS_PROG, 3, class_code);
    if (!pci_is_bridge(d)) {
        pci_put(d->cfg + PCI_SUBSYS_VENDOR, 2, subsys_vendor);
        pci_put(d->cfg + PCI_SUBSYS_VENDOR + 2, 2, subsys);
    }
}

/* Capabilities: a list from 0x34 through the standard area (0x40-0xff), each entry
 * dword aligned; extended ones a list from 0x100 with 12-bit next pointers. */
MOSAIC_API unsigned mosaic_pci_add_cap(MosaicPciDev *d, uint8_t id, unsigned size, MosaicError *err)
{
    unsigned at = (d->cap_end + 3) & ~3u;
    if (size < 2 || at + size > 0x100) {
        mosaic_error_set(err, "%s: no room for capability 0x%02x (%u bytes) in config space",
                         d->name, id, size);
        return 0;
    }
    d->cfg[at] = id;
    d->cfg[at + 1] = 0;
    if (d->last_cap)
        d->cfg[d->last_cap + 1] = at;
    else
        d->cfg[PCI_CAP_PTR] = at;
    pci_put(d->cfg + PCI_STATUS, 2, pci_get(d->cfg + PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
    d->last_cap = at;
    d->cap_end = at + size;
    return at;
}

MOSAIC_API unsigned mosaic_pci_add_ext_cap(MosaicPciDev *d, uint16_t id, uint8_t version,
                                           unsigned size, MosaicError *err)
{
    unsigned at = d->ext_end ? (d->ext_end + 3) & ~3u : 0x100;
    if (size < 4 || at + size > MOSAIC_PCI_CONFIG_SIZE) {
        mosaic_error_set(err, "%s: no room for extended capability 0x%04x (%u bytes)", d->name,
                         id, size);
        return 0;
    }
    pci_put(d->cfg + at, 4, id | (uint32_t)(version & 0xf) << 16);
    if (d->last_ext)
        pci_put(d->cfg + d->last_ext, 4,
                (pci_get(d->cfg + d->last_ext, 4) & 0xfffff) | (uint32_t)at << 20);
    d->last_ext = at;
    d->ext_end = at + size;
    return at;
}

MOSAIC_API unsigned mosaic_pci_find_cap(MosaicPciDev *d, uint8_t id)
{
    if (!(pci_get(d->cfg + PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
        return 0;
    unsigned at = d->cfg[PCI_CAP_PTR] & ~3u;
    /* At most 48 entries fit in 0x40-0xff: a longer walk is a loop. */
    for (unsigned n = 0; at >= 0x40 && n < 48; n++) {
        if (d->cfg[at] == id)
            return at;
        at = d->cfg[at + 1] & ~3u;
    }
    return 0;
}

MOSAIC_API void mosaic_pci_set_intx_pin(MosaicPciDev *d, unsigned pin)
{
    d->cfg[PCI_INT_PIN] = pin <= 4 ? pin : 0;
}

MOSAIC_API void mosaic_pci_set_config_ops(MosaicPciDev *d, const MosaicPciConfigOps *ops,
                                          void *opaque)
{
    memset(&d->ops, 0, sizeof d->ops);
    if (ops)
        memcpy(&d->ops, ops, MIN((size_t)ops->size, sizeof d->ops));
    d->ops_opaque = opaque;
}

MOSAIC_API uint8_t mosaic_pci_devfn(MosaicPciDev *d)
{
    return d->devfn;
}
