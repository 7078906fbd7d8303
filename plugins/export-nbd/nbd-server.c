/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/* NBD exports: [export LABEL] sections and block-export-add/del.  Exports that name
 * the same socket (or address and port) share one listener; clients pick an export
 * by name (an empty name picks the first). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "nbd.h"
#include "nbd-proto.h"

static GPtrArray *servers; /* NbdServer* */
static GHashTable *exports; /* id -> NbdExport* */

const MosaicPropDesc nbd_export_props[] = {
    {.key = "node", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED,
     .help = "the block node to export"},
    {.key = "type", .type = MOSAIC_PROP_ENUM, .choices = "nbd", .defval = "nbd",
     .help = "export protocol"},
    {.key = "socket", .type = MOSAIC_PROP_PATH, .help = "UNIX socket to listen on"},
    {.key = "addr", .type = MOSAIC_PROP_STRING, .defval = "127.0.0.1",
     .help = "TCP: loopback address to listen on (127.0.0.1 or ::1)"},
    {.key = "port", .type = MOSAIC_PROP_UINT, .defval = "0", .max = 65535,
     .help = "TCP port (when no socket is given)"},
    {.key = "name", .type = MOSAIC_PROP_STRING, .help = "export name (default: the label)"},
    {.key = "description", .type = MOSAIC_PROP_STRING, .help = "shown by nbdinfo"},
    {.key = "writable", .type = MOSAIC_PROP_BOOL, .defval = "off",
     .help = "allow clients to write"},
    {.key = "handshake-timeout", .type = MOSAIC_PROP_UINT,
     .defval = G_STRINGIFY(NBD_HANDSHAKE_SECONDS), .max = 86400,
     .help = "seconds a client may take to choose an export before it is disconnected "
             "(0: no limit; exports sharing a socket use the smallest)"},
    {.key = "bitmap", .type = MOSAIC_PROP_STRING,
     .help = "dirty bitmap of the node (or of a node below it) offered as NBD metadata "
             "context qemu:dirty-bitmap:NAME (flag 1 = dirty)"},
    {NULL},
};

static void exports_init(void)
{
    if (!servers) {
        servers = g_ptr_array_new();
        exports = g_hash_table_new(g_str_hash, g_str_equal);
    }
}

NbdExport *nbd_server_find_export(NbdServer *srv, const char *name)
{
    for (guint i = 0; i < srv->exports->len; i++) {
        NbdExport *e = g_ptr_array_index(srv->exports, i);
        if (!strcmp(e->name, name) || (!*name && i == 0))
            return e;
    }
    return NULL;
}

void nbd_export_unref(NbdExport *e)
{
    if (--e->refs)
        return;
    mosaic_blk_detach(e->blk);
    g_free(e->id);
    g_free(e->name);
    g_free(e->node);
    g_free(e->description);
    g_free(e->bitmap);
    g_free(e->bitmap_node);
    g_free(e);
}

MosaicBlkBitmap *nbd_export_bitmap(NbdExport *e)
{
    return e->bitmap ? mosaic_blk_bitmap_find(e->bitmap_node, e->bitmap) : NULL;
}

void nbd_server_conn_gone(NbdServer *srv, NbdConn *c)
{
    g_ptr_array_remove(srv->conns, c);
}

static void server_accept(void *opaque, int fd, unsigned events)
{
    NbdServer *srv = opaque;
    for (;;) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            /* EMFILE and the like: the connection stays queued, the socket readable. */
            mosaic_fd_watch_backoff(srv->watch, srv->key, g_strerror(errno));
            return;
        }
        mosaic_fd_watch_recovered(srv->watch);
        if (srv->conns->len >= NBD_MAX_CLIENTS) { /* bounded memory per listener */
            close(cfd);
            continue;
        }
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails on UNIX: fine */
        nbd_conn_new(srv, cfd);
    }
}

static int listen_fd(const char *socket_path, const char *addr, guint port, MosaicSocketFile *file,
                     MosaicError *err)
{
    int fd;
    if (socket_path) /* its path appears once it listens: a client seeing it connects */
        return mosaic_socket_listen(socket_path, 16, file, err);
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(port)};
    gboolean v6 = inet_pton(AF_INET6, addr, &s6.sin6_addr) == 1;
    if (!strcmp(addr, "localhost"))
        addr = "127.0.0.1";
    if (!v6 && inet_pton(AF_INET, addr, &s4.sin_addr) != 1) {
        mosaic_error_set(err, "'%s' is not an IP address", addr);
        return -1;
    }
    if ((v6 && !IN6_IS_ADDR_LOOPBACK(&s6.sin6_addr)) ||
        (!v6 && (ntohl(s4.sin_addr.s_addr) >> 24) != 127)) {
        mosaic_error_set(err, "NBD over TCP listens on loopback only (127.0.0.1 or "
                    "::1), not %s: there is no TLS; use a UNIX socket or an SSH tunnel", addr);
        return -1;
    }
    fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, v6 ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4,
                       v6 ? sizeof s6 : sizeof s4) < 0 || listen(fd, 16) < 0)
        goto fail;
    return fd;
fail:
    mosaic_error_set(err, "cannot listen on %s:%u: %s", addr, port, g_strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

static NbdServer *server_get(const char *socket_path, const char *addr, guint port, MosaicError *err)
{
    g_autofree char *key = socket_path ? g_strdup_printf("unix:%s", socket_path)
                                       : g_strdup_printf("tcp:%s:%u", addr, port);
    for (guint i = 0; i < servers->len; i++) {
        NbdServer *s = g_ptr_array_index(servers, i);
        if (!strcmp(s->key, key))
            return s;
    }
    MosaicSocketFile file = MOSAIC_SOCKET_FILE_INIT;
    int fd = listen_fd(socket_path, addr, port, &file, err);
    if (fd < 0)
        return NULL;
    NbdServer *s = g_new0(NbdServer, 1);
    s->unix_file = file;
    s->key = g_steal_pointer(&key);
    s->unix_path = g_strdup(socket_path);
    s->fd = fd;
    s->exports = g_ptr_array_new();
    s->conns = g_ptr_array_new();
    s->handshake_s = NBD_HANDSHAKE_SECONDS;
    s->watch = mosaic_fd_watch(fd, MOSAIC_FD_READ, server_accept, s);
    g_ptr_array_add(servers, s);
    return s;
}

static void server_maybe_free(NbdServer *s)
{
    if (s->exports->len)
        return;
    while (s->conns->len) /* clients still negotiating */
        nbd_conn_close(g_ptr_array_index(s->conns, 0));
    mosaic_fd_unwatch(s->watch);
    close(s->fd);
    if (s->unix_path)
        mosaic_socket_release(s->unix_path, &s->unix_file);
    g_ptr_array_remove(servers, s);
    g_ptr_array_free(s->exports, TRUE);
    g_ptr_array_free(s->conns, TRUE);
    g_free(s->unix_path);
    g_free(s->key);
    g_free(s);
}

bool nbd_export_add(const char *id, const char *node, const char *name, const char *socket,
                    const char *addr, guint port, bool writable, const char *bitmap,
                    MosaicError *err)
{
    exports_init();
    if (g_hash_table_lookup(exports, id)) {
        mosaic_error_set(err, "export '%s' already exists", id);
        return FALSE;
    }
    if (!socket && !port) {
        mosaic_error_set(err, "export '%s': give a socket path or a TCP port", id);
        return FALSE;
    }
    if (!name)
        name = id;
    if (strlen(name) > 4096) {
        mosaic_error_set(err, "export name too long (max 4096)");
        return FALSE;
    }
    const char *holder = NULL;
    MosaicBlkBitmap *bm = bitmap ? mosaic_blk_bitmap_find_below(node, bitmap, &holder) : NULL;
    if (bitmap && !bm) {
        mosaic_error_set(err, "export '%s': node '%s' (and the nodes below it) has "
                    "no dirty bitmap '%s' (add it with block-dirty-bitmap-add)", id, node,
                    bitmap);
        return FALSE;
    }
    MosaicBlk *blk = mosaic_blk_attach(NULL, node, writable, err);
    if (!blk) {
        mosaic_error_prefix(err, "export '%s': ", id);
        return FALSE;
    }
    if (bm && mosaic_blk_bitmap_length(bm) != mosaic_blk_length(blk)) {
        mosaic_error_set(err, "export '%s': bitmap '%s' of node '%s' does not cover "
                    "node '%s' (different length)", id, bitmap, holder, node);
        mosaic_blk_detach(blk);
        return FALSE;
    }
    NbdServer *srv = server_get(socket, addr ? addr : "127.0.0.1", port, err);
    NbdExport *same = srv ? nbd_server_find_export(srv, name) : NULL;
    if (!srv || (same && !strcmp(same->name, name))) {
        if (srv)
            mosaic_error_set(err, "export name '%s' is already used on %s", name,
                        srv->key);
        mosaic_blk_detach(blk);
        return FALSE;
    }
    NbdExport *e = g_new0(NbdExport, 1);
    e->refs = 1;
    e->id = g_strdup(id);
    e->name = g_strdup(name);
    e->node = g_strdup(node);
    e->writable = writable;
    e->bitmap = g_strdup(bitmap);
    e->bitmap_node = g_strdup(holder);
    e->blk = blk;
    e->server = srv;
    g_ptr_array_add(srv->exports, e);
    g_hash_table_insert(exports, e->id, e);
    g_log(NBD_LOG_DOMAIN, G_LOG_LEVEL_INFO, "export %s: node %s as '%s' on %s", id, node, name,
          srv->key);
    return TRUE;
}

bool nbd_export_del(const char *id, MosaicError *err)
{
    exports_init();
    NbdExport *e = g_hash_table_lookup(exports, id);
    if (!e) {
        mosaic_error_set(err, "no export '%s'", id);
        return FALSE;
    }
    g_hash_table_remove(exports, id);
    NbdServer *srv = e->server;
    g_ptr_array_remove(srv->exports, e);
    /* Its clients are disconnected; their requests in flight finish first. */
    for (guint i = srv->conns->len; i-- > 0;) {
        NbdConn *c = g_ptr_array_index(srv->conns, i);
        if (nbd_conn_export(c) == e)
            nbd_conn_close(c);
    }
    e->deleted = TRUE;
    nbd_export_unref(e);
    server_maybe_free(srv);
    return TRUE;
}

/* Exports sharing a listener: the smallest limit holds; none only if all say 0. */
static void server_limit_handshake(NbdServer *srv, guint seconds)
{
    if (!srv->handshake_given || (seconds && (!srv->handshake_s || seconds < srv->handshake_s)))
        srv->handshake_s = seconds;
    srv->handshake_given = TRUE;
}

bool nbd_exports_start(MosaicMachine *m, MosaicError *err)
{
    guint n = mosaic_config_count(m, "export");
    for (guint i = 0; i < n; i++) {
        const MosaicProps *p = mosaic_config_section(m, "export", i);
        const char *label = mosaic_props_label(p);
        const char *sock = mosaic_props_has(p, "socket") ? mosaic_props_get_str(p, "socket") : NULL;
        guint port = mosaic_props_get_uint(p, "port");
        const char *name = mosaic_props_has(p, "name") ? mosaic_props_get_str(p, "name") : label;
        if (!nbd_export_add(label, mosaic_props_get_str(p, "node"), name, sock,
                            mosaic_props_get_str(p, "addr"), port,
                            mosaic_props_get_bool(p, "writable"),
                            mosaic_props_has(p, "bitmap") ? mosaic_props_get_str(p, "bitmap") : NULL,
                            err)) {
            mosaic_error_prefix(err, "%s: ", mosaic_props_where(p, NULL));
            return FALSE;
        }
        NbdExport *x = g_hash_table_lookup(exports, label);
        if (mosaic_props_has(p, "description"))
            x->description = g_strdup(mosaic_props_get_str(p, "description"));
        server_limit_handshake(x->server, mosaic_props_get_uint(p, "handshake-timeout"));
    }
    return TRUE;
}

void nbd_exports_stop(void)
{
    if (!exports)
        return;
    g_autoptr(GList) ids = g_hash_table_get_keys(exports);
    g_autoptr(GPtrArray) copy = g_ptr_array_new_with_free_func(g_free);
    for (GList *l = ids; l; l = l->next)
        g_ptr_array_add(copy, g_strdup(l->data));
    for (guint i = 0; i < copy->len; i++)
        nbd_export_del(g_ptr_array_index(copy, i), NULL);
}

/* For query-block-exports. */
void nbd_exports_foreach(void (*fn)(void *opaque, const char *id, const char *node,
                                    const char *name, const char *where, gboolean writable,
                                    guint clients),
                         void *opaque)
{
    if (!exports)
        return;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, exports);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        NbdExport *e = v;
        guint clients = 0;
        for (guint i = 0; i < e->server->conns->len; i++)
            clients += nbd_conn_export(g_ptr_array_index(e->server->conns, i)) == e;
        fn(opaque, e->id, e->node, e->name, e->server->key, e->writable, clients);
    }
}
