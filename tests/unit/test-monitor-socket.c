/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The monitor's sockets: several clients, a stuck client, a half-closed one, a 100 MB
 * line, loopback-only TCP.  The server runs on this thread's main loop; clients are
 * plain blocking sockets on other threads. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "monitor/monitor.h"
#include "loop/loop.h"
#include "machine/machine.h"

static char *sock_path;

typedef struct Conn {
    int fd;
    GString *buf;
} Conn;

static Conn *conn_open(void)
{
    Conn *c = g_new0(Conn, 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    g_strlcpy(sa.sun_path, sock_path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    c->buf = g_string_new(NULL);
    return c;
}

static void conn_close(Conn *c)
{
    close(c->fd);
    g_string_free(c->buf, TRUE);
    g_free(c);
}

/* Next line, or NULL at EOF/error. */
static char *conn_line(Conn *c)
{
    for (;;) {
        char *nl = memchr(c->buf->str, '\n', c->buf->len);
        if (nl) {
            char *line = g_strndup(c->buf->str, nl - c->buf->str);
            g_string_erase(c->buf, 0, nl - c->buf->str + 1);
            return line;
        }
        char tmp[4096];
        ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);
        if (n <= 0)
            return NULL;
        g_string_append_len(c->buf, tmp, n);
    }
}

static gboolean conn_send(Conn *c, const char *s)
{
    size_t len = strlen(s);
    while (len) {
        ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);
        if (n <= 0)
            return FALSE;
        s += n;
        len -= n;
    }
    return TRUE;
}

static void conn_negotiate(Conn *c)
{
    g_autofree char *greet = conn_line(c);
    g_assert_nonnull(strstr(greet, "\"QMP\""));
    conn_send(c, "{\"execute\":\"qmp_capabilities\"}\n");
    g_autofree char *ok = conn_line(c);
    g_assert_nonnull(strstr(ok, "\"return\""));
}

static volatile gint running_threads;

/* Runs the server until every client thread finished. */
static void serve_until_done(void)
{
    /* Not a blocking iteration: the last thread may finish after the server's last
     * event, and nothing would wake the loop. */
    while (g_atomic_int_get(&running_threads) > 0)
        if (!loop_iterate(false))
            g_usleep(200);
    /* Let the server notice the last EOFs. */
    for (int i = 0; i < 100 && monitor_client_count() > 0; i++) {
        loop_iterate(false);
        g_usleep(1000);
    }
}

static gpointer round_trips(gpointer data)
{
    Conn *c = conn_open();
    conn_negotiate(c);
    for (int i = 0; i < 200; i++) {
        g_autofree char *req = g_strdup_printf("{\"execute\":\"query-version\",\"id\":%d}\n", i);
        conn_send(c, req);
        g_autofree char *line = conn_line(c);
        g_autofree char *want = g_strdup_printf("\"id\":%d}", i);
        g_assert_nonnull(strstr(line, want));
    }
    conn_close(c);
    g_atomic_int_dec_and_test(&running_threads);
    return NULL;
}

static void test_many_clients(void)
{
    GThread *t[8];
    g_atomic_int_set(&running_threads, 8);
    for (int i = 0; i < 8; i++)
        t[i] = g_thread_new("client", round_trips, NULL);
    serve_until_done();
    for (int i = 0; i < 8; i++)
        g_thread_join(t[i]);
    g_assert_cmpuint(monitor_client_count(), ==, 0);
}

/* One client floods requests and never reads; another is served all along. */
static gpointer stuck_and_healthy(gpointer data)
{
    Conn *stuck = conn_open();
    conn_negotiate(stuck);
    /* Non-blocking sends until the kernel buffers are full: the server stopped reading. */
    int flags = MSG_NOSIGNAL | MSG_DONTWAIT;
    const char *req = "{\"execute\":\"query-schema\"}\n";
    int sent = 0;
    for (int i = 0; i < 200000; i++) {
        if (send(stuck->fd, req, strlen(req), flags) < 0)
            break;
        sent++;
    }
    g_assert_cmpint(sent, <, 200000); /* backpressure reached us */
    Conn *ok = conn_open();
    conn_negotiate(ok);
    for (int i = 0; i < 50; i++) {
        conn_send(ok, "{\"execute\":\"query-status\"}\n");
        g_autofree char *line = conn_line(ok);
        g_assert_nonnull(strstr(line, "\"status\""));
    }
    conn_close(ok);
    GPOINTER_TO_INT(data) ? conn_close(stuck) : (void)0;
    g_atomic_int_dec_and_test(&running_threads);
    return NULL;
}

static void test_stuck_client(void)
{
    g_atomic_int_set(&running_threads, 1);
    GThread *t = g_thread_new("client", stuck_and_healthy, GINT_TO_POINTER(1));
    serve_until_done();
    g_thread_join(t);
    g_assert_cmpuint(monitor_client_count(), ==, 0);
}

/* A stuck client that also gets events is dropped at MONITOR_MAX_OUTPUT. */
static void test_stuck_client_dropped(void)
{
    Conn *c = NULL;
    /* Connect from here: connect() completes through the listen backlog. */
    c = conn_open();
    for (int i = 0; i < 50 && monitor_client_count() == 0; i++)
        loop_iterate(false);
    conn_send(c, "{\"execute\":\"qmp_capabilities\"}\n");
    for (int i = 0; i < 50; i++)
        loop_iterate(false);
    g_assert_cmpuint(monitor_client_count(), ==, 1);
    g_autofree char *pad = g_strnfill(100000, 'p');
    for (int i = 0; i < 400 && monitor_client_count() > 0; i++) {
        JsonObject *d = json_object_new();
        json_object_set_string_member(d, "pad", pad);
        monitor_emit_event("X_PAD", d);
        while (loop_iterate(false))
            ;
    }
    g_assert_cmpuint(monitor_client_count(), ==, 0);
    conn_close(c);
}

static gpointer half_close(gpointer data)
{
    Conn *c = conn_open();
    conn_send(c, "{\"execute\":\"qmp_capabilities\"}{\"execute\":\"query-version\",\"id\":\"last\"}");
    shutdown(c->fd, SHUT_WR);
    int lines = 0;
    gboolean got_last = FALSE;
    char *l;
    while ((l = conn_line(c))) {
        lines++;
        got_last |= strstr(l, "\"last\"") != NULL;
        g_free(l);
    }
    g_assert_cmpint(lines, ==, 3);
    g_assert_true(got_last);
    conn_close(c);
    g_atomic_int_dec_and_test(&running_threads);
    return NULL;
}

static void test_half_closed(void)
{
    g_atomic_int_set(&running_threads, 1);
    GThread *t = g_thread_new("client", half_close, NULL);
    serve_until_done();
    g_thread_join(t);
    g_assert_cmpuint(monitor_client_count(), ==, 0);
}

static gpointer huge_line(gpointer data)
{
    Conn *c = conn_open();
    conn_negotiate(c);
    conn_send(c, "{\"execute\":\"");
    g_autofree char *chunk = g_strnfill(1 << 20, 'a');
    gsize sent = 0;
    while (sent < 100u << 20 && conn_send(c, chunk))
        sent += 1 << 20;
    g_assert_cmpuint(sent, <, 100u << 20); /* the server hung up */
    g_autofree char *line = conn_line(c);
    /* The error may be lost if the connection was reset; if it arrives it says why. */
    if (line)
        g_assert_nonnull(strstr(line, "too large"));
    conn_close(c);
    g_atomic_int_dec_and_test(&running_threads);
    return NULL;
}

static void test_huge_line(void)
{
    g_atomic_int_set(&running_threads, 1);
    GThread *t = g_thread_new("client", huge_line, NULL);
    serve_until_done();
    g_thread_join(t);
    g_assert_cmpuint(monitor_client_count(), ==, 0);
}

/* Half-closed and never reading its (large) replies: dropped after the linger time. */
static void test_linger(void)
{
    Conn *c = conn_open();
    for (int i = 0; i < 50 && monitor_client_count() == 0; i++)
        loop_iterate(false);
    GString *req = g_string_new("{\"execute\":\"qmp_capabilities\"}");
    /* Under MONITOR_OUTPUT_BACKPRESSURE of replies in all, or the server stops reading
     * before it sees the half-close (the linger starts at the EOF). */
    for (int i = 0; i < 100; i++)
        g_string_append(req, "{\"execute\":\"query-schema\"}");
    g_assert_true(conn_send(c, req->str));
    g_string_free(req, TRUE);
    shutdown(c->fd, SHUT_WR);
    gint64 start = g_get_monotonic_time();
    while (monitor_client_count() > 0 && g_get_monotonic_time() - start < (MONITOR_LINGER_SECONDS + 3) * G_USEC_PER_SEC)
        if (!loop_iterate(false))
            g_usleep(1000);
    g_assert_cmpuint(monitor_client_count(), ==, 0);
    g_assert_cmpint(g_get_monotonic_time() - start, >=, (MONITOR_LINGER_SECONDS - 1) * G_USEC_PER_SEC);
    conn_close(c);
}

static void test_specs(void)
{
    g_autoptr(GError) err = NULL;
    g_assert_false(monitor_add_listener("tcp:0.0.0.0:4444", &err));
    g_assert_nonnull(strstr(err->message, "loopback"));
    g_clear_error(&err);
    g_assert_false(monitor_add_listener("tcp:192.168.1.1:4444", &err));
    g_clear_error(&err);
    g_assert_false(monitor_add_listener("unix:/tmp/x,bogus", &err));
    g_assert_nonnull(strstr(err->message, "bogus"));
    g_clear_error(&err);
    g_assert_false(monitor_add_listener("serial:ttyS0", &err));
    g_clear_error(&err);
    g_assert_false(monitor_add_listener("unix:/proc/version", &err)); /* not a socket: kept */
    g_clear_error(&err);
    g_assert_true(monitor_add_listener("tcp:127.0.0.1:0,server,wait=off", &err));
    g_assert_no_error(err);
    g_assert_cmpuint(monitor_listener_port(), >, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    loop_context();
    monitor_register_builtins();
    machine_register_commands(); /* stop, cont, qom-*: the machine registers them */
    g_autofree char *dir = g_dir_make_tmp("mosaic-monitor-XXXXXX", NULL);
    sock_path = g_build_filename(dir, "qmp.sock", NULL);
    g_autoptr(GError) err = NULL;
    g_assert_true(monitor_add_listener(sock_path, &err));
    g_test_add_func("/monitor-socket/many-clients", test_many_clients);
    g_test_add_func("/monitor-socket/stuck-client", test_stuck_client);
    g_test_add_func("/monitor-socket/stuck-client-dropped", test_stuck_client_dropped);
    g_test_add_func("/monitor-socket/half-closed", test_half_closed);
    g_test_add_func("/monitor-socket/huge-line", test_huge_line);
    g_test_add_func("/monitor-socket/linger", test_linger);
    g_test_add_func("/monitor-socket/specs", test_specs);
    int r = g_test_run();
    monitor_stop();
    g_assert_false(g_file_test(sock_path, G_FILE_TEST_EXISTS));
    rmdir(dir);
    g_free(sock_path);
    return r;
}
