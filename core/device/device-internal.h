/* SPDX-License-Identifier: GPL-2.0-or-later */
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
    gboolean unplug_pending;
    MosaicConfig *own_cfg; /* device_add's section, or the board's (board-device.c) */
    gboolean board;        /* placed by the board: not a peripheral (qom, device_del) */
};

/* Lookup by label for the monitor (qom-*, device_del). */
MosaicDevice *device_find(MosaicMachine *m, const char *label);
/* Runtime property change of a MOSAIC_PROP_RUNTIME key through the device's set_prop. */
gboolean device_set_prop(MosaicDevice *dev, const char *key, const char *value, GError **err);
/* Unplug (device_del): asks the device (and its PCI port, which may ask the guest:
 * then *pending and the device goes later, with DEVICE_DELETED), unrealizes it, frees it. */
gboolean device_unplug(MosaicDevice *dev, gboolean *pending, GError **err);
/* A hot-plug port says the guest released `child`: removed on the main loop. */
void device_unplug_done(MosaicMachine *m, MosaicPciDev *child);
/* device_add: a [device] section built by the monitor; its cfg goes with the device. */
gboolean device_hotplug(MosaicMachine *m, MosaicConfig *cfg, const char *label, GError **err);
/* The DEVICE_DELETED event (and the device's qom-set overrides dropped). */
void device_deleted_event(const char *label);
void device_register_add_command(void);
/* A device the board places itself, in `slot` (board-device.c); own_cfg goes with it. */
MosaicDevice *device_create_board(MosaicMachine *m, const MosaicProps *props, MosaicConfig *own_cfg,
                                  const MosaicBusSlot *slot, GError **err);

#endif
