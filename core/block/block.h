/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The block graph (internal to the core): what main.c, the machine code, the monitor
 * and tests call.  Drivers and devices use the SDK (sdk/include/mosaic/block.h).
 *
 * Startup order (the integrator's core/main.c and core/machine/):
 *   blk_register_builtins();           before config_validate: file/raw drivers, the
 *                                      "none" machine
 *   blk_graph_build(cfg, &err);        after config_validate, before devices: every
 *                                      [blockdev] in dependency order
 *   blk_monitor_register();            once the monitor exists: block-* commands
 *   ...
 *   blk_graph_close();                 at exit (drains first), after export plugins stopped
 * Exports are plugins of kind export (mosaic/export.h), started by core/machine.
 */
#ifndef MOSAIC_CORE_BLOCK_H
#define MOSAIC_CORE_BLOCK_H

#include <glib.h>
#include <mosaic/block.h>
#include "config/config.h"

#define BLK_LOG_DOMAIN "mosaic-block"
#define BLK_ERROR (blk_error_quark())
GQuark blk_error_quark(void);

void blk_register_builtins(void);
gboolean blk_graph_build(const MosaicConfig *cfg, GError **err);
void blk_graph_close(void);
void blk_monitor_register(void);

/* The node labelled `label`, or NULL. */
MosaicBlkNode *blk_node_find(const char *label);

/* Drained sections: between begin and end no request is in flight anywhere in the
 * graph; users' new requests wait in order.  Main loop thread, core lock held.
 * Nestable. */
void blk_drain_begin(void);
void blk_drain_end(void);
/* Requests in flight in the whole graph (tests). */
guint blk_inflight(void);

/* Runtime graph changes (drain inside):
 * insert: `filter` (a node whose first child is `node`) takes the place of `node` for
 *         every parent and user of `node`;
 * remove: the parents and users of `filter` get its first child instead;
 * replace_child: parent's child edge named `child` (its prop key) points at `new_node`. */
gboolean blk_insert_filter(MosaicBlkNode *filter, MosaicBlkNode *node, GError **err);
gboolean blk_remove_filter(MosaicBlkNode *filter, GError **err);
/* Closes a node nothing uses and drops it from the graph (jobs' temporary nodes). */
gboolean blk_node_delete(MosaicBlkNode *node, GError **err);
gboolean blk_replace_child(MosaicBlkNode *parent, const char *child, MosaicBlkNode *new_node,
                           GError **err);

/* A new node at runtime (blockdev-add): `opts` maps keys to values as a [blockdev]
 * section would have them; validated like the machine file (whose other sections it
 * may reference). */
gboolean blk_node_add(const char *label, const char *driver, GHashTable *opts, GError **err);

#endif
