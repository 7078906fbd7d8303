/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A plugin that reaches into the core: the build must refuse it (the core's headers are
 * not on a plugin's include path).  Never linked; tests/plugins/SConscript compiles it
 * with the plugin environment and keeps the compiler's verdict for
 * tests/system/test_boundaries.py. */
#include "block/block-internal.h"

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_BLOCK, .kind_abi = MOSAIC_BLOCK_ABI, .name = "includes-core",
              .version = "0.1", .license = "MIT", .description = "includes a core header");
