/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Chardev core: non-blocking output with a bounded buffer, flow-controlled input. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chardev/chardev-internal.h"

G_DEFINE_QUARK(mosaic-chardev-error-quark, chardev_error)

static void kick_bh(void *opaque);

static void default_quit(void)
{
    loop_quit();
}
static void (*quit_handler)(void) = default_quit;

void chardev_set_quit_handler(void (*fn)(void))
{
    quit_handler = fn ? fn : default_quit;
}

MosaicChardev *chardev_alloc(const char *label, ChardevBackend backend)
{
    MosaicChardev *cd = g_new0(MosaicChardev, 1);
    cd->label = g_strdup(label ? label : "(unnamed)");
    cd->backend = backend;
    g_mutex_init(&cd->lock);
    cd->in_fd = cd->out_fd = cd->listen_fd = cd->log_fd = cd->pty_slave = -1;
    cd->out = g_byte_array_new();
    cd->kick = mosaic_bh_new(kick_bh, cd);
    return cd;
}

/* Writes what the fd takes without blocking: poll first, then at most PIPE_BUF bytes
 * (which a writable pipe accepts whole), so even a blocking stdout never stalls us.
 * Returns bytes written, or -1 when the fd is broken. */
static ssize_t try_write(MosaicChardev *cd, const uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        struct pollfd p = {.fd = cd->out_fd, .events = POLLOUT};
        if (poll(&p, 1, 0) != 1)
            break;
        if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
            return done ? (ssize_t)done : -1;
        size_t n = MIN(len - done, (size_t)PIPE_BUF);
        ssize_t r = cd->is_socket ? send(cd->out_fd, buf + done, n, MSG_NOSIGNAL)
                                  : write(cd->out_fd, buf + done, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return done ? (ssize_t)done : -1;
        }
        done += r;
    }
    return done;
}

MOSAIC_API void mosaic_chardev_write(MosaicChardev *cd, const uint8_t *buf, size_t len)
{
    if (!cd || !buf || !len)
        return;
    bool kick = false;
    g_mutex_lock(&cd->lock);
    if (cd->log_fd >= 0) {
        /* A regular file: the write completes at once; a short one only loses log. */
        if (write(cd->log_fd, buf, len) < 0) { /* nothing better to do */ }
    }
    if (cd->out_fd < 0) {
        g_mutex_unlock(&cd->lock); /* socket without client, stdin-only: discarded */
        return;
    }
    if (cd->out->len == 0) {
        ssize_t n = try_write(cd, buf, len);
        if (n > 0) {
            buf += n;
            len -= n;
        }
    }
    if (len) {
        size_t room = CHARDEV_OUT_MAX - MIN(cd->out->len, CHARDEV_OUT_MAX);
        size_t take = MIN(len, room);
        g_byte_array_append(cd->out, buf, take);
        if (take < len && !cd->warned) {
            cd->warned = true;
            g_log(CHARDEV_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                  "chardev %s: output is not being read; dropping output beyond %d KiB",
                  cd->label, CHARDEV_OUT_MAX / 1024);
        }
        kick = true;
    }
    g_mutex_unlock(&cd->lock);
    if (kick)
        mosaic_bh_schedule(cd->kick);
}

size_t chardev_pending_output(MosaicChardev *cd)
{
    g_mutex_lock(&cd->lock);
    size_t n = cd->out->len;
    g_mutex_unlock(&cd->lock);
    return n;
}

static void out_ready(void *opaque, int fd, unsigned events)
{
    kick_bh(opaque); /* also drops the watch once everything is out */
}

static size_t can_receive(MosaicChardev *cd)
{
    return cd->has_rcv ? (cd->rcv.can_receive ? cd->rcv.can_receive(cd->rcv_opaque) : SIZE_MAX) : 0;
}

/* stdio on a terminal: Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A. */
static size_t filter_escapes(MosaicChardev *cd, uint8_t *buf, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = buf[i];
        if (cd->ctrl_a) {
            cd->ctrl_a = false;
            if (c == 'x' || c == 'X') {
                g_printerr("\r\nmosaic: terminated by Ctrl-A x\r\n");
                quit_handler();
                continue;
            }
            if (c != 1)
                continue; /* unknown escape: swallowed */
        } else if (c == 1) {
            cd->ctrl_a = true;
            continue;
        }
        buf[o++] = c;
    }
    return o;
}

static void in_ready(void *opaque, int fd, unsigned events)
{
    MosaicChardev *cd = opaque;
    if (events & MOSAIC_FD_READ) {
        size_t space = can_receive(cd);
        if (space == 0) {
            mosaic_bh_schedule(cd->kick); /* re-evaluates: stops watching */
            return;
        }
        uint8_t buf[4096];
        ssize_t n = read(fd, buf, MIN(space, sizeof(buf)));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            chardev_disconnect(cd);
            return;
        }
        size_t len = cd->stdin_tty ? filter_escapes(cd, buf, n) : (size_t)n;
        if (len && cd->rcv.receive)
            cd->rcv.receive(cd->rcv_opaque, buf, len);
        if (can_receive(cd) == 0)
            mosaic_bh_schedule(cd->kick);
        return;
    }
    if (events & MOSAIC_FD_HUP)
        chardev_disconnect(cd);
}

/* Main loop: flush what waits, watch for writability while something waits, and read
 * input only while the frontend can take it (the rest stays in the kernel). */
static void kick_bh(void *opaque)
{
    MosaicChardev *cd = opaque;
    g_mutex_lock(&cd->lock);
    if (cd->out->len && cd->out_fd >= 0) {
        ssize_t n = try_write(cd, cd->out->data, cd->out->len);
        if (n < 0)
            g_byte_array_set_size(cd->out, 0); /* broken: HUP handling follows */
        else if (n > 0)
            g_byte_array_remove_range(cd->out, 0, n);
        if (cd->out->len < CHARDEV_OUT_MAX / 2)
            cd->warned = false; /* warn again if it fills up again later */
    }
    bool want_out = cd->out->len > 0 && cd->out_fd >= 0;
    int out_fd = cd->out_fd, in_fd = cd->in_fd;
    g_mutex_unlock(&cd->lock);

    if (want_out && !cd->out_watch)
        cd->out_watch = mosaic_fd_watch(out_fd, MOSAIC_FD_WRITE, out_ready, cd);
    else if (!want_out && cd->out_watch) {
        mosaic_fd_unwatch(cd->out_watch);
        cd->out_watch = NULL;
    }

    bool want_in = in_fd >= 0 && can_receive(cd) > 0;
    if (want_in && !cd->in_watch)
        cd->in_watch = mosaic_fd_watch(in_fd, MOSAIC_FD_READ, in_ready, cd);
    else if (!want_in && cd->in_watch) {
        mosaic_fd_unwatch(cd->in_watch);
        cd->in_watch = NULL;
    }
}

static void unwatch_io(MosaicChardev *cd)
{
    if (cd->in_watch)
        mosaic_fd_unwatch(cd->in_watch);
    if (cd->out_watch)
        mosaic_fd_unwatch(cd->out_watch);
    cd->in_watch = cd->out_watch = NULL;
}

void chardev_disconnect(MosaicChardev *cd)
{
    unwatch_io(cd);
    g_mutex_lock(&cd->lock);
    if (cd->backend == CHARDEV_SOCKET) {
        if (cd->in_fd >= 0)
            close(cd->in_fd);
        cd->in_fd = cd->out_fd = -1;
        g_byte_array_set_size(cd->out, 0);
    } else {
        cd->in_fd = -1; /* stdin/pty input ended; output may go on */
    }
    g_mutex_unlock(&cd->lock);
    mosaic_bh_schedule(cd->kick); /* output may still wait for writability */
}

void chardev_connected_fd(MosaicChardev *cd, int fd)
{
    g_mutex_lock(&cd->lock);
    cd->in_fd = cd->out_fd = fd;
    cd->warned = false;
    g_mutex_unlock(&cd->lock);
    mosaic_bh_schedule(cd->kick);
}

bool chardev_connected(const MosaicChardev *cd)
{
    MosaicChardev *m = (MosaicChardev *)cd;
    g_mutex_lock(&m->lock);
    bool c = m->out_fd >= 0;
    g_mutex_unlock(&m->lock);
    return c;
}

MOSAIC_API void mosaic_chardev_set_receiver(MosaicChardev *cd, const MosaicChardevReceiver *r,
                                            void *opaque)
{
    g_return_if_fail(cd);
    MosaicChardevReceiver copy = {0};
    if (r)
        memcpy(&copy, r, MIN((size_t)r->size, sizeof(copy))); /* ABI: min(sizes), zero rest */
    g_mutex_lock(&cd->lock);
    cd->rcv = copy;
    cd->rcv_opaque = opaque;
    cd->has_rcv = r && copy.receive;
    g_mutex_unlock(&cd->lock);
    mosaic_bh_schedule(cd->kick);
}

MOSAIC_API void mosaic_chardev_accept_input(MosaicChardev *cd)
{
    if (cd)
        mosaic_bh_schedule(cd->kick);
}

const char *chardev_label(const MosaicChardev *cd)
{
    return cd->label;
}

const char *chardev_pty_path(const MosaicChardev *cd)
{
    return cd->pty_path;
}

/* On the main loop thread, when no other thread writes to it any more. */
void chardev_free(MosaicChardev *cd)
{
    if (!cd)
        return;
    unwatch_io(cd);
    mosaic_bh_free(cd->kick);
    g_mutex_lock(&cd->lock);
    if (cd->out->len && cd->out_fd >= 0)
        try_write(cd, cd->out->data, cd->out->len); /* last chance, still non-blocking */
    g_mutex_unlock(&cd->lock);
    chardev_close_backend(cd);
    if (cd->log_fd >= 0)
        close(cd->log_fd);
    g_byte_array_unref(cd->out);
    g_mutex_clear(&cd->lock);
    g_free(cd->label);
    g_free(cd);
}
