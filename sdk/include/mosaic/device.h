/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Devices, interrupt lines and character devices. */
#ifndef MOSAIC_DEVICE_H
#define MOSAIC_DEVICE_H

#include <mosaic/plugin.h>
#include <mosaic/props.h>
#include <mosaic/memory.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MosaicMachine MosaicMachine;
typedef struct MosaicDevice MosaicDevice;
typedef struct MosaicChardev MosaicChardev;

/* An interrupt line: a value the source keeps and calls to raise or lower.  The
 * sink (an interrupt controller or a vCPU) fills it in. */
typedef struct MosaicIrq {
    void (*set)(void *opaque, unsigned n, bool level);
    void *opaque;
    unsigned n;
} MosaicIrq;

static inline void mosaic_irq_set(const MosaicIrq *irq, bool level)
{
    if (irq && irq->set)
        irq->set(irq->opaque, irq->n, level);
}

/* Where a device gets plugged.  A board offers buses; a device names the bus kind it
 * needs.  The core asks the board for a slot of that kind and hands the device the
 * resources of the slot. */
typedef struct MosaicBusSlot {
    uint32_t size;      /* sizeof(MosaicBusSlot) */
    const char *bus;    /* "system", "virtio-mmio", "pci" */
    uint64_t base;      /* system/virtio-mmio: MMIO base */
    uint64_t length;
    MosaicIrq irq;
    MosaicAddressSpace *dma; /* address space the device masters */
    MosaicRegion *container; /* where the device maps its regions */
    /* Since 1.1: bus "pci": the device's function (mosaic/pci.h), NULL otherwise. */
    struct MosaicPciDev *pci;
} MosaicBusSlot;

typedef struct MosaicDeviceOps {
    uint32_t size;      /* sizeof(MosaicDeviceOps) */
    /* Bus kind the device plugs into.  Since 1.1 a list "virtio-mmio|pci": the first is
     * the default, the others are taken when the machine file names such a bus (`bus =`). */
    const char *bus;
    /* Builds the device from its validated properties; returns the device state. */
    void *(*realize)(MosaicDevice *dev, const MosaicProps *props, const MosaicBusSlot *slot,
                     MosaicError *err);
    void (*unrealize)(void *state);
    void (*reset)(void *state);
    /* Optional: hotplug/unplug acknowledgement from the bus. */
    bool (*unplug_request)(void *state, MosaicError *err);
    /* Optional: runtime property change (qom-set) of a MOSAIC_PROP_RUNTIME key. */
    bool (*set_prop)(void *state, const char *key, const char *value, MosaicError *err);
} MosaicDeviceOps;

MOSAIC_API const char *mosaic_device_label(const MosaicDevice *dev);
MOSAIC_API MosaicMachine *mosaic_device_machine(const MosaicDevice *dev);
MOSAIC_API void *mosaic_device_state(const MosaicDevice *dev);

/* Character devices: the [chardev LABEL] sections (stdio, file, socket, pty). */
typedef struct MosaicChardevReceiver {
    uint32_t size;
    size_t (*can_receive)(void *opaque);                 /* bytes the frontend accepts now */
    void (*receive)(void *opaque, const uint8_t *buf, size_t len);
} MosaicChardevReceiver;

MOSAIC_API MosaicChardev *mosaic_chardev_find(MosaicMachine *m, const char *label);
/* Never blocks the caller; output that cannot be written now is buffered (bounded)
 * and dropped with a warning when the buffer is full. */
MOSAIC_API void mosaic_chardev_write(MosaicChardev *cd, const uint8_t *buf, size_t len);
MOSAIC_API void mosaic_chardev_set_receiver(MosaicChardev *cd, const MosaicChardevReceiver *r,
                                            void *opaque);
/* The frontend can take more input again (after can_receive returned 0). */
MOSAIC_API void mosaic_chardev_accept_input(MosaicChardev *cd);

#ifdef __cplusplus
}
#endif
#endif
