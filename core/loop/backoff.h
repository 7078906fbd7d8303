/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Listeners that cannot accept.  At fd exhaustion (EMFILE) the pending connection stays
 * in the backlog, so the listening socket stays readable and a listener that only logs
 * and returns is called again at once, for ever (a core spinning, megabytes of log).
 * It stops watching instead, retries on a timer, and says so once per episode. */
#ifndef MOSAIC_CORE_LOOP_BACKOFF_H
#define MOSAIC_CORE_LOOP_BACKOFF_H

#include <glib.h>

#define LOOP_BACKOFF_MS 250

typedef struct LoopBackoff {
    GSource *timer;
    gboolean reported;   /* the episode was logged */
    void (*resume)(void *opaque);
    void *opaque;
    char *domain, *what;
} LoopBackoff;

/* `what` (a listener, "unix:/path") failed to accept: `why`.  The caller has stopped
 * watching it; resume(opaque) runs LOOP_BACKOFF_MS later on the main loop and should
 * watch again.  Logs a warning the first time of an episode only. */
void loop_backoff_pause(LoopBackoff *b, const char *domain, const char *what, const char *why,
                        void (*resume)(void *opaque), void *opaque);
/* An accept succeeded: ends the episode (logged if one was reported). */
void loop_backoff_recovered(LoopBackoff *b);
/* The listener goes away: no resume will run. */
void loop_backoff_cancel(LoopBackoff *b);

#endif
