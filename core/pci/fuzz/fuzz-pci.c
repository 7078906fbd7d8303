/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: config-space and BAR accesses from a guest.  A host with a
 * device on the root bus (three BARs, MSI, MSI-X), the pcie-pci-bridge plugin's device
 * (type-1 header, SHPC in BAR 0 and its config window, MSI) and two devices behind it
 * takes a stream of ECAM reads and writes, MMIO accesses anywhere in the windows
 * (BARs, MSI-X tables, the SHPC registers), interrupt raises and hot-plug requests on
 * the bridge's SHPC slots; after each step the bookkeeping must hold: each host line
 * counts exactly the functions asserting it, every mapped BAR lies inside a window at
 * the address its registers say. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pci/pci-internal.h"
#include "../../plugins/pci-pcie-bridge/bridge.h"

#define ECAM 0x30000000ull
#define MEM 0x40000000ull
#define MEM_SIZE 0x1000000ull
#define MEM64 0x400000000ull
#define IO 0x3000000ull
#define RAM 0x80000000ull

static uint64_t mmio_read(void *o, uint64_t off, unsigned size) { return off; }
static void mmio_write(void *o, uint64_t off, uint64_t v, unsigned size) {}
static const MosaicMmioOps ops = {.size = sizeof ops, .read = mmio_read, .write = mmio_write};
static int lines[4];
static void line_set(void *o, unsigned n, bool level) { lines[n] = level; }

static MosaicPciDev *devs[4];
static MosaicPciDev *released; /* the bridge let it go: the core unplugs it after the step */

/* The core's slot.c (not linked: it needs the machine's device list). */
MosaicPciDev *mosaic_pci_bridge_child(MosaicPciDev *bridge, unsigned devfn)
{
    return bridge->secondary && devfn < PCI_DEVFNS ? bridge->secondary->devs[devfn] : NULL;
}

void mosaic_pci_unplug_done(MosaicPciDev *child)
{
    if (released && released != child)
        abort(); /* one device can leave per step here */
    released = child;
}

/* Hot-plug through the bridge's controller: device 3 in or out (unplug request). */
static void hotplug(unsigned slot)
{
    MosaicPciDev *br = devs[1], *d = devs[3];
    MosaicError *err = mosaic_error_new();
    if (!d->bus) {
        if (br->ops.hotplug_check(br->ops_opaque, slot, err) &&
            pci_bus_plug(br->secondary, d, slot << 3, NULL))
            br->ops.plugged(br->ops_opaque, d);
    } else {
        br->ops.unplug_request(br->ops_opaque, d, err);
    }
    mosaic_error_free(err);
}

static void check_dev(MosaicPciHost *h, MosaicPciDev *d, unsigned *count)
{
    if (d->intx_asserted)
        count[d->intx_route]++;
    for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
        PciBar *b = &d->bars[n];
        if (!b->mapped)
            continue;
        uint64_t base = b->window == h->io ? 0 : b->window == h->mem ? MEM : MEM64;
        uint64_t size = b->window == h->io ? 0x10000 : b->window == h->mem ? MEM_SIZE : 1ull << 32;
        if (b->addr < base || b->addr + b->size > base + size || b->addr != pci_bar_addr(d, n))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    MosaicRegion *root = mosaic_region_new_container("sys", UINT64_MAX);
    MosaicRegion *ram = mosaic_region_new_ram("ram", 0x10000, NULL);
    mosaic_region_add(root, RAM, ram, 0, NULL);
    MosaicAddressSpace *as = mosaic_address_space_new("sys", root);
    MosaicPciHostDesc desc = {
        .size = sizeof desc, .ecam_base = ECAM, .ecam_size = 4 << 20, .mem_base = MEM,
        .mem_size = MEM_SIZE, .mem64_base = MEM64, .mem64_size = 1ull << 32, .io_base = IO,
        .io_size = 0x10000, .dma = as, .container = root,
    };
    for (unsigned i = 0; i < 4; i++)
        desc.intx[i] = (MosaicIrq){line_set, NULL, i};
    MosaicPciHost *h = mosaic_pci_host_new(NULL, &desc, NULL);
    MosaicRegion *bars[3] = {
        mosaic_region_new_mmio("b0", 0x1000, &ops, NULL),
        mosaic_region_new_mmio("b2", 0x100000, &ops, NULL),
        mosaic_region_new_mmio("b4", 0x100, &ops, NULL),
    };
    for (unsigned i = 0; i < 4; i++) {
        devs[i] = pci_dev_new(h, "fuzz");
        mosaic_pci_set_intx_pin(devs[i], 1 + i % 4);
    }
    pci_bus_plug(h->root, devs[0], 1 << 3, NULL);
    mosaic_pci_register_bar(devs[0], 0, 0, bars[0], NULL);
    mosaic_pci_register_bar(devs[0], 2, MOSAIC_PCI_BAR_MEM64 | MOSAIC_PCI_BAR_PREFETCH, bars[1], NULL);
    mosaic_pci_register_bar(devs[0], 4, MOSAIC_PCI_BAR_IO, bars[2], NULL);
    mosaic_pci_msi_init(devs[0], 8, NULL);
    pci_bus_plug(h->root, devs[1], 2 << 3, NULL);
    Bridge *bridge = pcie_pci_bridge_new(devs[1], 1, NULL);
    if (!bridge)
        abort();
    pci_bus_plug(devs[1]->secondary, devs[2], 0, NULL);
    mosaic_pci_msix_init(devs[2], 4, 1, NULL);
    mosaic_pci_add_cap(devs[2], MOSAIC_PCI_CAP_EXP, 60, NULL);
    mosaic_pci_add_ext_cap(devs[2], 1, 1, 8, NULL);
    pci_bus_plug(devs[1]->secondary, devs[3], 1 << 3, NULL);
    for (unsigned i = 0; i < 4; i++)
        pci_dev_seal(devs[i]);

    /* 8-byte steps: op, size, 16-bit location, 32-bit value. */
    for (size_t i = 0; i + 8 <= size; i += 8) {
        const uint8_t *s = data + i;
        unsigned op = s[0] % 7, sz = 1u << (s[1] & 3);
        uint32_t val;
        memcpy(&val, s + 4, 4);
        uint64_t loc = (uint64_t)s[2] | (uint64_t)s[3] << 8;
        uint64_t v = 0;
        switch (op) {
        case 0: /* ECAM write: bus 0-3, slot, function, register (all of them) */
            mosaic_as_write(as, ECAM + ((uint64_t)(s[1] >> 2 & 3) << 20 | loc << 4 | (val >> 20 & 0xf)),
                            sz > 4 ? 4 : sz, val);
            break;
        case 1:
            mosaic_as_read(as, ECAM + ((uint64_t)(s[1] >> 2 & 3) << 20 | loc << 4), sz > 4 ? 4 : sz, &v);
            break;
        case 2: /* anywhere in the 32-bit window, 64 KiB granules */
            mosaic_as_write(as, MEM + (loc << 8) + (val & 0xfc), sz, val);
            break;
        case 3:
            mosaic_as_read(as, IO + (loc & 0xfffc), sz > 4 ? 4 : sz, &v);
            break;
        case 4:
            mosaic_pci_set_intx(devs[s[1] & 3], s[2] & 1);
            break;
        case 5:
            mosaic_pci_msi_notify(devs[s[1] & 3], s[2]);
            break;
        case 6:
            hotplug(s[2] & 31);
            break;
        }
        if (released) {
            pci_bus_unplug(released);
            released = NULL;
        }
        unsigned count[4] = {0};
        for (unsigned k = 0; k < 4; k++)
            check_dev(h, devs[k], count);
        for (unsigned k = 0; k < 4; k++)
            if (count[k] != h->intx_count[k] || lines[k] != (count[k] > 0))
                abort();
    }
    pcie_pci_bridge_free(bridge);
    for (unsigned i = 4; i-- > 0;)
        pci_dev_free(devs[i]);
    mosaic_pci_host_free(h);
    for (unsigned i = 0; i < 3; i++)
        mosaic_region_unref(bars[i]);
    mosaic_address_space_free(as);
    mosaic_region_del(root, ram);
    mosaic_region_unref(ram);
    mosaic_region_unref(root);
    memset(lines, 0, sizeof lines);
    return 0;
}
