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
int blk_check_req(MosaicBlkNode *node, MosaicBlkReq *req);
guint64 blk_node_cur_length(MosaicBlkNode *node);
gboolean blk_node_growable(MosaicBlkNode *node);

/* graph.c */
MosaicBlkNode *blk_node_open(const MosaicConfig *cfg, const char *label, GError **err);
/* A node described by INI text (node-text.c): `existing` labels are stubbed for validation. */
MosaicBlkNode *blk_node_open_text(const char *what, const char *text, const char *const *existing,
                                  const char *label, GError **err);
GPtrArray *blk_all_nodes(void);
void blk_node_link(MosaicBlkChild *c, MosaicBlkNode *node);
const MosaicConfig *blk_main_config(void);

/* file.c, raw.c, machine-none.c, virtio */
extern const MosaicPluginDesc blk_file_desc;
extern const MosaicPluginDesc blk_raw_desc;
extern const MosaicPluginDesc blk_machine_none_desc;
void nbd_register_section(void);


#endif
