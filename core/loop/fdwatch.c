/* SPDX-License-Identifier: GPL-2.0-or-later */
/* File descriptor watches: one GSource per fd.  MOSAIC_FD_* values equal G_IO_IN,
 * G_IO_OUT and G_IO_HUP; errors (G_IO_ERR, G_IO_NVAL) are reported as HUP so the
 * owner closes the fd instead of the loop spinning on it. */
#include "loop/backoff.h"
#include "loop/loop.h"

G_STATIC_ASSERT((int)MOSAIC_FD_READ == (int)G_IO_IN && (int)MOSAIC_FD_WRITE == (int)G_IO_OUT &&
                (int)MOSAIC_FD_HUP == (int)G_IO_HUP);

struct MosaicFdWatch {
    GSource src;
    gpointer tag;
    int fd;
    MosaicFdCallback *cb;
    void *opaque;
    unsigned events;     /* what the owner asked for; restored after a back-off */
    LoopBackoff backoff; /* a listener that could not accept */
};

static GIOCondition cond_of(unsigned events)
{
    return (events & (MOSAIC_FD_READ | MOSAIC_FD_WRITE | MOSAIC_FD_HUP)) | G_IO_ERR | G_IO_HUP;
}

static gboolean fw_dispatch(GSource *src, GSourceFunc unused, gpointer data)
{
    MosaicFdWatch *w = (MosaicFdWatch *)src;
    GIOCondition rev = g_source_query_unix_fd(src, w->tag);
    unsigned ev = rev & (G_IO_IN | G_IO_OUT | G_IO_HUP);
    if (rev & (G_IO_ERR | G_IO_NVAL))
        ev |= MOSAIC_FD_HUP;
    if (ev)
        w->cb(w->opaque, w->fd, ev);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs fw_funcs = {NULL, NULL, fw_dispatch, NULL, NULL, NULL};

MOSAIC_API MosaicFdWatch *mosaic_fd_watch(int fd, unsigned events, MosaicFdCallback *cb, void *opaque)
{
    g_return_val_if_fail(fd >= 0 && cb, NULL);
    MosaicFdWatch *w = (MosaicFdWatch *)g_source_new(&fw_funcs, sizeof(MosaicFdWatch));
    g_source_set_name(&w->src, "mosaic-fd");
    w->fd = fd;
    w->cb = cb;
    w->opaque = opaque;
    w->events = events;
    w->tag = g_source_add_unix_fd(&w->src, fd, cond_of(events));
    g_source_attach(&w->src, loop_context());
    return w;
}

/* Best from the main loop thread; GLib wakes the loop so the new mask takes effect. */
MOSAIC_API void mosaic_fd_watch_update(MosaicFdWatch *w, unsigned events)
{
    g_return_if_fail(w);
    w->events = events;
    g_source_modify_unix_fd(&w->src, w->tag, cond_of(events));
}

static void backoff_resume(void *opaque)
{
    MosaicFdWatch *w = opaque;
    g_source_modify_unix_fd(&w->src, w->tag, cond_of(w->events));
}

MOSAIC_API void mosaic_fd_watch_backoff(MosaicFdWatch *w, const char *what, const char *why)
{
    g_return_if_fail(w && what && why);
    g_source_modify_unix_fd(&w->src, w->tag, cond_of(0));
    loop_backoff_pause(&w->backoff, "mosaic", what, why, backoff_resume, w);
}

MOSAIC_API void mosaic_fd_watch_recovered(MosaicFdWatch *w)
{
    g_return_if_fail(w);
    loop_backoff_recovered(&w->backoff);
}

/* Safe inside the watch's own callback. */
MOSAIC_API void mosaic_fd_unwatch(MosaicFdWatch *w)
{
    if (!w)
        return;
    loop_backoff_cancel(&w->backoff);
    g_source_destroy(&w->src);
    g_source_unref(&w->src);
}
