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
                           GError **err)
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
