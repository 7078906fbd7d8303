/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The PCIe-to-PCI bridge device on a PCI function (the plugin's realize, the fuzzer). */
#ifndef PCIE_PCI_BRIDGE_H
#define PCIE_PCI_BRIDGE_H

#include <mosaic/mosaic.h>

typedef struct Bridge Bridge;

/* Makes `d` the bridge: type-1 header, PCIe and MSI capabilities, the SHPC (slots 1-31
 * behind it, physical slot numbers from `psn`) in BAR 0 and its capability. */
Bridge *pcie_pci_bridge_new(MosaicPciDev *d, unsigned psn, MosaicError *err);
void pcie_pci_bridge_free(Bridge *b);

#endif
