/* SPDX-License-Identifier: GPL-2.0-or-later */
/* net-socket: Ethernet frames as UNIX datagrams, one frame per datagram, between a
 * socket this machine binds (`path`) and a peer's (`peer`).  Meant for tests and for
 * joining two machines without privileges; the header of mosaic/net.h is not sent (no
 * offloads: the device finishes checksums). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <mosaic/mosaic.h>
#include <mosaic/socket.h>

#define RX_BUDGET 64 /* datagrams per wake-up: a flood cannot hold the main loop */

typedef struct NetSocket {
    MosaicNet *net;
    int fd;
    char *path;
    MosaicSocketFile file;
    struct sockaddr_un peer;
    MosaicFdWatch *watch;
    bool held;          /* buf holds a frame the device had no room for */
    bool want_write;    /* a send hit a full socket buffer */
    bool connected;     /* to the peer: then poll() waits for room in the peer's queue */
    size_t held_len;
    uint8_t buf[MOSAIC_NET_HDR_LEN + MOSAIC_NET_MAX_FRAME];
} NetSocket;

static const MosaicPropDesc sock_props[] = {
    {.key = "path", .type = MOSAIC_PROP_PATH, .flags = MOSAIC_PROP_REQUIRED,
     .help = "UNIX datagram socket this machine binds (a stale socket there is replaced)"},
    {.key = "peer", .type = MOSAIC_PROP_PATH, .flags = MOSAIC_PROP_REQUIRED,
     .help = "the other side's socket: frames are sent there"},
    {NULL},
};

static void watch_update(NetSocket *s)
{
    mosaic_fd_watch_update(s->watch, (s->held ? 0 : MOSAIC_FD_READ) |
                                     (s->want_write ? MOSAIC_FD_WRITE : 0));
}

/* false: the device has no room; the frame stays in buf. */
static bool deliver(NetSocket *s)
{
    struct iovec iov = {.iov_base = s->buf, .iov_len = s->held_len};
    return mosaic_net_receive(s->net, &iov, 1);
}

static void sock_readable(NetSocket *s)
{
    for (int i = 0; i < RX_BUDGET; i++) {
        ssize_t n = recv(s->fd, s->buf + MOSAIC_NET_HDR_LEN, MOSAIC_NET_MAX_FRAME + 1,
                         MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0)
            return;
        if (n < 14 || n > MOSAIC_NET_MAX_FRAME)
            continue; /* not an Ethernet frame we carry */
        memset(s->buf, 0, MOSAIC_NET_HDR_LEN);
        s->held_len = MOSAIC_NET_HDR_LEN + n;
        if (!deliver(s)) {
            s->held = true;
            return;
        }
    }
}

static void sock_event(void *opaque, int fd, unsigned events)
{
    NetSocket *s = opaque;
    if (events & MOSAIC_FD_WRITE) {
        s->want_write = false;
        mosaic_net_tx_ready(s->net);
    }
    if ((events & (MOSAIC_FD_READ | MOSAIC_FD_HUP)) && !s->held)
        sock_readable(s);
    watch_update(s);
}

static void sock_rx_ready(void *state)
{
    NetSocket *s = state;
    if (s->held && deliver(s)) {
        s->held = false;
        sock_readable(s);
        watch_update(s);
    }
}

static bool sock_send(void *state, const struct iovec *iov, unsigned niov)
{
    NetSocket *s = state;
    struct iovec frame[64];
    size_t len = mosaic_iov_size(iov, niov) - MOSAIC_NET_HDR_LEN;
    unsigned n = mosaic_iov_slice(iov, niov, MOSAIC_NET_HDR_LEN, len, frame, G_N_ELEMENTS(frame));
    if (!n)
        return true; /* too scattered for one datagram: dropped */
    if (!s->connected)
        s->connected = connect(s->fd, (struct sockaddr *)&s->peer, sizeof s->peer) == 0;
    if (!s->connected)
        return true; /* no peer (yet): the frame is lost, as on a cable nobody holds */
    struct msghdr msg = {.msg_iov = frame, .msg_iovlen = n};
    if (sendmsg(s->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
        return true;
    if (errno == EAGAIN || errno == ENOBUFS) {
        s->want_write = true;
        watch_update(s);
        return false;
    }
    if (errno == ECONNREFUSED || errno == ENOENT || errno == ENOTCONN)
        s->connected = false; /* the peer went away: connect again to its next socket */
    return true;
}

static bool sun_path(struct sockaddr_un *sa, const char *path, const char *key,
                     const MosaicProps *props, MosaicError *err)
{
    *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa->sun_path) {
        mosaic_error_set(err, "%s: %s = %s: a UNIX socket path has at most %zu characters",
                         mosaic_props_where(props, key), key, path, sizeof sa->sun_path - 1);
        return false;
    }
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return true;
}

static void *sock_open(MosaicNet *net, const MosaicProps *props, MosaicError *err)
{
    g_autofree NetSocket *s = g_new0(NetSocket, 1);
    struct sockaddr_un me;
    const char *path = mosaic_props_get_str(props, "path");
    if (!sun_path(&me, path, "path", props, err) ||
        !sun_path(&s->peer, mosaic_props_get_str(props, "peer"), "peer", props, err) ||
        !mosaic_socket_claim_path(path, err))
        return NULL;
    s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&me, sizeof me) != 0) {
        mosaic_error_set(err, "%s: cannot bind %s: %s", mosaic_props_where(props, "path"), path,
                         g_strerror(errno));
        if (s->fd >= 0)
            close(s->fd);
        return NULL;
    }
    s->net = net;
    s->path = g_strdup(path);
    s->file = (MosaicSocketFile)MOSAIC_SOCKET_FILE_INIT;
    mosaic_socket_remember(path, &s->file);
    s->watch = mosaic_fd_watch(s->fd, MOSAIC_FD_READ, sock_event, s);
    return g_steal_pointer(&s);
}

static void sock_close(void *state)
{
    NetSocket *s = state;
    mosaic_fd_unwatch(s->watch);
    close(s->fd);
    mosaic_socket_release(s->path, &s->file);
    g_free(s->path);
    g_free(s);
}

static const MosaicNetBackendOps sock_ops = {
    .size = sizeof(MosaicNetBackendOps),
    .open = sock_open,
    .close = sock_close,
    .send = sock_send,
    .rx_ready = sock_rx_ready,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_NET, .kind_abi = MOSAIC_NET_ABI,
              .name = "socket", .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "Ethernet frames as UNIX datagrams between two sockets",
              .props = sock_props, .ops = &sock_ops);
