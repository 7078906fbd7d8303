/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Built for the next major ABI. */
#include "../test-plugin.h"

MOSAIC_EXPORT const MosaicPluginDesc mosaic_plugin = {
    .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR + 1, .abi_minor = 0,
    .size = sizeof(MosaicPluginDesc), TEST_DEVICE_FIELDS("wrong-major"),
};
