/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The main loop: GLib's default context, polled with the core lock released. */
#include "loop/loop.h"
#include "loop/loop-internal.h"

static int quit_requested; /* atomic */

/* GLib calls this with its context unlocked; we drop the core lock only here, so every
 * prepare/check/dispatch of every source runs with it held. */
static gint poll_unlocked(GPollFD *fds, guint nfds, gint timeout)
{
    bool held = mosaic_lock_held();
    if (held && timeout != 0)
        mosaic_unlock();
    gint r = g_poll(fds, nfds, timeout);
    if (held && timeout != 0)
        mosaic_lock();
    return r;
}

GMainContext *loop_context(void)
{
    static gsize once;
    if (g_once_init_enter(&once)) {
        GMainContext *ctx = g_main_context_default();
        g_main_context_set_poll_func(ctx, poll_unlocked);
        loop_timers_attach(ctx);
        loop_bh_attach(ctx);
        g_once_init_leave(&once, 1);
    }
    return g_main_context_default();
}

bool loop_iterate(bool blocking)
{
    GMainContext *ctx = loop_context();
    bool take = !mosaic_lock_held();
    if (take)
        mosaic_lock();
    bool r = g_main_context_iteration(ctx, blocking);
    if (take)
        mosaic_unlock();
    return r;
}

void loop_run(void)
{
    GMainContext *ctx = loop_context();
    mosaic_lock();
    while (!g_atomic_int_get(&quit_requested))
        g_main_context_iteration(ctx, TRUE);
    g_atomic_int_set(&quit_requested, 0);
    mosaic_unlock();
}

void loop_quit(void)
{
    g_atomic_int_set(&quit_requested, 1);
    g_main_context_wakeup(loop_context());
}

bool loop_quit_requested(void)
{
    return g_atomic_int_get(&quit_requested);
}
