/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bottom halves: callbacks scheduled from any thread, run once on the main loop.
 * Scheduling an already scheduled BH does nothing (coalescing). */
#include "loop/loop.h"
#include "loop/loop-internal.h"

struct MosaicBH {
    MosaicCallback *cb;
    void *opaque;
    bool scheduled; /* under bhlock */
};

static GMutex bhlock;
static GQueue pending = G_QUEUE_INIT; /* MosaicBH*, under bhlock */

static gboolean bsrc_prepare(GSource *src, gint *timeout)
{
    *timeout = -1;
    g_mutex_lock(&bhlock);
    bool ready = !g_queue_is_empty(&pending);
    g_mutex_unlock(&bhlock);
    return ready;
}

static gboolean bsrc_check(GSource *src)
{
    gint t;
    return bsrc_prepare(src, &t);
}

static gboolean bsrc_dispatch(GSource *src, GSourceFunc unused, gpointer data)
{
    /* Only what was pending on entry: a BH that re-schedules itself runs next time. */
    g_mutex_lock(&bhlock);
    guint n = g_queue_get_length(&pending);
    g_mutex_unlock(&bhlock);
    while (n--) {
        g_mutex_lock(&bhlock);
        MosaicBH *bh = g_queue_pop_head(&pending);
        if (bh)
            bh->scheduled = false; /* before the call, so it may schedule itself again */
        g_mutex_unlock(&bhlock);
        if (!bh)
            break;
        bh->cb(bh->opaque);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs bsrc_funcs = {bsrc_prepare, bsrc_check, bsrc_dispatch, NULL, NULL, NULL};

void loop_bh_attach(GMainContext *ctx)
{
    GSource *src = g_source_new(&bsrc_funcs, sizeof(GSource));
    g_source_set_name(src, "mosaic-bh");
    g_source_set_priority(src, G_PRIORITY_HIGH); /* completions before new work */
    g_source_attach(src, ctx);
    g_source_unref(src);
}

MOSAIC_API MosaicBH *mosaic_bh_new(MosaicCallback *cb, void *opaque)
{
    g_return_val_if_fail(cb, NULL);
    loop_context();
    MosaicBH *bh = g_new0(MosaicBH, 1);
    bh->cb = cb;
    bh->opaque = opaque;
    return bh;
}

MOSAIC_API void mosaic_bh_schedule(MosaicBH *bh)
{
    g_return_if_fail(bh);
    g_mutex_lock(&bhlock);
    bool wake = !bh->scheduled;
    if (wake) {
        bh->scheduled = true;
        g_queue_push_tail(&pending, bh);
    }
    g_mutex_unlock(&bhlock);
    if (wake)
        g_main_context_wakeup(loop_context());
}

/* On the main loop thread or with the core lock held. */
MOSAIC_API void mosaic_bh_free(MosaicBH *bh)
{
    if (!bh)
        return;
    g_mutex_lock(&bhlock);
    if (bh->scheduled)
        g_queue_remove(&pending, bh);
    g_mutex_unlock(&bhlock);
    g_free(bh);
}
