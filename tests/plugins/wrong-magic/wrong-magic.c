/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Not our magic: refused before any other field is trusted. */
#include "../test-plugin.h"

MOSAIC_EXPORT const MosaicPluginDesc mosaic_plugin = {
    .magic = 0x12345678u, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
    .size = sizeof(MosaicPluginDesc), TEST_DEVICE_FIELDS("wrong-magic"),
};
