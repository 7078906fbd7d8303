/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Opening and closing the backends: stdio, file, UNIX socket, pty. */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "chardev/chardev-internal.h"

/* stdio: one per process; the terminal's settings are restored at exit. */
static bool stdio_taken;
static bool tty_saved;
static struct termios saved_tios;

static void restore_tty(void)
{
    if (tty_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tios);
        tty_saved = false;
    }
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static bool open_stdio(MosaicChardev *cd, GError **err)
{
    if (stdio_taken) {
        g_set_error(err, CHARDEV_ERROR, 0, "chardev %s: stdio is already used by another chardev "
                    "(use backend=file, socket or pty for this one)", cd->label);
        return false;
    }
    stdio_taken = true;
    cd->in_fd = STDIN_FILENO;
    cd->out_fd = STDOUT_FILENO;
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tios) == 0) {
        static bool registered;
        struct termios t = saved_tios;
        /* Raw input (the guest does line editing, Ctrl-C goes to the guest); output
         * processing stays on so the host terminal still turns \n into \r\n. */
        t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
        t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
        t.c_cflag = (t.c_cflag & ~(CSIZE | PARENB)) | CS8;
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        tty_saved = true;
        if (!registered) {
            registered = true;
            atexit(restore_tty);
        }
        tcsetattr(STDIN_FILENO, TCSANOW, &t);
        cd->stdin_tty = true;
    }
    return true;
}

static int open_out_file(const char *label, const char *what, const char *path, bool append,
                         GError **err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    if (fd < 0)
        g_set_error(err, CHARDEV_ERROR, 0, "chardev %s: cannot open %s '%s': %s (check the "
                    "directory exists and is writable)", label, what, path, g_strerror(errno));
    return fd;
}

static bool fill_addr(MosaicChardev *cd, const char *path, struct sockaddr_un *sa, GError **err)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path)) {
        g_set_error(err, CHARDEV_ERROR, 0, "chardev %s: socket path '%s' is longer than %zu "
                    "bytes (use a shorter path)", cd->label, path, sizeof(sa->sun_path) - 1);
        return false;
    }
    strcpy(sa->sun_path, path);
    return true;
}

static void listen_ready(void *opaque, int fd, unsigned events)
{
    MosaicChardev *cd = opaque;
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
        /* Out of descriptors the client stays queued and the socket readable: watching
         * on would spin, so the watch backs off (and says so once). */
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            g_autofree char *what = g_strdup_printf("chardev %s (unix:%s)", cd->label,
                                                    cd->sock_path);
            mosaic_fd_watch_backoff(cd->listen_watch, what, g_strerror(errno));
        }
        return;
    }
    mosaic_fd_watch_recovered(cd->listen_watch);
    if (chardev_connected(cd)) {
        close(c); /* one client at a time */
        return;
    }
    chardev_connected_fd(cd, c);
}

static bool open_socket(MosaicChardev *cd, const ChardevOpts *o, GError **err)
{
    struct sockaddr_un sa;
    if (!fill_addr(cd, o->path, &sa, err))
        return false;
    if (!o->server) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            g_set_error(err, CHARDEV_ERROR, 0, "chardev %s: socket: %s", cd->label,
                        g_strerror(errno));
            return false;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            g_set_error(err, CHARDEV_ERROR, 0, "chardev %s: cannot connect to '%s': %s (start "
                        "the server first, or use server=on)", cd->label, o->path, g_strerror(errno));
            close(fd);
            return false;
        }
        set_nonblock(fd);
        cd->is_socket = true;
        chardev_connected_fd(cd, fd);
        return true;
    }
    /* Only a stale socket left by an earlier run is replaced, never another file or a
     * live server's socket; the path appears once we listen. */
    g_autoptr(GError) e = NULL;
    int fd = unix_socket_listen(o->path, 1, &cd->sock_file, &e);
    if (fd < 0) {
        g_set_error(err, CHARDEV_ERROR, 0, "chardev %s: %s", cd->label, e->message);
        return false;
    }
    cd->listen_fd = fd;
    cd->sock_path = g_strdup(o->path);
    cd->is_socket = true;
    if (o->wait) {
        g_printerr("mosaic: chardev %s: waiting for a connection on %s\n", cd->label, o->path);
        int c;
        do {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            c = poll(&p, 1, -1) < 0 ? -1 : accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        } while (c < 0 && (errno == EINTR || errno == EAGAIN));
        if (c >= 0)
            chardev_connected_fd(cd, c);
    }
    cd->listen_watch = mosaic_fd_watch(fd, MOSAIC_FD_READ, listen_ready, cd);
    return true;
}

static bool open_pty(MosaicChardev *cd, GError **err)
{
    int master, slave;
    char name[256];
    if (openpty(&master, &slave, name, NULL, NULL) < 0) {
        g_set_error(err, CHARDEV_ERROR, 0, "chardev %s: cannot create a pty: %s (is /dev/pts "
                    "mounted?)", cd->label, g_strerror(errno));
        return false;
    }
    struct termios t;
    if (tcgetattr(slave, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(slave, TCSANOW, &t);
    }
    /* The slave stays open here: with no user attached the master would otherwise
     * report hang-up and EIO until someone opens it. */
    fcntl(master, F_SETFD, FD_CLOEXEC);
    fcntl(slave, F_SETFD, FD_CLOEXEC);
    set_nonblock(master);
    cd->pty_slave = slave;
    cd->pty_path = g_strdup(name);
    cd->in_fd = cd->out_fd = master;
    g_printerr("mosaic: chardev %s: pty %s\n", cd->label, name);
    return true;
}

bool chardev_open_backend(MosaicChardev *cd, const ChardevOpts *o, GError **err)
{
    if ((o->backend == CHARDEV_FILE || o->backend == CHARDEV_SOCKET) && (!o->path || !*o->path)) {
        g_set_error(err, CHARDEV_ERROR, 0, "chardev %s: backend %s needs path = ...", cd->label,
                    o->backend == CHARDEV_FILE ? "file" : "socket");
        return false;
    }
    if (o->logfile && *o->logfile) {
        cd->log_fd = open_out_file(cd->label, "logfile", o->logfile, o->append, err);
        if (cd->log_fd < 0)
            return false;
    }
    switch (o->backend) {
    case CHARDEV_STDIO:
        return open_stdio(cd, err);
    case CHARDEV_FILE:
        cd->own_fds = true;
        cd->out_fd = open_out_file(cd->label, "file", o->path, o->append, err);
        return cd->out_fd >= 0;
    case CHARDEV_SOCKET:
        cd->own_fds = true;
        return open_socket(cd, o, err);
    case CHARDEV_PTY:
        cd->own_fds = true;
        return open_pty(cd, err);
    }
    g_set_error(err, CHARDEV_ERROR, 0, "chardev %s: unknown backend", cd->label);
    return false;
}

void chardev_close_backend(MosaicChardev *cd)
{
    if (cd->listen_watch)
        mosaic_fd_unwatch(cd->listen_watch);
    cd->listen_watch = NULL;
    if (cd->listen_fd >= 0)
        close(cd->listen_fd);
    if (cd->sock_path)
        unix_socket_release(cd->sock_path, &cd->sock_file); /* ours, not a newer file */
    g_free(cd->sock_path);
    if (cd->own_fds) {
        if (cd->in_fd >= 0)
            close(cd->in_fd);
        if (cd->out_fd >= 0 && cd->out_fd != cd->in_fd)
            close(cd->out_fd);
    }
    if (cd->pty_slave >= 0)
        close(cd->pty_slave);
    g_free(cd->pty_path);
    if (cd->backend == CHARDEV_STDIO) {
        restore_tty();
        stdio_taken = false;
    }
    cd->in_fd = cd->out_fd = cd->listen_fd = cd->pty_slave = -1;
}
