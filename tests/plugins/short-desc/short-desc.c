/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A descriptor shorter than ABI 1.0's: only the frozen header and the kind. */
#include "../test-plugin.h"

typedef struct ShortDesc {
    uint32_t magic;
    uint16_t abi_major, abi_minor;
    uint32_t size;
    uint32_t kind;
} ShortDesc;

MOSAIC_EXPORT const ShortDesc mosaic_plugin = {
    MOSAIC_PLUGIN_MAGIC, MOSAIC_ABI_MAJOR, MOSAIC_ABI_MINOR, sizeof(ShortDesc), MOSAIC_KIND_DEVICE,
};
