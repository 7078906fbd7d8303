/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pieces of the block layer (core/block/ only). */
#ifndef MOSAIC_CORE_BLOCK_INTERNAL_H
#define MOSAIC_CORE_BLOCK_INTERNAL_H

#include <glib.h>
#include <mosaic/mosaic.h>
#include "block/block.h"

struct MosaicBlkNode {
    char *label;
    const MosaicPluginDesc *desc;
    MosaicBlkDriverOps ops;     /* copied min(sizes), zero-filled */
    gboolean is_filter;
    void *state;
    guint64 length;
    gboolean length_set;
    gboolean read_only;
    gboolean growable;          /* protocol nodes: writes past the end extend it */
    char *filename;             /* file driver: the host file (for relative backing names) */
    GPtrArray *children;        /* MosaicBlkChild*, owned */
    GPtrArray *parents;         /* MosaicBlkChild* whose node is this one */
    GPtrArray *users;           /* MosaicBlk* attached here */
    GThreadPool *pool;          /* io() drivers */
    gint inflight;              /* atomic */
    const MosaicConfig *cfg;    /* where its children's sections are */
    MosaicConfig *own_cfg;      /* anonymous nodes (backing files) own theirs */
};

struct MosaicBlkChild {
    MosaicBlkNode *parent;
    MosaicBlkNode *node;
    char *name;                 /* prop key, or "backing" */
    gboolean write;
};

struct MosaicBlk {
    MosaicBlkNode *node;
    gboolean write;
    GQueue waiting;             /* BlkOp* that arrived during a drained section */
};

typedef struct BlkOp {
    MosaicBlkNode *node;
    MosaicBlkReq *req;
    MosaicBlkDone *done;
    void *opaque;
    int ret;
    MosaicBlk *blk;             /* waiting in a user's queue */
} BlkOp;

/* io.c */
void blk_node_submit(MosaicBlkNode *node, MosaicBlkReq *req, MosaicBlkDone *done, void *opaque);
int blk_node_io_sync(MosaicBlkNode *node, MosaicBlkReq *req);
void blk_complete_later(MosaicBlkDone *done, void *opaque, int ret);
void blk_users_resume(void);
gboolean blk_is_drained(void);
void blk_node_start_pool(MosaicBlkNode *node);
/* The 1.0 layout of MosaicBlkReq ends with status_bytes: a smaller .size is refused
 * (-EINVAL), fields appended later are read and written only when .size covers them. */
#define BLK_REQ_MIN_SIZE (offsetof(MosaicBlkReq, status_bytes) + sizeof(uint64_t))
int blk_check_req(MosaicBlkNode *node, MosaicBlkReq *req);
guint64 blk_node_cur_length(MosaicBlkNode *node);
gboolean blk_node_growable(MosaicBlkNode *node);

/* graph.c */
MosaicBlkNode *blk_node_open(const MosaicConfig *cfg, const char *label, GError **err);
/* node-config.c: nodes described in code.
 *   g_autoptr... cfg = blk_node_config_new("backup node", NULL);
 *   ConfigSection *s = blk_node_config_add(cfg, "job0-target", "file");
 *   config_section_set(s, "filename", path, NULL, NULL);
 *   MosaicBlkNode *n = blk_node_open_config(cfg, "job0-target", err);
 * The config holds [machine] type = none (or a copy of `base`'s sections) and lets its
 * sections reference every node already in the graph.  blk_node_open_config validates
 * it, opens `label` and hands the config to the node (freed on failure too). */
MosaicConfig *blk_node_config_new(const char *what, const MosaicConfig *base);
ConfigSection *blk_node_config_add(MosaicConfig *cfg, const char *label, const char *driver);
MosaicBlkNode *blk_node_open_config(MosaicConfig *cfg, const char *label, GError **err);
/* The common case: one [blockdev label] of `driver` with key, value pairs (strings, NULL
 * after the last), over nodes of the graph. */
MosaicBlkNode *blk_node_open_new(const char *what, const char *label, const char *driver,
                                 GError **err, ...) G_GNUC_NULL_TERMINATED;
GPtrArray *blk_all_nodes(void);
void blk_node_link(MosaicBlkChild *c, MosaicBlkNode *node);
const MosaicConfig *blk_main_config(void);

/* file.c: opens `path` only if it is a regular file or a block device, without ever
 * blocking (O_NONBLOCK until checked, O_NOCTTY, O_CLOEXEC); -1 + err naming `where`. */
int blk_host_file_open(const char *where, const char *path, int flags, MosaicError *err);

/* format.c: image formats are the block drivers (not filters) that sit over a `file`
 * child; which one an image is, is for their probe op to say, never for the core. */
const MosaicPluginDesc *blk_format_find(const char *name, const char *needed_at, GError **err);
/* The format whose driver recognises the header of `path`, or NULL (none, or unreadable).
 * Loads the permitted block plugins to ask them: for messages only, never to choose. */
const char *blk_format_recognise(const char *path);

/* Thread hand-offs and main-loop rounds of the request path (io.c), for tests and
 * bench/block: requests pushed to a worker pool, completions posted back by workers,
 * and runs of the completion bottom half. */
typedef struct BlkIoStats {
    guint64 to_worker, to_main, completion_rounds;
} BlkIoStats;
void blk_io_stats(BlkIoStats *out);

/* driver-find.c: the name of a block plugin by capability (MOSAIC_BLK_CAP_*; `what`
 * names it in the error) or by the scheme of a URI; NULL + err when none is installed. */
const char *blk_driver_with_cap(uint32_t cap, const char *what, GError **err);
const char *blk_driver_for_uri(const char *uri, GError **err);

/* file.c, raw.c */
extern const MosaicPluginDesc blk_file_desc;
extern const MosaicPluginDesc blk_raw_desc;


#endif
