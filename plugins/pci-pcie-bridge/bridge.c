/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pcie-pci-bridge: a PCI Express-to-PCI bridge (1b36:000e, like QEMU's) that plugs into
 * a root port or the root bus, at start or hot-plugged, and gives a conventional PCI
 * bus of 32 slots behind it (`bus = LABEL` of the bridge).  Config cycles, bus numbers,
 * windows and the INTx swizzle are the core's type-1 bridge (mosaic/pci.h); this plugin
 * adds the PCI Express capability (PCIe-to-PCI bridge), MSI, the identity, and a
 * standard hot-plug controller (shpc.c) for slots 1-31: its registers in BAR 0 and
 * behind the SHPC capability's DWORD select/data window, its interrupt on MSI when the
 * guest enabled it, else INTA.  Slot 0 takes cold-plugged devices only. */
#include <glib.h>
#include <mosaic/mosaic.h>

#include "bridge.h"
#include "shpc.h"

enum { X_FLAGS = 2, X_DEVCAP = 4, X_DEVCTL = 8, X_DEVSTA = 10, X_LNKCAP = 12, X_LNKCTL = 16,
       X_LNKSTA = 18, X_SIZE = 60 };
/* SHPC capability: id, next, DWORD select, pending bits, DWORD data. */
enum { SHPC_CAP_SELECT = 2, SHPC_CAP_DATA = 4, SHPC_CAP_SIZE = 8 };

struct Bridge {
    MosaicPciDev *pd;
    unsigned shpc_cap;
    Shpc shpc;
    MosaicRegion *bar;
    bool level;                              /* interrupt condition last seen */
    MosaicPciDev *leaving[SHPC_MAX_SLOTS];   /* device_del asked, the guest has it on */
};

/* The config window shows the DWORD the guest selected; the interrupt follows events. */
static void sync(Bridge *b)
{
    unsigned sel = mosaic_pci_config_get(b->pd, b->shpc_cap + SHPC_CAP_SELECT, 1);
    mosaic_pci_config_set(b->pd, b->shpc_cap + SHPC_CAP_DATA, 4, shpc_read(&b->shpc, sel * 4, 4));
    bool level = shpc_irq_level(&b->shpc);
    if (mosaic_pci_msi_enabled(b->pd)) {
        mosaic_pci_set_intx(b->pd, false);
        if (level && !b->level)
            mosaic_pci_msi_notify(b->pd, 0);
    } else {
        mosaic_pci_set_intx(b->pd, level);
    }
    b->level = level;
}

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
    Bridge *b = opaque;
    return off < SHPC_BAR_SIZE ? shpc_read(&b->shpc, off, size) : 0;
}

static void bar_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Bridge *b = opaque;
    if (off < SHPC_BAR_SIZE)
        shpc_write(&b->shpc, off, size, val);
    sync(b);
}

static const MosaicMmioOps bar_ops = {
    .size = sizeof(MosaicMmioOps),
    .read = bar_read,
    .write = bar_write,
    .min_access = 1,
    .max_access = 4,
};

/* Writes through the capability's data window reach the selected register. */
static void bridge_written(void *opaque, unsigned off, unsigned size, uint32_t val)
{
    Bridge *b = opaque;
    unsigned data = b->shpc_cap + SHPC_CAP_DATA;
    unsigned start = MAX(off, data), end = MIN(off + size, data + 4);
    if (start < end) {
        unsigned sel = mosaic_pci_config_get(b->pd, b->shpc_cap + SHPC_CAP_SELECT, 1);
        uint32_t part = (uint32_t)((uint64_t)val >> (8 * (start - off)));
        shpc_write(&b->shpc, sel * 4 + (start - data), end - start, part);
    }
    sync(b);
}

/* SHPC slot i holds device number i + SHPC_FIRST_DEV. */
static int shpc_slot_of(unsigned pci_slot)
{
    return pci_slot >= SHPC_FIRST_DEV ? (int)(pci_slot - SHPC_FIRST_DEV) : -1;
}

static MosaicPciDev *child_in(Bridge *b, unsigned i)
{
    return mosaic_pci_bridge_child(b->pd, (i + SHPC_FIRST_DEV) << 3);
}

/* The guest disabled slot i: a card device_del asked for leaves now. */
static void slot_off(void *opaque, unsigned i)
{
    Bridge *b = opaque;
    MosaicPciDev *child = b->leaving[i];
    if (!child)
        return;
    b->leaving[i] = NULL;
    shpc_card_removed(&b->shpc, i);
    mosaic_pci_unplug_done(child);
}

static void bridge_reset(void *opaque)
{
    Bridge *b = opaque;
    bool present[SHPC_MAX_SLOTS] = {0};
    for (unsigned i = 0; i < b->shpc.nslots; i++) {
        if (b->leaving[i]) {
            /* The guest that was to release it is gone: it leaves now. */
            MosaicPciDev *child = b->leaving[i];
            b->leaving[i] = NULL;
            mosaic_pci_unplug_done(child);
            continue;
        }
        present[i] = child_in(b, i) != NULL;
    }
    shpc_reset(&b->shpc, present);
    b->level = false;
    sync(b);
}

static bool bridge_hotplug_check(void *opaque, unsigned slot, MosaicError *err)
{
    Bridge *b = opaque;
    int i = shpc_slot_of(slot);
    if (i < 0 || (unsigned)i >= b->shpc.nslots) {
        mosaic_error_set(err, "slot %u has no hot-plug controller (the bridge's hot-plug "
                         "slots are %u-%u)", slot, SHPC_FIRST_DEV,
                         SHPC_FIRST_DEV + b->shpc.nslots - 1);
        return false;
    }
    if (child_in(b, i)) {
        mosaic_error_set(err, "slot %u is occupied%s", slot,
                         b->leaving[i] ? " (its device is leaving)" : "");
        return false;
    }
    if (shpc_slot_powered(&b->shpc, i)) {
        mosaic_error_set(err, "slot %u: the guest has not powered it off yet", slot);
        return false;
    }
    return true;
}

static void bridge_plugged(void *opaque, MosaicPciDev *child)
{
    Bridge *b = opaque;
    int i = shpc_slot_of(mosaic_pci_devfn(child) >> 3);
    if (i < 0)
        return;
    shpc_card_inserted(&b->shpc, i);
    sync(b);
}

static bool bridge_unplug_request(void *opaque, MosaicPciDev *child, MosaicError *err)
{
    Bridge *b = opaque;
    int i = shpc_slot_of(mosaic_pci_devfn(child) >> 3);
    if (i < 0 || (unsigned)i >= b->shpc.nslots) {
        mosaic_error_set(err, "slot %u of the bridge has no hot-plug controller",
                         mosaic_pci_devfn(child) >> 3);
        return false;
    }
    if (b->leaving[i]) {
        mosaic_error_set(err, "an unplug is already in progress");
        return false;
    }
    if (!shpc_slot_powered(&b->shpc, i)) {
        /* Never powered on by the guest: nothing to release. */
        shpc_card_removed(&b->shpc, i);
        mosaic_pci_unplug_done(child);
    } else {
        b->leaving[i] = child;
        shpc_button(&b->shpc, i); /* the guest powers the slot off 5 s later */
    }
    sync(b);
    return true;
}

static const MosaicPciConfigOps bridge_cfg_ops = {
    .size = sizeof(MosaicPciConfigOps),
    .written = bridge_written,
    .reset = bridge_reset,
    .hotplug_check = bridge_hotplug_check,
    .plugged = bridge_plugged,
    .unplug_request = bridge_unplug_request,
};

static bool add_express_cap(MosaicPciDev *d, MosaicError *err)
{
    unsigned c = mosaic_pci_add_cap(d, MOSAIC_PCI_CAP_EXP, X_SIZE, err);
    if (!c)
        return false;
    mosaic_pci_config_set(d, c + X_FLAGS, 2, 2 | 7 << 4); /* v2, PCIe-to-PCI bridge */
    mosaic_pci_config_set(d, c + X_DEVCAP, 4, 0x8000);
    mosaic_pci_set_wmask(d, c + X_DEVCTL, 2, 0x7fff);
    mosaic_pci_set_w1cmask(d, c + X_DEVSTA, 2, 0x000f);
    mosaic_pci_config_set(d, c + X_LNKCAP, 4, 1 | 1 << 4);   /* 2.5 GT/s x1 */
    mosaic_pci_set_wmask(d, c + X_LNKCTL, 2, 0x0ffb);
    mosaic_pci_config_set(d, c + X_LNKSTA, 2, 1 | 1 << 4);
    return true;
}

void pcie_pci_bridge_free(Bridge *b)
{
    mosaic_pci_set_config_ops(b->pd, NULL, NULL);
    mosaic_pci_set_intx(b->pd, false);
    mosaic_pci_unregister_bar(b->pd, 0);
    if (b->bar)
        mosaic_region_unref(b->bar);
    g_free(b);
}

Bridge *pcie_pci_bridge_new(MosaicPciDev *d, unsigned psn, MosaicError *err)
{
    if (!mosaic_pci_bridge_init(d, err))
        return NULL;
    mosaic_pci_set_ids(d, 0x1b36, 0x000e, 0x060400, 0, 0, 0);
    mosaic_pci_set_intx_pin(d, 1);
    Bridge *b = g_new0(Bridge, 1);
    b->pd = d;
    shpc_init(&b->shpc, SHPC_MAX_SLOTS, psn);
    b->shpc.slot_off = slot_off;
    b->shpc.opaque = b;
    b->bar = mosaic_region_new_mmio("shpc", SHPC_BAR_SIZE, &bar_ops, b);
    if (!add_express_cap(d, err) || !mosaic_pci_msi_init(d, 1, err) ||
        !(b->shpc_cap = mosaic_pci_add_cap(d, MOSAIC_PCI_CAP_SHPC, SHPC_CAP_SIZE, err)) ||
        !mosaic_pci_register_bar(d, 0, 0, b->bar, err)) {
        pcie_pci_bridge_free(b);
        return NULL;
    }
    mosaic_pci_set_wmask(d, b->shpc_cap + SHPC_CAP_SELECT, 1, 0xff);
    mosaic_pci_set_config_ops(d, &bridge_cfg_ops, b);
    sync(b);
    return b;
}
