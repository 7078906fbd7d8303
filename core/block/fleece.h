/* Pull-mode backup ("fleecing", internal): the snapshot-access driver (fleece.c) and the
 * backup-pull-start/-stop commands (fleece-cmds.c).  See docs/backup.md. */
#ifndef MOSAIC_CORE_BLOCK_FLEECE_H
#define MOSAIC_CORE_BLOCK_FLEECE_H

#include "block/block-internal.h"

extern const MosaicPluginDesc blk_snapshot_access_desc;
void blk_fleece_monitor_register(void);

#endif
