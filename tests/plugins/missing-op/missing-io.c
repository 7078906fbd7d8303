/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A block filter with open but neither io nor submit: refused at scan. */
#include "../test-plugin.h"

static void *open_node(MosaicBlkNode *n, const MosaicProps *p, MosaicError *e) { return n; }

static const MosaicBlkDriverOps ops = {.size = sizeof(MosaicBlkDriverOps), .open = open_node};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_BLOCK_FILTER, .kind_abi = MOSAIC_BLOCK_ABI, .name = "missing-io",
              .version = "0.1", .license = "MIT", .description = "no io", .ops = &ops);
