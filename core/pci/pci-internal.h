/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PCI/PCIe bus tree inside the core (core/pci/ only, and its unit tests). */
#ifndef MOSAIC_CORE_PCI_INTERNAL_H
#define MOSAIC_CORE_PCI_INTERNAL_H

#include <glib.h>
#include <mosaic/mosaic.h>

#define PCI_ERROR g_quark_from_static_string("mosaic-pci")
#define PCI_SLOTS 32
#define PCI_DEVFNS 256

/* Standard header offsets. */
#define PCI_VENDOR_ID 0x00
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYS_VENDOR 0x2c
#define PCI_CAP_PTR 0x34
#define PCI_INT_LINE 0x3c
#define PCI_INT_PIN 0x3d
/* Type 1 (bridge) header. */
#define PCI_PRIMARY_BUS 0x18
#define PCI_SECONDARY_BUS 0x19
#define PCI_SUBORDINATE_BUS 0x1a
#define PCI_IO_BASE 0x1c
#define PCI_SEC_STATUS 0x1e
#define PCI_MEM_BASE 0x20
#define PCI_PREF_BASE 0x24
#define PCI_PREF_BASE_UPPER 0x28
#define PCI_IO_BASE_UPPER 0x30
#define PCI_BRIDGE_CAP_PTR 0x34
#define PCI_BRIDGE_CONTROL 0x3e

#define PCI_CMD_IO 0x1
#define PCI_CMD_MEM 0x2
#define PCI_CMD_MASTER 0x4
#define PCI_CMD_INTX_DISABLE 0x400
#define PCI_STATUS_INTX 0x8
#define PCI_STATUS_CAP_LIST 0x10

#define PCI_NUM_BARS 6

typedef struct PciBus PciBus;

typedef struct PciBar {
    MosaicRegion *mr;     /* the device's region, NULL: BAR not implemented */
    uint64_t size;
    unsigned kind;        /* MOSAIC_PCI_BAR_* */
    bool mapped;
    bool is_io;
    uint64_t addr;        /* where it is mapped (PCI address) */
    MosaicRegion *window; /* container it is mapped in */
} PciBar;

typedef struct PciMsix {
    unsigned nvec, bar, cap;
    MosaicRegion *mr;     /* table at 0, PBA at 2048 */
    uint8_t *table;       /* 16 bytes per vector */
    uint64_t pending[4];  /* 256 vectors */
} PciMsix;

struct MosaicPciDev {
    MosaicPciHost *host;
    PciBus *bus;          /* the bus it sits on */
    uint8_t devfn;
    char *name;           /* for log lines */
    uint8_t cfg[MOSAIC_PCI_CONFIG_SIZE];
    uint8_t wmask[MOSAIC_PCI_CONFIG_SIZE];
    uint8_t w1cmask[MOSAIC_PCI_CONFIG_SIZE];
    uint8_t reset_cfg[MOSAIC_PCI_CONFIG_SIZE]; /* what reset restores */
    unsigned cap_end;     /* first free byte of the standard capability area */
    unsigned ext_end;     /* first free byte after 0x100, 0: no extended capability yet */
    unsigned last_cap, last_ext;
    PciBar bars[PCI_NUM_BARS];
    bool intx_level;      /* the device's line before the INTx disable bit */
    bool intx_asserted;   /* what the host line counts */
    unsigned intx_route;  /* host line (0-3) the pin reaches, when asserted */
    unsigned msi_cap, msi_nvec;
    PciMsix msix;
    MosaicPciConfigOps ops;
    void *ops_opaque;
    PciBus *secondary;    /* type 1: the bus behind it */
    unsigned ea_cap;      /* type 1: Enhanced Allocation capability with fixed bus numbers */
    unsigned bus_reserve; /* buses it keeps below its secondary one (ea_cap) */
};

struct PciBus {
    MosaicPciHost *host;
    MosaicPciDev *bridge; /* NULL: the root bus */
    MosaicPciDev *devs[PCI_DEVFNS];
};

struct MosaicPciHost {
    MosaicPciHostDesc desc;
    MosaicMachine *m;
    PciBus *root;
    MosaicRegion *ecam, *mem, *mem64, *io;
    bool ecam_mapped, mem_mapped, mem64_mapped, io_mapped;
    unsigned intx_count[4];
    MosaicPciDev *host_bridge; /* 00:00.0 */
    bool remapping;
};

/* ---- config.c: config space through the masks ---- */
MosaicPciDev *pci_dev_new(MosaicPciHost *h, const char *name);
void pci_dev_free(MosaicPciDev *d);
uint32_t pci_config_read(MosaicPciDev *d, unsigned off, unsigned size);
void pci_config_write(MosaicPciDev *d, unsigned off, unsigned size, uint32_t val);
/* Back to the state the device set up at realize (device reset, bus reset). */
void pci_dev_reset(MosaicPciDev *d);
/* The config space as set up now becomes what reset restores. */
void pci_dev_seal(MosaicPciDev *d);

/* ---- bus.c: the tree and ECAM ---- */
MosaicPciHost *pci_host_new_internal(const MosaicPciHostDesc *desc, GError **err);
PciBus *pci_bus_new(MosaicPciHost *h, MosaicPciDev *bridge);
void pci_bus_free(PciBus *b);
/* Plugs d into b at devfn (-1: the first free slot, function 0). */
gboolean pci_bus_plug(PciBus *b, MosaicPciDev *d, int devfn, GError **err);
void pci_bus_unplug(MosaicPciDev *d);
/* The bus the guest numbered `busnr` (root: 0), NULL when no bridge forwards it. */
PciBus *pci_find_bus(MosaicPciHost *h, unsigned busnr);
/* ECAM: offset in the window -> function and register (NULL: absent). */
MosaicPciDev *pci_ecam_decode(MosaicPciHost *h, uint64_t off, unsigned *reg);
uint64_t pci_ecam_read(MosaicPciHost *h, uint64_t off, unsigned size);
void pci_ecam_write(MosaicPciHost *h, uint64_t off, uint64_t val, unsigned size);

/* ---- bar.c: sizing and mapping ---- */
uint64_t pci_bar_addr(MosaicPciDev *d, unsigned n);
/* Maps and unmaps the BARs of every function of the host as their registers and
 * command bits say (cheap: a handful of functions). */
void pci_host_update_mappings(MosaicPciHost *h);
void pci_dev_unmap_all(MosaicPciDev *d);

/* ---- intx.c ---- */
/* Host line (0-3) that pin (1-4) of the function reaches through the bridges. */
unsigned pci_intx_route(MosaicPciDev *d, unsigned pin);
void pci_intx_update(MosaicPciDev *d);

/* ---- msi.c ---- */
void pci_msix_free(MosaicPciDev *d);
void pci_msi_config_written(MosaicPciDev *d, unsigned off, unsigned size);

/* ---- bridge.c ---- */
bool pci_is_bridge(const MosaicPciDev *d);
/* Writes the fixed bus numbers of every bridge that reserves buses, as Linux will
 * number the tree (depth first, in devfn order) with those reservations. */
void pci_host_number_buses(MosaicPciHost *h);
void pci_bridge_written(MosaicPciDev *d, unsigned off, unsigned size, uint32_t val);

/* ---- slot.c: machine integration ---- */
MosaicPciHost *pci_machine_host(MosaicMachine *m);
gboolean pci_bus_name_is_root(const char *bus);
/* A function for a [device] section with `bus = LABEL|pcie.0` (and `addr`); hotplug:
 * only onto a bus whose bridge has a hot-plug controller that takes it now. */
MosaicPciDev *pci_slot_new(MosaicMachine *m, const char *bus, int slot, const char *name,
                           gboolean hotplug, GError **err);
/* After realize of a hot-plugged function: its port tells the guest. */
void pci_slot_plugged(MosaicPciDev *d);
/* device_del of a PCI function: TRUE with *pending when the port asked the guest. */
gboolean pci_slot_unplug_request(MosaicPciDev *d, gboolean *pending, GError **err);

static inline uint32_t pci_get(const uint8_t *p, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static inline void pci_put(uint8_t *p, unsigned size, uint32_t v)
{
    for (unsigned i = 0; i < size; i++)
        p[i] = v >> (8 * i);
}

#endif
