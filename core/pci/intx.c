/* SPDX-License-Identifier: GPL-2.0-or-later */
/* INTx: a level per function, routed through every bridge on the way up with the
 * standard swizzle (PCI-to-PCI bridge spec 9.1: pin' = (pin + slot) mod 4), then to
 * one of the host's four lines; a line is high while any function routed to it is.
 * The INTx-disable command bit masks the function's line; the status bit shows it. */
#include "pci/pci-internal.h"

unsigned pci_intx_route(MosaicPciDev *d, unsigned pin)
{
    unsigned p = (pin - 1) & 3; /* 0-based */
    PciBus *b = d->bus;
    unsigned slot = d->devfn >> 3;
    while (b && b->bridge) {
        p = (p + slot) & 3;
        slot = b->bridge->devfn >> 3;
        b = b->bridge->bus;
    }
    /* The root bus: the host's interrupt-map swizzles by slot once more. */
    return (p + slot) & 3;
}

void pci_intx_update(MosaicPciDev *d)
{
    unsigned pin = d->cfg[PCI_INT_PIN];
    uint16_t cmd = pci_get(d->cfg + PCI_COMMAND, 2);
    uint16_t status = pci_get(d->cfg + PCI_STATUS, 2);
    status = d->intx_level ? status | PCI_STATUS_INTX : status & ~PCI_STATUS_INTX;
    pci_put(d->cfg + PCI_STATUS, 2, status);
    bool assert = d->intx_level && pin >= 1 && pin <= 4 && !(cmd & PCI_CMD_INTX_DISABLE) &&
                  d->bus && d->host;
    if (assert == d->intx_asserted)
        return;
    MosaicPciHost *h = d->host;
    if (assert) {
        d->intx_route = pci_intx_route(d, pin);
        if (h->intx_count[d->intx_route]++ == 0)
            mosaic_irq_set(&h->desc.intx[d->intx_route], true);
    } else if (h->intx_count[d->intx_route] && --h->intx_count[d->intx_route] == 0) {
        mosaic_irq_set(&h->desc.intx[d->intx_route], false);
    }
    d->intx_asserted = assert;
}

MOSAIC_API void mosaic_pci_set_intx(MosaicPciDev *d, bool level)
{
    d->intx_level = level;
    pci_intx_update(d);
}
