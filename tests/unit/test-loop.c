/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Main loop: clocks, timers (virtual vs host, pause), bottom halves from other threads,
 * fd watches, the core lock around callbacks, loop_run/loop_quit. */
#include <unistd.h>

#include <glib.h>
#include <mosaic/loop.h>

#include "loop/loop.h"

#define MS 1000000ll

typedef struct Hit {
    int count;
    bool lock_held;
    GThread *thread;
    int64_t at_host, at_virt;
} Hit;

static void hit_cb(void *opaque)
{
    Hit *h = opaque;
    h->count++;
    h->lock_held = mosaic_lock_held();
    h->thread = g_thread_self();
    h->at_host = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    h->at_virt = mosaic_clock_ns(MOSAIC_CLOCK_VIRTUAL);
}

/* Iterates until *flag is non-zero or `ms` of host time passed (a host timer bounds the
 * blocking wait so a broken wakeup fails the test instead of hanging it). */
static void iterate_until(int *flag, int ms)
{
    Hit guard = {0};
    MosaicTimer *t = mosaic_timer_new(MOSAIC_CLOCK_HOST, hit_cb, &guard);
    mosaic_timer_mod(t, mosaic_clock_ns(MOSAIC_CLOCK_HOST) + ms * MS);
    while (!g_atomic_int_get(flag) && !guard.count)
        loop_iterate(true);
    mosaic_timer_free(t);
}

static void test_clocks(void)
{
    int64_t v1 = mosaic_clock_ns(MOSAIC_CLOCK_VIRTUAL), h1 = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    g_usleep(2000);
    int64_t v2 = mosaic_clock_ns(MOSAIC_CLOCK_VIRTUAL), h2 = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    g_assert_cmpint(v2 - v1, >=, 2 * MS);
    g_assert_cmpint(h2 - h1, >=, 2 * MS);
    int64_t rt = mosaic_clock_ns(MOSAIC_CLOCK_REALTIME);
    g_assert_cmpint(llabs(rt / 1000 - g_get_real_time()), <, 1000000);

    clock_virtual_pause();
    clock_virtual_pause(); /* idempotent */
    g_assert_true(clock_virtual_paused());
    int64_t p1 = mosaic_clock_ns(MOSAIC_CLOCK_VIRTUAL);
    g_usleep(5000);
    g_assert_cmpint(mosaic_clock_ns(MOSAIC_CLOCK_VIRTUAL), ==, p1);
    clock_virtual_resume();
    clock_virtual_resume();
    g_assert_false(clock_virtual_paused());
    int64_t r1 = mosaic_clock_ns(MOSAIC_CLOCK_VIRTUAL);
    g_assert_cmpint(r1, >=, p1);
    g_assert_cmpint(r1 - p1, <, 2 * MS); /* the 5 ms pause did not count */
}

static void test_lock(void)
{
    g_assert_false(mosaic_lock_held());
    mosaic_lock();
    g_assert_true(mosaic_lock_held());
    mosaic_unlock();
    g_assert_false(mosaic_lock_held());
}

static void test_lock_recursive_aborts(void)
{
    if (g_test_subprocess()) {
        mosaic_lock();
        mosaic_lock();
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*recursive*");
}

static void test_host_timer(void)
{
    Hit h = {0};
    MosaicTimer *t = mosaic_timer_new(MOSAIC_CLOCK_HOST, hit_cb, &h);
    int64_t start = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    mosaic_timer_mod(t, start + 20 * MS);
    iterate_until(&h.count, 2000);
    g_assert_cmpint(h.count, ==, 1);
    g_assert_cmpint(h.at_host - start, >=, 20 * MS);
    g_assert_cmpint(h.at_host - start, <, 1000 * MS);
    g_assert_true(h.lock_held);
    g_assert_true(h.thread == g_thread_self());
    g_assert_false(mosaic_lock_held()); /* released after the iteration */

    /* In the past: fires at once.  Deleted: never fires. */
    mosaic_timer_mod(t, 0);
    loop_iterate(false);
    loop_iterate(false);
    g_assert_cmpint(h.count, ==, 2);
    mosaic_timer_mod(t, mosaic_clock_ns(MOSAIC_CLOCK_HOST) + 5 * MS);
    mosaic_timer_del(t);
    g_usleep(10000);
    while (loop_iterate(false))
        ;
    g_assert_cmpint(h.count, ==, 2);
    g_assert_cmpint(timer_next_deadline(MOSAIC_CLOCK_HOST), ==, INT64_MAX);
    mosaic_timer_free(t);
}

static int64_t resumed_at;

static gpointer resume_later(gpointer p)
{
    g_usleep(20000);
    resumed_at = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    clock_virtual_resume();
    return NULL;
}

static void test_virtual_timer_pause(void)
{
    clock_virtual_resume();
    Hit hv = {0}, hh = {0};
    MosaicTimer *tv = mosaic_timer_new(MOSAIC_CLOCK_VIRTUAL, hit_cb, &hv);
    MosaicTimer *th = mosaic_timer_new(MOSAIC_CLOCK_HOST, hit_cb, &hh);
    clock_virtual_pause();
    int64_t vexp = mosaic_clock_ns(MOSAIC_CLOCK_VIRTUAL) + 10 * MS;
    mosaic_timer_mod(tv, vexp);
    mosaic_timer_mod(th, mosaic_clock_ns(MOSAIC_CLOCK_HOST) + 40 * MS);
    iterate_until(&hh.count, 2000);
    g_assert_cmpint(hh.count, ==, 1);
    g_assert_cmpint(hv.count, ==, 0); /* 40 ms of host time, no virtual time */

    /* Resumed from another thread while the loop sleeps: the loop must notice. */
    GThread *rt = g_thread_new("resume", resume_later, NULL);
    iterate_until(&hv.count, 3000);
    g_thread_join(rt);
    int64_t resumed = resumed_at;
    g_assert_cmpint(hv.count, ==, 1);
    g_assert_cmpint(hv.at_virt, >=, vexp);
    /* it waited the remaining virtual 10 ms after resume, not less */
    g_assert_cmpint(hv.at_host - resumed, >=, 9 * MS);
    g_assert_cmpint(hv.at_host - resumed, <, 1000 * MS);
    g_assert_true(hv.lock_held);
    mosaic_timer_free(tv);
    mosaic_timer_free(th);
}

static gpointer mod_later(gpointer p)
{
    g_usleep(30000);
    mosaic_timer_mod(p, mosaic_clock_ns(MOSAIC_CLOCK_HOST));
    return NULL;
}

static void test_timer_mod_from_thread(void)
{
    Hit h = {0};
    MosaicTimer *t = mosaic_timer_new(MOSAIC_CLOCK_HOST, hit_cb, &h);
    int64_t start = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    GThread *th = g_thread_new("mod", mod_later, t);
    iterate_until(&h.count, 3000); /* the loop sleeps; only the wakeup can end it early */
    g_thread_join(th);
    g_assert_cmpint(h.count, ==, 1);
    g_assert_cmpint(h.at_host - start, <, 1000 * MS);
    g_assert_true(h.thread == g_thread_self());
    mosaic_timer_free(t);
}

static void free_self(void *opaque)
{
    MosaicTimer **pt = opaque;
    mosaic_timer_free(*pt);
    *pt = NULL;
}

static void test_timer_free_in_callback(void)
{
    MosaicTimer *t = mosaic_timer_new(MOSAIC_CLOCK_HOST, free_self, &t);
    mosaic_timer_mod(t, 0);
    loop_iterate(false);
    g_assert_null(t);
}

typedef struct BhJob {
    MosaicBH *bh;
    int n;
} BhJob;

static gpointer bh_spammer(gpointer p)
{
    BhJob *j = p;
    for (int i = 0; i < j->n; i++)
        mosaic_bh_schedule(j->bh);
    return NULL;
}

static void test_bh_from_threads(void)
{
    Hit h = {0};
    MosaicBH *bh = mosaic_bh_new(hit_cb, &h);
    BhJob job = {bh, 1000};
    GThread *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = g_thread_new("bh", bh_spammer, &job);
    for (int i = 0; i < 4; i++)
        g_thread_join(t[i]);
    while (loop_iterate(false))
        ;
    g_assert_cmpint(h.count, >=, 1);
    g_assert_cmpint(h.count, <=, 4000);
    g_assert_true(h.lock_held);
    g_assert_true(h.thread == g_thread_self());
    /* After all threads finished, scheduling twice runs it once (coalescing). */
    h.count = 0;
    mosaic_bh_schedule(bh);
    mosaic_bh_schedule(bh);
    while (loop_iterate(false))
        ;
    g_assert_cmpint(h.count, ==, 1);
    /* A scheduled BH that is freed never runs. */
    mosaic_bh_schedule(bh);
    mosaic_bh_free(bh);
    while (loop_iterate(false))
        ;
    g_assert_cmpint(h.count, ==, 1);

    /* Wakes a sleeping loop from another thread. */
    Hit h2 = {0};
    MosaicBH *bh2 = mosaic_bh_new(hit_cb, &h2);
    BhJob one = {bh2, 1};
    GThread *th = g_thread_new("bh1", bh_spammer, &one);
    int64_t start = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    iterate_until(&h2.count, 3000);
    g_thread_join(th);
    g_assert_cmpint(h2.count, ==, 1);
    g_assert_cmpint(mosaic_clock_ns(MOSAIC_CLOCK_HOST) - start, <, 1000 * MS);
    mosaic_bh_free(bh2);
}

typedef struct FdHit {
    int count;
    unsigned events;
    bool lock_held;
    MosaicFdWatch *w;
    char byte;
} FdHit;

static void fd_cb(void *opaque, int fd, unsigned events)
{
    FdHit *f = opaque;
    f->count++;
    f->events = events;
    f->lock_held = mosaic_lock_held();
    if (events & MOSAIC_FD_READ)
        g_assert_cmpint(read(fd, &f->byte, 1), ==, 1);
    mosaic_fd_unwatch(f->w); /* from inside its own callback */
    f->w = NULL;
}

static void test_fd_watch(void)
{
    int p[2];
    g_assert_cmpint(pipe(p), ==, 0);
    FdHit f = {0};
    f.w = mosaic_fd_watch(p[0], MOSAIC_FD_READ, fd_cb, &f);
    while (loop_iterate(false))
        ;
    g_assert_cmpint(f.count, ==, 0);
    g_assert_cmpint(write(p[1], "z", 1), ==, 1);
    iterate_until(&f.count, 2000);
    g_assert_cmpint(f.count, ==, 1);
    g_assert_true(f.events & MOSAIC_FD_READ);
    g_assert_cmpint(f.byte, ==, 'z');
    g_assert_true(f.lock_held);
    g_assert_null(f.w);
    /* write readiness, switched on later with update */
    FdHit g = {0};
    g.w = mosaic_fd_watch(p[1], 0, fd_cb, &g);
    while (loop_iterate(false))
        ;
    g_assert_cmpint(g.count, ==, 0);
    mosaic_fd_watch_update(g.w, MOSAIC_FD_WRITE);
    iterate_until(&g.count, 2000);
    g_assert_cmpint(g.count, ==, 1);
    g_assert_true(g.events & MOSAIC_FD_WRITE);
    close(p[0]);
    close(p[1]);
}

static gboolean idle_cb(gpointer p)
{
    Hit *h = p;
    h->count++;
    h->lock_held = mosaic_lock_held();
    return G_SOURCE_REMOVE;
}

static void test_glib_sources_hold_lock(void)
{
    Hit h = {0};
    loop_context();
    g_idle_add(idle_cb, &h);
    while (loop_iterate(false))
        ;
    g_assert_cmpint(h.count, ==, 1);
    g_assert_true(h.lock_held);
}

static void quit_cb(void *opaque)
{
    loop_quit();
}

static gpointer quit_later(gpointer p)
{
    g_usleep(20000);
    loop_quit();
    return NULL;
}

static void test_run_quit(void)
{
    MosaicBH *bh = mosaic_bh_new(quit_cb, NULL);
    mosaic_bh_schedule(bh);
    loop_run(); /* returns because the BH asked it to */
    g_assert_false(loop_quit_requested());
    GThread *t = g_thread_new("quit", quit_later, NULL);
    int64_t start = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    loop_run();
    g_thread_join(t);
    g_assert_cmpint(mosaic_clock_ns(MOSAIC_CLOCK_HOST) - start, <, 1000 * MS);
    g_assert_false(mosaic_lock_held());
    mosaic_bh_free(bh);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/loop/clocks", test_clocks);
    g_test_add_func("/loop/lock", test_lock);
    g_test_add_func("/loop/lock-recursive-aborts", test_lock_recursive_aborts);
    g_test_add_func("/loop/host-timer", test_host_timer);
    g_test_add_func("/loop/virtual-timer-pause", test_virtual_timer_pause);
    g_test_add_func("/loop/timer-mod-from-thread", test_timer_mod_from_thread);
    g_test_add_func("/loop/timer-free-in-callback", test_timer_free_in_callback);
    g_test_add_func("/loop/bh-from-threads", test_bh_from_threads);
    g_test_add_func("/loop/fd-watch", test_fd_watch);
    g_test_add_func("/loop/glib-sources-hold-lock", test_glib_sources_hold_lock);
    g_test_add_func("/loop/run-quit", test_run_quit);
    return g_test_run();
}
