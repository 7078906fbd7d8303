/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SDK's face of unix-socket.c, for plugins that serve on UNIX sockets. */
#include <mosaic/socket.h>

#include "plugin/error.h"
#include "util/unix-socket.h"

G_STATIC_ASSERT(sizeof(MosaicSocketFile) == sizeof(UnixSocketFile));

MOSAIC_API bool mosaic_socket_claim_path(const char *path, MosaicError *err)
{
    g_autoptr(GError) e = NULL;
    if (unix_socket_claim_path(path, &e))
        return true;
    mosaic_error_set(err, "%s", e->message);
    return false;
}

MOSAIC_API void mosaic_socket_remember(const char *path, MosaicSocketFile *f)
{
    UnixSocketFile u = {0};
    unix_socket_remember(path, &u);
    f->dev = u.dev;
    f->ino = u.ino;
}

MOSAIC_API void mosaic_socket_release(const char *path, const MosaicSocketFile *f)
{
    UnixSocketFile u = {.dev = f->dev, .ino = f->ino};
    unix_socket_release(path, &u);
}

MOSAIC_API int mosaic_socket_listen(const char *path, int backlog, MosaicSocketFile *f,
                                    MosaicError *err)
{
    g_autoptr(GError) e = NULL;
    UnixSocketFile u = {0};
    int fd = unix_socket_listen(path, backlog, &u, &e);
    f->dev = u.dev;
    f->ino = u.ino;
    if (fd < 0)
        mosaic_error_set(err, "%s", e->message);
    return fd;
}
