/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pcie-pci-bridge: a PCI Express-to-PCI bridge (1b36:000e, like QEMU's) that plugs into
 * a root port or the root bus, at start or hot-plugged, and gives a conventional PCI
 * bus of 32 slots behind it (`bus = LABEL` of the bridge).  Config cycles, bus numbers,
 * windows and the INTx swizzle are the core's type-1 bridge (mosaic/pci.h); this plugin
 * adds the PCI Express capability (PCIe-to-PCI bridge), MSI, and the identity.
 * Not yet: the SHPC hot-plug controller, so devices behind the bridge are cold-plugged
 * only (device_add onto its bus is refused with that reason). */
#include <glib.h>
#include <mosaic/mosaic.h>

enum { X_FLAGS = 2, X_DEVCAP = 4, X_DEVCTL = 8, X_DEVSTA = 10, X_LNKCAP = 12, X_LNKCTL = 16,
       X_LNKSTA = 18, X_SIZE = 60 };

typedef struct Bridge {
    MosaicPciDev *pd;
} Bridge;

static const MosaicPropDesc bridge_props[] = {{0}};

static void *bridge_realize(MosaicDevice *dev, const MosaicProps *props,
                            const MosaicBusSlot *slot, MosaicError *err)
{
    if (slot->size < offsetof(MosaicBusSlot, pci) + sizeof(void *) || !slot->pci) {
        mosaic_error_set(err, "pcie-pci-bridge: not on a PCI bus");
        return NULL;
    }
    MosaicPciDev *d = slot->pci;
    if (!mosaic_pci_bridge_init(d, err))
        return NULL;
    mosaic_pci_set_ids(d, 0x1b36, 0x000e, 0x060400, 0, 0, 0);
    unsigned c = mosaic_pci_add_cap(d, MOSAIC_PCI_CAP_EXP, X_SIZE, err);
    if (!c || !mosaic_pci_msi_init(d, 1, err))
        return NULL;
    mosaic_pci_config_set(d, c + X_FLAGS, 2, 2 | 7 << 4); /* v2, PCIe-to-PCI bridge */
    mosaic_pci_config_set(d, c + X_DEVCAP, 4, 0x8000);
    mosaic_pci_set_wmask(d, c + X_DEVCTL, 2, 0x7fff);
    mosaic_pci_set_w1cmask(d, c + X_DEVSTA, 2, 0x000f);
    mosaic_pci_config_set(d, c + X_LNKCAP, 4, 1 | 1 << 4);   /* 2.5 GT/s x1 */
    mosaic_pci_set_wmask(d, c + X_LNKCTL, 2, 0x0ffb);
    mosaic_pci_config_set(d, c + X_LNKSTA, 2, 1 | 1 << 4);
    Bridge *b = g_new0(Bridge, 1);
    b->pd = d;
    return b;
}

static void bridge_unrealize(void *state)
{
    g_free(state);
}

static const MosaicDeviceOps bridge_ops = {
    .size = sizeof(MosaicDeviceOps),
    .bus = "pci",
    .realize = bridge_realize,
    .unrealize = bridge_unrealize,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI,
              .name = "pcie-pci-bridge", .version = "0.1", .license = "GPL-2.0-or-later",
              .description = "PCI Express-to-PCI bridge with a conventional secondary bus",
              .props = bridge_props, .ops = &bridge_ops);
