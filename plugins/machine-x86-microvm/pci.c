/* SPDX-License-Identifier: GPL-2.0-or-later */
/* x86-microvm with `pcie = true`: a PCIe host (the core's: mosaic/pci.h) with its ECAM
 * at 0xe0000000 (buses 0-15), a 32-bit memory window at 0xd8000000 (128 MiB), a 64-bit
 * prefetchable one of 32 GiB at the first 32 GiB boundary above RAM, and the I/O window
 * in the port space (ports 0x1000-0xffff are offered), as QEMU's microvm does with
 * pcie=on.  The ACPI tables announce it (acpi.c: MCFG, a PNP0A08 host bridge with its
 * _CRS and _PRT, the ECAM reserved as a motherboard resource).
 *
 * Interrupts are MSI/MSI-X: a function's message write lands in the MSI window at
 * 0xfee00000 (where the local APICs are, as on hardware) and goes to the accelerator's
 * interrupt controllers (mosaic_machine_msi: KVM_SIGNAL_MSI).  vCPU accesses to the
 * APIC page itself never get here: the in-kernel local APIC takes them.  A guest without
 * MSI (Linux pci=nomsi) uses INTx: the root bus's INTA-INTD are IOAPIC pins 20-23 (the
 * _PRT says which slot and pin reach which), level-triggered; they go through the
 * accelerator's line ioctls, not an irqfd (a shared, swizzled line has no one device
 * to re-raise it after the guest's EOI). */
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
    uint64_t ram_end = MVM_HIGHMEM + v->high_size;
    v->mem64_base = (ram_end + MVM_PCIE_MMIO64_ALIGN - 1) & ~(MVM_PCIE_MMIO64_ALIGN - 1);
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
        .mem64_base = v->mem64_base,
        .mem64_size = MVM_PCIE_MMIO64_SIZE,
        .io_base = 0,
        .io_size = MVM_PCIE_IO_SIZE,
        .dma = mosaic_machine_address_space(v->m),
        .container = sys,
        .io_container = mosaic_machine_io_memory(v->m),
    };
    for (unsigned i = 0; i < 4; i++)
        d.intx[i] = mosaic_vcpu_irq(mosaic_machine_vcpu(v->m, 0), MOSAIC_X86_IRQ_GSI(MVM_PCIE_GSI + i));
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
