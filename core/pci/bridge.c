/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Type-1 headers (PCI-to-PCI bridge spec 1.2, ch. 3): bus numbers, the I/O, memory
 * and prefetchable (64-bit) windows, secondary status (write-1-to-clear) and bridge
 * control, whose secondary bus reset resets every function behind the bridge.
 * Forwarding is decided by bus numbers for config cycles (bus.c); memory and I/O
 * windows are kept for the guest's sake but not enforced: every BAR maps straight into
 * the host's windows (bar.c), which is what a guest that programs the windows sees. */
#include "pci/pci-internal.h"

bool pci_is_bridge(const MosaicPciDev *d)
{
    return (d->cfg[PCI_HEADER_TYPE] & 0x7f) == 1;
}

static void reset_below(PciBus *b)
{
    for (unsigned i = 0; i < PCI_DEVFNS; i++)
        if (b->devs[i]) {
            pci_dev_reset(b->devs[i]);
            if (b->devs[i]->secondary)
                reset_below(b->devs[i]->secondary);
        }
}

void pci_bridge_written(MosaicPciDev *d, unsigned off, unsigned size, uint32_t val)
{
    if (!d->secondary || !(off <= PCI_BRIDGE_CONTROL && PCI_BRIDGE_CONTROL < off + size))
        return;
    if ((val >> (8 * (PCI_BRIDGE_CONTROL - off))) & 0x40) {
        reset_below(d->secondary);
        pci_host_update_mappings(d->host);
    }
}

/* Enhanced Allocation (PCI ECN, cap id 0x14): for a type-1 function its first DWORD
 * after the header holds fixed secondary and subordinate bus numbers, which Linux takes
 * over its own numbering (drivers/pci/probe.c, pci_ea_fixed_busnrs) even when it
 * renumbers every bus, as on riscv-virt where no firmware enumerates PCI.  That is how
 * a root port keeps spare bus numbers for a bridge hot-plugged into it. */
#define PCI_CAP_EA 0x14
#define EA_SIZE 8

static unsigned number_bus(PciBus *b, unsigned max)
{
    for (unsigned i = 0; i < PCI_DEVFNS; i++) {
        MosaicPciDev *d = b->devs[i];
        if (!d || !d->secondary || (i & 7 && !b->devs[i & ~7u]))
            continue;
        unsigned sec = max + 1;
        max = number_bus(d->secondary, sec);
        if (d->ea_cap) {
            unsigned sub = MIN(MAX(max, sec + d->bus_reserve), 255u);
            pci_put(d->cfg + d->ea_cap + 4, 4, MIN(sec, 255u) | sub << 8);
            max = sub;
        }
    }
    return max;
}

void pci_host_number_buses(MosaicPciHost *h)
{
    if (h && h->root)
        number_bus(h->root, 0);
}

MOSAIC_API bool mosaic_pci_bridge_reserve_buses(MosaicPciDev *d, unsigned n, MosaicError *err)
{
    if (!d->secondary) {
        mosaic_error_set(err, "%s: only a bridge reserves bus numbers", d->name);
        return false;
    }
    if (n > 254) {
        mosaic_error_set(err, "%s: %u buses do not fit in 256", d->name, n);
        return false;
    }
    if (!d->ea_cap) {
        unsigned c = mosaic_pci_add_cap(d, PCI_CAP_EA, EA_SIZE, err);
        if (!c)
            return false;
        d->ea_cap = c; /* no entries: byte 2 stays 0 */
    }
    d->bus_reserve = n;
    pci_host_number_buses(d->host);
    return true;
}

MOSAIC_API bool mosaic_pci_bridge_init(MosaicPciDev *d, MosaicError *err)
{
    if (d->secondary) {
        mosaic_error_set(err, "%s: already a bridge", d->name);
        return false;
    }
    for (unsigned n = 0; n < PCI_NUM_BARS; n++)
        if (d->bars[n].mr && n >= 2) {
            mosaic_error_set(err, "%s: a bridge has BARs 0 and 1 only", d->name);
            return false;
        }
    d->cfg[PCI_HEADER_TYPE] = 1;
    for (unsigned off = PCI_BAR0 + 8; off < 0x40; off++)
        d->wmask[off] = 0;
    d->wmask[PCI_INT_LINE] = 0xff;
    pci_put(d->wmask + PCI_PRIMARY_BUS, 4, 0xffffffff); /* bus numbers, sec. latency */
    d->cfg[PCI_IO_BASE] = d->cfg[PCI_IO_BASE + 1] = 0x01; /* 32-bit I/O addressing */
    pci_put(d->wmask + PCI_IO_BASE, 2, 0xf0f0);
    pci_put(d->wmask + PCI_IO_BASE_UPPER, 4, 0xffffffff);
    pci_put(d->w1cmask + PCI_SEC_STATUS, 2, 0xf900);
    pci_put(d->wmask + PCI_MEM_BASE, 4, 0xfff0fff0);
    pci_put(d->cfg + PCI_PREF_BASE, 4, 0x00010001);      /* 64-bit prefetchable */
    pci_put(d->wmask + PCI_PREF_BASE, 4, 0xfff0fff0);
    pci_put(d->wmask + PCI_PREF_BASE_UPPER, 4, 0xffffffff);
    pci_put(d->wmask + PCI_PREF_BASE_UPPER + 4, 4, 0xffffffff);
    pci_put(d->wmask + PCI_BRIDGE_CONTROL, 2, 0x0fff);
    d->secondary = pci_bus_new(d->host, d);
    return true;
}
