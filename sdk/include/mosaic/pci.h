/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PCI and PCI Express: host bridges for boards, functions for device plugins.
 *
 * The core owns the bus tree (core/pci/): config space with its write masks, BAR
 * sizing and mapping into the host's windows, capability lists, INTx routing through
 * bridges (the standard swizzle) and MSI/MSI-X delivery.  A board creates one host
 * (an ECAM window, memory and I/O windows, four INTx lines) with mosaic_pci_host_new;
 * a device plugin whose ops->bus lists "pci" gets a slot whose `pci` member is its
 * function (MosaicBusSlot.pci), already on the bus the machine file named (`bus =`).
 *
 * MSI and MSI-X messages are memory writes of the message data to the message address
 * in the host's DMA address space, as on hardware: whatever the board maps there (an
 * IMSIC, a GIC ITS, an x86 LAPIC window) receives them.  A board without an MSI
 * controller describes none, so guests use INTx.
 *
 * Config space is little-endian; every guest access goes through the masks: bytes a
 * device made writable (mosaic_pci_set_wmask) change, bits it made write-1-to-clear
 * (mosaic_pci_set_w1cmask) clear, everything else is read-only.
 *
 * Changelog
 *   1.1  first version.
 */
#ifndef MOSAIC_PCI_H
#define MOSAIC_PCI_H

#include <mosaic/plugin.h>
#include <mosaic/device.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MosaicPciHost MosaicPciHost;
typedef struct MosaicPciDev MosaicPciDev; /* one function */

#define MOSAIC_PCI_CONFIG_SIZE 4096

/* Capability IDs (PCI Local Bus 3.0 / PCIe base spec). */
#define MOSAIC_PCI_CAP_PM 0x01
#define MOSAIC_PCI_CAP_MSI 0x05
#define MOSAIC_PCI_CAP_VENDOR 0x09
#define MOSAIC_PCI_CAP_BRIDGE_SUBSYS 0x0d
#define MOSAIC_PCI_CAP_EXP 0x10
#define MOSAIC_PCI_CAP_MSIX 0x11
#define MOSAIC_PCI_CAP_SHPC 0x0c

/* BAR kinds for mosaic_pci_register_bar. */
#define MOSAIC_PCI_BAR_IO 0x1
#define MOSAIC_PCI_BAR_MEM64 0x4
#define MOSAIC_PCI_BAR_PREFETCH 0x8

typedef struct MosaicPciHostDesc {
    uint32_t size;                /* sizeof(MosaicPciHostDesc) */
    uint64_t ecam_base, ecam_size; /* 1 MiB per bus */
    uint64_t mem_base, mem_size;   /* 32-bit window: PCI address == CPU address */
    uint64_t mem64_base, mem64_size; /* 64-bit window, 0 size: none */
    uint64_t io_base, io_size;     /* CPU address of PCI I/O address 0 */
    MosaicIrq intx[4];             /* INTA..INTD of the root bus's slot 0 */
    MosaicAddressSpace *dma;       /* what bus masters reach; MSI writes land here */
    MosaicRegion *container;       /* where the windows are mapped (system memory) */
    /* Since 1.1: where the I/O window is mapped instead, when not NULL: the port I/O
     * space of boards that have one (x86: mosaic_machine_io_memory, io_base 0, so that
     * PCI I/O addresses are port numbers). */
    MosaicRegion *io_container;
} MosaicPciHostDesc;

/* Since 1.1.  One host per machine; the core plugs `bus = ...` devices into it. */
MOSAIC_API MosaicPciHost *mosaic_pci_host_new(MosaicMachine *m, const MosaicPciHostDesc *desc,
                                              MosaicError *err);
MOSAIC_API void mosaic_pci_host_reset(MosaicPciHost *h);
MOSAIC_API void mosaic_pci_host_free(MosaicPciHost *h);

/* ---- functions (device plugins) ---- */

/* Identity of a type-0 function: vendor, device, 24-bit class code, revision,
 * subsystem vendor and subsystem ids. */
MOSAIC_API void mosaic_pci_set_ids(MosaicPciDev *d, uint16_t vendor, uint16_t device,
                                   uint32_t class_code, uint8_t revision, uint16_t subsys_vendor,
                                   uint16_t subsys);
/* Direct access to the function's config space (the device's own view: no masks). */
MOSAIC_API uint32_t mosaic_pci_config_get(MosaicPciDev *d, unsigned off, unsigned size);
MOSAIC_API void mosaic_pci_config_set(MosaicPciDev *d, unsigned off, unsigned size, uint32_t val);
MOSAIC_API void mosaic_pci_set_wmask(MosaicPciDev *d, unsigned off, unsigned size, uint32_t mask);
MOSAIC_API void mosaic_pci_set_w1cmask(MosaicPciDev *d, unsigned off, unsigned size, uint32_t mask);
/* Appends a capability of `size` bytes to the list; returns its offset, 0 with err when
 * the space is full.  Extended (PCIe, at 0x100+) capabilities take a 16-bit id. */
MOSAIC_API unsigned mosaic_pci_add_cap(MosaicPciDev *d, uint8_t id, unsigned size, MosaicError *err);
MOSAIC_API unsigned mosaic_pci_add_ext_cap(MosaicPciDev *d, uint16_t id, uint8_t version,
                                           unsigned size, MosaicError *err);
MOSAIC_API unsigned mosaic_pci_find_cap(MosaicPciDev *d, uint8_t id);
/* BAR n (0-5; a 64-bit BAR also takes n + 1) decodes `mr` (its size, a power of two
 * of at least 16 bytes for memory, 4 for I/O) once the guest placed it and enabled
 * decoding.  The core maps and unmaps it; the device keeps its reference. */
MOSAIC_API bool mosaic_pci_register_bar(MosaicPciDev *d, unsigned n, unsigned kind,
                                        MosaicRegion *mr, MosaicError *err);
/* Since 1.1: BAR n no longer decodes its region (unmapped now; its register stays):
 * a device unrealizing drops its BARs before it frees their regions. */
MOSAIC_API void mosaic_pci_unregister_bar(MosaicPciDev *d, unsigned n);
/* Interrupt pin (1 = INTA .. 4 = INTD, 0 none) and its level. */
MOSAIC_API void mosaic_pci_set_intx_pin(MosaicPciDev *d, unsigned pin);
MOSAIC_API void mosaic_pci_set_intx(MosaicPciDev *d, bool level);
/* An MSI capability (64-bit address, `nvec` vectors, a power of two <= 32). */
MOSAIC_API bool mosaic_pci_msi_init(MosaicPciDev *d, unsigned nvec, MosaicError *err);
/* An MSI-X capability with its table and PBA in BAR `bar` (a 4 KiB memory BAR per 256
 * vectors the core creates). */
MOSAIC_API bool mosaic_pci_msix_init(MosaicPciDev *d, unsigned nvec, unsigned bar,
                                     MosaicError *err);
MOSAIC_API bool mosaic_pci_msi_enabled(MosaicPciDev *d);  /* MSI or MSI-X on */
MOSAIC_API bool mosaic_pci_msix_enabled(MosaicPciDev *d);
/* Sends vector `v`'s message (MSI-X: pending while masked). */
MOSAIC_API void mosaic_pci_msi_notify(MosaicPciDev *d, unsigned v);

/* Optional: the guest wrote config bytes [off, off + size) (after the masks applied). */
typedef struct MosaicPciConfigOps {
    uint32_t size; /* sizeof(MosaicPciConfigOps) */
    void (*written)(void *opaque, unsigned off, unsigned size, uint32_t val);
    /* Optional: function-level reset by the system (config space is reset by the core). */
    void (*reset)(void *opaque);
    /* Bridges and ports with a hot-plug controller (device_add, device_del); without
     * these the bus behind refuses hot-plug.  May slot `slot` take a device now? */
    bool (*hotplug_check)(void *opaque, unsigned slot, MosaicError *err);
    /* `child` was realized on the secondary bus (hot-plugged): tell the guest. */
    void (*plugged)(void *opaque, MosaicPciDev *child);
    /* device_del of `child`: ask the guest to release it (attention button...); the
     * port calls mosaic_pci_unplug_done once the guest did. */
    bool (*unplug_request)(void *opaque, MosaicPciDev *child, MosaicError *err);
} MosaicPciConfigOps;
/* The guest released `child` (powered its slot off): the core removes the device on the
 * main loop and sends DEVICE_DELETED.  Any thread, core lock held. */
MOSAIC_API void mosaic_pci_unplug_done(MosaicPciDev *child);
/* The function at `devfn` on the bus behind a bridge, NULL when none. */
MOSAIC_API MosaicPciDev *mosaic_pci_bridge_child(MosaicPciDev *bridge, unsigned devfn);
MOSAIC_API void mosaic_pci_set_config_ops(MosaicPciDev *d, const MosaicPciConfigOps *ops,
                                          void *opaque);

/* Makes the function a type-1 (PCI-to-PCI) bridge with a secondary bus that devices
 * name by the bridge's label (`bus = LABEL`). */
MOSAIC_API bool mosaic_pci_bridge_init(MosaicPciDev *d, MosaicError *err);
/* Since 1.1: the bridge keeps `n` bus numbers below its secondary bus for bridges
 * hot-plugged behind it.  The guest learns it from an Enhanced Allocation capability
 * with fixed secondary/subordinate numbers (Linux honours them), which the core keeps
 * equal to the numbering the guest will give the tree at each reset. */
MOSAIC_API bool mosaic_pci_bridge_reserve_buses(MosaicPciDev *d, unsigned n, MosaicError *err);
MOSAIC_API uint8_t mosaic_pci_devfn(MosaicPciDev *d);

#ifdef __cplusplus
}
#endif
#endif
