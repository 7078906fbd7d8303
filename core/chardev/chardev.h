/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Character devices, internal API of the core (the SDK part is in
 * sdk/include/mosaic/device.h: mosaic_chardev_find/write/set_receiver/accept_input).
 *
 * Backends: stdio, file, socket (UNIX), pty.  Output never blocks the writer: what the
 * host cannot take now waits in a bounded buffer (CHARDEV_OUT_MAX) and is flushed from
 * the main loop; beyond that it is dropped with one warning.  Input is read on the main
 * loop only as fast as the frontend's can_receive() allows (the rest stays in the
 * kernel), and receive() is called with the core lock held.
 *
 * Typical use (integrator):
 *   for each [chardev L]:  cd = chardev_new(props, &err) -> chardev_registry_add(L, cd)
 *   devices: mosaic_chardev_find(m, "L")  (the machine argument is not used: one
 *            registry per process)
 *   at exit: chardev_registry_clear()  (also restores the terminal) */
#ifndef MOSAIC_CORE_CHARDEV_H
#define MOSAIC_CORE_CHARDEV_H

#include <glib.h>
#include <mosaic/device.h>

#define CHARDEV_LOG_DOMAIN "mosaic-chardev"
#define CHARDEV_OUT_MAX (64 * 1024)

#define CHARDEV_ERROR (chardev_error_quark())
GQuark chardev_error_quark(void);

typedef enum { CHARDEV_STDIO, CHARDEV_FILE, CHARDEV_SOCKET, CHARDEV_PTY } ChardevBackend;

/* What a [chardev L] section says, for callers without MosaicProps (tests). */
typedef struct ChardevOpts {
    const char *label;
    ChardevBackend backend;
    const char *path;    /* file, socket */
    bool server;         /* socket: listen (one client at a time) instead of connecting */
    bool wait;           /* socket server: block in chardev_new until a client connects */
    bool append;         /* file */
    const char *logfile; /* optional: a copy of all output */
} ChardevOpts;


MosaicChardev *chardev_new(const MosaicProps *props, GError **err);
MosaicChardev *chardev_new_opts(const ChardevOpts *o, GError **err);
/* NULL when another chardev already uses stdio. */
MosaicChardev *chardev_new_stdio(void);
void chardev_free(MosaicChardev *cd);
const char *chardev_label(const MosaicChardev *cd);
/* pty: the slave's path (/dev/pts/N); NULL for other backends. */
const char *chardev_pty_path(const MosaicChardev *cd);
/* socket server: whether a client is connected now. */
bool chardev_connected(const MosaicChardev *cd);
/* Bytes waiting in the output buffer (tests). */
size_t chardev_pending_output(MosaicChardev *cd);

/* The per-process registry.  add takes ownership; false (and cd not taken) if the
 * label exists; false for a NULL cd, so add(label, chardev_new_stdio()) is safe. */
bool chardev_registry_add(const char *label, MosaicChardev *cd);
MosaicChardev *chardev_registry_find(const char *label);
void chardev_registry_clear(void);

/* stdio on a terminal: Ctrl-A x calls this (default: loop_quit()). */
void chardev_set_quit_handler(void (*fn)(void));

#endif
