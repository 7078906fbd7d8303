/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Monitor sockets on the main loop: listeners, and one non-blocking client each.
 *
 * A client is never waited for: input is read when it comes (at most 64 KiB per
 * wakeup, so one flooding client cannot starve the others), output is queued and
 * written when the socket takes it.  A client that stops reading first stops being read
 * (MONITOR_OUTPUT_BACKPRESSURE), then is dropped if events pile up past
 * MONITOR_MAX_OUTPUT.  EOF on input (a half-closed socket) still gets every reply. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include "monitor/monitor.h"
#include "config/config.h"
#include "loop/loop.h"
#include "loop/backoff.h"
#include "util/unix-socket.h"

typedef struct Listener {
    GSocket *sock;
    GSource *src;
    char *desc;  /* "unix:/path" */
    char *path;  /* unix: unlinked at stop (if still the socket we bound) */
    UnixSocketFile file;
    gboolean wait, had_client;
    LoopBackoff backoff;
} Listener;

typedef struct Client {
    GSocket *sock;
    MonitorSession *s;
    GSource *in_src, *out_src, *reap_src, *linger_src;
    gboolean eof;
} Client;

static GList *listeners, *clients;
static guint16 last_port;

static void client_close(Client *c)
{
    clients = g_list_remove(clients, c);
    GSource **srcs[] = {&c->in_src, &c->out_src, &c->reap_src, &c->linger_src};
    for (guint i = 0; i < G_N_ELEMENTS(srcs); i++)
        if (*srcs[i]) {
            g_source_destroy(*srcs[i]);
            g_source_unref(*srcs[i]);
            *srcs[i] = NULL;
        }
    g_socket_close(c->sock, NULL);
    g_object_unref(c->sock);
    monitor_session_free(c->s);
    g_free(c);
}

static void drop_source(GSource **src)
{
    if (*src) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

static gboolean on_readable(GSocket *sock, GIOCondition cond, gpointer data);
static gboolean on_writable(GSocket *sock, GIOCondition cond, gpointer data);

static void watch(Client *c, GSource **slot, GIOCondition cond, GSocketSourceFunc fn)
{
    if (*slot)
        return;
    *slot = g_socket_create_source(c->sock, cond, NULL);
    g_source_set_callback(*slot, (GSourceFunc)(void (*)(void))fn, c, NULL);
    g_source_attach(*slot, loop_context());
}

/* Writes what the socket takes now.  FALSE: the connection failed. */
static gboolean flush(Client *c)
{
    gsize len;
    const char *out;
    while ((out = monitor_session_output(c->s, &len)), len > 0) {
        g_autoptr(GError) err = NULL;
        gssize n = g_socket_send(c->sock, out, len, NULL, &err);
        if (n < 0)
            return g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
        monitor_session_consume(c->s, n);
    }
    return TRUE;
}

static gboolean linger_over(gpointer data)
{
    client_close(data);
    return G_SOURCE_REMOVE;
}

/* Brings the watches in line with the session's state.  FALSE: c was freed. */
static gboolean client_update(Client *c)
{
    if (monitor_session_dead(c->s) || !flush(c)) {
        client_close(c);
        return FALSE;
    }
    gsize pending = monitor_session_output_len(c->s);
    if (pending == 0 && (monitor_session_closing(c->s) || c->eof)) {
        client_close(c);
        return FALSE;
    }
    if (pending > 0 && !c->linger_src && (monitor_session_closing(c->s) || c->eof)) {
        /* Last words to a client that does not read them: not forever. */
        c->linger_src = g_timeout_source_new_seconds(MONITOR_LINGER_SECONDS);
        g_source_set_callback(c->linger_src, linger_over, c, NULL);
        g_source_attach(c->linger_src, loop_context());
    }
    if (pending > 0)
        watch(c, &c->out_src, G_IO_OUT, on_writable);
    else
        drop_source(&c->out_src);
    gboolean want_input = !c->eof && !monitor_session_closing(c->s) &&
                          pending < MONITOR_OUTPUT_BACKPRESSURE;
    if (want_input)
        watch(c, &c->in_src, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable);
    else
        drop_source(&c->in_src);
    return TRUE;
}

static gboolean on_readable(GSocket *sock, GIOCondition cond, gpointer data)
{
    Client *c = data;
    char buf[65536];
    g_autoptr(GError) err = NULL;
    gssize n = g_socket_receive(sock, buf, sizeof(buf), NULL, &err);
    if (n < 0) {
        if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return G_SOURCE_CONTINUE;
        client_close(c); /* reset by peer: nobody to answer */
        return G_SOURCE_REMOVE;
    }
    if (n == 0) {
        c->eof = TRUE;
        monitor_session_eof(c->s);
    } else {
        monitor_session_feed(c->s, buf, n);
    }
    client_update(c);
    return G_SOURCE_CONTINUE; /* a dropped watch was destroyed already */
}

static gboolean on_writable(GSocket *sock, GIOCondition cond, gpointer data)
{
    client_update(data);
    return G_SOURCE_CONTINUE;
}

static gboolean reap(gpointer data)
{
    Client *c = data;
    drop_source(&c->reap_src);
    client_update(c);
    return G_SOURCE_REMOVE;
}

/* Events: output appeared outside the client's own callbacks, possibly while another
 * (or this) client's command runs, so act later, from the loop. */
static void wake(void *opaque)
{
    Client *c = opaque;
    if (c->reap_src)
        return;
    c->reap_src = g_idle_source_new();
    g_source_set_callback(c->reap_src, reap, c, NULL);
    g_source_attach(c->reap_src, loop_context());
}

static void start_listener(Listener *l);

static void listener_resume(void *opaque)
{
    start_listener(opaque);
}

/* One client more than MONITOR_MAX_CLIENTS: told why (its socket buffer is empty, so
 * the line fits without waiting), then closed. */
static void refuse(GSocket *cs, Listener *l)
{
    static const char line[] =
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"too many monitor clients "
        "(limit " G_STRINGIFY(MONITOR_MAX_CLIENTS) "): close another connection and retry\"}}\r\n";
    g_socket_set_blocking(cs, FALSE);
    g_socket_send(cs, line, sizeof line - 1, NULL, NULL);
    g_socket_close(cs, NULL);
    g_object_unref(cs);
    g_log(MONITOR_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, "%s: client refused (limit %u)", l->desc,
          MONITOR_MAX_CLIENTS);
}

static gboolean on_accept(GSocket *sock, GIOCondition cond, gpointer data)
{
    Listener *l = data;
    g_autoptr(GError) err = NULL;
    GSocket *cs = g_socket_accept(sock, NULL, &err);
    if (!cs) {
        if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return G_SOURCE_CONTINUE;
        g_source_unref(l->src); /* G_SOURCE_REMOVE destroys it */
        l->src = NULL;
        loop_backoff_pause(&l->backoff, MONITOR_LOG_DOMAIN, l->desc, err->message,
                           listener_resume, l);
        return G_SOURCE_REMOVE;
    }
    loop_backoff_recovered(&l->backoff);
    if (g_list_length(clients) >= MONITOR_MAX_CLIENTS) {
        refuse(cs, l);
        return G_SOURCE_CONTINUE;
    }
    g_socket_set_blocking(cs, FALSE);
    Client *c = g_new0(Client, 1);
    c->sock = cs;
    c->s = monitor_session_new(wake, c);
    clients = g_list_prepend(clients, c);
    l->had_client = TRUE;
    g_log(MONITOR_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, "%s: client connected", l->desc);
    client_update(c);
    return G_SOURCE_CONTINUE;
}

static gboolean listen_on(GSocket *sock, GSocketAddress *addr, const char *desc, GError **err)
{
    if (!g_socket_bind(sock, addr, TRUE, err) || !g_socket_listen(sock, err)) {
        g_prefix_error(err, "--qmp %s: ", desc);
        return FALSE;
    }
    return TRUE;
}

static gboolean add_unix(const char *path, gboolean wait, GError **err)
{
    g_autofree char *desc = g_strdup_printf("unix:%s", path);
    UnixSocketFile file;
    /* Listening before the path appears: a client that sees it may connect at once. */
    int fd = unix_socket_listen(path, 16, &file, err);
    if (fd < 0) {
        g_prefix_error(err, "--qmp %s: ", desc);
        return FALSE;
    }
    g_autoptr(GSocket) sock = g_socket_new_from_fd(fd, err);
    if (!sock) {
        close(fd);
        unix_socket_release(path, &file);
        return FALSE;
    }
    Listener *l = g_new0(Listener, 1);
    l->sock = g_steal_pointer(&sock);
    l->desc = g_steal_pointer(&desc);
    l->path = g_strdup(path);
    l->file = file;
    l->wait = wait;
    listeners = g_list_append(listeners, l);
    return TRUE;
}

static gboolean add_tcp(const char *hostport, gboolean wait, GError **err)
{
    g_autofree char *desc = g_strdup_printf("tcp:%s", hostport);
    const char *colon = strrchr(hostport, ':');
    g_autofree char *host = colon ? g_strndup(hostport, colon - hostport) : NULL;
    char *end = NULL;
    guint64 port = colon ? g_ascii_strtoull(colon + 1, &end, 10) : 0;
    if (!colon || !end || *end || end == colon + 1 || port > 65535) {
        g_set_error(err, MONITOR_ERROR, 0, "--qmp %s: expected tcp:127.0.0.1:PORT", desc);
        return FALSE;
    }
    const char *ip = g_str_equal(host, "localhost") || g_str_equal(host, "127.0.0.1") ? "127.0.0.1"
                   : g_str_equal(host, "[::1]") || g_str_equal(host, "::1") ? "::1" : NULL;
    if (!ip) {
        g_set_error(err, MONITOR_ERROR, 0,
                    "--qmp %s: only loopback addresses (127.0.0.1, ::1, localhost) are allowed: "
                    "the control protocol has no authentication", desc);
        return FALSE;
    }
    g_autoptr(GInetAddress) ia = g_inet_address_new_from_string(ip);
    g_autoptr(GSocket) sock = g_socket_new(g_inet_address_get_family(ia), G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_TCP, err);
    if (!sock)
        return FALSE;
    g_autoptr(GSocketAddress) addr = g_inet_socket_address_new(ia, (guint16)port);
    if (!listen_on(sock, addr, desc, err))
        return FALSE;
    g_autoptr(GSocketAddress) local = g_socket_get_local_address(sock, NULL);
    if (local)
        last_port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
    Listener *l = g_new0(Listener, 1);
    l->sock = g_steal_pointer(&sock);
    l->desc = g_steal_pointer(&desc);
    l->wait = wait;
    listeners = g_list_append(listeners, l);
    return TRUE;
}

static void start_listener(Listener *l)
{
    g_socket_set_blocking(l->sock, FALSE);
    l->src = g_socket_create_source(l->sock, G_IO_IN, NULL);
    g_source_set_callback(l->src, (GSourceFunc)(void (*)(void))on_accept, l, NULL);
    g_source_attach(l->src, loop_context());
}

gboolean monitor_add_listener(const char *spec, GError **err)
{
    g_auto(GStrv) parts = g_strsplit(spec, ",", -1);
    gboolean server = FALSE, wait = FALSE, wait_given = FALSE;
    for (guint i = 1; parts[i]; i++) {
        const char *o = parts[i];
        if (g_str_equal(o, "server") || g_str_equal(o, "server=on"))
            server = TRUE;
        else if (g_str_equal(o, "wait=off") || g_str_equal(o, "nowait") || g_str_equal(o, "wait=no"))
            wait = FALSE, wait_given = TRUE;
        else if (g_str_equal(o, "wait=on") || g_str_equal(o, "wait") || g_str_equal(o, "wait=yes"))
            wait = TRUE, wait_given = TRUE;
        else {
            g_set_error(err, MONITOR_ERROR, 0,
                        "--qmp %s: unknown option '%s' (expected server, wait=on|off)", spec, o);
            return FALSE;
        }
    }
    if (server && !wait_given)
        wait = TRUE; /* QEMU: ",server" alone waits for the first client */
    const char *addr = parts[0];
    gboolean ok;
    if (g_str_has_prefix(addr, "tcp:"))
        ok = add_tcp(addr + 4, wait, err);
    else if (g_str_has_prefix(addr, "unix:"))
        ok = add_unix(addr + 5, wait, err);
    else if (strchr(addr, ':') && !strchr(addr, '/')) {
        g_set_error(err, MONITOR_ERROR, 0, "--qmp %s: expected unix:PATH or tcp:127.0.0.1:PORT", spec);
        return FALSE;
    } else
        ok = add_unix(addr, wait, err);
    if (ok)
        start_listener(g_list_last(listeners)->data);
    return ok;
}

guint16 monitor_listener_port(void)
{
    return last_port;
}

gboolean monitor_add_from_config(const MosaicConfig *cfg, GError **err)
{
    guint n = cfg ? config_count(cfg, "monitor") : 0;
    for (guint i = 0; i < n; i++) {
        const MosaicProps *p = config_get(cfg, "monitor", i);
        const char *path = mosaic_props_has(p, "socket") ? mosaic_props_get_str(p, "socket") : NULL;
        const char *tcp = mosaic_props_has(p, "tcp") ? mosaic_props_get_str(p, "tcp") : NULL;
        gboolean wait = mosaic_props_has(p, "wait") && mosaic_props_get_bool(p, "wait");
        if ((path && *path) == (tcp && *tcp)) {
            g_set_error(err, MONITOR_ERROR, 0, "%s: [monitor %s] needs exactly one of socket and tcp",
                        mosaic_props_where(p, NULL), mosaic_props_label(p));
            return FALSE;
        }
        gboolean ok = path && *path ? add_unix(path, wait, err) : add_tcp(tcp, wait, err);
        if (!ok) {
            g_prefix_error(err, "%s: [monitor %s]: ", mosaic_props_where(p, path ? "socket" : "tcp"),
                           mosaic_props_label(p));
            return FALSE;
        }
        start_listener(g_list_last(listeners)->data);
    }
    return TRUE;
}

static gboolean someone_waits(void)
{
    for (GList *l = listeners; l; l = l->next) {
        Listener *li = l->data;
        if (li->wait && !li->had_client)
            return TRUE;
    }
    return FALSE;
}

void monitor_wait_for_clients(void)
{
    for (GList *l = listeners; l; l = l->next) {
        Listener *li = l->data;
        if (li->wait && !li->had_client)
            fprintf(stderr, "mosaic: waiting for a connection on %s\n", li->desc);
    }
    while (someone_waits() && !loop_quit_requested())
        loop_iterate(TRUE);
}

gboolean monitor_start(const char *const *qmp, const MosaicConfig *cfg, GError **err)
{
    monitor_register_builtins();
    for (guint i = 0; qmp && qmp[i]; i++)
        if (!monitor_add_listener(qmp[i], err))
            return FALSE;
    if (!monitor_add_from_config(cfg, err))
        return FALSE;
    monitor_wait_for_clients();
    return TRUE;
}

void monitor_stop(void)
{
    /* Replies already queued (to `quit`, the SHUTDOWN event) go out first, but a client
     * that does not read gets at most a second. */
    gint64 deadline = g_get_monotonic_time() + G_USEC_PER_SEC;
    while (clients) {
        Client *c = clients->data;
        g_socket_set_blocking(c->sock, TRUE);
        gint64 left = deadline - g_get_monotonic_time();
        g_socket_set_timeout(c->sock, left > 0 ? (guint)MAX(1, left / G_USEC_PER_SEC) : 1);
        gsize len;
        const char *out;
        while (left > 0 && !monitor_session_dead(c->s) &&
               (out = monitor_session_output(c->s, &len), len > 0)) {
            gssize n = g_socket_send(c->sock, out, len, NULL, NULL);
            if (n <= 0)
                break;
            monitor_session_consume(c->s, n);
        }
        client_close(c);
    }
    while (listeners) {
        Listener *l = listeners->data;
        listeners = g_list_delete_link(listeners, listeners);
        if (l->src) {
            g_source_destroy(l->src);
            g_source_unref(l->src);
        }
        loop_backoff_cancel(&l->backoff);
        g_socket_close(l->sock, NULL);
        g_object_unref(l->sock);
        if (l->path)
            unix_socket_release(l->path, &l->file);
        g_free(l->path);
        g_free(l->desc);
        g_free(l);
    }
}

guint monitor_client_count(void)
{
    return g_list_length(clients);
}
