/* SPDX-License-Identifier: GPL-2.0-or-later */
/* BARs: sizing through the write mask (the guest writes all ones and reads back the
 * size as the bits that stuck), and mapping into the host's windows.  A BAR is mapped
 * only while its decode bit is on, it lies wholly inside a window and it overlaps
 * nothing else there; the guest cannot place a device over RAM or another device. */
#include "pci/pci-internal.h"

MOSAIC_API bool mosaic_pci_register_bar(MosaicPciDev *d, unsigned n, unsigned kind,
                                        MosaicRegion *mr, MosaicError *err)
{
    bool io = kind & MOSAIC_PCI_BAR_IO, is64 = !io && (kind & MOSAIC_PCI_BAR_MEM64);
    unsigned nbars = pci_is_bridge(d) ? 2 : PCI_NUM_BARS;
    uint64_t size = mr ? mosaic_region_size(mr) : 0;
    if (n >= nbars || (is64 && n + 1 >= nbars) || d->bars[n].mr || (is64 && d->bars[n + 1].mr)) {
        mosaic_error_set(err, "%s: BAR %u is not free", d->name, n);
        return false;
    }
    if (size < (io ? 4u : 16u) || (size & (size - 1)) || (io && size > 0x10000) ||
        (!is64 && size > 0x80000000ull)) {
        mosaic_error_set(err, "%s: BAR %u of %llu bytes: the size must be a power of two "
                         "(I/O 4 to 64K, memory from 16, 2G for 32-bit)", d->name, n,
                         (unsigned long long)size);
        return false;
    }
    PciBar *b = &d->bars[n];
    b->mr = mr;
    b->size = size;
    b->kind = kind;
    b->is_io = io;
    unsigned off = PCI_BAR0 + 4 * n;
    uint32_t type = io ? 1 : (is64 ? 4 : 0) | (kind & MOSAIC_PCI_BAR_PREFETCH ? 8 : 0);
    pci_put(d->cfg + off, 4, type);
    pci_put(d->wmask + off, 4, (uint32_t)~(size - 1) & (io ? ~3u : ~15u));
    if (is64) {
        pci_put(d->cfg + off + 4, 4, 0);
        pci_put(d->wmask + off + 4, 4, (uint32_t)(~(size - 1) >> 32));
    }
    return true;
}

static void unmap(PciBar *b);

MOSAIC_API void mosaic_pci_unregister_bar(MosaicPciDev *d, unsigned n)
{
    if (n >= PCI_NUM_BARS || !d->bars[n].mr)
        return;
    unmap(&d->bars[n]);
    d->bars[n].mr = NULL;
}

uint64_t pci_bar_addr(MosaicPciDev *d, unsigned n)
{
    PciBar *b = &d->bars[n];
    unsigned off = PCI_BAR0 + 4 * n;
    uint64_t addr = pci_get(d->cfg + off, 4) & (b->is_io ? ~3u : ~15u);
    if (!b->is_io && (b->kind & MOSAIC_PCI_BAR_MEM64))
        addr |= (uint64_t)pci_get(d->cfg + off + 4, 4) << 32;
    return addr;
}

static void unmap(PciBar *b)
{
    if (b->mapped)
        mosaic_region_del(b->window, b->mr);
    b->mapped = false;
    b->window = NULL;
}

void pci_dev_unmap_all(MosaicPciDev *d)
{
    for (unsigned n = 0; n < PCI_NUM_BARS; n++)
        if (d->bars[n].mr)
            unmap(&d->bars[n]);
}

/* Which window [addr, addr + size) of the host lies in, with its base; NULL: none. */
static MosaicRegion *window_for(MosaicPciHost *h, PciBar *b, uint64_t addr, uint64_t *base)
{
    const MosaicPciHostDesc *w = &h->desc;
    struct { MosaicRegion *mr; uint64_t base, size; } c[2] = {
        {b->is_io ? h->io : h->mem, b->is_io ? 0 : w->mem_base, b->is_io ? w->io_size : w->mem_size},
        {b->is_io ? NULL : h->mem64, w->mem64_base, b->is_io ? 0 : w->mem64_size},
    };
    for (unsigned i = 0; i < 2; i++)
        if (c[i].mr && addr >= c[i].base && b->size <= c[i].size &&
            addr - c[i].base <= c[i].size - b->size) {
            *base = c[i].base;
            return c[i].mr;
        }
    return NULL;
}

/* Where BAR n should be mapped now: false when it should not be. */
static bool wanted(MosaicPciDev *d, unsigned n, uint64_t *addr)
{
    PciBar *b = &d->bars[n];
    uint16_t cmd = pci_get(d->cfg + PCI_COMMAND, 2);
    if (!(cmd & (b->is_io ? PCI_CMD_IO : PCI_CMD_MEM)))
        return false;
    *addr = pci_bar_addr(d, n);
    /* All-ones while sizing, zero before assignment: not placed. */
    return *addr != 0 && *addr != (~(b->size - 1) & (b->is_io ? 0xfffffffcull : ~15ull));
}

static void for_each_dev(PciBus *bus, void (*fn)(MosaicPciDev *d, int pass), int pass)
{
    for (unsigned i = 0; i < PCI_DEVFNS; i++) {
        MosaicPciDev *d = bus->devs[i];
        if (!d)
            continue;
        fn(d, pass);
        if (d->secondary)
            for_each_dev(d->secondary, fn, pass);
    }
}

/* Pass 0 unmaps what moved or stopped decoding; pass 1 maps what should be, so a
 * swap of two BARs never sees them overlap. */
static void update_dev(MosaicPciDev *d, int pass)
{
    for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
        PciBar *b = &d->bars[n];
        if (!b->mr)
            continue;
        uint64_t addr = 0, base = 0;
        bool want = wanted(d, n, &addr);
        MosaicRegion *win = want ? window_for(d->host, b, addr, &base) : NULL;
        if (pass == 0) {
            if (b->mapped && (!win || win != b->window || addr != b->addr))
                unmap(b);
            continue;
        }
        if (b->mapped || !win)
            continue;
        MosaicError *err = mosaic_error_new();
        if (mosaic_region_add(win, addr - base, b->mr, 0, err)) {
            b->mapped = true;
            b->window = win;
            b->addr = addr;
        } else {
            mosaic_log("pci", 2, "%s: BAR %u at 0x%llx not mapped: %s", d->name, n,
                       (unsigned long long)addr, mosaic_error_message(err));
        }
        mosaic_error_free(err);
    }
}

void pci_host_update_mappings(MosaicPciHost *h)
{
    if (!h || h->remapping)
        return;
    h->remapping = true;
    for_each_dev(h->root, update_dev, 0);
    for_each_dev(h->root, update_dev, 1);
    h->remapping = false;
}
