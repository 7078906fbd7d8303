/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Accept back-off: see backoff.h. */
#include "loop/backoff.h"
#include "loop/loop.h"

static gboolean retry(gpointer data)
{
    LoopBackoff *b = data;
    g_source_unref(b->timer);
    b->timer = NULL;
    b->resume(b->opaque);
    return G_SOURCE_REMOVE;
}

void loop_backoff_pause(LoopBackoff *b, const char *domain, const char *what, const char *why,
                        void (*resume)(void *opaque), void *opaque)
{
    if (!b->reported) {
        g_log(domain, G_LOG_LEVEL_WARNING,
              "%s: cannot accept clients: %s; retrying every %u ms (out of file descriptors? "
              "raise `ulimit -n` or close clients)", what, why, LOOP_BACKOFF_MS);
        b->reported = TRUE;
        g_free(b->domain);
        g_free(b->what);
        b->domain = g_strdup(domain);
        b->what = g_strdup(what);
    }
    b->resume = resume;
    b->opaque = opaque;
    if (b->timer)
        return;
    b->timer = g_timeout_source_new(LOOP_BACKOFF_MS);
    g_source_set_callback(b->timer, retry, b, NULL);
    g_source_attach(b->timer, loop_context());
}

void loop_backoff_recovered(LoopBackoff *b)
{
    if (!b->reported)
        return;
    g_log(b->domain, G_LOG_LEVEL_MESSAGE, "%s: accepting clients again", b->what);
    b->reported = FALSE;
}

void loop_backoff_cancel(LoopBackoff *b)
{
    if (b->timer) {
        g_source_destroy(b->timer);
        g_source_unref(b->timer);
        b->timer = NULL;
    }
    g_clear_pointer(&b->domain, g_free);
    g_clear_pointer(&b->what, g_free);
    b->reported = FALSE;
}
