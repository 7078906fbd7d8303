/* SPDX-License-Identifier: GPL-2.0-or-later */
/* x86-microvm: a minimal x86-64 board in the spirit of Firecracker and kvmtool: RAM,
 * a 16550 UART on port 0x3f8, virtio-mmio slots announced on the kernel command line,
 * a reset port and a power register, an MP table; Linux is booted directly in 64-bit
 * mode.  Internal header shared by the board's files. */
#ifndef X86_MICROVM_H
#define X86_MICROVM_H

#include <mosaic/mosaic.h>
#include <mosaic/x86.h>
#include <mosaic/pci.h>

/* Guest physical layout. */
#define MVM_GDT_ADDR 0x500ull
#define MVM_BOOT_PARAMS 0x7000ull   /* the "zero page" */
#define MVM_PML4 0x9000ull          /* identity map of the first 4 GiB, 2 MiB pages */
#define MVM_PDPT 0xa000ull
#define MVM_PD 0xb000ull            /* four pages: 0xb000-0xefff */
#define MVM_CMDLINE 0x20000ull
#define MVM_CMDLINE_MAX 0x10000ull
#define MVM_MPTABLE 0x9fc00ull      /* last KiB of base memory, where Linux looks */
#define MVM_EBDA_END 0x100000ull    /* 0x9fc00-0xfffff: reserved in the e820 map */
#define MVM_KERNEL 0x100000ull      /* protected-mode kernel */
#define MVM_LOWMEM_MAX 0xc0000000ull /* RAM below the MMIO hole; the rest goes above 4 GiB */
#define MVM_HIGHMEM 0x100000000ull
#define MVM_MAX_RAM (1ull << 39) /* 512 GiB */

#define MVM_POWER_BASE 0xd0000000ull /* SiFive-test-style power register */
#define MVM_VIRTIO_BASE 0xd0001000ull
#define MVM_VIRTIO_STEP 0x1000ull
#define MVM_VIRTIO_COUNT 8
#define MVM_VIRTIO_GSI 16            /* slot i: GSI 16 + i, level-triggered */

/* pcie = true (pci.c) */
#define MVM_PCIE_ECAM_BASE 0xe0000000ull
#define MVM_PCIE_ECAM_SIZE 0x1000000ull  /* buses 0-15 */
#define MVM_PCIE_MMIO_BASE 0xd8000000ull
#define MVM_PCIE_MMIO_SIZE 0x8000000ull
#define MVM_MSI_SIZE 0x100000ull         /* 0xfee00000-0xfeefffff */
#define MVM_PCIE_IO_MIN 0x1000u          /* I/O BARs: ports 0x1000-0xffff (below: the board's) */
#define MVM_PCIE_IO_SIZE 0x10000ull      /* PCI I/O address == port number */
#define MVM_PCIE_MMIO64_ALIGN (32ull << 30) /* 64-bit window: the first 32 GiB boundary */
#define MVM_PCIE_MMIO64_SIZE (32ull << 30)  /* above RAM, 32 GiB */
#define MVM_PCIE_GSI 20                  /* INTA-INTD of the root bus: GSI 20-23 */
#define MVM_VIRTIO_COUNT_PCIE 4          /* with pcie, virtio-mmio keeps GSI 16-19 */

#define MVM_UART_PORT 0x3f8
#define MVM_UART_GSI 4
#define MVM_RESET_PORT 0xcf9
#define MVM_SLEEP_PORT 0x600           /* ACPI sleep control (S5: power off), status at +1 */
#define MVM_MAX_CPUS 64


typedef struct Power Power;
Power *power_new(MosaicMachine *m, MosaicError *err);
void power_free(Power *p);

/* acpi.c: RSDP in the BIOS area and the tables it leads to (with pcie: MCFG and the
 * host bridge). */
typedef struct AcpiPcie {
    uint64_t mem64_base, mem64_size; /* the 64-bit prefetchable window */
} AcpiPcie;
bool acpi_write(MosaicMachine *m, unsigned ncpus, unsigned nslots, const AcpiPcie *pcie,
                MosaicError *err);

/* mptable.c: writes the MP floating pointer and table for `ncpus` at MVM_MPTABLE. */
bool mptable_write(MosaicMachine *m, unsigned ncpus, MosaicError *err);

typedef struct Microvm {
    MosaicMachine *m;
    unsigned ncpus;
    uint64_t ram_size, low_size, high_size;
    MosaicRegion *ram, *low_alias, *high_alias;
    bool low_mapped, high_mapped;
    Power *power;
    unsigned virtio_used;
    char *kernel, *initrd, *append;
    char *cmdline; /* append (+ the virtio-mmio devices with virtio_cmdline) */
    bool virtio_cmdline;
    bool images_fresh; /* loaded by devices_done, not yet run */
    uint64_t entry;
    bool pcie_on;            /* [machine] pcie */
    MosaicPciHost *pcie;
    uint64_t mem64_base;     /* the PCIe host's 64-bit window (pci.c) */
    MosaicRegion *msi;
    bool msi_mapped;
} Microvm;

/* pci.c: the PCIe host and the MSI window. */
bool microvm_pci_init(Microvm *v, MosaicError *err);
void microvm_pci_fini(Microvm *v);

/* boot.c: loads the bzImage, initrd, command line, boot parameters, page tables and
 * GDT; sets vCPU 0 to the 64-bit entry. */
bool microvm_load(Microvm *v, MosaicError *err);
void microvm_boot_regs(Microvm *v);

#endif
