/* Pull-mode backup ("fleecing", internal): the backup-pull-start/-stop commands
 * (fleece-cmds.c), over the copy-before-write and snapshot-access drivers of
 * plugins/block-backup.  See docs/backup.md. */
#ifndef MOSAIC_CORE_BLOCK_FLEECE_H
#define MOSAIC_CORE_BLOCK_FLEECE_H

#include "block/block-internal.h"

void blk_fleece_monitor_register(void);

#endif
