/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Built against a newer minor than this core: it may use ops the core lacks. */
#include "../test-plugin.h"

MOSAIC_EXPORT const MosaicPluginDesc mosaic_plugin = {
    .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR + 1,
    .size = sizeof(MosaicPluginDesc), TEST_DEVICE_FIELDS("newer-minor"),
};
