/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Claiming a path for a listening UNIX socket.  bind() fails on an existing path, and a
 * socket file outlives a process that died, so servers remove what is there first; but
 * only a stale socket may go: a path from a machine file or a monitor command may name
 * a disk image, a directory or another server's live socket. */
#ifndef MOSAIC_CORE_UTIL_UNIX_SOCKET_H
#define MOSAIC_CORE_UTIL_UNIX_SOCKET_H

#include <glib.h>

/* Makes `path` free for bind(): nothing there, or a socket nobody listens on (removed).
 * Anything else (not a socket, a symlink, a socket in use, a path we cannot check) is
 * refused with G_IO_ERROR_EXISTS and a message naming the path. */
gboolean unix_socket_claim_path(const char *path, GError **err);

/* The socket file a listener bound, so that stopping removes that file and not
 * whatever took its place since. */
typedef struct UnixSocketFile {
    guint64 dev, ino;
} UnixSocketFile;

/* A listening socket at `path`, ready before the path appears: whoever watches for the
 * path (a script, a test, a supervisor) may connect at once and is never refused by a
 * socket that is bound but not yet listening.  Claims the path (above), binds under a
 * temporary name in the same directory, listen()s, then moves the socket to `path`
 * (never over a file that appeared meanwhile) and remembers it in *f.  Returns the fd
 * (non-blocking, close-on-exec), or -1 with a message naming the path.  (A path so long
 * that the temporary name would not fit is bound directly.) */
int unix_socket_listen(const char *path, int backlog, UnixSocketFile *f, GError **err);

/* After bind(): records what is at path now. */
void unix_socket_remember(const char *path, UnixSocketFile *f);
/* At stop: removes path if it still is the socket remembered. */
void unix_socket_release(const char *path, const UnixSocketFile *f);

#endif
