/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SDK's face of unix-socket.c, for plugins that serve on UNIX sockets.  The core
 * writes into the caller's MosaicSocketFile, so it honours the size the caller set:
 * nothing below the first layout, no byte past it (socket.h). */
#include <mosaic/socket.h>

#include "plugin/error.h"
#include "util/unix-socket.h"

/* The first layout (ABI 1.1): size, reserved, dev, ino. */
#define SOCKET_FILE_MIN_SIZE (offsetof(MosaicSocketFile, ino) + sizeof(uint64_t))
G_STATIC_ASSERT(SOCKET_FILE_MIN_SIZE == 24);

static gboolean size_ok(const MosaicSocketFile *f)
{
    return f && f->size >= SOCKET_FILE_MIN_SIZE;
}

/* Writes what the core knows into f, no further than f->size. */
static void fill(MosaicSocketFile *f, const UnixSocketFile *u)
{
    MosaicSocketFile now = {.size = f->size, .dev = u->dev, .ino = u->ino};
    memcpy(f, &now, MIN((size_t)f->size, sizeof now));
}

static gboolean refuse_size(const char *path, const MosaicSocketFile *f, MosaicError *err)
{
    mosaic_error_set(err, "%s: MosaicSocketFile.size is %u, at least %zu is needed (set "
                     "it with MOSAIC_SOCKET_FILE_INIT)", path, f ? f->size : 0,
                     (size_t)SOCKET_FILE_MIN_SIZE);
    return FALSE;
}

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
    if (!size_ok(f)) {
        g_warning("%s: MosaicSocketFile without its size: the socket is not remembered "
                  "(and will not be removed at stop)", path);
        return;
    }
    UnixSocketFile u = {0};
    unix_socket_remember(path, &u);
    fill(f, &u);
}

MOSAIC_API void mosaic_socket_release(const char *path, const MosaicSocketFile *f)
{
    if (!size_ok(f))
        return; /* nothing was remembered in it */
    UnixSocketFile u = {.dev = f->dev, .ino = f->ino};
    unix_socket_release(path, &u);
}

MOSAIC_API int mosaic_socket_listen(const char *path, int backlog, MosaicSocketFile *f,
                                    MosaicError *err)
{
    if (!size_ok(f))
        return refuse_size(path, f, err) - 1;
    g_autoptr(GError) e = NULL;
    UnixSocketFile u = {0};
    int fd = unix_socket_listen(path, backlog, &u, &e);
    fill(f, &u);
    if (fd < 0)
        mosaic_error_set(err, "%s", e->message);
    return fd;
}
