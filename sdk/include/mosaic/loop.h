/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Main loop services: clocks, timers, bottom halves, file descriptor watches and the
 * core lock.  Timer, bottom-half and fd callbacks run on the main loop thread with the
 * core lock held. */
#ifndef MOSAIC_LOOP_H
#define MOSAIC_LOOP_H

#include <mosaic/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum MosaicClock {
    MOSAIC_CLOCK_VIRTUAL = 0, /* guest time: stops while the machine is paused */
    MOSAIC_CLOCK_HOST = 1,    /* host monotonic time */
    MOSAIC_CLOCK_REALTIME = 2,/* wall-clock time since the epoch (for RTCs) */
} MosaicClock;

MOSAIC_API int64_t mosaic_clock_ns(MosaicClock clock);

typedef struct MosaicTimer MosaicTimer;
typedef void MosaicCallback(void *opaque);

MOSAIC_API MosaicTimer *mosaic_timer_new(MosaicClock clock, MosaicCallback *cb, void *opaque);
/* Fires once at `expire_ns` on its clock (may be in the past: fires at once). Any thread. */
MOSAIC_API void mosaic_timer_mod(MosaicTimer *t, int64_t expire_ns);
MOSAIC_API void mosaic_timer_del(MosaicTimer *t);
MOSAIC_API void mosaic_timer_free(MosaicTimer *t);

typedef struct MosaicBH MosaicBH;
MOSAIC_API MosaicBH *mosaic_bh_new(MosaicCallback *cb, void *opaque);
MOSAIC_API void mosaic_bh_schedule(MosaicBH *bh); /* any thread; coalesces */
MOSAIC_API void mosaic_bh_free(MosaicBH *bh);

enum { MOSAIC_FD_READ = 1, MOSAIC_FD_WRITE = 4, MOSAIC_FD_HUP = 16 };
typedef struct MosaicFdWatch MosaicFdWatch;
typedef void MosaicFdCallback(void *opaque, int fd, unsigned events);
MOSAIC_API MosaicFdWatch *mosaic_fd_watch(int fd, unsigned events, MosaicFdCallback *cb, void *opaque);
MOSAIC_API void mosaic_fd_watch_update(MosaicFdWatch *w, unsigned events);
MOSAIC_API void mosaic_fd_unwatch(MosaicFdWatch *w);
/* A listener whose accept() failed for want of resources (EMFILE, ENFILE, ENOBUFS):
 * the pending connection stays queued and the socket readable, so watching on would
 * spin.  This stops watching `w`, watches it again a quarter second later, and warns
 * once per episode naming `what` and `why`.  Call mosaic_fd_watch_recovered() after
 * an accept succeeds; mosaic_fd_unwatch() cancels the retry.  (ABI 1.1) */
MOSAIC_API void mosaic_fd_watch_backoff(MosaicFdWatch *w, const char *what, const char *why);
MOSAIC_API void mosaic_fd_watch_recovered(MosaicFdWatch *w);

/* The core lock protects device state.  vCPU threads take it around MMIO dispatch
 * (mosaic_as_read/write do that for them). Recursive use is a bug. */
MOSAIC_API void mosaic_lock(void);
MOSAIC_API void mosaic_unlock(void);
MOSAIC_API bool mosaic_lock_held(void);

#ifdef __cplusplus
}
#endif
#endif
