/* SPDX-License-Identifier: GPL-2.0-or-later */
/* State changes off the main loop.  GStreamer may take its time reaching a state: a sink
 * opening a device or connecting to a server (libpulse waits up to 30 s for a server that
 * accepts and never answers), a sink prerolling, a pipeline joining its threads when it
 * stops.  None of that may hold up the main loop (the monitor, the vCPUs' devices), so
 * each stream has one worker thread that applies its state requests in order, and every
 * outcome comes back to the main loop through the stream's state bottom half:
 *   - a state the pipeline could not reach (g->failure),
 *   - the first element error posted on the bus (g->error; the bus's sync handler runs
 *     in the posting thread and keeps no message queued),
 *   - the end of a draining pipeline (g->drained),
 *   - the pipeline stopped for good (g->nulled): the main loop frees the stream. */
#include "gst-internal.h"

static const char *const op_state[] = {
    [GB_PAUSE] = "PAUSED", [GB_PLAY] = "PLAYING", [GB_DRAIN] = "PLAYING", [GB_NULL] = "NULL",
};

static void work(gpointer data, gpointer opaque)
{
    GbStream *g = opaque;
    GbOp op = GPOINTER_TO_INT(data);
    GstState target = op == GB_PAUSE ? GST_STATE_PAUSED
                      : op == GB_NULL ? GST_STATE_NULL : GST_STATE_PLAYING;
    if (op == GB_DRAIN)
        gst_app_src_end_of_stream(GST_APP_SRC(g->app));
    GstStateChangeReturn r = gst_element_set_state(g->pipe, target);
    g_mutex_lock(&g->lock);
    if (op == GB_NULL)
        g->nulled = true;
    else if (r == GST_STATE_CHANGE_FAILURE && !g->failure)
        g->failure = g_strdup(op_state[op]);
    bool news = op == GB_NULL || r == GST_STATE_CHANGE_FAILURE;
    g_cond_broadcast(&g->cond);
    g_mutex_unlock(&g->lock);
    if (news)
        mosaic_bh_schedule(g->state_bh);
}

static GstBusSyncReply sync_handler(GstBus *bus, GstMessage *m, gpointer opaque)
{
    GbStream *g = opaque;
    bool news = false;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
        g_autoptr(GError) e = NULL;
        g_autofree char *dbg = NULL;
        gst_message_parse_error(m, &e, &dbg);
        g_mutex_lock(&g->lock);
        if (!g->error) {
            g->error = g_strdup_printf("element '%s': %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(m)),
                                       e ? e->message : "unknown error");
            news = true;
        }
        g->drained = true; /* a failing pipeline will not reach its end either */
        g_cond_broadcast(&g->cond);
        g_mutex_unlock(&g->lock);
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
        g_mutex_lock(&g->lock);
        g->drained = news = true;
        g_cond_broadcast(&g->cond);
        g_mutex_unlock(&g->lock);
    }
    if (news)
        mosaic_bh_schedule(g->state_bh);
    return GST_BUS_DROP;
}

void gst_worker_attach(GbStream *g, MosaicCallback *state_cb)
{
    g_mutex_init(&g->lock);
    g_cond_init(&g->cond);
    g->state_bh = mosaic_bh_new(state_cb, g);
    /* Exclusive: the thread is this stream's, so requests run in order and a pipeline
     * stuck in a state change holds up no other stream. */
    g->worker = g_thread_pool_new(work, g, 1, TRUE, NULL);
    g_autoptr(GstBus) bus = gst_element_get_bus(g->pipe);
    gst_bus_set_sync_handler(bus, sync_handler, g, NULL);
}

void gst_worker_push(GbStream *g, GbOp op)
{
    g_thread_pool_push(g->worker, GINT_TO_POINTER(op), NULL);
}

bool gst_worker_wait_drained(GbStream *g, gint64 until_us)
{
    g_mutex_lock(&g->lock);
    while (!g->drained && g_cond_wait_until(&g->cond, &g->lock, until_us))
        ;
    bool done = g->drained;
    g_mutex_unlock(&g->lock);
    return done;
}

void gst_worker_detach(GbStream *g)
{
    /* Waits for the last request (GB_NULL, which has stopped the streaming threads). */
    g_thread_pool_free(g->worker, FALSE, TRUE);
    g_autoptr(GstBus) bus = gst_element_get_bus(g->pipe);
    gst_bus_set_sync_handler(bus, NULL, NULL, NULL);
    mosaic_bh_free(g->state_bh);
    g_free(g->error);
    g_free(g->failure);
    g_cond_clear(&g->cond);
    g_mutex_clear(&g->lock);
}

bool gst_worker_wait_nulled(GbStream *g, gint64 until_us)
{
    g_mutex_lock(&g->lock);
    while (!g->nulled && g_cond_wait_until(&g->cond, &g->lock, until_us))
        ;
    bool done = g->nulled;
    g_mutex_unlock(&g->lock);
    return done;
}
