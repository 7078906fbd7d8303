/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What one guest disk write costs inside Mosaic: a 4 KiB write submitted the way
 * virtio-blk submits it (mosaic_blk_submit on the main loop), through
 *     throttle (async filter) -> qcow2 (blocking format driver) -> file
 * Counted per write, over many writes of already allocated clusters (steady state):
 *   - function calls: functions of Mosaic entered (the block layer, the loop, throttle
 *     and qcow2, built with -finstrument-functions; inlined ones count too, calls into
 *     GLib and libc do not), on the main thread and on workers;
 *   - thread hand-offs: requests pushed to a worker pool, completions posted back;
 *   - main-loop rounds: runs of the block layer's completion bottom half;
 *   - allocations: malloc/calloc/realloc calls (GLib allocates through them), the
 *     least of three runs;
 *   - thread starts while counting (none: the worker pools are filled first).
 * virtio-blk itself adds its request (one allocation) and the queue notify's hop from
 * the vCPU thread to the main loop.  Counts, not times: they do not depend on the
 * machine.  Usage: bench-write-path [--detail] [writes, default 2000]
 * (--detail: the calls per write of every function entered). */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <mosaic/mosaic.h>
#include "block/block.h"
#include "block/block-internal.h"
#include "config/config.h"
#include "loop/loop.h"
#include "machine/machine.h"
#include "plugin/registry.h"

extern const MosaicPluginDesc bench_throttle_plugin, bench_qcow2_plugin;

/* Allocation counting by interposition (not under ASan, which owns malloc). */
static volatile gint counting;
static guint64 allocs;
#if !defined(__SANITIZE_ADDRESS__)
extern void *__libc_malloc(size_t), *__libc_calloc(size_t, size_t), *__libc_realloc(void *, size_t);
#define PUBLIC __attribute__((visibility("default"))) /* interposes GLib's calls too */
PUBLIC void *malloc(size_t n)
{
    if (g_atomic_int_get(&counting))
        __atomic_add_fetch(&allocs, 1, __ATOMIC_RELAXED);
    return __libc_malloc(n);
}
PUBLIC void *calloc(size_t a, size_t b)
{
    if (g_atomic_int_get(&counting))
        __atomic_add_fetch(&allocs, 1, __ATOMIC_RELAXED);
    return __libc_calloc(a, b);
}
PUBLIC void *realloc(void *p, size_t n)
{
    if (g_atomic_int_get(&counting))
        __atomic_add_fetch(&allocs, 1, __ATOMIC_RELAXED);
    return __libc_realloc(p, n);
}
#define ALLOCS_COUNTED 1
#else
#define ALLOCS_COUNTED 0
#endif

/* Thread starts: a worker pool starts a thread when a request arrives before its idle
 * worker is back waiting, which costs allocations that belong to no single write. */
static guint64 thread_starts;
typedef int PthreadCreate(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
__attribute__((visibility("default"))) int pthread_create(pthread_t *t, const pthread_attr_t *a,
                                                          void *(*fn)(void *), void *arg)
{
    static PthreadCreate *real;
    if (!real)
        real = (PthreadCreate *)dlsym(RTLD_NEXT, "pthread_create");
    if (g_atomic_int_get(&counting))
        __atomic_add_fetch(&thread_starts, 1, __ATOMIC_RELAXED);
    return real(t, a, fn, arg);
}

/* Function calls: -finstrument-functions (SConscript) calls these on every entry. */
static pthread_t main_thread_id;
static guint64 calls_main, calls_workers;
#define NO_INSTRUMENT __attribute__((no_instrument_function))
NO_INSTRUMENT void __cyg_profile_func_enter(void *fn, void *site);
NO_INSTRUMENT void __cyg_profile_func_exit(void *fn, void *site);
/* Per function, for `--detail`: an open-addressed table of entry addresses. */
#define FN_SLOTS 4096
static struct { void *fn; guint64 n; } fn_calls[FN_SLOTS];
static pthread_mutex_t fn_lock = PTHREAD_MUTEX_INITIALIZER;

NO_INSTRUMENT static void count_fn(void *fn)
{
    pthread_mutex_lock(&fn_lock);
    for (size_t i = ((uintptr_t)fn >> 4) % FN_SLOTS, k = 0; k < FN_SLOTS; i = (i + 1) % FN_SLOTS, k++)
        if (fn_calls[i].fn == fn || !fn_calls[i].fn) {
            fn_calls[i].fn = fn;
            fn_calls[i].n++;
            break;
        }
    pthread_mutex_unlock(&fn_lock);
}

NO_INSTRUMENT void __cyg_profile_func_enter(void *fn, void *site)
{
    if (!g_atomic_int_get(&counting))
        return;
    if (pthread_equal(pthread_self(), main_thread_id))
        calls_main++;
    else
        __atomic_add_fetch(&calls_workers, 1, __ATOMIC_RELAXED);
    count_fn(fn);
}

static int by_count(const void *a, const void *b)
{
    guint64 x = ((const guint64 *)a)[1], y = ((const guint64 *)b)[1];
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Every function entered, with its calls per write, named from the program's own symbol
 * table (nm; static functions included). */
static void print_detail(unsigned writes)
{
    Dl_info self;
    if (!dladdr((void *)print_detail, &self))
        return;
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *out = NULL;
    const char *argv[] = {"nm", "--defined-only", exe, NULL};
    if (!exe || !g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                              NULL, NULL, NULL))
        return;
    g_autoptr(GHashTable) names = g_hash_table_new(NULL, NULL);
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l; l++) {
        char *end, *name = strrchr(*l, ' ');
        guint64 a = g_ascii_strtoull(*l, &end, 16);
        if (name && end != *l)
            g_hash_table_insert(names, GSIZE_TO_POINTER((gsize)a), name + 1);
    }
    guint64 rows[FN_SLOTS][2];
    size_t n = 0;
    for (size_t i = 0; i < FN_SLOTS; i++)
        if (fn_calls[i].fn) {
            rows[n][0] = (guint64)(uintptr_t)fn_calls[i].fn;
            rows[n++][1] = fn_calls[i].n;
        }
    qsort(rows, n, sizeof rows[0], by_count);
    for (size_t i = 0; i < n; i++) {
        gsize off = (gsize)(rows[i][0] - (uintptr_t)self.dli_fbase);
        const char *name = g_hash_table_lookup(names, GSIZE_TO_POINTER(off));
        printf("    %7.2f  %s\n", (double)rows[i][1] / writes, name ? name : "?");
    }
}
NO_INSTRUMENT void __cyg_profile_func_exit(void *fn, void *site)
{
}

typedef struct Done {
    gboolean done;
    int ret;
} Done;

static void on_done(void *opaque, int ret)
{
    Done *d = opaque;
    d->ret = ret;
    d->done = TRUE;
}

static int write_once(MosaicBlk *b, guint64 off, void *buf)
{
    struct iovec iov = {buf, 4096};
    MosaicBlkReq req = {.size = sizeof req, .type = MOSAIC_BLK_WRITE, .offset = off,
                        .bytes = 4096, .iov = &iov, .niov = 1};
    Done d = {0};
    mosaic_blk_submit(b, &req, on_done, &d);
    while (!d.done)
        loop_iterate(TRUE);
    return d.ret;
}

/* Steady state also means full worker pools: bursts of concurrent writes until every
 * node's pool runs all the threads it may start, so none starts while counting. */
static gboolean fill_pools(MosaicBlk *b, void *buf)
{
    const char *labels[] = {"t", "q", "f"};
    for (unsigned burst = 0; burst < 1000; burst++) {
        gboolean full = TRUE;
        for (unsigned i = 0; i < G_N_ELEMENTS(labels); i++) {
            GThreadPool *pool = blk_node_find(labels[i])->pool;
            if (pool && g_thread_pool_get_num_threads(pool) < (guint)g_thread_pool_get_max_threads(pool))
                full = FALSE;
        }
        if (full)
            return TRUE;
        enum { DEPTH = 16 };
        struct iovec iov[DEPTH];
        MosaicBlkReq req[DEPTH];
        Done d[DEPTH];
        for (unsigned i = 0; i < DEPTH; i++) {
            iov[i] = (struct iovec){buf, 4096};
            req[i] = (MosaicBlkReq){.size = sizeof req[i], .type = MOSAIC_BLK_WRITE,
                                    .offset = (guint64)i * 4096, .bytes = 4096, .iov = &iov[i],
                                    .niov = 1};
            d[i] = (Done){0};
            mosaic_blk_submit(b, &req[i], on_done, &d[i]);
        }
        for (unsigned i = 0; i < DEPTH; i++) {
            while (!d[i].done)
                loop_iterate(TRUE);
            if (d[i].ret != 0)
                return FALSE;
        }
    }
    fprintf(stderr, "bench-write-path: the worker pools did not fill in 1000 bursts\n");
    return FALSE;
}

int main(int argc, char **argv)
{
    gboolean detail = argc > 1 && !strcmp(argv[1], "--detail");
    if (detail) {
        argc--;
        argv++;
    }
    unsigned writes = argc > 1 ? (unsigned)atoi(argv[1]) : 2000;
    if (!writes)
        writes = 2000;
    g_autofree char *dir = g_dir_make_tmp("bench-write-path-XXXXXX", NULL);
    g_autofree char *img = g_build_filename(dir, "disk.qcow2", NULL);
    g_autofree char *cmd = g_strdup_printf("qemu-img create -q -f qcow2 %s 64M", img);
    int status;
    if (!g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL) || status != 0) {
        fprintf(stderr, "bench-write-path: qemu-img create failed (qemu-utils needed)\n");
        return 1;
    }
    main_thread_id = pthread_self();
    const char *none[] = {NULL};
    plugin_registry_init_dirs(none);
    blk_register_builtins();
    plugin_registry_add_builtin(&bench_throttle_plugin);
    plugin_registry_add_builtin(&bench_qcow2_plugin);
    g_autofree char *ini = g_strdup_printf(
        "[machine]\ntype = none\n[blockdev f]\ndriver = file\nfilename = %s\n"
        "[blockdev q]\ndriver = qcow2\nfile = f\n"
        "[blockdev t]\ndriver = throttle\nfile = q\niops-total = 1000000\n", img);
    GError *err = NULL;
    MosaicConfig *cfg = config_load_string("bench.ini", ini, NULL, &err);
    if (!cfg || !config_validate(cfg, &err) || !blk_graph_build(cfg, &err)) {
        fprintf(stderr, "bench-write-path: %s\n", err->message);
        return 1;
    }
    MosaicBlk *b = mosaic_blk_attach(NULL, "t", true, NULL);
    static guint8 buf[4096];
    memset(buf, 0x5a, sizeof buf);
    for (unsigned i = 0; i < 64; i++) /* allocate the clusters first: steady state */
        if (write_once(b, (guint64)i * 4096, buf) != 0)
            return 1;
    if (!fill_pools(b, buf))
        return 1;
    BlkIoStats s0, s1;
    blk_io_stats(&s0);
    /* A pool thread's first use of GLib's slice allocator sets up its per-thread cache:
     * a one-time allocation that lands in whichever run that thread first serves, so the
     * steady state is the least of a few runs. */
    enum { RUNS = 3 };
    guint64 run_allocs[RUNS];
    g_atomic_int_set(&counting, 1);
    for (unsigned r = 0; r < RUNS; r++) {
        guint64 before = __atomic_load_n(&allocs, __ATOMIC_RELAXED);
        for (unsigned i = 0; i < writes; i++)
            if (write_once(b, (guint64)(i % 64) * 4096, buf) != 0)
                return 1;
        run_allocs[r] = __atomic_load_n(&allocs, __ATOMIC_RELAXED) - before;
    }
    g_atomic_int_set(&counting, 0);
    blk_io_stats(&s1);
    guint64 least_allocs = MIN(run_allocs[0], MIN(run_allocs[1], run_allocs[2]));
    printf("bench-write-path: %u runs of %u writes of 4 KiB, throttle -> qcow2 -> file, per write:\n",
           RUNS, writes);
    writes *= RUNS;
    printf("  function calls:    %.2f (main thread %.2f, workers %.2f)\n",
           (double)(calls_main + calls_workers) / writes, (double)calls_main / writes,
           (double)calls_workers / writes);
    if (detail)
        print_detail(writes);
    printf("  thread hand-offs:  %.2f (to a worker %.2f, back to the main loop %.2f)\n",
           (double)(s1.to_worker - s0.to_worker + s1.to_main - s0.to_main) / writes,
           (double)(s1.to_worker - s0.to_worker) / writes, (double)(s1.to_main - s0.to_main) / writes);
    printf("  main-loop rounds:  %.2f\n", (double)(s1.completion_rounds - s0.completion_rounds) / writes);
    printf("  thread starts:     %" G_GUINT64_FORMAT "\n", thread_starts);
    if (ALLOCS_COUNTED)
        printf("  allocations:       %.2f (the least run; runs %.2f %.2f %.2f)\n",
               (double)least_allocs * RUNS / writes, (double)run_allocs[0] * RUNS / writes,
               (double)run_allocs[1] * RUNS / writes, (double)run_allocs[2] * RUNS / writes);
    else
        printf("  allocations:       (not counted under ASan)\n");
    mosaic_blk_detach(b);
    blk_graph_close();
    config_free(cfg);
    g_unlink(img);
    g_rmdir(dir);
    return 0;
}
