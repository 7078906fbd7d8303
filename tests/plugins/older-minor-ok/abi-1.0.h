/* SPDX-License-Identifier: GPL-2.0-or-later */
/* FROZEN: the plugin ABI exactly as mosaic-sdk 1.0 shipped it (descriptor and device
 * ops).  Never edit this file when the SDK changes: the plugin built from it stands
 * for every plugin compiled against 1.0, and must keep loading on every later 1.x
 * core (the version rule: same major, plugin minor <= core minor). */
#ifndef ABI_1_0_H
#define ABI_1_0_H

#include <stdbool.h>
#include <stdint.h>

#define V10_MAGIC 0x4d4f5341u
#define V10_MAJOR 1
#define V10_MINOR 0
#define V10_KIND_DEVICE 3
#define V10_DEVICE_ABI 1

typedef struct V10PropDesc {
    const char *key;
    int type;
    const char *defval;
    const char *help;
    const char *choices;
    uint32_t flags;
    int64_t min, max;
} V10PropDesc;

typedef struct V10PluginDesc {
    uint32_t magic;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t size;
    uint32_t kind;
    uint32_t kind_abi;
    const char *name;
    const char *version;
    const char *license;
    const char *description;
    const V10PropDesc *props;
    const void *sections;
    bool (*init)(void *err);
    void (*fini)(void);
    const void *ops;
} V10PluginDesc;

typedef struct V10DeviceOps {
    uint32_t size;
    const char *bus;
    void *(*realize)(void *dev, const void *props, const void *slot, void *err);
    void (*unrealize)(void *state);
    void (*reset)(void *state);
    bool (*unplug_request)(void *state, void *err);
    bool (*set_prop)(void *state, const char *key, const char *value, void *err);
} V10DeviceOps;

#endif
