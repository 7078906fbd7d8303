/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The request path: checks, worker pools for blocking drivers, completions delivered
 * on the main loop, and drained sections for graph changes.
 *
 * Everything that ends a request goes through one queue (`events`) that the main loop
 * empties from a bottom half, so a completion never runs inside its submit call and
 * never on a worker thread; an async driver completing from its child's completion
 * (no submit call on the stack) ends its request at once instead.  A worker that needs an asynchronous child posts a SUBMIT
 * event and sleeps until the main loop completed it. */
#include <errno.h>
#include <string.h>

#include "block/block-internal.h"
#include "block/bitmap.h"
#include "loop/loop.h"

typedef enum { EV_DONE, EV_SUBMIT } EvKind;

typedef struct BlkEvent {
    EvKind kind;
    MosaicBlkDone *done;    /* EV_DONE */
    void *opaque;
    int ret;
    MosaicBlkNode *node;    /* EV_SUBMIT: run blk_node_submit on the main loop */
    MosaicBlkReq *req;
    struct SyncWait *wait;
} BlkEvent;

typedef struct SyncWait {
    GMutex lock;
    GCond cond;
    gboolean finished;
    int ret;
} SyncWait;

static GMutex evlock;
static GCond evcond;          /* signalled on every new event (drain waits on it) */
static GQueue events = G_QUEUE_INIT;
static MosaicBH *ev_bh;
static gint total_inflight;   /* atomic: ops between submit and their completion */
static guint drained;         /* nesting depth of drained sections (main thread) */
static __thread gboolean in_worker;
static guint submit_depth;    /* main thread: driver submit calls on the stack */
static GThread *main_thread;  /* where completions run */
static BlkIoStats stats;      /* atomic counters */

void blk_io_stats(BlkIoStats *out)
{
    out->to_worker = __atomic_load_n(&stats.to_worker, __ATOMIC_RELAXED);
    out->to_main = __atomic_load_n(&stats.to_main, __ATOMIC_RELAXED);
    out->completion_rounds = __atomic_load_n(&stats.completion_rounds, __ATOMIC_RELAXED);
}

static void ev_bh_cb(void *opaque);
static void call_drain_ops(void);

static void ev_post(BlkEvent *ev)
{
    if (in_worker)
        __atomic_add_fetch(&stats.to_main, 1, __ATOMIC_RELAXED);
    g_mutex_lock(&evlock);
    g_queue_push_tail(&events, ev);
    g_cond_broadcast(&evcond);
    g_mutex_unlock(&evlock);
    mosaic_bh_schedule(ev_bh);
}

static void ev_init(void)
{
    if (!ev_bh) {
        ev_bh = mosaic_bh_new(ev_bh_cb, NULL);
        main_thread = g_thread_self();
    }
}

void blk_complete_later(MosaicBlkDone *done, void *opaque, int ret)
{
    BlkEvent *ev = g_new0(BlkEvent, 1);
    ev->kind = EV_DONE;
    ev->done = done;
    ev->opaque = opaque;
    ev->ret = ret;
    ev_init();
    ev_post(ev);
}

static void sync_done(void *opaque, int ret)
{
    SyncWait *w = opaque;
    g_mutex_lock(&w->lock);
    w->ret = ret;
    w->finished = TRUE;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
}

static void ev_run(BlkEvent *ev)
{
    if (ev->kind == EV_DONE)
        ev->done(ev->opaque, ev->ret);
    else
        blk_node_submit(ev->node, ev->req, sync_done, ev->wait);
    g_free(ev);
}

/* Runs the events queued now; returns how many. Main loop thread. */
static guint ev_run_pending(void)
{
    g_mutex_lock(&evlock);
    guint n = g_queue_get_length(&events);
    g_mutex_unlock(&evlock);
    for (guint i = 0; i < n; i++) {
        g_mutex_lock(&evlock);
        BlkEvent *ev = g_queue_pop_head(&events);
        g_mutex_unlock(&evlock);
        if (!ev)
            break;
        ev_run(ev);
    }
    return n;
}

static void ev_bh_cb(void *opaque)
{
    __atomic_add_fetch(&stats.completion_rounds, 1, __ATOMIC_RELAXED);
    ev_run_pending();
}

/* Waits (main loop thread) until an event arrives or `ms` passed, then runs events. */
static void ev_wait_run(gint64 ms)
{
    g_mutex_lock(&evlock);
    if (g_queue_is_empty(&events)) {
        gint64 end = g_get_monotonic_time() + ms * 1000;
        g_cond_wait_until(&evcond, &evlock, end);
    }
    g_mutex_unlock(&evlock);
    ev_run_pending();
}

/* ---- one node ---- */

/* A filter without a size of its own is as long (and as growable) as its child now:
 * a format above it may be extending the file below. */
static MosaicBlkNode *size_source(MosaicBlkNode *node)
{
    while (node->is_filter && !node->length_set && node->children->len)
        node = ((MosaicBlkChild *)g_ptr_array_index(node->children, 0))->node;
    return node;
}

guint64 blk_node_cur_length(MosaicBlkNode *node)
{
    return __atomic_load_n(&size_source(node)->length, __ATOMIC_RELAXED);
}

gboolean blk_node_growable(MosaicBlkNode *node)
{
    return size_source(node)->growable;
}

int blk_check_req(MosaicBlkNode *node, MosaicBlkReq *req)
{
    /* The request crosses the boundary by pointer (device -> core -> drivers): its size
     * says which fields the caller has; one below the 1.0 layout has not even those. */
    if (req->size < BLK_REQ_MIN_SIZE || req->type >= MOSAIC_BLK_NR_TYPES)
        return -EINVAL;
    /* Filters fail closed: a type the filter did not declare never reaches it. */
    if (node->is_filter && !(node->ops.passes & MOSAIC_BLK_PASS(req->type)))
        return -ENOTSUP;
    if (req->type == MOSAIC_BLK_FLUSH)
        return 0;
    guint64 len = blk_node_cur_length(node);
    gboolean grows = blk_node_growable(node) && (req->type == MOSAIC_BLK_WRITE ||
                                                 req->type == MOSAIC_BLK_WRITE_ZEROES);
    if (!grows && (req->offset > len || req->bytes > len - req->offset))
        return -EINVAL;
    if (grows && req->offset + req->bytes < req->offset)
        return -EINVAL;
    if ((req->type == MOSAIC_BLK_WRITE || req->type == MOSAIC_BLK_DISCARD ||
         req->type == MOSAIC_BLK_WRITE_ZEROES) && node->read_only)
        return -EPERM;
    if (req->type == MOSAIC_BLK_READ || req->type == MOSAIC_BLK_WRITE) {
        guint64 sum = 0;
        for (unsigned i = 0; i < req->niov; i++)
            sum += req->iov[i].iov_len;
        if (sum != req->bytes)
            return -EINVAL;
    }
    return 0;
}

static void op_finish(BlkOp *op, int ret)
{
    /* Dirty bitmaps (core/block/bitmap.c) see every data change completing here. */
    if (blk_req_dirties(op->req))
        blk_bitmaps_on_write(op->node, op->req->offset, op->req->bytes);
    g_atomic_int_dec_and_test(&op->node->inflight);
    g_atomic_int_dec_and_test(&total_inflight);
    MosaicBlkDone *done = op->done;
    void *opaque = op->opaque;
    g_free(op);
    done(opaque, ret);
}

static void op_done_ev(void *opaque, int ret)
{
    op_finish(opaque, ret);
}

static void worker(gpointer data, gpointer user)
{
    BlkOp *op = data;
    in_worker = TRUE;
    op->ret = op->node->ops.io(op->node->state, op->req);
    blk_complete_later(op_done_ev, op, op->ret);
}

void blk_node_start_pool(MosaicBlkNode *node)
{
    if (node->ops.io && !node->pool)
        node->pool = g_thread_pool_new(worker, node, 8, FALSE, NULL);
}

/* Block status without driver support: everything is data. */
static int default_status(MosaicBlkReq *req)
{
    req->status = MOSAIC_BLK_STATUS_DATA | MOSAIC_BLK_STATUS_ALLOCATED;
    req->status_bytes = req->bytes;
    return 0;
}

void blk_node_submit(MosaicBlkNode *node, MosaicBlkReq *req, MosaicBlkDone *done, void *opaque)
{
    ev_init();
    int ret = blk_check_req(node, req);
    if (ret == 0 && req->bytes == 0 && req->type != MOSAIC_BLK_FLUSH)
        ret = 1; /* nothing to do */
    if (ret == 0 && req->type == MOSAIC_BLK_BLOCK_STATUS && !node->is_filter &&
        !node->ops.io && !node->ops.submit)
        ret = default_status(req) + 1;
    if (ret != 0) {
        blk_complete_later(done, opaque, ret > 0 ? 0 : ret);
        return;
    }
    BlkOp *op = g_new0(BlkOp, 1);
    op->node = node;
    op->req = req;
    op->done = done;
    op->opaque = opaque;
    g_atomic_int_inc(&node->inflight);
    g_atomic_int_inc(&total_inflight);
    if (node->ops.submit) {
        submit_depth++;
        node->ops.submit(node->state, req, op);
        submit_depth--;
    } else {
        blk_node_start_pool(node);
        __atomic_add_fetch(&stats.to_worker, 1, __ATOMIC_RELAXED);
        g_thread_pool_push(node->pool, op, NULL);
    }
}

MOSAIC_API void mosaic_blk_complete(void *token, int ret)
{
    /* From a child's completion (the main loop, no submit call on the stack) the
     * request ends now: queueing it would cost a main-loop round per async filter. */
    if (submit_depth == 0 && !in_worker && g_thread_self() == main_thread)
        op_finish(token, ret);
    else
        blk_complete_later(op_done_ev, token, ret);
}

/* Blocking I/O on a node from a worker thread (or the main thread while opening). */
int blk_node_io_sync(MosaicBlkNode *node, MosaicBlkReq *req)
{
    ev_init();
    int ret = blk_check_req(node, req);
    if (ret)
        return ret;
    if (req->bytes == 0 && req->type != MOSAIC_BLK_FLUSH)
        return 0;
    if (node->ops.io) {
        /* Same thread: a blocking driver over a blocking child costs no hop. */
        g_atomic_int_inc(&node->inflight);
        g_atomic_int_inc(&total_inflight);
        ret = node->ops.io(node->state, req);
        if (blk_req_dirties(req)) /* dirty bitmaps (core/block/bitmap.c) */
            blk_bitmaps_on_write(node, req->offset, req->bytes);
        g_atomic_int_dec_and_test(&node->inflight);
        g_atomic_int_dec_and_test(&total_inflight);
        return ret;
    }
    if (!node->ops.submit)
        return req->type == MOSAIC_BLK_BLOCK_STATUS ? default_status(req) : -ENOTSUP;
    SyncWait w = {0};
    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    if (in_worker) {
        BlkEvent *ev = g_new0(BlkEvent, 1);
        ev->kind = EV_SUBMIT;
        ev->node = node;
        ev->req = req;
        ev->wait = &w;
        ev_post(ev);
        g_mutex_lock(&w.lock);
        while (!w.finished)
            g_cond_wait(&w.cond, &w.lock);
        g_mutex_unlock(&w.lock);
    } else {
        /* Main thread (a driver's open): run the queue ourselves until done.  Timers
         * do not run here, so filters holding requests are asked to let them go. */
        blk_node_submit(node, req, sync_done, &w);
        while (!g_atomic_int_get(&w.finished)) {
            ev_wait_run(10);
            if (!g_atomic_int_get(&w.finished))
                call_drain_ops();
        }
    }
    g_mutex_clear(&w.lock);
    g_cond_clear(&w.cond);
    return w.ret;
}

/* ---- drained sections ---- */

gboolean blk_is_drained(void)
{
    return drained > 0;
}

guint blk_inflight(void)
{
    return g_atomic_int_get(&total_inflight);
}

static void call_drain_ops(void)
{
    g_autoptr(GPtrArray) nodes = blk_all_nodes();
    for (guint i = 0; i < nodes->len; i++) {
        MosaicBlkNode *n = g_ptr_array_index(nodes, i);
        if (n->ops.drain) {
            submit_depth++; /* what a drain op completes ends from the bottom half */
            n->ops.drain(n->state);
            submit_depth--;
        }
    }
}

void blk_drain_begin(void)
{
    ev_init();
    drained++;
    /* Filters release what they hold; completions may issue more requests below
     * them, which filters pass at once while draining (they are asked again). */
    for (;;) {
        call_drain_ops();
        ev_run_pending();
        if (g_atomic_int_get(&total_inflight) == 0) {
            ev_run_pending();
            if (g_atomic_int_get(&total_inflight) == 0)
                break;
        }
        ev_wait_run(5);
    }
}

void blk_drain_end(void)
{
    g_return_if_fail(drained > 0);
    if (--drained == 0)
        blk_users_resume();
}
