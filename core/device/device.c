/* The device model: every [device LABEL] section becomes a device of its type, plugged
 * into a slot of the bus kind the type names, offered by the board. */
#include "device/device-internal.h"
#include "plugin/registry.h"
#include "plugin/error.h"
#include "util/ops.h"

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
        if (g_str_equal(mosaic_props_label(d->props), label))
            return d;
    }
    return NULL;
}

static void device_free(MosaicDevice *d)
{
    if (d->realized && d->ops->unrealize)
        d->ops->unrealize(d->state);
    g_free(d->ops);
    g_free(d);
}

static gboolean device_create(MosaicMachine *m, const MosaicProps *props, GError **err)
{
    const MosaicPluginDesc *desc = config_props_plugin(props);
    const char *where = mosaic_props_where(props, "type");
    if (!desc) {
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0, "%s: device has no type", where);
        return FALSE;
    }
    if (!plugin_registry_require(desc, where, err))
        return FALSE;
    MosaicDevice *d = g_new0(MosaicDevice, 1);
    d->m = m;
    d->props = props;
    d->desc = desc;
    d->ops = ops_copy(desc->ops, sizeof(MosaicDeviceOps));
    const char *bus = d->ops->bus ? d->ops->bus : "system";
    d->slot.size = sizeof(d->slot);
    d->slot.bus = bus;
    MosaicError me = MOSAIC_ERROR_INIT;
    if (!m->mops->get_slot || !m->mops->get_slot(m->board, bus, &d->slot, &me)) {
        GError *e = plugin_error_take(&me, "get_slot");
        g_set_error(err, MOSAIC_CORE_MACHINE_ERROR, 0,
                    "%s: device '%s' (%s) needs a '%s' bus slot: %s", where,
                    mosaic_props_label(props), desc->name, bus, e->message);
        g_error_free(e);
        device_free(d);
        return FALSE;
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
        return FALSE;
    }
    d->realized = TRUE;
    g_ptr_array_add(m->devices, d);
    return TRUE;
}

gboolean devices_create(MosaicMachine *m, GError **err)
{
    guint n = config_count(m->cfg, "device");
    for (guint i = 0; i < n; i++)
        if (!device_create(m, config_get(m->cfg, "device", i), err))
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

gboolean device_unplug(MosaicDevice *dev, GError **err)
{
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
