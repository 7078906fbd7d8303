/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Exports (plugins of kind export, e.g. export-nbd; later vhost-user-blk or FUSE):
 * ways to serve block nodes outside the machine.  An export plugin declares its
 * section kinds ([export LABEL]) and monitor commands (block-export-add, ...) in its
 * descriptor, so a machine file or a client that uses them loads it: the core names
 * no export.  Main loop thread, core lock held.  Since ABI 1.1. */
#ifndef MOSAIC_EXPORT_H
#define MOSAIC_EXPORT_H

#include <mosaic/machine.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MosaicExportOps {
    uint32_t size; /* sizeof(MosaicExportOps) */
    /* After the devices exist, when the machine file has sections of this plugin:
     * serve them (read with mosaic_config_count/mosaic_config_section). */
    bool (*start)(MosaicMachine *m, MosaicError *err);
    /* At exit, before the block graph closes, for every loaded export plugin: close
     * every export (requests in flight finish first). */
    void (*stop)(void);
} MosaicExportOps;

#ifdef __cplusplus
}
#endif
#endif
