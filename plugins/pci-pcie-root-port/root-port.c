/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pcie-root-port: a PCI Express root port (1b36:000c, like QEMU's generic one) with one
 * slot and native hot-plug (PCIe base spec 6.7): presence detect, attention button,
 * power controller and indicators, data-link-layer state changes and command completed,
 * signalled by MSI when the guest enabled it, else INTA (level, while an enabled event
 * is pending).  device_add presses nothing: the card appears with its link up, as on
 * QEMU; device_del presses the attention button and the device leaves when the guest
 * powers the slot off (Linux's pciehp does so 5 s after the button). */
#include <string.h>

#include <glib.h>
#include <mosaic/mosaic.h>

/* PCI Express capability registers (offsets in the capability). */
enum {
    X_FLAGS = 2, X_DEVCAP = 4, X_DEVCTL = 8, X_DEVSTA = 10, X_LNKCAP = 12, X_LNKCTL = 16,
    X_LNKSTA = 18, X_SLTCAP = 20, X_SLTCTL = 24, X_SLTSTA = 26, X_RTCTL = 28, X_RTSTA = 32,
    X_DEVCAP2 = 36, X_LNKCAP2 = 44, X_LNKCTL2 = 48, X_SIZE = 60,
};
/* Slot status bits; the slot control enable of each event is the same bit (0-4). */
#define ST_ABP 0x0001
#define ST_PDC 0x0008
#define ST_CC 0x0010
#define ST_PDS 0x0040
#define ST_DLLSC 0x0100
#define CTL_HPIE 0x0020
#define CTL_PCC 0x0400 /* power controller: 1 = off */
#define CTL_PIC 0x0300 /* power indicator: 11b = off */
#define CTL_DLLSCE 0x1000
#define LNK_DLLLA 0x2000

typedef struct Port {
    MosaicPciDev *pd;
    unsigned cap;
    unsigned psn;          /* physical slot number */
    bool level;            /* interrupt condition */
    uint16_t ctl;          /* slot control the last write left */
    MosaicPciDev *leaving; /* device_del asked, waiting for the guest to power off */
    bool deferred;         /* a card came while the guest was still powering down */
} Port;

static const MosaicPropDesc port_props[] = {
    {.key = "slot", .type = MOSAIC_PROP_UINT, .max = 8191,
     .help = "physical slot number the guest sees (default: the port's own PCI slot)"},
    {.key = "bus-reserve", .type = MOSAIC_PROP_UINT, .max = 254,
     .help = "bus numbers kept below the port's secondary bus for bridges hot-plugged "
             "into it (the guest learns them from an Enhanced Allocation capability)"},
    {.key = "io-reserve", .type = MOSAIC_PROP_SIZE,
     .help = "I/O space to reserve behind the port (a hint for firmware, as QEMU's)"},
    {.key = "mem-reserve", .type = MOSAIC_PROP_SIZE, .max = 0xffffffffu,
     .help = "32-bit memory to reserve behind the port (a hint for firmware, as QEMU's)"},
    {.key = "pref32-reserve", .type = MOSAIC_PROP_SIZE, .max = 0xffffffffu,
     .help = "32-bit prefetchable memory to reserve (a hint for firmware, as QEMU's)"},
    {.key = "pref64-reserve", .type = MOSAIC_PROP_SIZE,
     .help = "64-bit prefetchable memory to reserve (a hint for firmware, as QEMU's)"},
    {0},
};

static uint16_t get16(Port *p, unsigned reg) { return mosaic_pci_config_get(p->pd, p->cap + reg, 2); }
static void set16(Port *p, unsigned reg, uint16_t v) { mosaic_pci_config_set(p->pd, p->cap + reg, 2, v); }

static void update_irq(Port *p)
{
    uint16_t ctl = get16(p, X_SLTCTL), sta = get16(p, X_SLTSTA);
    bool level = (ctl & CTL_HPIE) &&
                 ((sta & ctl & 0x1f) || ((sta & ST_DLLSC) && (ctl & CTL_DLLSCE)));
    if (mosaic_pci_msi_enabled(p->pd)) {
        mosaic_pci_set_intx(p->pd, false);
        if (level && !p->level)
            mosaic_pci_msi_notify(p->pd, 0);
    } else {
        mosaic_pci_set_intx(p->pd, level);
    }
    p->level = level;
}

static void event(Port *p, uint16_t bits)
{
    set16(p, X_SLTSTA, get16(p, X_SLTSTA) | bits);
}

/* Presence and link follow the card. */
static void set_card(Port *p, bool present)
{
    uint16_t sta = get16(p, X_SLTSTA), lnk = get16(p, X_LNKSTA);
    set16(p, X_SLTSTA, present ? sta | ST_PDS : sta & ~ST_PDS);
    set16(p, X_LNKSTA, present ? lnk | LNK_DLLLA : lnk & ~LNK_DLLLA);
}

/* A card in the slot, link up: presence and link change events. */
static void announce(Port *p)
{
    set_card(p, true);
    event(p, ST_PDC | ST_DLLSC);
}

static void port_written(void *opaque, unsigned off, unsigned size, uint32_t val)
{
    Port *p = opaque;
    unsigned ctl_at = p->cap + X_SLTCTL;
    if (off >= p->cap && off < p->cap + X_SIZE)
        mosaic_log("pcie-root-port", 3, "slot %u: write 0x%x/%u = 0x%x: control 0x%x status 0x%x",
                   p->psn, off - p->cap, size, val, get16(p, X_SLTCTL), get16(p, X_SLTSTA));
    if (off <= ctl_at + 1 && ctl_at < off + size) {
        uint16_t ctl = get16(p, X_SLTCTL);
        event(p, ST_CC); /* every command completes at once */
        bool off_now = (ctl & CTL_PCC) && !(p->ctl & CTL_PCC);
        p->ctl = ctl;
        if (off_now && p->leaving) {
            /* The guest released the card: it leaves, as the guest will see. */
            MosaicPciDev *child = p->leaving;
            p->leaving = NULL;
            set_card(p, false);
            event(p, ST_PDC | ST_DLLSC);
            mosaic_pci_unplug_done(child);
        }
        if (p->deferred && (ctl & CTL_PIC) == CTL_PIC) {
            p->deferred = false;
            announce(p);
        }
    }
    update_irq(p);
}

static void port_reset(void *opaque)
{
    Port *p = opaque;
    p->level = false;
    p->ctl = 0;
    p->deferred = false;
    set_card(p, mosaic_pci_bridge_child(p->pd, 0) != NULL && !p->leaving);
    update_irq(p);
}

static bool port_hotplug_check(void *opaque, unsigned slot, MosaicError *err)
{
    Port *p = opaque;
    if (slot != 0) {
        mosaic_error_set(err, "a root port has one slot, 0 (asked for %u)", slot);
        return false;
    }
    if (mosaic_pci_bridge_child(p->pd, 0)) {
        mosaic_error_set(err, "the slot is occupied%s", p->leaving ? " (its device is leaving)" : "");
        return false;
    }
    return true;
}

static void port_plugged(void *opaque, MosaicPciDev *child)
{
    Port *p = opaque;
    uint16_t ctl = get16(p, X_SLTCTL);
    /* Powered off but the power indicator not yet off: the guest is still finishing
     * the last removal (Linux waits 1 s after power-off) and would miss the event. */
    if ((ctl & CTL_PCC) && (ctl & CTL_PIC) != CTL_PIC && (ctl & CTL_PIC)) {
        p->deferred = true;
        return;
    }
    announce(p);
    update_irq(p);
}

static bool port_unplug_request(void *opaque, MosaicPciDev *child, MosaicError *err)
{
    Port *p = opaque;
    if (p->leaving) {
        mosaic_error_set(err, "an unplug is already in progress");
        return false;
    }
    p->leaving = child;
    if (get16(p, X_SLTCTL) & CTL_PCC) {
        /* Powered off already: nothing for the guest to release. */
        port_written(p, 0, 0, 0);
        p->leaving = NULL;
        set_card(p, false);
        event(p, ST_PDC | ST_DLLSC);
        mosaic_pci_unplug_done(child);
        update_irq(p);
        return true;
    }
    event(p, ST_ABP); /* the attention button */
    update_irq(p);
    return true;
}

static const MosaicPciConfigOps port_cfg_ops = {
    .size = sizeof(MosaicPciConfigOps),
    .written = port_written,
    .reset = port_reset,
    .hotplug_check = port_hotplug_check,
    .plugged = port_plugged,
    .unplug_request = port_unplug_request,
};

static bool add_express_cap(Port *p, MosaicError *err)
{
    MosaicPciDev *d = p->pd;
    unsigned c = mosaic_pci_add_cap(d, MOSAIC_PCI_CAP_EXP, X_SIZE, err);
    if (!c)
        return false;
    p->cap = c;
    mosaic_pci_config_set(d, c + X_FLAGS, 2, 2 | 4 << 4 | 0x100); /* v2, root port, slot */
    mosaic_pci_config_set(d, c + X_DEVCAP, 4, 0x8000);           /* role-based errors */
    mosaic_pci_set_wmask(d, c + X_DEVCTL, 2, 0x7fff);
    mosaic_pci_set_w1cmask(d, c + X_DEVSTA, 2, 0x000f);
    /* 2.5 GT/s x1, link-active reporting, port number = slot. */
    mosaic_pci_config_set(d, c + X_LNKCAP, 4, 1 | 1 << 4 | 1 << 20 | (p->psn & 0xff) << 24);
    mosaic_pci_set_wmask(d, c + X_LNKCTL, 2, 0x0ffb);
    mosaic_pci_config_set(d, c + X_LNKSTA, 2, 1 | 1 << 4);
    /* Attention button, power controller, both indicators, hot-plug capable. */
    mosaic_pci_config_set(d, c + X_SLTCAP, 4, 0x1 | 0x2 | 0x8 | 0x10 | 0x40 | p->psn << 19);
    mosaic_pci_set_wmask(d, c + X_SLTCTL, 2, 0x1fff);
    mosaic_pci_set_w1cmask(d, c + X_SLTSTA, 2, 0x011f);
    mosaic_pci_set_wmask(d, c + X_RTCTL, 2, 0x001f);
    mosaic_pci_set_w1cmask(d, c + X_RTSTA, 4, 0x10000);
    mosaic_pci_config_set(d, c + X_LNKCAP2, 4, 0x2);             /* 2.5 GT/s supported */
    mosaic_pci_config_set(d, c + X_LNKCTL2, 2, 1);
    mosaic_pci_set_wmask(d, c + X_LNKCTL2, 2, 0x000f);
    return true;
}

/* QEMU's resource-reserve hints (a Red Hat vendor capability, type 1) that firmware
 * such as EDK2 and SeaBIOS reads when it sizes bridge windows: bus numbers, I/O,
 * memory, 32- and 64-bit prefetchable memory.  Linux reads none of it, hence the
 * Enhanced Allocation capability the core adds for the bus numbers. */
enum { RH_LEN = 2, RH_TYPE = 3, RH_BUS = 4, RH_IO = 8, RH_MEM = 16, RH_PREF32 = 20,
       RH_PREF64 = 24, RH_SIZE = 32 };

static uint64_t prop_or_zero(const MosaicProps *props, const char *key)
{
    return mosaic_props_has(props, key) ? mosaic_props_get_uint(props, key) : 0;
}

static bool add_reservations(Port *p, const MosaicProps *props, MosaicError *err)
{
    static const char *const keys[] = {"bus-reserve", "io-reserve", "mem-reserve",
                                       "pref32-reserve", "pref64-reserve"};
    bool any = false;
    for (unsigned i = 0; i < G_N_ELEMENTS(keys); i++)
        any |= mosaic_props_has(props, keys[i]);
    if (!any)
        return true;
    uint64_t bus = prop_or_zero(props, "bus-reserve");
    if (bus && !mosaic_pci_bridge_reserve_buses(p->pd, bus, err))
        return false;
    unsigned c = mosaic_pci_add_cap(p->pd, MOSAIC_PCI_CAP_VENDOR, RH_SIZE, err);
    if (!c)
        return false;
    uint64_t io = prop_or_zero(props, "io-reserve"), pref64 = prop_or_zero(props, "pref64-reserve");
    mosaic_pci_config_set(p->pd, c + RH_LEN, 1, RH_SIZE);
    mosaic_pci_config_set(p->pd, c + RH_TYPE, 1, 1);
    mosaic_pci_config_set(p->pd, c + RH_BUS, 4, bus);
    mosaic_pci_config_set(p->pd, c + RH_IO, 4, (uint32_t)io);
    mosaic_pci_config_set(p->pd, c + RH_IO + 4, 4, (uint32_t)(io >> 32));
    mosaic_pci_config_set(p->pd, c + RH_MEM, 4, prop_or_zero(props, "mem-reserve"));
    mosaic_pci_config_set(p->pd, c + RH_PREF32, 4, prop_or_zero(props, "pref32-reserve"));
    mosaic_pci_config_set(p->pd, c + RH_PREF64, 4, (uint32_t)pref64);
    mosaic_pci_config_set(p->pd, c + RH_PREF64 + 4, 4, (uint32_t)(pref64 >> 32));
    return true;
}

static void *port_realize(MosaicDevice *dev, const MosaicProps *props, const MosaicBusSlot *slot,
                          MosaicError *err)
{
    if (slot->size < offsetof(MosaicBusSlot, pci) + sizeof(void *) || !slot->pci) {
        mosaic_error_set(err, "pcie-root-port: not on a PCI bus");
        return NULL;
    }
    Port *p = g_new0(Port, 1);
    p->pd = slot->pci;
    p->psn = mosaic_props_has(props, "slot") ? mosaic_props_get_uint(props, "slot")
                                             : mosaic_pci_devfn(p->pd) >> 3;
    if (!mosaic_pci_bridge_init(p->pd, err)) {
        g_free(p);
        return NULL;
    }
    mosaic_pci_set_ids(p->pd, 0x1b36, 0x000c, 0x060400, 0, 0, 0);
    /* INTB: the swizzle then puts the port's line beside, never on, the INTA of the
     * device in its slot.  Without MSI (riscv-virt under Linux 6.1 has no MSI
     * controller) a shared line deadlocks unplug: Linux's pciehp removes the device
     * from its interrupt thread, and the driver's synchronize_irq() on that same line
     * waits for that thread (QEMU's INTA root ports hang there too). */
    mosaic_pci_set_intx_pin(p->pd, 2);
    if (!add_express_cap(p, err) || !mosaic_pci_msi_init(p->pd, 1, err) ||
        !add_reservations(p, props, err)) {
        g_free(p);
        return NULL;
    }
    mosaic_pci_set_config_ops(p->pd, &port_cfg_ops, p);
    return p;
}

static void port_unrealize(void *state)
{
    Port *p = state;
    mosaic_pci_set_config_ops(p->pd, NULL, NULL);
    g_free(p);
}

static const MosaicDeviceOps port_ops = {
    .size = sizeof(MosaicDeviceOps),
    .bus = "pci",
    .realize = port_realize,
    .unrealize = port_unrealize,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI,
              .name = "pcie-root-port", .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "PCI Express root port with one native hot-plug slot",
              .props = port_props, .ops = &port_ops);
