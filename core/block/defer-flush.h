/* SPDX-License-Identifier: GPL-2.0-or-later */
/* defer-flush: a filter for a backup job's target file (defer-flush.c). */
#ifndef MOSAIC_CORE_BLOCK_DEFER_FLUSH_H
#define MOSAIC_CORE_BLOCK_DEFER_FLUSH_H

#include "block/block-internal.h"

extern const MosaicPluginDesc blk_defer_flush_desc;
/* From now on flushes reach the child (the job's final flush makes the target durable). */
void blk_defer_flush_release(MosaicBlkNode *node);

#endif
