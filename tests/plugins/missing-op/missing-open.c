/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A block driver without the mandatory open: refused at scan (the graph would call it). */
#include "../test-plugin.h"

static int io(void *state, MosaicBlkReq *req) { return 0; }

static const MosaicBlkDriverOps ops = {.size = sizeof(MosaicBlkDriverOps), .io = io};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_BLOCK, .kind_abi = MOSAIC_BLOCK_ABI, .name = "missing-open",
              .version = "0.1", .license = "MIT", .description = "no open", .ops = &ops);
