/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Chardevs: file output, socket round trip and reconnect, receiver flow control,
 * bounded non-blocking output, pty, registry. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "chardev/chardev.h"
#include "config/config.h"
#include "loop/loop.h"

typedef struct Rx {
    GByteArray *got;
    size_t budget; /* what can_receive reports */
    bool lock_held;
    int calls;
} Rx;

static size_t rx_can(void *opaque)
{
    Rx *r = opaque;
    return r->budget;
}

static void rx_recv(void *opaque, const uint8_t *buf, size_t len)
{
    Rx *r = opaque;
    g_assert_cmpuint(len, <=, r->budget); /* never more than offered */
    r->budget -= len;
    g_byte_array_append(r->got, buf, len);
    r->lock_held = mosaic_lock_held();
    r->calls++;
}

static const MosaicChardevReceiver rx_ops = {sizeof(MosaicChardevReceiver), rx_can, rx_recv};

/* Iterates the loop until cond(p) or about two seconds passed. */
static bool spin(bool (*cond)(void *), void *p)
{
    for (int i = 0; i < 400; i++) {
        if (cond(p))
            return true;
        while (loop_iterate(false))
            ;
        if (cond(p))
            return true;
        g_usleep(5000);
    }
    return cond(p);
}

static bool is_connected(void *p)
{
    return chardev_connected(p);
}

static bool is_disconnected(void *p)
{
    return !chardev_connected(p);
}

typedef struct Want {
    Rx *rx;
    guint len;
} Want;

static bool has_len(void *p)
{
    Want *w = p;
    return w->rx->got->len >= w->len;
}

static char *tmp_dir(void)
{
    GError *err = NULL;
    char *d = g_dir_make_tmp("mosaic-chardev-XXXXXX", &err);
    g_assert_no_error(err);
    return d;
}

static void test_file(void)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *path = g_build_filename(dir, "out.txt", NULL);
    g_autofree char *log = g_build_filename(dir, "log.txt", NULL);
    ChardevOpts o = {.label = "f", .backend = CHARDEV_FILE, .path = path, .logfile = log};
    GError *err = NULL;
    MosaicChardev *cd = chardev_new_opts(&o, &err);
    g_assert_no_error(err);
    mosaic_chardev_write(cd, (const uint8_t *)"hello ", 6);
    mosaic_chardev_write(cd, (const uint8_t *)"world\n", 6);
    chardev_free(cd);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "hello world\n");
    g_autofree char *logtext = NULL;
    g_assert_true(g_file_get_contents(log, &logtext, NULL, NULL));
    g_assert_cmpstr(logtext, ==, "hello world\n");

    /* append=on keeps what was there; the default truncates */
    o.append = true;
    o.logfile = NULL;
    cd = chardev_new_opts(&o, &err);
    g_assert_no_error(err);
    mosaic_chardev_write(cd, (const uint8_t *)"more\n", 5);
    chardev_free(cd);
    g_free(text);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "hello world\nmore\n");
    o.append = false;
    cd = chardev_new_opts(&o, &err);
    chardev_free(cd);
    g_free(text);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "");

    /* errors name the chardev and say what to do */
    o.path = NULL;
    g_assert_null(chardev_new_opts(&o, &err));
    g_assert_nonnull(strstr(err->message, "needs path"));
    g_clear_error(&err);
    o.path = "/nonexistent-dir/x";
    g_assert_null(chardev_new_opts(&o, &err));
    g_assert_nonnull(strstr(err->message, "/nonexistent-dir/x"));
    g_clear_error(&err);
    g_unlink(path);
    g_unlink(log);
    g_rmdir(dir);
}

static int client_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

static void read_exact(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        /* let the chardev flush from the loop while we wait */
        while (loop_iterate(false))
            ;
        ssize_t r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
        if (r > 0)
            got += r;
        else if (r == 0 || (errno != EAGAIN && errno != EINTR))
            g_error("recv: %s", r == 0 ? "EOF" : g_strerror(errno));
        else
            g_usleep(1000);
    }
}

static void test_socket_round_trip(void)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *path = g_build_filename(dir, "s.sock", NULL);
    ChardevOpts o = {.label = "s", .backend = CHARDEV_SOCKET, .path = path, .server = true};
    GError *err = NULL;
    MosaicChardev *cd = chardev_new_opts(&o, &err);
    g_assert_no_error(err);
    Rx rx = {.got = g_byte_array_new(), .budget = 1 << 20};
    mosaic_chardev_set_receiver(cd, &rx_ops, &rx);
    /* output without a client is discarded, not buffered */
    mosaic_chardev_write(cd, (const uint8_t *)"lost", 4);
    g_assert_cmpuint(chardev_pending_output(cd), ==, 0);

    int c = client_connect(path);
    g_assert_true(spin(is_connected, cd));
    g_assert_cmpint(write(c, "hello", 5), ==, 5);
    Want w = {&rx, 5};
    g_assert_true(spin(has_len, &w));
    g_assert_cmpmem(rx.got->data, rx.got->len, "hello", 5);
    g_assert_true(rx.lock_held);
    mosaic_chardev_write(cd, (const uint8_t *)"world", 5);
    char buf[8] = {0};
    read_exact(c, buf, 5);
    g_assert_cmpstr(buf, ==, "world");

    /* a second client is turned away while the first is connected */
    int c2 = client_connect(path);
    while (loop_iterate(false))
        ;
    g_usleep(10000);
    while (loop_iterate(false))
        ;
    char b;
    g_assert_cmpint(recv(c2, &b, 1, MSG_DONTWAIT), ==, 0); /* closed by the server */
    close(c2);

    /* disconnect, then a new client is accepted */
    close(c);
    g_assert_true(spin(is_disconnected, cd));
    c = client_connect(path);
    g_assert_true(spin(is_connected, cd));
    g_byte_array_set_size(rx.got, 0);
    g_assert_cmpint(write(c, "again", 5), ==, 5);
    g_assert_true(spin(has_len, &w));
    g_assert_cmpmem(rx.got->data, rx.got->len, "again", 5);
    close(c);

    /* client mode connects to a server someone else runs */
    chardev_free(cd);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS)); /* the socket file is removed */
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(bind(srv, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(srv, 1), ==, 0);
    o.server = false;
    cd = chardev_new_opts(&o, &err);
    g_assert_no_error(err);
    int a = accept(srv, NULL, NULL);
    mosaic_chardev_write(cd, (const uint8_t *)"cli", 3);
    memset(buf, 0, sizeof(buf));
    read_exact(a, buf, 3);
    g_assert_cmpstr(buf, ==, "cli");
    chardev_free(cd);
    close(a);
    close(srv);
    g_unlink(path);
    /* nobody listening: a clear error */
    cd = chardev_new_opts(&o, &err);
    g_assert_null(cd);
    g_assert_nonnull(strstr(err->message, "cannot connect"));
    g_clear_error(&err);
    g_byte_array_unref(rx.got);
    g_rmdir(dir);
}

/* A listening socket of someone else at `path` (fd returned), or a stale one (closed). */
static int other_server(const char *path, gboolean keep)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 1), ==, 0);
    if (!keep) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A server chardev replaces only a stale socket: never a live server's socket or
 * another file; at close it removes its own socket only, not what took the path. */
static void test_socket_path_claim(void)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *path = g_build_filename(dir, "s.sock", NULL);
    ChardevOpts o = {.label = "s", .backend = CHARDEV_SOCKET, .path = path, .server = true};
    GError *err = NULL;

    int live = other_server(path, TRUE);
    struct stat before, after;
    g_assert_cmpint(lstat(path, &before), ==, 0);
    g_assert_null(chardev_new_opts(&o, &err));
    g_assert_nonnull(strstr(err->message, "in use by another server"));
    g_assert_nonnull(strstr(err->message, path));
    g_clear_error(&err);
    g_assert_cmpint(lstat(path, &after), ==, 0);
    g_assert_cmpuint(after.st_ino, ==, before.st_ino); /* still the other server's */
    close(client_connect(path));
    close(live);
    g_unlink(path);

    g_assert_true(g_file_set_contents(path, "disk data", -1, NULL));
    g_assert_null(chardev_new_opts(&o, &err));
    g_assert_nonnull(strstr(err->message, "not a socket"));
    g_clear_error(&err);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "disk data");
    g_unlink(path);

    other_server(path, FALSE); /* stale: replaced */
    MosaicChardev *cd = chardev_new_opts(&o, &err);
    g_assert_no_error(err);
    close(client_connect(path));
    /* Someone else's file took the path meanwhile: closing leaves it alone. */
    g_unlink(path);
    g_assert_true(g_file_set_contents(path, "new owner", -1, NULL));
    chardev_free(cd);
    g_free(text);
    text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "new owner");
    g_unlink(path);
    g_rmdir(dir);
}

static int lowest_free_fd(void)
{
    int fd = dup(0);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    return fd;
}

/* Out of descriptors, a client waits in the backlog and the listening socket stays
 * readable: the listener must back off (one warning), not be called again and again;
 * once descriptors are free it accepts again. */
static void test_socket_fd_exhaustion(void)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *path = g_build_filename(dir, "e.sock", NULL);
    ChardevOpts o = {.label = "e", .backend = CHARDEV_SOCKET, .path = path, .server = true};
    GError *err = NULL;
    MosaicChardev *cd = chardev_new_opts(&o, &err);
    g_assert_no_error(err);
    Rx rx = {.got = g_byte_array_new(), .budget = 1 << 20}; /* reading: sees the hang-up */
    mosaic_chardev_set_receiver(cd, &rx_ops, &rx);
    int c1 = client_connect(path);
    g_assert_true(spin(is_connected, cd));
    int c2 = client_connect(path); /* queued: accepted only when c1 is gone */

    struct rlimit old;
    g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &old), ==, 0);
    struct rlimit low = {.rlim_cur = lowest_free_fd(), .rlim_max = old.rlim_max};
    close(c1);
    /* c1's descriptor is free again: the chardev sees the hang-up, then the queued
     * client's accept fails (EMFILE) because the limit is below the lowest free fd. */
    low.rlim_cur = MIN(low.rlim_cur, (rlim_t)c1);
    g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &low), ==, 0);
    g_test_expect_message("mosaic", G_LOG_LEVEL_WARNING, "chardev e (unix:*): cannot accept clients*");
    int dispatched = 0;
    gint64 end = g_get_monotonic_time() + 100000; /* less than the back-off */
    while (g_get_monotonic_time() < end)
        dispatched += loop_iterate(false);
    g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &old), ==, 0);
    g_test_assert_expected_messages();
    g_assert_false(chardev_connected(cd));
    g_assert_cmpint(dispatched, <, 10); /* not spinning on the readable listener */

    g_assert_true(spin(is_connected, cd)); /* the back-off retries: c2 gets in */
    mosaic_chardev_write(cd, (const uint8_t *)"late", 4);
    char buf[8] = {0};
    read_exact(c2, buf, 4);
    g_assert_cmpstr(buf, ==, "late");
    close(c2);
    chardev_free(cd);
    g_byte_array_unref(rx.got);
    g_rmdir(dir);
}

static void test_flow_control(void)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *path = g_build_filename(dir, "fc.sock", NULL);
    ChardevOpts o = {.label = "fc", .backend = CHARDEV_SOCKET, .path = path, .server = true};
    GError *err = NULL;
    MosaicChardev *cd = chardev_new_opts(&o, &err);
    g_assert_no_error(err);
    int c = client_connect(path);
    g_assert_true(spin(is_connected, cd));
    /* no receiver yet: input waits in the kernel */
    g_assert_cmpint(write(c, "0123456789", 10), ==, 10);
    while (loop_iterate(false))
        ;
    Rx rx = {.got = g_byte_array_new(), .budget = 3};
    mosaic_chardev_set_receiver(cd, &rx_ops, &rx);
    Want w3 = {&rx, 3};
    g_assert_true(spin(has_len, &w3));
    for (int i = 0; i < 20; i++) {
        while (loop_iterate(false))
            ;
        g_usleep(1000);
    }
    g_assert_cmpuint(rx.got->len, ==, 3); /* can_receive said 0: nothing more */
    g_assert_cmpmem(rx.got->data, 3, "012", 3);
    rx.budget = 100;
    mosaic_chardev_accept_input(cd);
    Want w10 = {&rx, 10};
    g_assert_true(spin(has_len, &w10));
    g_assert_cmpmem(rx.got->data, rx.got->len, "0123456789", 10);
    close(c);
    chardev_free(cd);
    g_byte_array_unref(rx.got);
    g_rmdir(dir);
}

static void test_output_bounded(void)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *path = g_build_filename(dir, "ob.sock", NULL);
    ChardevOpts o = {.label = "ob", .backend = CHARDEV_SOCKET, .path = path, .server = true};
    GError *err = NULL;
    MosaicChardev *cd = chardev_new_opts(&o, &err);
    g_assert_no_error(err);
    int c = client_connect(path);
    g_assert_true(spin(is_connected, cd));
    /* the client does not read: 4 MiB must neither block nor grow without bound */
    static uint8_t chunk[4096];
    memset(chunk, 'x', sizeof(chunk));
    g_test_expect_message(CHARDEV_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "chardev ob: output is not being read*");
    int64_t start = g_get_monotonic_time();
    for (int i = 0; i < 1024; i++)
        mosaic_chardev_write(cd, chunk, sizeof(chunk));
    g_test_assert_expected_messages(); /* exactly one warning */
    g_assert_cmpint(g_get_monotonic_time() - start, <, 2000000);
    g_assert_cmpuint(chardev_pending_output(cd), <=, CHARDEV_OUT_MAX);
    g_assert_cmpuint(chardev_pending_output(cd), >, 0);
    /* the reader catches up: the buffer drains from the loop */
    char buf[65536];
    for (int i = 0; i < 400 && chardev_pending_output(cd); i++) {
        while (recv(c, buf, sizeof(buf), MSG_DONTWAIT) > 0)
            ;
        while (loop_iterate(false))
            ;
        g_usleep(2000);
    }
    g_assert_cmpuint(chardev_pending_output(cd), ==, 0);
    close(c);
    chardev_free(cd);
    g_rmdir(dir);
}

static void test_pty(void)
{
    ChardevOpts o = {.label = "p", .backend = CHARDEV_PTY};
    GError *err = NULL;
    MosaicChardev *cd = chardev_new_opts(&o, &err);
    if (!cd) {
        g_test_skip(err->message);
        g_clear_error(&err);
        return;
    }
    const char *name = chardev_pty_path(cd);
    g_assert_nonnull(name);
    int s = open(name, O_RDWR | O_NOCTTY);
    g_assert_cmpint(s, >=, 0);
    Rx rx = {.got = g_byte_array_new(), .budget = 100};
    mosaic_chardev_set_receiver(cd, &rx_ops, &rx);
    mosaic_chardev_write(cd, (const uint8_t *)"out\n", 4);
    char buf[8] = {0};
    size_t got = 0;
    for (int i = 0; i < 200 && got < 4; i++) {
        while (loop_iterate(false))
            ;
        fcntl(s, F_SETFL, O_NONBLOCK);
        ssize_t r = read(s, buf + got, 4 - got);
        if (r > 0)
            got += r;
        else
            g_usleep(2000);
    }
    g_assert_cmpmem(buf, got, "out\n", 4); /* raw: no \r added */
    g_assert_cmpint(write(s, "in", 2), ==, 2);
    Want w = {&rx, 2};
    g_assert_true(spin(has_len, &w));
    g_assert_cmpmem(rx.got->data, rx.got->len, "in", 2);
    close(s);
    chardev_free(cd);
    g_byte_array_unref(rx.got);
}

static void test_registry(void)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *path = g_build_filename(dir, "r.txt", NULL);
    ChardevOpts o = {.label = "serial0", .backend = CHARDEV_FILE, .path = path};
    MosaicChardev *cd = chardev_new_opts(&o, NULL);
    g_assert_nonnull(cd);
    g_assert_true(chardev_registry_add("serial0", cd));
    g_assert_true(mosaic_chardev_find(NULL, "serial0") == cd);
    g_assert_true(chardev_registry_find("serial0") == cd);
    g_assert_null(mosaic_chardev_find(NULL, "nope"));
    MosaicChardev *dup = chardev_new_opts(&o, NULL);
    g_assert_false(chardev_registry_add("serial0", dup));
    chardev_free(dup);
    g_assert_cmpstr(chardev_label(cd), ==, "serial0");
    chardev_registry_clear();
    g_assert_null(mosaic_chardev_find(NULL, "serial0"));
    /* the published section table has the keys the backends read */
    const char *keys[] = {"backend", "path", "server", "wait", "append", "logfile"};
    for (unsigned i = 0; i < G_N_ELEMENTS(keys); i++) {
        bool found = false;
        for (const MosaicPropDesc *d = chardev_props; d->key; d++)
            found |= !strcmp(d->key, keys[i]);
        g_assert_true(found);
    }
    g_unlink(path);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/chardev/file", test_file);
    g_test_add_func("/chardev/socket-round-trip", test_socket_round_trip);
    g_test_add_func("/chardev/socket-path-claim", test_socket_path_claim);
    g_test_add_func("/chardev/socket-fd-exhaustion", test_socket_fd_exhaustion);
    g_test_add_func("/chardev/flow-control", test_flow_control);
    g_test_add_func("/chardev/output-bounded", test_output_bounded);
    g_test_add_func("/chardev/pty", test_pty);
    g_test_add_func("/chardev/registry", test_registry);
    return g_test_run();
}
