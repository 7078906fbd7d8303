/* Stale-socket detection for listeners: see unix-socket.h. */
#include <errno.h>
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
