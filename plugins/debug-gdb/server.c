/* SPDX-License-Identifier: GPL-2.0-or-later */
/* GDB stub transport: a loopback TCP listener, one client at a time, non-blocking I/O
 * on the main loop, and the machine observer that turns STOP/SHUTDOWN events into the
 * stop replies the client is waiting for. */
#define _GNU_SOURCE /* accept4 */
#include "gdb-internal.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <mosaic/loop.h>

#define GDB_LOG "mosaic-gdb"
/* A client that sends but never reads must not make us buffer without bound. */
#define GDB_OUT_MAX (1u << 20)

static GdbStub *stub;


static void client_close(GdbStub *s)
{
    if (s->fd < 0)
        return;
    gdb_release_target(s);
    mosaic_fd_unwatch(s->watch);
    s->watch = NULL;
    close(s->fd);
    s->fd = -1;
    g_string_truncate(s->out, 0);
    g_string_truncate(s->last, 0);
    g_log(GDB_LOG, G_LOG_LEVEL_INFO, "debugger disconnected");
    /* A debugger that vanished must not leave the machine stopped for good. */
    if (s->m && mosaic_machine_run_state(s->m) == MOSAIC_RUN_PAUSED)
        mosaic_machine_resume(s->m);
}

static void update_watch(GdbStub *s)
{
    if (s->watch)
        mosaic_fd_watch_update(s->watch, MOSAIC_FD_READ | (s->out->len ? MOSAIC_FD_WRITE : 0));
}

static void flush_out(GdbStub *s)
{
    while (s->fd >= 0 && s->out->len) {
        ssize_t n = send(s->fd, s->out->str, s->out->len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR))
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            client_close(s);
            return;
        }
        g_string_erase(s->out, 0, n);
    }
    if (s->fd >= 0 && !s->out->len && s->close_after_flush) {
        s->close_after_flush = FALSE;
        client_close(s);
        return;
    }
    update_watch(s);
}

static void queue_raw(GdbStub *s, const char *bytes, gsize len)
{
    if (s->fd < 0)
        return;
    if (s->out->len + len > GDB_OUT_MAX) {
        g_log(GDB_LOG, G_LOG_LEVEL_WARNING, "debugger does not read its replies: disconnecting");
        client_close(s);
        return;
    }
    g_string_append_len(s->out, bytes, (gssize)len);
}

void gdb_send_len(GdbStub *s, const char *payload, gsize len)
{
    if (s->fd < 0)
        return;
    g_string_truncate(s->last, 0);
    gdb_packet_frame(s->last, payload, len);
    queue_raw(s, s->last->str, s->last->len);
    flush_out(s);
}

void gdb_send(GdbStub *s, const char *payload)
{
    gdb_send_len(s, payload, strlen(payload));
}

void gdb_close_after_flush(GdbStub *s)
{
    s->close_after_flush = TRUE;
    flush_out(s);
}

static void on_byte(GdbStub *s, uint8_t c)
{
    switch (gdb_parser_feed(&s->parser, c)) {
    case GDB_EV_PACKET:
        if (!s->noack)
            queue_raw(s, "+", 1);
        gdb_handle_packet(s, s->parser.buf, s->parser.len);
        break;
    case GDB_EV_BAD_PACKET:
        if (!s->noack)
            queue_raw(s, "-", 1); /* the client retransmits */
        break;
    case GDB_EV_TOO_LONG:
        if (!s->noack)
            queue_raw(s, "+", 1);
        gdb_send(s, "E22"); /* EINVAL: longer than the PacketSize we advertised */
        break;
    case GDB_EV_INTERRUPT:
        gdb_handle_interrupt(s);
        break;
    case GDB_EV_NAK:
        if (!s->noack && s->last->len)
            queue_raw(s, s->last->str, s->last->len);
        break;
    default:
        break;
    }
}

static void on_client(void *opaque, int fd, unsigned events)
{
    GdbStub *s = opaque;
    if (events & MOSAIC_FD_WRITE)
        flush_out(s);
    if (s->fd < 0 || !(events & (MOSAIC_FD_READ | MOSAIC_FD_HUP)))
        return;
    uint8_t buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        client_close(s);
        return;
    }
    for (ssize_t i = 0; i < n && s->fd == fd; i++)
        on_byte(s, buf[i]);
    if (s->fd == fd)
        flush_out(s);
}

static void on_accept(void *opaque, int lfd, unsigned events)
{
    GdbStub *s = opaque;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        /* Out of descriptors the debugger stays queued and the socket readable: watching
         * on would spin a core, so the watch backs off (and says so once). */
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            mosaic_fd_watch_backoff(s->listen_watch, "GDB stub", g_strerror(errno));
        return;
    }
    mosaic_fd_watch_recovered(s->listen_watch);
    if (s->fd >= 0) {
        /* One debugger at a time: refuse the second politely. */
        static const char busy[] = "$E10#a6";
        (void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    s->fd = fd;
    s->noack = FALSE;
    s->close_after_flush = FALSE;
    s->waiting = FALSE;
    s->interrupted = FALSE;
    s->step_cpu = -1;
    s->g_cpu = s->c_cpu = 0;
    gdb_parser_init(&s->parser);
    s->watch = mosaic_fd_watch(fd, MOSAIC_FD_READ, on_client, s);
    g_log(GDB_LOG, G_LOG_LEVEL_INFO, "debugger connected");
    /* Attaching stops the machine, as with QEMU's gdbstub: the debugger expects a
     * stopped target (the STOP event is not a stop reply: nobody waits for one). */
    mosaic_machine_pause(s->m);
}

static void on_machine_event(void *opaque, const char *event, int detail)
{
    GdbStub *s = opaque;
    if (stub != s || s->fd < 0)
        return;
    if (g_str_equal(event, "STOP"))
        gdb_report_stop(s);
    else if (g_str_equal(event, "SHUTDOWN"))
        gdb_report_exit(s, detail);
}

/* "tcp:HOST:PORT" -> a loopback IPv4/IPv6 socket address. */
static gboolean parse_spec(const char *spec, struct sockaddr_storage *ss, socklen_t *sl,
                           MosaicError *err)
{
    const char *hp = g_str_has_prefix(spec, "tcp:") ? spec + 4 : NULL;
    const char *colon = hp ? strrchr(hp, ':') : NULL;
    char *end = NULL;
    guint64 port = colon ? g_ascii_strtoull(colon + 1, &end, 10) : 0;
    if (!colon || !end || *end || end == colon + 1 || port > 65535) {
        mosaic_error_set(err, "--gdb %s: expected tcp:127.0.0.1:PORT", spec);
        return FALSE;
    }
    g_autofree char *host = g_strndup(hp, colon - hp);
    memset(ss, 0, sizeof(*ss));
    if (!*host || g_str_equal(host, "127.0.0.1") || g_str_equal(host, "localhost")) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *sl = sizeof(*in);
    } else if (g_str_equal(host, "::1") || g_str_equal(host, "[::1]")) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        in6->sin6_addr = in6addr_loopback;
        *sl = sizeof(*in6);
    } else {
        mosaic_error_set(err, "--gdb %s: only loopback addresses (127.0.0.1, ::1, localhost) are allowed: "
                    "the GDB protocol has no authentication and can read and write all guest memory",
                    spec);
        return FALSE;
    }
    return TRUE;
}

static bool gdb_start(MosaicMachine *m, const char *spec, MosaicError *err)
{
    if (stub) {
        mosaic_error_set(err, "--gdb %s: the GDB stub is already running", spec);
        return FALSE;
    }
    if (!mosaic_machine_ncpus(m) || !mosaic_machine_vcpu(m, 0)) {
        mosaic_error_set(err, "--gdb %s: the machine has no CPUs to debug", spec);
        return FALSE;
    }
    const MosaicDebugTarget *target = mosaic_machine_debug_target(m);
    if (!target || target->ngeneral > GDB_MAX_GENERAL) {
        mosaic_error_set(err, "--gdb %s: this machine's accelerator offers no debug target "
                         "description (MosaicAccelOps.debug_target)", spec);
        return FALSE;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    if (!parse_spec(spec, &ss, &sl, err))
        return FALSE;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        mosaic_error_set(err, "--gdb %s: %s (is the port in use? pick another)", spec,
                    g_strerror(e));
        return FALSE;
    }
    GdbStub *s = g_new0(GdbStub, 1);
    s->m = m;
    s->target = target;
    s->listen_fd = fd;
    s->fd = -1;
    s->step_cpu = -1;
    s->out = g_string_new(NULL);
    s->last = g_string_new(NULL);
    s->bps = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    s->listen_watch = mosaic_fd_watch(fd, MOSAIC_FD_READ, on_accept, s);
    stub = s;
    mosaic_machine_observe(m, on_machine_event, s);
    struct sockaddr_storage bound;
    socklen_t bl = sizeof(bound);
    if (getsockname(fd, (struct sockaddr *)&bound, &bl) == 0) {
        uint16_t port = bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port;
        g_log(GDB_LOG, G_LOG_LEVEL_INFO, "waiting for a debugger on %s port %u",
              bound.ss_family == AF_INET6 ? "::1" : "127.0.0.1", ntohs(port));
    }
    return TRUE;
}

static void gdb_stop(void)
{
    GdbStub *s = stub;
    if (!s)
        return;
    /* Observers cannot be removed: on_machine_event compares its opaque pointer with
     * `stub` (never dereferencing a stale one), so freeing below is safe. */
    stub = NULL;
    flush_out(s);     /* a final W reply, best effort */
    client_close(s);  /* the machine is in SHUTDOWN: nothing gets resumed */
    mosaic_fd_unwatch(s->listen_watch);
    close(s->listen_fd);
    s->listen_fd = -1;
    g_string_free(s->out, TRUE);
    g_string_free(s->last, TRUE);
    g_array_free(s->bps, TRUE);
    g_free(s);
}

static const MosaicDebugOps gdb_ops = {
    .size = sizeof(MosaicDebugOps),
    .spec_help = "tcp:127.0.0.1:PORT",
    .start = gdb_start,
    .stop = gdb_stop,
};

/* `mosaic MACHINE.ini --gdb tcp:127.0.0.1:PORT`: the option is this plugin's name. */
MOSAIC_PLUGIN(.kind = MOSAIC_KIND_DEBUG, .kind_abi = MOSAIC_DEBUG_ABI, .name = "gdb",
              .version = "0.1.0", .license = "GPL-2.0-or-later",
              .description = "GDB remote protocol stub (loopback TCP, one debugger at a time)",
              .ops = &gdb_ops);
