/* SPDX-License-Identifier: GPL-2.0-or-later */
/* block-throttle: leaky-bucket I/O limits as a filter node, shared through groups. */
#ifndef THROTTLE_H
#define THROTTLE_H

#include <glib.h>
#include <mosaic/mosaic.h>

enum { B_BPS_TOTAL, B_BPS_READ, B_BPS_WRITE, B_IOPS_TOTAL, B_IOPS_READ, B_IOPS_WRITE, B_N };
extern const char *const throttle_names[B_N]; /* "bps-total", ... */

typedef struct Bucket {
    double avg;        /* units per second; 0: unlimited */
    double max;        /* burst rate; 0: no burst beyond avg/10 */
    double max_length; /* seconds a burst may last */
    double level;      /* units in the bucket (leaks at avg) */
    double burst;      /* units in the burst bucket (leaks at max) */
} Bucket;

typedef struct TGroup TGroup;

/* A request waiting in a node's queue. */
typedef struct Held {
    MosaicBlkReq *req;
    void *token;
} Held;

typedef struct TNode {
    MosaicBlkChild *child;
    TGroup *group;
    char *label;
    GQueue queue[2];   /* held requests: 0 reads, 1 writes */
    uint64_t bytes[2], ops[2]; /* dispatched, for query-throttle */
} TNode;

struct TGroup {
    char *name;
    Bucket b[B_N];
    uint64_t iops_size;
    int64_t last_ns;
    GPtrArray *members; /* TNode* */
    guint rr;           /* next member to serve */
    MosaicTimer *timer;
    bool timer_armed;
};

/* throttle-group.c */
TGroup *tg_get(const char *name, const MosaicProps *limits, MosaicError *err);
void tg_set_limits_from_props(TGroup *g, const MosaicProps *p);
void tg_schedule(TGroup *g);
void tg_leak(TGroup *g, int64_t now);
/* Nanoseconds until a request of `bytes` in direction `w` may go (0: now). */
int64_t tg_wait(TGroup *g, bool w, uint64_t bytes);
void tg_account(TGroup *g, bool w, uint64_t bytes);
TGroup *tg_find(const char *name);
void tg_foreach(void (*fn)(TGroup *g, void *opaque), void *opaque);

/* throttle.c */
void tn_dispatch_head(TNode *n, int dir);

/* monitor.c */
void throttle_monitor_register(void);

#endif
