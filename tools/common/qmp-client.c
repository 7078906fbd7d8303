/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Blocking QMP client over a GSocket (see qmp-client.h). */
#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include "qmp-client.h"
#include "util/json-text.h"

G_DEFINE_QUARK(qmp-client-error-quark, qmp_client_error)

struct QmpClient {
    GSocket *sock;
    GString *in;
    GQueue events;      /* JsonObject * */
    JsonObject *greeting;
    char *last_class;
    guint64 next_id;
    int timeout_ms;     /* -1: none */
};

static GSocketAddress *parse_address(const char *address, GError **err)
{
    if (g_str_has_prefix(address, "tcp:")) {
        const char *hp = address + 4, *colon = strrchr(hp, ':');
        if (!colon) {
            g_set_error(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_CONNECT, "%s: expected tcp:HOST:PORT", address);
            return NULL;
        }
        g_autofree char *host = g_strndup(hp, colon - hp);
        if (host[0] == '[') {
            char *tmp = g_strndup(host + 1, strlen(host) - 2);
            g_free(host);
            host = tmp;
        }
        g_autoptr(GInetAddress) ia = g_inet_address_new_from_string(g_str_equal(host, "localhost") ? "127.0.0.1" : host);
        if (!ia) {
            g_set_error(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_CONNECT, "%s: bad IP address", address);
            return NULL;
        }
        return g_inet_socket_address_new(ia, (guint16)atoi(colon + 1));
    }
    const char *path = g_str_has_prefix(address, "unix:") ? address + 5 : address;
    g_autofree char *only = g_strdup(path);
    char *comma = strchr(only, ',');
    if (comma)
        *comma = '\0'; /* accept the server's own spec: unix:PATH,server,wait=off */
    return g_unix_socket_address_new(only);
}

/* Reads one JSON line (transfer full). */
static JsonObject *read_msg(QmpClient *c, int timeout_ms, GError **err)
{
    gint64 deadline = timeout_ms < 0 ? -1 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    for (;;) {
        char *nl = memchr(c->in->str, '\n', c->in->len);
        if (nl) {
            gsize len = nl - c->in->str;
            g_autoptr(JsonParser) p = json_parser_new();
            gboolean ok = json_parser_load_from_data(p, c->in->str, len, err);
            g_string_erase(c->in, 0, len + 1);
            if (!ok) {
                g_prefix_error(err, "malformed reply: ");
                return NULL;
            }
            JsonNode *root = json_parser_get_root(p);
            if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
                g_set_error(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_IO, "reply is not a JSON object");
                return NULL;
            }
            return json_object_ref(json_node_get_object(root));
        }
        gint64 wait_us = -1;
        if (deadline >= 0) {
            wait_us = deadline - g_get_monotonic_time();
            if (wait_us <= 0) {
                g_set_error(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_TIMEOUT, "timed out waiting for the server");
                return NULL;
            }
        }
        g_autoptr(GError) e = NULL;
        if (!g_socket_condition_timed_wait(c->sock, G_IO_IN, wait_us, NULL, &e)) {
            /* The socket's own timeout is shorter than ours: keep waiting. */
            if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) &&
                (deadline < 0 || g_get_monotonic_time() < deadline)) {
                g_clear_error(&e);
                continue;
            }
            g_set_error(err, QMP_CLIENT_ERROR,
                        g_error_matches(e, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ? QMP_CLIENT_ERROR_TIMEOUT
                                                                             : QMP_CLIENT_ERROR_IO,
                        "%s", g_error_matches(e, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
                                  ? "timed out waiting for the server" : e->message);
            return NULL;
        }
        char buf[65536];
        gssize n = g_socket_receive(c->sock, buf, sizeof(buf), NULL, &e);
        if (n < 0 && g_error_matches(e, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            continue;
        if (n <= 0) {
            g_set_error(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_IO, "connection closed by the server%s%s",
                        e ? ": " : "", e ? e->message : "");
            return NULL;
        }
        g_string_append_len(c->in, buf, n);
    }
}

static gboolean send_all(QmpClient *c, const char *text, gsize len, GError **err)
{
    while (len > 0) {
        gssize n = g_socket_send(c->sock, text, len, NULL, err);
        if (n < 0) {
            g_prefix_error(err, "sending: ");
            return FALSE;
        }
        text += n;
        len -= n;
    }
    return TRUE;
}

/* Next reply, queueing events met on the way. */
static JsonObject *read_reply(QmpClient *c, GError **err)
{
    for (;;) {
        JsonObject *m = read_msg(c, c->timeout_ms, err);
        if (!m)
            return NULL;
        if (json_object_has_member(m, "event")) {
            g_queue_push_tail(&c->events, m);
            continue;
        }
        return m;
    }
}

QmpClient *qmp_client_connect(const char *address, guint timeout_s, GError **err)
{
    g_autoptr(GSocketAddress) sa = parse_address(address, err);
    if (!sa)
        return NULL;
    QmpClient *c = g_new0(QmpClient, 1);
    c->in = g_string_new(NULL);
    g_queue_init(&c->events);
    c->sock = g_socket_new(g_socket_address_get_family(sa), G_SOCKET_TYPE_STREAM, 0, err);
    if (!c->sock)
        goto fail;
    g_socket_set_timeout(c->sock, timeout_s);
    c->timeout_ms = timeout_s ? (int)timeout_s * 1000 : -1;
    if (!g_socket_connect(c->sock, sa, NULL, err)) {
        g_prefix_error(err, "%s: ", address);
        goto fail;
    }
    c->next_id = 1;
    JsonObject *greet = read_msg(c, c->timeout_ms, err);
    if (!greet)
        goto fail;
    if (!json_object_has_member(greet, "QMP")) {
        json_object_unref(greet);
        g_set_error(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_CONNECT, "%s: not a QMP server", address);
        goto fail;
    }
    c->greeting = json_object_ref(json_object_get_object_member(greet, "QMP"));
    json_object_unref(greet);
    g_autoptr(JsonNode) r = qmp_client_execute(c, "qmp_capabilities", NULL, err);
    if (!r)
        goto fail;
    return c;
fail:
    qmp_client_free(c);
    return NULL;
}

void qmp_client_free(QmpClient *c)
{
    if (!c)
        return;
    if (c->sock) {
        g_socket_close(c->sock, NULL);
        g_object_unref(c->sock);
    }
    g_string_free(c->in, TRUE);
    g_queue_clear_full(&c->events, (GDestroyNotify)json_object_unref);
    if (c->greeting)
        json_object_unref(c->greeting);
    g_free(c->last_class);
    g_free(c);
}

JsonObject *qmp_client_greeting(QmpClient *c)
{
    return c->greeting;
}

const char *qmp_client_last_error_class(QmpClient *c)
{
    return c->last_class;
}

JsonNode *qmp_client_execute(QmpClient *c, const char *command, JsonObject *args, GError **err)
{
    g_autoptr(JsonObject) req = json_object_new();
    json_object_set_string_member(req, "execute", command);
    if (args)
        json_object_set_object_member(req, "arguments", json_object_ref(args));
    guint64 id = c->next_id++;
    json_object_set_int_member(req, "id", (gint64)id);
    g_autoptr(JsonNode) n = json_node_init_object(json_node_alloc(), req);
    gsize len;
    g_autofree char *text = json_text(n, FALSE); /* json_to_string writes "1e+308.0" */
    len = strlen(text);
    text = g_realloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    if (!send_all(c, text, len, err))
        return NULL;
    for (;;) {
        g_autoptr(JsonObject) r = read_reply(c, err);
        if (!r)
            return NULL;
        JsonNode *rid = json_object_get_member(r, "id");
        if (rid && JSON_NODE_HOLDS_VALUE(rid) && json_node_get_value_type(rid) == G_TYPE_INT64 &&
            (guint64)json_node_get_int(rid) != id)
            continue; /* a late reply to an abandoned request */
        g_clear_pointer(&c->last_class, g_free);
        if (json_object_has_member(r, "error")) {
            JsonObject *e = json_object_get_object_member(r, "error");
            const char *cls = e && json_object_has_member(e, "class") ? json_object_get_string_member(e, "class") : "GenericError";
            const char *desc = e && json_object_has_member(e, "desc") ? json_object_get_string_member(e, "desc") : "";
            c->last_class = g_strdup(cls);
            g_set_error(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_COMMAND, "%s: %s", cls, desc);
            return NULL;
        }
        JsonNode *ret = json_object_get_member(r, "return");
        if (!ret) {
            g_set_error(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_IO, "reply has neither return nor error");
            return NULL;
        }
        return json_node_copy(ret);
    }
}

JsonObject *qmp_client_next_event(QmpClient *c, int timeout_ms, GError **err)
{
    if (!g_queue_is_empty(&c->events))
        return g_queue_pop_head(&c->events);
    gint64 deadline = timeout_ms < 0 ? -1 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    for (;;) {
        int left = deadline < 0 ? -1 : (int)MAX(0, (deadline - g_get_monotonic_time()) / 1000);
        JsonObject *m = read_msg(c, left, err);
        if (!m)
            return NULL;
        if (json_object_has_member(m, "event"))
            return m;
        json_object_unref(m); /* a stray reply */
    }
}

JsonObject *qmp_client_raw(QmpClient *c, const char *text, GError **err)
{
    if (!send_all(c, text, strlen(text), err))
        return NULL;
    return read_reply(c, err);
}
