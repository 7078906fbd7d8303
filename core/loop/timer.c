/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Timers: one GSource for all of them.  Its poll timeout is recomputed on every loop
 * iteration from each timer's own clock, so a virtual timer simply never comes due
 * while the virtual clock is paused and comes due on virtual time after resume. */
#include "loop/loop.h"
#include "loop/loop-internal.h"

struct MosaicTimer {
    MosaicClock clock;
    MosaicCallback *cb;
    void *opaque;
    bool armed;
    int64_t expire;
};

static GMutex tlock;        /* timers and their armed/expire fields */
static GPtrArray *timers;   /* every MosaicTimer */

/* tlock held.  Returns the earliest due timer (NULL if none), and in *wait_ns how long
 * until the next one that is not due yet (INT64_MAX: none). */
static MosaicTimer *scan_locked(int64_t *wait_ns)
{
    int64_t now[3] = {mosaic_clock_ns(MOSAIC_CLOCK_VIRTUAL), mosaic_clock_ns(MOSAIC_CLOCK_HOST),
                      mosaic_clock_ns(MOSAIC_CLOCK_REALTIME)};
    bool vpaused = clock_virtual_paused();
    MosaicTimer *due = NULL;
    int64_t best = INT64_MAX;
    for (guint i = 0; timers && i < timers->len; i++) {
        MosaicTimer *t = g_ptr_array_index(timers, i);
        if (!t->armed || (t->clock == MOSAIC_CLOCK_VIRTUAL && vpaused))
            continue;
        int64_t rem = t->expire - now[t->clock];
        if (rem <= 0) {
            if (!due || t->expire - now[t->clock] < due->expire - now[due->clock])
                due = t;
        } else if (rem < best) {
            best = rem;
        }
    }
    if (wait_ns)
        *wait_ns = best;
    return due;
}

static gboolean tsrc_prepare(GSource *src, gint *timeout)
{
    int64_t wait;
    g_mutex_lock(&tlock);
    MosaicTimer *due = scan_locked(&wait);
    g_mutex_unlock(&tlock);
    if (due) {
        *timeout = 0;
        return TRUE;
    }
    /* Round up: waking early would only spin through another iteration. */
    *timeout = wait == INT64_MAX ? -1 : (gint)MIN((wait + 999999) / 1000000, G_MAXINT);
    return FALSE;
}

static gboolean tsrc_check(GSource *src)
{
    g_mutex_lock(&tlock);
    MosaicTimer *due = scan_locked(NULL);
    g_mutex_unlock(&tlock);
    return due != NULL;
}

static gboolean tsrc_dispatch(GSource *src, GSourceFunc unused, gpointer data)
{
    /* Bounded, so a callback that re-arms in the past cannot starve the loop. */
    for (int n = 0; n < 64; n++) {
        g_mutex_lock(&tlock);
        MosaicTimer *t = scan_locked(NULL);
        if (t)
            t->armed = false;
        g_mutex_unlock(&tlock);
        if (!t)
            break;
        t->cb(t->opaque); /* t may be freed or re-armed inside */
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs tsrc_funcs = {tsrc_prepare, tsrc_check, tsrc_dispatch, NULL, NULL, NULL};

void loop_timers_attach(GMainContext *ctx)
{
    GSource *src = g_source_new(&tsrc_funcs, sizeof(GSource));
    g_source_set_name(src, "mosaic-timers");
    g_source_attach(src, ctx);
    g_source_unref(src);
}

MOSAIC_API MosaicTimer *mosaic_timer_new(MosaicClock clock, MosaicCallback *cb, void *opaque)
{
    g_return_val_if_fail((unsigned)clock <= MOSAIC_CLOCK_REALTIME && cb, NULL);
    loop_context();
    MosaicTimer *t = g_new0(MosaicTimer, 1);
    t->clock = clock;
    t->cb = cb;
    t->opaque = opaque;
    g_mutex_lock(&tlock);
    if (!timers)
        timers = g_ptr_array_new();
    g_ptr_array_add(timers, t);
    g_mutex_unlock(&tlock);
    return t;
}

MOSAIC_API void mosaic_timer_mod(MosaicTimer *t, int64_t expire_ns)
{
    g_return_if_fail(t);
    g_mutex_lock(&tlock);
    t->expire = expire_ns;
    t->armed = true;
    g_mutex_unlock(&tlock);
    g_main_context_wakeup(loop_context()); /* the loop may sleep past the new deadline */
}

MOSAIC_API void mosaic_timer_del(MosaicTimer *t)
{
    if (!t)
        return;
    g_mutex_lock(&tlock);
    t->armed = false;
    g_mutex_unlock(&tlock);
}

/* On the main loop thread or with the core lock held (like the callback itself). */
MOSAIC_API void mosaic_timer_free(MosaicTimer *t)
{
    if (!t)
        return;
    g_mutex_lock(&tlock);
    g_ptr_array_remove_fast(timers, t);
    g_mutex_unlock(&tlock);
    g_free(t);
}

int64_t timer_next_deadline(MosaicClock clock)
{
    int64_t best = INT64_MAX;
    g_mutex_lock(&tlock);
    for (guint i = 0; timers && i < timers->len; i++) {
        MosaicTimer *t = g_ptr_array_index(timers, i);
        if (t->armed && t->clock == clock && t->expire < best)
            best = t->expire;
    }
    g_mutex_unlock(&tlock);
    return best;
}
