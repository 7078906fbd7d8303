/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Control-protocol round trips per second, with 1 and 8 concurrent clients, against a
 * headless Mosaic (`[machine] type = none`) and, when installed, against QEMU
 * (qemu-system-riscv64 -M none) for the ratio.
 *
 *   build/release/bench/qmp/bench-qmp [--seconds S] [--socket PATH] [--no-qemu]
 *
 * --socket measures an already running server instead of starting one. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "qmp-client.h"

static double seconds = 2.0;

typedef struct Worker {
    const char *sock;
    gint64 until;
    guint64 count;
    GError *err;
} Worker;

static gpointer worker(gpointer data)
{
    Worker *w = data;
    g_autoptr(QmpClient) c = qmp_client_connect(w->sock, 10, &w->err);
    if (!c)
        return NULL;
    while (g_get_monotonic_time() < w->until) {
        JsonNode *r = qmp_client_execute(c, "query-status", NULL, &w->err);
        if (!r)
            return NULL;
        json_node_unref(r);
        w->count++;
    }
    return NULL;
}

/* Round trips per second over `n` concurrent clients (all of them together). */
static double measure(const char *sock, int n)
{
    Worker w[n];
    GThread *t[n];
    gint64 start = g_get_monotonic_time();
    for (int i = 0; i < n; i++) {
        w[i] = (Worker){sock, start + (gint64)(seconds * G_USEC_PER_SEC), 0, NULL};
        t[i] = g_thread_new("client", worker, &w[i]);
    }
    guint64 total = 0;
    for (int i = 0; i < n; i++) {
        g_thread_join(t[i]);
        if (w[i].err) {
            fprintf(stderr, "bench-qmp: %s: %s\n", sock, w[i].err->message);
            g_error_free(w[i].err);
            return -1;
        }
        total += w[i].count;
    }
    return total / ((g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC);
}

static GPid spawn(char **argv, const char *sock)
{
    GPid pid;
    g_autoptr(GError) err = NULL;
    if (!g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                       G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, &err)) {
        fprintf(stderr, "bench-qmp: cannot start %s: %s\n", argv[0], err->message);
        return 0;
    }
    for (int i = 0; i < 500 && !g_file_test(sock, G_FILE_TEST_EXISTS); i++)
        g_usleep(10000);
    g_usleep(50000);
    return pid;
}

static void stop(GPid pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void report(const char *who, const char *sock, double out[2], gboolean multi)
{
    out[0] = measure(sock, 1);
    out[1] = multi ? measure(sock, 8) : -1;
    if (multi)
        printf("%-8s 1 client: %9.0f round trips/s   8 clients: %9.0f round trips/s (%.0f each)\n",
               who, out[0], out[1], out[1] / 8);
    else
        printf("%-8s 1 client: %9.0f round trips/s   8 clients: n/a (one -qmp client at a time)\n",
               who, out[0]);
}

int main(int argc, char **argv)
{
    const char *given = NULL;
    gboolean qemu = TRUE;
    for (int i = 1; i < argc; i++) {
        if (g_str_equal(argv[i], "--seconds") && i + 1 < argc)
            seconds = g_ascii_strtod(argv[++i], NULL);
        else if (g_str_equal(argv[i], "--socket") && i + 1 < argc)
            given = argv[++i];
        else if (g_str_equal(argv[i], "--no-qemu"))
            qemu = FALSE;
        else {
            fprintf(stderr, "usage: bench-qmp [--seconds S] [--socket PATH] [--no-qemu]\n");
            return 2;
        }
    }
    double m[2], q[2];
    if (given) {
        report("server", given, m, TRUE);
        return m[0] < 0;
    }
    g_autofree char *dir = g_dir_make_tmp("bench-qmp-XXXXXX", NULL);
    g_autofree char *ini = g_build_filename(dir, "vm.ini", NULL);
    g_autofree char *msock = g_build_filename(dir, "mosaic.sock", NULL);
    g_autofree char *qsock = g_build_filename(dir, "qemu.sock", NULL);
    g_file_set_contents(ini, "[machine]\ntype = none\n", -1, NULL);
    /* This program is build/<variant>/bench/qmp/bench-qmp; mosaic is build/<variant>/core/mosaic. */
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *bdir = g_path_get_dirname(self);
    g_autofree char *mosaic = g_build_filename(bdir, "..", "..", "core", "mosaic", NULL);
    g_autofree char *qmp_arg = g_strdup_printf("unix:%s", msock);
    char *margv[] = {mosaic, ini, "--qmp", qmp_arg, NULL};
    GPid mp = spawn(margv, msock);
    if (!mp)
        return 1;
    report("mosaic", msock, m, TRUE);
    stop(mp);
    int rc = m[0] < 0;
    g_autofree char *qemu_bin = g_find_program_in_path("qemu-system-riscv64");
    if (qemu && qemu_bin) {
        g_autofree char *qarg = g_strdup_printf("unix:%s,server=on,wait=off", qsock);
        char *qargv[] = {qemu_bin, "-M", "none", "-nodefaults", "-display", "none", "-qmp", qarg, NULL};
        GPid qp = spawn(qargv, qsock);
        if (qp) {
            report("qemu", qsock, q, FALSE);
            stop(qp);
            if (q[0] > 0 && m[0] > 0)
                printf("ratio mosaic/qemu (1 client): %.2f\n", m[0] / q[0]);
        }
    } else {
        printf("qemu: not measured (qemu-system-riscv64 %s)\n", qemu ? "not installed" : "skipped");
    }
    unlink(ini);
    unlink(msock);
    unlink(qsock);
    rmdir(dir);
    return rc;
}
