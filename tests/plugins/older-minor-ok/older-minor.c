/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A device plugin compiled against the frozen 1.0 SDK (abi-1.0.h), not the current
 * headers: CI's "a plugin built against an older minor still loads" check. */
#include "abi-1.0.h"

static void *realize(void *dev, const void *props, const void *slot, void *err)
{
    return dev;
}

static const V10DeviceOps ops = {
    .size = sizeof(V10DeviceOps), .bus = "system", .realize = realize,
};

__attribute__((visibility("default"))) const V10PluginDesc mosaic_plugin = {
    .magic = V10_MAGIC, .abi_major = V10_MAJOR, .abi_minor = V10_MINOR,
    .size = sizeof(V10PluginDesc), .kind = V10_KIND_DEVICE, .kind_abi = V10_DEVICE_ABI,
    .name = "older-minor", .version = "1.0.0", .license = "MIT",
    .description = "built against mosaic-sdk 1.0", .ops = &ops,
};
