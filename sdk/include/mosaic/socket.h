/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Listening UNIX sockets that a machine file or a monitor command names.  bind() fails
 * on an existing path and a socket file outlives a process that died, so a server
 * removes what is there first; but only a stale socket may go: the path may name a disk
 * image, a directory or another server's live socket.  (ABI 1.1) */
#ifndef MOSAIC_SOCKET_H
#define MOSAIC_SOCKET_H

#include <mosaic/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The socket file a listener bound, so that stopping removes that file and not
 * whatever took its place since.  The core writes into it, so it carries its size:
 * the caller sets `size = sizeof(MosaicSocketFile)` (MOSAIC_SOCKET_FILE_INIT) and the
 * core writes no byte past it, so fields appended in a later minor reach only callers
 * built with them.  A size below the first layout's (24 bytes) is refused: listen
 * fails with a message, remember records nothing and release removes nothing. */
typedef struct MosaicSocketFile {
    uint32_t size;      /* sizeof(MosaicSocketFile), set by the caller */
    uint32_t reserved;  /* 0 */
    uint64_t dev, ino;
} MosaicSocketFile;
#define MOSAIC_SOCKET_FILE_INIT {.size = sizeof(MosaicSocketFile)}

/* Makes `path` free for bind(): nothing there, or a socket nobody listens on (removed).
 * Anything else (not a socket, a symlink, a socket in use, a path that cannot be
 * checked) is refused with a message naming the path. */
MOSAIC_API bool mosaic_socket_claim_path(const char *path, MosaicError *err);
/* After bind(): records what is at `path` now. */
MOSAIC_API void mosaic_socket_remember(const char *path, MosaicSocketFile *f);
/* At stop: removes `path` if it still is the socket remembered. */
MOSAIC_API void mosaic_socket_release(const char *path, const MosaicSocketFile *f);
/* All of it for a listener: claims `path`, and returns a socket listening there (with
 * `backlog`; non-blocking, close-on-exec) whose path appears only once it listens, so a
 * client that sees the path is never refused; `f` is filled for mosaic_socket_release.
 * -1 with a message naming the path on failure. */
MOSAIC_API int mosaic_socket_listen(const char *path, int backlog, MosaicSocketFile *f,
                                    MosaicError *err);

#ifdef __cplusplus
}
#endif
#endif
