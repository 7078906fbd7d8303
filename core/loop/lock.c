/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The core lock: a non-recursive mutex and a per-thread "held" flag. */
#include <pthread.h>

#include "loop/loop.h"

static pthread_mutex_t core_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread bool lock_held;

MOSAIC_API void mosaic_lock(void)
{
    if (lock_held)
        g_error("mosaic_lock: the core lock is already held by this thread (recursive use)");
    pthread_mutex_lock(&core_lock);
    lock_held = true;
}

MOSAIC_API void mosaic_unlock(void)
{
    if (!lock_held)
        g_error("mosaic_unlock: the core lock is not held by this thread");
    lock_held = false;
    pthread_mutex_unlock(&core_lock);
}

MOSAIC_API bool mosaic_lock_held(void)
{
    return lock_held;
}
