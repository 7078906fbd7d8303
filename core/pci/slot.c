/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Where a [device] section's `bus =` puts a PCI function: `pcie.0` (or `pci`) is the
 * host's root bus, any other value the label of a bridge or root port defined earlier
 * in the machine file (or hot-plugged before), whose secondary bus takes it. */
#include "pci/pci-internal.h"
#include "device/device-internal.h"

#define ROOT_BUS "pcie.0"

gboolean pci_bus_name_is_root(const char *bus)
{
    return !bus || g_str_equal(bus, ROOT_BUS) || g_str_equal(bus, "pci");
}

MosaicPciDev *pci_slot_new(MosaicMachine *m, const char *bus, int slot, const char *name,
                           gboolean hotplug, GError **err)
{
    MosaicPciHost *h = pci_machine_host(m);
    if (!h) {
        g_set_error(err, PCI_ERROR, 0, "the board has no PCI host");
        return NULL;
    }
    PciBus *b = h->root;
    if (!pci_bus_name_is_root(bus)) {
        MosaicDevice *parent = device_find(m, bus);
        if (!parent) {
            g_set_error(err, PCI_ERROR, 0,
                        "bus = %s: no such device (name a bridge or root port defined "
                        "before this device, or " ROOT_BUS ")", bus);
            return NULL;
        }
        MosaicPciDev *pd = mosaic_device_slot(parent)->pci;
        if (!pd || !pd->secondary) {
            g_set_error(err, PCI_ERROR, 0,
                        "bus = %s: device '%s' (%s) has no PCI bus behind it", bus, bus,
                        mosaic_device_type(parent));
            return NULL;
        }
        b = pd->secondary;
    }
    if (hotplug && (!b->bridge || !b->bridge->ops.hotplug_check)) {
        g_set_error(err, PCI_ERROR, 0, "bus %s cannot take hot-plugged devices (plug them "
                    "into a root port or a bridge with a hot-plug controller)",
                    bus ? bus : ROOT_BUS);
        return NULL;
    }
    if (hotplug && slot < 0) {
        /* No addr: the first empty slot the controller takes (a root port has one, a
         * bridge's SHPC slots start at 1); none: the check of slot 0 says why. */
        for (int s = 0; s < PCI_SLOTS && slot < 0; s++) {
            MosaicError *me = mosaic_error_new();
            if (!b->devs[s << 3] && b->bridge->ops.hotplug_check(b->bridge->ops_opaque, s, me))
                slot = s;
            mosaic_error_free(me);
        }
    }
    if (hotplug) {
        MosaicError *me = mosaic_error_new();
        if (!b->bridge->ops.hotplug_check(b->bridge->ops_opaque, slot < 0 ? 0 : slot, me)) {
            g_set_error(err, PCI_ERROR, 0, "bus %s: %s", bus,
                        mosaic_error_is_set(me) ? mosaic_error_message(me) : "slot refused");
            mosaic_error_free(me);
            return NULL;
        }
        mosaic_error_free(me);
    }
    MosaicPciDev *d = pci_dev_new(h, name);
    GError *e = NULL;
    if (!pci_bus_plug(b, d, slot < 0 ? -1 : slot << 3, &e)) {
        g_set_error(err, PCI_ERROR, 0, "bus %s: %s",
                    bus ? bus : ROOT_BUS, e->message);
        g_error_free(e);
        pci_dev_free(d);
        return NULL;
    }
    return d;
}

void pci_slot_plugged(MosaicPciDev *d)
{
    MosaicPciDev *br = d->bus ? d->bus->bridge : NULL;
    if (br && br->ops.plugged)
        br->ops.plugged(br->ops_opaque, d);
}

gboolean pci_slot_unplug_request(MosaicPciDev *d, gboolean *pending, GError **err)
{
    MosaicPciDev *br = d->bus ? d->bus->bridge : NULL;
    *pending = FALSE;
    if (d->secondary) {
        for (unsigned i = 0; i < PCI_DEVFNS; i++)
            if (d->secondary->devs[i]) {
                g_set_error(err, PCI_ERROR, 0, "devices are plugged behind it (unplug them first)");
                return FALSE;
            }
    }
    if (!br || !br->ops.unplug_request) {
        g_set_error(err, PCI_ERROR, 0, "its bus has no hot-plug controller");
        return FALSE;
    }
    MosaicError *me = mosaic_error_new();
    gboolean ok = br->ops.unplug_request(br->ops_opaque, d, me);
    if (!ok)
        g_set_error(err, PCI_ERROR, 0, "%s", mosaic_error_is_set(me) ? mosaic_error_message(me)
                                                                     : "the port refused");
    mosaic_error_free(me);
    *pending = ok;
    return ok;
}

MOSAIC_API MosaicPciDev *mosaic_pci_bridge_child(MosaicPciDev *bridge, unsigned devfn)
{
    return bridge->secondary && devfn < PCI_DEVFNS ? bridge->secondary->devs[devfn] : NULL;
}

MOSAIC_API void mosaic_pci_unplug_done(MosaicPciDev *child)
{
    if (child && child->host && child->host->m)
        device_unplug_done(child->host->m, child);
}
