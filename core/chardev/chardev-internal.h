/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The chardev object (core/chardev/ only). */
#ifndef MOSAIC_CORE_CHARDEV_INTERNAL_H
#define MOSAIC_CORE_CHARDEV_INTERNAL_H

#include <termios.h>

#include "chardev/chardev.h"
#include "loop/loop.h"
#include "util/unix-socket.h"

struct MosaicChardev {
    char *label;
    ChardevBackend backend;
    /* Under `lock` (writers on any thread); changed only on the main loop. */
    GMutex lock;
    int in_fd, out_fd;    /* -1: none (socket not connected, file has no input) */
    bool own_fds;         /* close in_fd/out_fd on free (not for stdio) */
    bool is_socket;       /* write with send(MSG_NOSIGNAL) */
    GByteArray *out;      /* what the host could not take yet */
    bool warned;          /* one warning per chardev when output is dropped */
    int log_fd;
    /* Frontend */
    MosaicChardevReceiver rcv;
    void *rcv_opaque;
    bool has_rcv;
    /* Main loop only */
    MosaicBH *kick;       /* flush output, (re)arm watches */
    MosaicFdWatch *in_watch, *out_watch;
    int listen_fd;
    MosaicFdWatch *listen_watch;
    char *sock_path;      /* server: unlinked on free, if still sock_file */
    UnixSocketFile sock_file;
    char *pty_path;
    int pty_slave;
    bool stdin_tty;       /* stdio on a terminal: raw mode, Ctrl-A escapes */
    bool ctrl_a;
};

MosaicChardev *chardev_alloc(const char *label, ChardevBackend backend);
/* Main loop: the connection (socket) or input (stdin) ended. */
void chardev_disconnect(MosaicChardev *cd);
/* Main loop: a socket server got a client. */
void chardev_connected_fd(MosaicChardev *cd, int fd);
bool chardev_open_backend(MosaicChardev *cd, const ChardevOpts *o, GError **err);
void chardev_close_backend(MosaicChardev *cd);

#endif
