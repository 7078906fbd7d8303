#ifndef MOSAIC_CORE_DEVICE_INTERNAL_H
#define MOSAIC_CORE_DEVICE_INTERNAL_H

#include "machine/machine-internal.h"

struct MosaicDevice {
    MosaicMachine *m;
    const MosaicProps *props;
    const MosaicPluginDesc *desc;
    MosaicDeviceOps *ops;   /* zero-filled copy */
    MosaicBusSlot slot;
    void *state;
    gboolean realized;
};

/* Lookup by label for the monitor (qom-*, device_del). */
MosaicDevice *device_find(MosaicMachine *m, const char *label);
/* Runtime property change of a MOSAIC_PROP_RUNTIME key through the device's set_prop. */
gboolean device_set_prop(MosaicDevice *dev, const char *key, const char *value, GError **err);
/* Unplug (device_del): asks the device, unrealizes it, frees it. */
gboolean device_unplug(MosaicDevice *dev, GError **err);

#endif
