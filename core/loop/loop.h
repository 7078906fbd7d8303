/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Main loop, core lock and clocks: the core's internal API (the SDK part is
 * sdk/include/mosaic/loop.h).
 *
 * The loop is GLib's default GMainContext, so GIO and plain g_idle_add/g_unix_fd_add
 * users share it.  Whoever runs it (loop_run/loop_iterate) holds the core lock while
 * callbacks run and releases it only while polling; that is why GLib sources of other
 * subsystems also run under the lock.
 *
 * The core lock is a plain (non-recursive) mutex plus a thread-local "held" flag, so
 * mosaic_lock_held() is exact for the calling thread.  Taking it twice aborts. */
#ifndef MOSAIC_CORE_LOOP_H
#define MOSAIC_CORE_LOOP_H

#include <stdbool.h>
#include <glib.h>
#include <mosaic/loop.h>

#define LOOP_LOG_DOMAIN "mosaic-loop"

/* The context the loop runs (g_main_context_default()), with our poll function. */
GMainContext *loop_context(void);

/* Runs the loop on the calling thread until loop_quit(); returns at once if loop_quit()
 * was called before (the request is consumed on return).  Must not hold the lock. */
void loop_run(void);
/* Any thread, also from a callback. */
void loop_quit(void);
bool loop_quit_requested(void);
/* One iteration (for tests and for waiting loops during startup): takes the lock,
 * dispatches what is ready (waiting for something first when `blocking`), releases it.
 * Returns whether anything was dispatched. */
bool loop_iterate(bool blocking);

/* The virtual clock stops while the machine is paused.  Pause after the vCPUs stopped
 * (and resume before they start), so no vCPU reads the clock across the switch.
 * Both are idempotent; virtual timers fire on virtual time after resume. */
void clock_virtual_pause(void);
void clock_virtual_resume(void);
bool clock_virtual_paused(void);

/* Timer deadline of the earliest armed timer on `clock` (INT64_MAX: none). Tests. */
int64_t timer_next_deadline(MosaicClock clock);

#endif
