/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stale-socket detection and ready-when-visible listeners: see unix-socket.h. */
#define _GNU_SOURCE /* renameat2 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <gio/gio.h>

#include "util/unix-socket.h"

/* 0: nobody listens on path (a stale socket).  Else why it must be left alone:
 * EISCONN a listener took the probe, EAGAIN a listener with a full backlog, or the
 * error that kept us from asking. */
static int probe_listener(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int e = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? EISCONN : errno;
    close(fd);
    return e == ECONNREFUSED || e == ENOENT ? 0 : e;
}

gboolean unix_socket_claim_path(const char *path, GError **err)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return TRUE;
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS, "cannot check socket path %s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    if (!S_ISSOCK(st.st_mode)) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
                    "%s exists and is not a socket (not replacing it): choose another socket path",
                    path);
        return FALSE;
    }
    int probe = probe_listener(path);
    if (probe == EISCONN || probe == EAGAIN) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
                    "socket %s is in use by another server: stop it or choose another path", path);
        return FALSE;
    }
    if (probe) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
                    "cannot tell whether socket %s is in use (%s): not replacing it", path,
                    g_strerror(probe));
        return FALSE;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS, "cannot remove the stale socket %s: %s",
                    path, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

void unix_socket_remember(const char *path, UnixSocketFile *f)
{
    struct stat st;
    *f = (UnixSocketFile){0};
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        *f = (UnixSocketFile){st.st_dev, st.st_ino};
}

void unix_socket_release(const char *path, const UnixSocketFile *f)
{
    struct stat st;
    if (f->ino && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == f->dev &&
        st.st_ino == f->ino)
        unlink(path);
}

/* Moves the bound socket from tmp to path unless something is at path by now. */
static int move_into_place(const char *tmp, const char *path)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return errno;
    /* A file system without RENAME_NOREPLACE: link() does not replace either. */
    if (link(tmp, path) != 0)
        return errno;
    unlink(tmp);
    return 0;
}

int unix_socket_listen(const char *path, int backlog, UnixSocketFile *f, GError **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    *f = (UnixSocketFile){0};
    if (!*path || strlen(path) >= sizeof sa.sun_path) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "socket path %s is empty or longer than %zu bytes", path,
                    sizeof sa.sun_path - 1);
        return -1;
    }
    if (!unix_socket_claim_path(path, err))
        return -1;
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *tmp = g_strdup_printf("%s/.mosaic-%08x.sock", dir, g_random_int());
    gboolean direct = strlen(tmp) >= sizeof sa.sun_path;
    g_strlcpy(sa.sun_path, direct ? path : tmp, sizeof sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int e = 0;
    if (fd < 0)
        e = errno;
    else if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        e = errno;
    else if (listen(fd, backlog) != 0 || (!direct && (e = move_into_place(tmp, path)) != 0)) {
        e = e ? e : errno;
        unlink(sa.sun_path);
    }
    if (e) {
        if (fd >= 0)
            close(fd);
        if (e == EEXIST)
            g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
                        "cannot listen on %s: another file took the path while the socket was "
                        "set up (not replacing it)", path);
        else
            g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e), "cannot listen on %s: %s "
                        "(is its directory there and writable?)", path, g_strerror(e));
        return -1;
    }
    unix_socket_remember(path, f);
    return fd;
}
