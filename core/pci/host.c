/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A board's PCI host: its windows mapped into the board's memory, and the reset of
 * every function below it. */
#include "pci/pci-internal.h"
#include "plugin/error.h"
#include "machine/machine-internal.h"

/* The I/O window goes to the board's port space when it has one (x86). */
static MosaicRegion *container_of_window(MosaicPciHost *h, MosaicRegion *mr)
{
    return mr == h->io && h->desc.io_container ? h->desc.io_container : h->desc.container;
}

static bool map(MosaicPciHost *h, MosaicRegion *mr, uint64_t base, bool *mapped, MosaicError *err)
{
    if (!mr)
        return true;
    /* Below the board's own devices: a window never hides one. */
    *mapped = mosaic_region_add(container_of_window(h, mr), base, mr, -1, err);
    return *mapped;
}

MOSAIC_API MosaicPciHost *mosaic_pci_host_new(MosaicMachine *m, const MosaicPciHostDesc *desc,
                                              MosaicError *err)
{
    if (!desc || desc->size < offsetof(MosaicPciHostDesc, container) + sizeof(void *) ||
        !desc->container || !desc->dma) {
        mosaic_error_set(err, "pci host: incomplete description (size, container, dma)");
        return NULL;
    }
    if (m && m->pci_host) {
        mosaic_error_set(err, "pci host: the machine has one already");
        return NULL;
    }
    GError *ge = NULL;
    MosaicPciHost *h = pci_host_new_internal(desc, &ge);
    if (!h) {
        mosaic_error_set(err, "%s", ge->message);
        g_error_free(ge);
        return NULL;
    }
    h->m = m;
    if (!map(h, h->ecam, h->desc.ecam_base, &h->ecam_mapped, err) ||
        !map(h, h->mem, h->desc.mem_base, &h->mem_mapped, err) ||
        !map(h, h->mem64, h->desc.mem64_base, &h->mem64_mapped, err) ||
        !map(h, h->io, h->desc.io_base, &h->io_mapped, err)) {
        mosaic_pci_host_free(h);
        return NULL;
    }
    if (m)
        m->pci_host = h;
    return h;
}

static void reset_bus(PciBus *b)
{
    for (unsigned i = 0; i < PCI_DEVFNS; i++)
        if (b->devs[i]) {
            pci_dev_reset(b->devs[i]);
            if (b->devs[i]->secondary)
                reset_bus(b->devs[i]->secondary);
        }
}

MOSAIC_API void mosaic_pci_host_reset(MosaicPciHost *h)
{
    if (!h)
        return;
    reset_bus(h->root);
    pci_host_number_buses(h);
    pci_host_update_mappings(h);
}

static void drop(MosaicPciHost *h, MosaicRegion *mr, bool mapped)
{
    if (mr && mapped)
        mosaic_region_del(container_of_window(h, mr), mr);
    if (mr)
        mosaic_region_unref(mr);
}

MOSAIC_API void mosaic_pci_host_free(MosaicPciHost *h)
{
    if (!h)
        return;
    if (h->m && h->m->pci_host == h)
        h->m->pci_host = NULL;
    MosaicPciDev *hb = h->host_bridge;
    pci_bus_free(h->root);
    pci_dev_free(hb);
    drop(h, h->ecam, h->ecam_mapped);
    drop(h, h->mem, h->mem_mapped);
    drop(h, h->mem64, h->mem64_mapped);
    drop(h, h->io, h->io_mapped);
    g_free(h);
}

MosaicPciHost *pci_machine_host(MosaicMachine *m)
{
    return m ? m->pci_host : NULL;
}
