/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The bus tree and the ECAM host bridge (PCIe base spec 7.2.2, as Linux's
 * pci-host-ecam-generic reads it): offset = bus << 20 | device << 15 | function << 12
 * | register.  A bus number reaches a bus when it is the root's (0) or a bridge's
 * secondary number, with every bridge on the way forwarding it (secondary <= n <=
 * subordinate); anything else reads as absent (all ones) and ignores writes. */
#include <string.h>

#include "pci/pci-internal.h"

PciBus *pci_bus_new(MosaicPciHost *h, MosaicPciDev *bridge)
{
    PciBus *b = g_new0(PciBus, 1);
    b->host = h;
    b->bridge = bridge;
    return b;
}

void pci_bus_free(PciBus *b)
{
    if (!b)
        return;
    for (unsigned i = 0; i < PCI_DEVFNS; i++)
        if (b->devs[i]) {
            MosaicPciDev *d = b->devs[i];
            pci_bus_unplug(d);
            pci_bus_free(d->secondary);
            d->secondary = NULL;
        }
    g_free(b);
}

/* A PCIe root or downstream port: its link reaches one device, slot 0 (a PCIe-to-PCI
 * bridge's secondary bus is conventional and has 32). */
static bool single_slot(PciBus *b)
{
    unsigned cap = b->bridge ? mosaic_pci_find_cap(b->bridge, MOSAIC_PCI_CAP_EXP) : 0;
    unsigned type = cap ? (pci_get(b->bridge->cfg + cap + 2, 2) >> 4) & 0xf : 0;
    return type == 4 || type == 6;
}

gboolean pci_bus_plug(PciBus *b, MosaicPciDev *d, int devfn, GError **err)
{
    if (devfn < 0) {
        for (unsigned s = 0; s < PCI_SLOTS && devfn < 0; s++)
            if (!b->devs[s << 3])
                devfn = s << 3;
        /* A PCIe downstream port (root port, bridge to a PCIe link) has one slot, 0. */
        if (devfn > 0 && single_slot(b))
            devfn = -1;
        if (devfn < 0) {
            g_set_error(err, PCI_ERROR, 0, "the bus has no free slot");
            return FALSE;
        }
    }
    if (devfn >= PCI_DEVFNS || b->devs[devfn]) {
        g_set_error(err, PCI_ERROR, 0, "slot %d.%d is taken", devfn >> 3, devfn & 7);
        return FALSE;
    }
    if ((devfn >> 3) && single_slot(b)) {
        g_set_error(err, PCI_ERROR, 0,
                    "a PCIe port's link has only slot 0");
        return FALSE;
    }
    b->devs[devfn] = d;
    d->bus = b;
    d->devfn = devfn;
    d->host = b->host;
    return TRUE;
}

void pci_bus_unplug(MosaicPciDev *d)
{
    if (!d->bus)
        return;
    bool level = d->intx_level;
    d->intx_level = false;
    pci_intx_update(d);
    d->intx_level = level;
    pci_dev_unmap_all(d);
    d->bus->devs[d->devfn] = NULL;
    d->bus = NULL;
}

static PciBus *find_below(PciBus *b, unsigned busnr, unsigned depth)
{
    if (depth > 256)
        return NULL;
    for (unsigned i = 0; i < PCI_DEVFNS; i++) {
        MosaicPciDev *d = b->devs[i];
        if (!d || !d->secondary)
            continue;
        unsigned sec = d->cfg[PCI_SECONDARY_BUS], sub = d->cfg[PCI_SUBORDINATE_BUS];
        if (sec == 0 || busnr < sec || busnr > sub)
            continue;
        if (busnr == sec)
            return d->secondary;
        PciBus *r = find_below(d->secondary, busnr, depth + 1);
        if (r)
            return r;
    }
    return NULL;
}

PciBus *pci_find_bus(MosaicPciHost *h, unsigned busnr)
{
    return busnr == 0 ? h->root : find_below(h->root, busnr, 0);
}

MosaicPciDev *pci_ecam_decode(MosaicPciHost *h, uint64_t off, unsigned *reg)
{
    if (off >= h->desc.ecam_size)
        return NULL;
    PciBus *b = pci_find_bus(h, (off >> 20) & 0xff);
    if (!b)
        return NULL;
    unsigned devfn = (off >> 12) & 0xff;
    /* Function 0 absent: the slot is empty, whatever else is there. */
    if (!b->devs[devfn & ~7u])
        return NULL;
    *reg = off & 0xfff;
    return b->devs[devfn];
}

uint64_t pci_ecam_read(MosaicPciHost *h, uint64_t off, unsigned size)
{
    unsigned reg;
    MosaicPciDev *d = pci_ecam_decode(h, off, &reg);
    if (!d || size > 4 || (reg & (size - 1)))
        return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    return pci_config_read(d, reg, size);
}

void pci_ecam_write(MosaicPciHost *h, uint64_t off, uint64_t val, unsigned size)
{
    unsigned reg;
    MosaicPciDev *d = pci_ecam_decode(h, off, &reg);
    if (d && size <= 4 && !(reg & (size - 1)))
        pci_config_write(d, reg, size, val);
}

static uint64_t ecam_mmio_read(void *opaque, uint64_t off, unsigned size)
{
    return pci_ecam_read(opaque, off, size);
}

static void ecam_mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    pci_ecam_write(opaque, off, val, size);
}

static const MosaicMmioOps ecam_ops = {
    .size = sizeof(MosaicMmioOps),
    .read = ecam_mmio_read,
    .write = ecam_mmio_write,
    .min_access = 1,
    .max_access = 4,
};

/* 00:00.0, as QEMU's generic PCIe host bridge (1b36:0008), so Linux's enumeration
 * looks the same as under QEMU. */
static void add_host_bridge(MosaicPciHost *h)
{
    MosaicPciDev *d = pci_dev_new(h, "pcie-host-bridge");
    mosaic_pci_set_ids(d, 0x1b36, 0x0008, 0x060000, 0, 0x1af4, 0x1100);
    pci_dev_seal(d);
    GError *err = NULL;
    if (!pci_bus_plug(h->root, d, 0, &err))
        g_error("pci: host bridge: %s", err->message); /* an empty bus always has slot 0 */
    h->host_bridge = d;
}

MosaicPciHost *pci_host_new_internal(const MosaicPciHostDesc *desc, GError **err)
{
    MosaicPciHostDesc dd = {0};
    memcpy(&dd, desc, MIN((size_t)desc->size, sizeof dd));
    if (!dd.ecam_size || (dd.ecam_size & ((1u << 20) - 1)) || dd.ecam_size > (256ull << 20)) {
        g_set_error(err, PCI_ERROR, 0,
                    "pci host: the ECAM window must be 1 to 256 MiB, whole buses");
        return NULL;
    }
    MosaicPciHost *h = g_new0(MosaicPciHost, 1);
    h->desc = dd;
    h->root = pci_bus_new(h, NULL);
    h->ecam = mosaic_region_new_mmio("pci-ecam", dd.ecam_size, &ecam_ops, h);
    if (dd.mem_size)
        h->mem = mosaic_region_new_container("pci-mem", dd.mem_size);
    if (dd.mem64_size)
        h->mem64 = mosaic_region_new_container("pci-mem64", dd.mem64_size);
    if (dd.io_size)
        h->io = mosaic_region_new_container("pci-io", dd.io_size);
    add_host_bridge(h);
    return h;
}
