/* SPDX-License-Identifier: GPL-2.0-or-later */
/* riscv-virt: a board laid out like QEMU's `virt` machine, so stock OpenSBI and Linux
 * boot on it unchanged.  Internal header shared by the board's files. */
#ifndef RISCV_VIRT_H
#define RISCV_VIRT_H

#include <mosaic/mosaic.h>
#include <mosaic/riscv.h>

#define VIRT_MROM_BASE 0x1000ull
#define VIRT_MROM_SIZE 0xf000ull
#define VIRT_TEST_BASE 0x100000ull
#define VIRT_RTC_BASE 0x101000ull
#define VIRT_CLINT_BASE 0x2000000ull
#define VIRT_CLINT_SIZE 0x10000ull
#define VIRT_PLIC_BASE 0xc000000ull
#define VIRT_PLIC_SIZE 0x600000ull
#define VIRT_UART_BASE 0x10000000ull
#define VIRT_UART_SIZE 0x100ull
#define VIRT_VIRTIO_BASE 0x10001000ull
#define VIRT_VIRTIO_STEP 0x1000ull
#define VIRT_VIRTIO_COUNT 8
#define VIRT_DRAM_BASE 0x80000000ull
#define VIRT_PCIE_PIO_BASE 0x3000000ull
#define VIRT_PCIE_PIO_SIZE 0x10000ull
#define VIRT_PCIE_ECAM_BASE 0x30000000ull
#define VIRT_PCIE_ECAM_SIZE 0x10000000ull
#define VIRT_PCIE_MMIO_BASE 0x40000000ull
#define VIRT_PCIE_MMIO_SIZE 0x40000000ull
#define VIRT_PCIE_MMIO64_BASE 0x400000000ull
#define VIRT_PCIE_MMIO64_SIZE 0x400000000ull
#define VIRT_PCIE_IRQ 32 /* INTA..INTD: PLIC 32..35 */

#define VIRT_UART_IRQ 10
#define VIRT_RTC_IRQ 11
#define VIRT_VIRTIO_IRQ 1 /* slot i uses PLIC source 1 + i */
#define VIRT_PLIC_NDEV 95 /* sources 1..95 */

#define VIRT_MAX_HARTS 64

/* Unmaps (when mapped: container != NULL) and drops a device's region. */
static inline void virt_region_remove(MosaicRegion *container, MosaicRegion *mr)
{
    if (container && mr)
        mosaic_region_del(container, mr);
    if (mr)
        mosaic_region_unref(mr);
}

/* ---- CLINT (clint.c) ---- */
typedef struct Clint Clint;
Clint *clint_new(MosaicMachine *m, unsigned nharts, MosaicError *err);
void clint_reset(Clint *c);
void clint_free(Clint *c);

/* ---- PLIC (plic.c) ---- */
typedef struct Plic Plic;
Plic *plic_new(MosaicMachine *m, unsigned nharts, MosaicError *err);
MosaicIrq plic_input(Plic *p, unsigned source);
void plic_reset(Plic *p);
void plic_free(Plic *p);

/* ---- SiFive test device (test.c) and goldfish RTC (rtc.c) ---- */
MosaicRegion *sifive_test_new(MosaicMachine *m, uint64_t base, MosaicError *err);
typedef struct Rtc Rtc;
Rtc *rtc_new(MosaicMachine *m, uint64_t base, MosaicIrq irq, MosaicError *err);
void rtc_reset(Rtc *r);
void rtc_free(Rtc *r);

/* ---- PCIe ECAM host (pcie.c) ---- */
MosaicPciHost *pcie_new(MosaicMachine *m, Plic *plic, MosaicError *err);

/* ---- the board (virt.c) ---- */
typedef struct Virt {
    MosaicMachine *m;
    unsigned nharts;
    uint64_t ram_size;
    MosaicRegion *ram, *rom, *test;
    bool ram_mapped, rom_mapped;
    MosaicRegion *virtio_placeholder[VIRT_VIRTIO_COUNT];
    unsigned virtio_used;
    Clint *clint;
    Plic *plic;
    Rtc *rtc;
    MosaicPciHost *pcie;

    /* From the [machine] section. */
    char *firmware, *kernel, *initrd, *append, *dumpdtb, *isa, *mmu;

    /* Boot state, computed once and applied on every reset. */
    bool bare;               /* no firmware: enter `entry` in M-mode */
    uint64_t entry;          /* first instruction after the ROM */
    uint64_t kernel_start;   /* fw_dynamic next_addr */
    uint64_t initrd_start, initrd_end;
    uint64_t fdt_addr;
    void *fdt;               /* the blob, kept to restore it on reset */
    size_t fdt_size;
    unsigned resets;
} Virt;

/* Device tree (fdt.c): builds the blob; returns NULL with err set. */
void *virt_build_fdt(Virt *v, size_t *size, MosaicError *err);

/* Boot images (boot.c). */
bool virt_load_images(Virt *v, MosaicError *err);
bool virt_place_fdt(Virt *v, const void *fdt, size_t size, MosaicError *err);
void virt_boot_reset(Virt *v);

#endif
