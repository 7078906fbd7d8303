/* SPDX-License-Identifier: GPL-2.0-or-later */
/* x86-microvm with `pcie = true`: a PCIe host (the core's: mosaic/pci.h) with its ECAM
 * at 0xe0000000 (buses 0-15) and a 32-bit memory window at 0xd8000000 (128 MiB), as
 * QEMU's microvm does with pcie=on.  The ACPI tables announce it (acpi.c: MCFG, a
 * PNP0A08 host bridge with its _CRS, the ECAM reserved as a motherboard resource).
 *
 * Interrupts are MSI/MSI-X: a function's message write lands in the MSI window at
 * 0xfee00000 (where the local APICs are, as on hardware) and goes to the accelerator's
 * interrupt controllers (mosaic_machine_msi: KVM_SIGNAL_MSI).  vCPU accesses to the
 * APIC page itself never get here: the in-kernel local APIC takes them.  There is no
 * INTx routing (_PRT): a guest without MSI sees the functions but gets no interrupts. */
#include "microvm.h"

static uint64_t msi_read(void *opaque, uint64_t off, unsigned size)
{
    return 0;
}

static void msi_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Microvm *v = opaque;
    if (!mosaic_machine_msi(v->m, MOSAIC_X86_LAPIC_BASE + off, (uint32_t)val))
        mosaic_log("x86-microvm", 1, "MSI 0x%llx <- 0x%llx: the accelerator cannot deliver it",
                   (unsigned long long)(MOSAIC_X86_LAPIC_BASE + off), (unsigned long long)val);
}

static const MosaicMmioOps msi_ops = {
    .size = sizeof(MosaicMmioOps),
    .read = msi_read,
    .write = msi_write,
    .min_access = 4,
    .max_access = 4,
};

bool microvm_pci_init(Microvm *v, MosaicError *err)
{
    MosaicRegion *sys = mosaic_machine_memory(v->m);
    v->msi = mosaic_region_new_mmio("x86-microvm.msi", MVM_MSI_SIZE, &msi_ops, v);
    if (!(v->msi_mapped = mosaic_region_add(sys, MOSAIC_X86_LAPIC_BASE, v->msi, -1, err)))
        return false;
    MosaicPciHostDesc d = {
        .size = sizeof d,
        .ecam_base = MVM_PCIE_ECAM_BASE,
        .ecam_size = MVM_PCIE_ECAM_SIZE,
        .mem_base = MVM_PCIE_MMIO_BASE,
        .mem_size = MVM_PCIE_MMIO_SIZE,
        .dma = mosaic_machine_address_space(v->m),
        .container = sys,
    };
    v->pcie = mosaic_pci_host_new(v->m, &d, err);
    return v->pcie != NULL;
}

void microvm_pci_fini(Microvm *v)
{
    mosaic_pci_host_free(v->pcie);
    v->pcie = NULL;
    if (v->msi_mapped)
        mosaic_region_del(mosaic_machine_memory(v->m), v->msi);
    if (v->msi)
        mosaic_region_unref(v->msi);
    v->msi = NULL;
    v->msi_mapped = false;
}
