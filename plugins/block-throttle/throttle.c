/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The throttle filter node: reads and writes (and discard/write-zeroes, counted as
 * writes) wait in the node's queues until its group's buckets allow them; flush and
 * block status pass at once.  Nothing else passes (fail closed). */
#include <errno.h>
#include <string.h>

#include "throttle.h"

#define RATE(k, h) {.key = k, .type = MOSAIC_PROP_RATE, .defval = "0", .help = h}
#define LEN(k) {.key = k, .type = MOSAIC_PROP_UINT, .defval = "1", .min = 1, .max = 3600, \
                .help = "seconds a burst may last"}
#define LIMIT_PROPS                                                                        \
    RATE("bps-total", "bytes/s, reads and writes"), RATE("bps-read", "bytes/s, reads"),    \
    RATE("bps-write", "bytes/s, writes"), RATE("iops-total", "requests/s"),                \
    RATE("iops-read", "read requests/s"), RATE("iops-write", "write requests/s"),          \
    RATE("bps-total-max", "burst rate"), RATE("bps-read-max", "burst rate"),               \
    RATE("bps-write-max", "burst rate"), RATE("iops-total-max", "burst rate"),             \
    RATE("iops-read-max", "burst rate"), RATE("iops-write-max", "burst rate"),             \
    LEN("bps-total-max-length"), LEN("bps-read-max-length"), LEN("bps-write-max-length"),  \
    LEN("iops-total-max-length"), LEN("iops-read-max-length"), LEN("iops-write-max-length"), \
    {.key = "iops-size", .type = MOSAIC_PROP_SIZE, .defval = "0",                          \
     .help = "requests larger than this count as several for the iops limits"}

static const MosaicPropDesc node_props[] = {
    {.key = "file", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED,
     .help = "the node below the filter"},
    {.key = "group", .type = MOSAIC_PROP_REF, .choices = "throttle-group",
     .help = "shared limits ([throttle-group LABEL]); otherwise this node's own keys"},
    LIMIT_PROPS,
    {NULL},
};

static const MosaicPropDesc group_props[] = {LIMIT_PROPS, {NULL}};

static const MosaicSectionDesc sections[] = {
    {.kind = "throttle-group", .help = "I/O limits shared by throttle nodes (round-robin)",
     .props = group_props},
    {NULL},
};

static void fwd_done(void *opaque, int ret)
{
    mosaic_blk_complete(opaque, ret);
}

static void forward(TNode *n, MosaicBlkReq *req, void *token)
{
    mosaic_blk_child_submit(n->child, req, fwd_done, token);
}

void tn_dispatch_head(TNode *n, int dir)
{
    Held *h = g_queue_pop_head(&n->queue[dir]);
    tg_account(n->group, dir, h->req->bytes);
    n->bytes[dir] += h->req->bytes;
    n->ops[dir]++;
    forward(n, h->req, h->token);
    g_free(h);
}

static void *tn_open(MosaicBlkNode *node, const MosaicProps *props, MosaicError *err)
{
    TNode *n = g_new0(TNode, 1);
    n->child = mosaic_blk_open_child(node, props, "file", true, err);
    if (!n->child) {
        g_free(n);
        return NULL;
    }
    n->label = g_strdup(mosaic_blk_node_label(node));
    g_queue_init(&n->queue[0]);
    g_queue_init(&n->queue[1]);
    if (mosaic_props_has(props, "group") && *mosaic_props_get_str(props, "group")) {
        const char *gl = mosaic_props_get_str(props, "group");
        const MosaicProps *gp = mosaic_blk_node_config(node, "throttle-group", gl);
        if (!gp && !tg_find(gl)) {
            mosaic_error_set(err, "%s: no [throttle-group %s]", mosaic_props_where(props, "group"), gl);
            g_free(n->label);
            g_free(n);
            return NULL;
        }
        n->group = tg_get(gl, gp, err);
    } else {
        n->group = tg_get(n->label, props, err); /* a group of its own, named after it */
    }
    g_ptr_array_add(n->group->members, n);
    if (mosaic_blk_child_read_only(n->child))
        mosaic_blk_node_set_read_only(node, true);
    return n;
}

static void tn_drain(void *state)
{
    TNode *n = state;
    for (int d = 0; d < 2; d++)
        while (!g_queue_is_empty(&n->queue[d]))
            tn_dispatch_head(n, d);
}

static void tn_close(void *state)
{
    TNode *n = state;
    tn_drain(n);
    g_ptr_array_remove(n->group->members, n);
    n->group->rr = 0;
    g_free(n->label);
    g_free(n);
}

static void tn_submit(void *state, MosaicBlkReq *req, void *token)
{
    TNode *n = state;
    if (req->type == MOSAIC_BLK_FLUSH || req->type == MOSAIC_BLK_BLOCK_STATUS) {
        forward(n, req, token);
        return;
    }
    int dir = req->type != MOSAIC_BLK_READ;
    Held *h = g_new0(Held, 1);
    h->req = req;
    h->token = token;
    g_queue_push_tail(&n->queue[dir], h);
    tg_schedule(n->group);
}

static bool throttle_init(MosaicError *err)
{
    throttle_monitor_register();
    return true;
}

static const MosaicBlkDriverOps tn_ops = {
    .size = sizeof(MosaicBlkDriverOps),
    .passes = MOSAIC_BLK_PASS(MOSAIC_BLK_READ) | MOSAIC_BLK_PASS(MOSAIC_BLK_WRITE) |
              MOSAIC_BLK_PASS(MOSAIC_BLK_FLUSH) | MOSAIC_BLK_PASS(MOSAIC_BLK_DISCARD) |
              MOSAIC_BLK_PASS(MOSAIC_BLK_WRITE_ZEROES) | MOSAIC_BLK_PASS(MOSAIC_BLK_BLOCK_STATUS),
    .open = tn_open,
    .close = tn_close,
    .submit = tn_submit,
    .drain = tn_drain,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_BLOCK_FILTER, .kind_abi = MOSAIC_BLOCK_ABI, .name = "throttle",
              .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "I/O limits (bytes/s, requests/s, bursts) per node or shared by "
                             "throttle groups with round-robin fairness",
              .props = node_props, .sections = sections, .init = throttle_init, .ops = &tn_ops);
