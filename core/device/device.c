/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The device model: every [device LABEL] section becomes a device of its type, plugged
 * into a slot of the bus kind the type names, offered by the board. */
#include "device/device-internal.h"
#include "plugin/registry.h"
#include "plugin/error.h"
#include "util/ops.h"
#include "pci/pci-internal.h"

MOSAIC_API const char *mosaic_device_label(const MosaicDevice *dev) { return mosaic_props_label(dev->props); }
MOSAIC_API MosaicMachine *mosaic_device_machine(const MosaicDevice *dev) { return dev->m; }
MOSAIC_API void *mosaic_device_state(const MosaicDevice *dev) { return dev->state; }
MOSAIC_API const MosaicBusSlot *mosaic_device_slot(const MosaicDevice *dev) { return &dev->slot; }
MOSAIC_API const char *mosaic_device_type(const MosaicDevice *dev) { return dev->desc->name; }

MOSAIC_API unsigned mosaic_machine_device_count(MosaicMachine *m) { return m->devices->len; }

MOSAIC_API MosaicDevice *mosaic_machine_device(MosaicMachine *m, unsigned index)
{
    return index < m->devices->len ? g_ptr_array_index(m->devices, index) : NULL;
}

MosaicDevice *device_find(MosaicMachine *m, const char *label)
{
    for (guint i = 0; i < m->devices->len; i++) {
        MosaicDevice *d = g_ptr_array_index(m->devices, i);
        if (!d->board && g_str_equal(mosaic_props_label(d->props), label))
            return d;
    }
    return NULL;
}

static void device_free(MosaicDevice *d)
{
    if (d->realized && d->ops->unrealize)
        d->ops->unrealize(d->state);
    pci_dev_free(d->slot.pci);
    if (d->own_cfg)
        config_free(d->own_cfg);
    g_free(d->ops);
    g_free(d);
}

/* The bus kind of the device: its type's first (default) one, or "pci" when the
 * section names a PCI bus and the type lists pci among its buses ("virtio-mmio|pci"). */
static const char *device_bus_kind(MosaicDevice *d, const MosaicProps *props, GError **err)
{
    const char *list = d->ops->bus ? d->ops->bus : "system";
    g_auto(GStrv) kinds = g_strsplit(list, "|", 0);
    bool named = mosaic_props_has(props, "bus") || mosaic_props_has(props, "addr");
    if (!named)
        return g_str_equal(kinds[0], "pci") ? "pci" : g_intern_string(kinds[0]);
    if (!g_strv_contains((const char *const *)kinds, "pci")) {
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0,
                    "%s: device '%s' (%s) cannot sit on a PCI bus (it plugs into: %s)",
                    mosaic_props_where(props, mosaic_props_has(props, "bus") ? "bus" : "addr"),
                    mosaic_props_label(props), d->desc->name, list);
        return NULL;
    }
    return "pci";
}

/* A PCI function on the bus the section names, and the slot that carries it. */
static gboolean pci_slot_take(MosaicMachine *m, MosaicDevice *d, const MosaicProps *props,
                              gboolean hotplug, GError **err)
{
    const char *bus = mosaic_props_has(props, "bus") ? mosaic_props_get_str(props, "bus") : NULL;
    int addr = mosaic_props_has(props, "addr") ? (int)mosaic_props_get_uint(props, "addr") : -1;
    GError *e = NULL;
    d->slot.pci = pci_slot_new(m, bus, addr, mosaic_props_label(props), hotplug, &e);
    if (!d->slot.pci) {
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0, "%s: device '%s' (%s): %s",
                    mosaic_props_where(props, bus ? "bus" : "type"), mosaic_props_label(props),
                    d->desc->name, e->message);
        g_error_free(e);
        return FALSE;
    }
    d->slot.dma = d->slot.pci->host->desc.dma;
    d->slot.container = d->slot.pci->host->desc.container;
    return TRUE;
}

/* A device of the section `props`.  `board_slot`: the board places it itself (a
 * board's UART, mosaic_machine_add_device) in that slot instead of asking get_slot. */
static MosaicDevice *device_create_in(MosaicMachine *m, const MosaicProps *props, gboolean hotplug,
                                      MosaicConfig *own_cfg, const MosaicBusSlot *board_slot,
                                      GError **err)
{
    const MosaicPluginDesc *desc = config_props_plugin(props);
    const char *where = mosaic_props_where(props, "type");
    if (!desc) {
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0, "%s: device has no type", where);
        if (own_cfg)
            config_free(own_cfg);
        return NULL;
    }
    if (!plugin_registry_require(desc, where, err)) {
        if (own_cfg)
            config_free(own_cfg);
        return NULL;
    }
    MosaicDevice *d = g_new0(MosaicDevice, 1);
    d->own_cfg = own_cfg;
    d->m = m;
    d->props = props;
    d->desc = desc;
    d->ops = ops_copy(desc->ops, sizeof(MosaicDeviceOps));
    const char *bus = board_slot ? NULL : device_bus_kind(d, props, err);
    if (!bus && !board_slot) {
        device_free(d);
        return NULL;
    }
    d->slot.size = sizeof(d->slot);
    d->slot.bus = bus;
    MosaicError me = MOSAIC_ERROR_INIT;
    if (board_slot) {
        memcpy(&d->slot, board_slot, MIN((size_t)board_slot->size, sizeof d->slot));
        d->slot.size = sizeof d->slot;
        d->slot.bus = g_intern_string(board_slot->bus ? board_slot->bus : "system");
        d->slot.pci = NULL; /* the board's own devices are not PCI functions */
        d->board = TRUE;
    } else if (g_str_equal(bus, "pci")) {
        if (!pci_slot_take(m, d, props, hotplug, err)) {
            device_free(d);
            return NULL;
        }
    } else if (hotplug) {
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0,
                    "device '%s' (%s): only PCI devices can be hot-plugged (give bus = a root "
                    "port or bridge)", mosaic_props_label(props), desc->name);
        device_free(d);
        return NULL;
    } else if (!m->mops->get_slot || !m->mops->get_slot(m->board, bus, &d->slot, &me)) {
        GError *e = plugin_error_take(&me, "get_slot");
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0,
                    "%s: device '%s' (%s) needs a '%s' bus slot: %s", where,
                    mosaic_props_label(props), desc->name, bus, e->message);
        g_error_free(e);
        device_free(d);
        return NULL;
    }
    if (!d->slot.dma)
        d->slot.dma = m->as;
    if (!d->slot.container)
        d->slot.container = m->sysmem;
    d->state = d->ops->realize(d, props, &d->slot, &me);
    if (!d->state) {
        GError *e = plugin_error_take(&me, "realize");
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0, "%s: device '%s' (%s): %s",
                    mosaic_props_where(props, NULL), mosaic_props_label(props), desc->name,
                    e->message);
        g_error_free(e);
        device_free(d);
        return NULL;
    }
    d->realized = TRUE;
    if (d->slot.pci)
        pci_dev_seal(d->slot.pci); /* what a reset of the function restores */
    g_ptr_array_add(m->devices, d);
    if (hotplug)
        pci_slot_plugged(d->slot.pci);
    return d;
}

static gboolean device_create(MosaicMachine *m, const MosaicProps *props, gboolean hotplug,
                              MosaicConfig *own_cfg, GError **err)
{
    return device_create_in(m, props, hotplug, own_cfg, NULL, err) != NULL;
}

MosaicDevice *device_create_board(MosaicMachine *m, const MosaicProps *props, MosaicConfig *own_cfg,
                                  const MosaicBusSlot *slot, GError **err)
{
    return device_create_in(m, props, FALSE, own_cfg, slot, err);
}

gboolean devices_create(MosaicMachine *m, GError **err)
{
    guint n = config_count(m->cfg, "device");
    for (guint i = 0; i < n; i++)
        if (!device_create(m, config_get(m->cfg, "device", i), FALSE, NULL, err))
            return FALSE;
    return TRUE;
}

void devices_reset(MosaicMachine *m)
{
    for (guint i = 0; i < m->devices->len; i++) {
        MosaicDevice *d = g_ptr_array_index(m->devices, i);
        if (d->ops->reset)
            d->ops->reset(d->state);
    }
}

void devices_destroy(MosaicMachine *m)
{
    for (guint i = m->devices->len; i-- > 0;)
        device_free(g_ptr_array_index(m->devices, i));
    g_ptr_array_set_size(m->devices, 0);
}

gboolean device_set_prop(MosaicDevice *dev, const char *key, const char *value, GError **err)
{
    const MosaicPropDesc *p = NULL;
    for (const MosaicPropDesc *q = dev->desc->props; q && q->key; q++)
        if (g_str_equal(q->key, key))
            p = q;
    if (!p) {
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0, "device '%s' has no property '%s'",
                    mosaic_device_label(dev), key);
        return FALSE;
    }
    if (!(p->flags & MOSAIC_PROP_RUNTIME) || !dev->ops->set_prop) {
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0,
                    "property '%s' of device '%s' cannot be changed while running", key,
                    mosaic_device_label(dev));
        return FALSE;
    }
    MosaicError me = MOSAIC_ERROR_INIT;
    if (!dev->ops->set_prop(dev->state, key, value, &me)) {
        g_propagate_error(err, plugin_error_take(&me, "set_prop"));
        return FALSE;
    }
    return TRUE;
}

gboolean device_hotplug(MosaicMachine *m, MosaicConfig *cfg, const char *label, GError **err)
{
    if (device_find(m, label)) {
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0, "a device '%s' exists already", label);
        config_free(cfg);
        return FALSE;
    }
    return device_create(m, config_find(cfg, "device", label), TRUE, cfg, err);
}

typedef struct UnplugDone {
    MosaicMachine *m;
    MosaicPciDev *child;
    MosaicBH *bh;
} UnplugDone;

static void unplug_done_bh(void *opaque)
{
    UnplugDone *u = opaque;
    for (guint i = 0; i < u->m->devices->len; i++) {
        MosaicDevice *d = g_ptr_array_index(u->m->devices, i);
        if (d->slot.pci == u->child && d->unplug_pending) {
            g_autofree char *label = g_strdup(mosaic_device_label(d));
            g_ptr_array_remove_index(u->m->devices, i);
            device_free(d);
            device_deleted_event(label);
            break;
        }
    }
    mosaic_bh_free(u->bh); /* the loop does not touch a BH after its callback */
    g_free(u);
}

void device_unplug_done(MosaicMachine *m, MosaicPciDev *child)
{
    /* On a vCPU thread in the middle of a config write: the device goes on the loop. */
    UnplugDone *u = g_new0(UnplugDone, 1);
    u->m = m;
    u->child = child;
    u->bh = mosaic_bh_new(unplug_done_bh, u);
    mosaic_bh_schedule(u->bh);
}

gboolean device_unplug(MosaicDevice *dev, gboolean *pending, GError **err)
{
    *pending = FALSE;
    if (dev->slot.pci) {
        if (dev->unplug_pending) {
            g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0, "device '%s': unplug already "
                        "requested, waiting for the guest to release it", mosaic_device_label(dev));
            return FALSE;
        }
        GError *e = NULL;
        if (!pci_slot_unplug_request(dev->slot.pci, pending, &e)) {
            g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0, "device '%s' cannot be unplugged: %s",
                        mosaic_device_label(dev), e->message);
            g_error_free(e);
            return FALSE;
        }
        dev->unplug_pending = TRUE;
        return TRUE;
    }
    MosaicError me = MOSAIC_ERROR_INIT;
    if (!dev->ops->unplug_request || !dev->ops->unplug_request(dev->state, &me)) {
        GError *e = mosaic_error_is_set(&me) ? plugin_error_take(&me, "unplug") : NULL;
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0, "device '%s' cannot be unplugged%s%s",
                    mosaic_device_label(dev), e ? ": " : "", e ? e->message : "");
        g_clear_error(&e);
        return FALSE;
    }
    g_ptr_array_remove(dev->m->devices, dev);
    device_free(dev);
    return TRUE;
}
