/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pcie-pci-bridge plugin: its key and the device's life (bridge.c is the device). */
#include <glib.h>
#include <mosaic/mosaic.h>

#include "bridge.h"

static const MosaicPropDesc bridge_props[] = {
    {.key = "chassis-slot", .type = MOSAIC_PROP_UINT, .max = 2047,
     .help = "physical slot number the guest sees for device 1 (default 1; device N gets "
             "this + N - 1)"},
    {0},
};

static void *bridge_realize(MosaicDevice *dev, const MosaicProps *props,
                            const MosaicBusSlot *slot, MosaicError *err)
{
    if (slot->size < offsetof(MosaicBusSlot, pci) + sizeof(void *) || !slot->pci) {
        mosaic_error_set(err, "pcie-pci-bridge: not on a PCI bus");
        return NULL;
    }
    unsigned psn = mosaic_props_has(props, "chassis-slot") ? mosaic_props_get_uint(props, "chassis-slot") : 1;
    return pcie_pci_bridge_new(slot->pci, psn, err);
}

static void bridge_unrealize(void *state)
{
    pcie_pci_bridge_free(state);
}
static const MosaicDeviceOps bridge_ops = {
    .size = sizeof(MosaicDeviceOps),
    .bus = "pci",
    .realize = bridge_realize,
    .unrealize = bridge_unrealize,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI,
              .name = "pcie-pci-bridge", .version = "0.2", .license = "GPL-2.0-or-later",
              .description = "PCI Express-to-PCI bridge with a conventional secondary bus "
                             "and a standard hot-plug controller",
              .props = bridge_props, .ops = &bridge_ops);
