/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A header that claims a full descriptor in a 16-byte symbol: the loader must not
 * read past the symbol. */
#include "../test-plugin.h"

typedef struct ShortDesc {
    uint32_t magic;
    uint16_t abi_major, abi_minor;
    uint32_t size;
    uint32_t kind;
} ShortDesc;

MOSAIC_EXPORT const ShortDesc mosaic_plugin = {
    MOSAIC_PLUGIN_MAGIC, MOSAIC_ABI_MAJOR, MOSAIC_ABI_MINOR, sizeof(MosaicPluginDesc),
    MOSAIC_KIND_DEVICE,
};
