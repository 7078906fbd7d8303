/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PCIe host at QEMU virt's addresses: ECAM at 0x30000000 (buses 0-255), the PIO window
 * (0x3000000), the 32-bit MMIO window (0x40000000) and the 64-bit one (0x400000000),
 * INTx A-D on PLIC 32-35.  The bus tree, the host bridge at 00:00.0 (1b36:0008, like
 * QEMU's gpex), config space and BAR mapping are the core's (mosaic/pci.h); the board
 * only says where the windows are.  No MSI controller (no IMSIC): guests use INTx. */
#include <string.h>
#include "virt.h"

MosaicPciHost *pcie_new(MosaicMachine *m, Plic *plic, MosaicError *err)
{
    MosaicPciHostDesc d = {
        .size = sizeof d,
        .ecam_base = VIRT_PCIE_ECAM_BASE,
        .ecam_size = VIRT_PCIE_ECAM_SIZE,
        .mem_base = VIRT_PCIE_MMIO_BASE,
        .mem_size = VIRT_PCIE_MMIO_SIZE,
        .mem64_base = VIRT_PCIE_MMIO64_BASE,
        .mem64_size = VIRT_PCIE_MMIO64_SIZE,
        .io_base = VIRT_PCIE_PIO_BASE,
        .io_size = VIRT_PCIE_PIO_SIZE,
        .dma = mosaic_machine_address_space(m),
        .container = mosaic_machine_memory(m),
    };
    for (unsigned i = 0; i < 4; i++)
        d.intx[i] = plic_input(plic, VIRT_PCIE_IRQ + i);
    return mosaic_pci_host_new(m, &d, err);
}
