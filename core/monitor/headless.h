/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Running without a terminal: daemonizing, the pid file, signals.  Called from
 * core/cli/startup.c in this order:
 *
 *   startup_before_machine:  headless_daemonize(&err)       if --daemonize (before any
 *                                                            thread exists: it forks)
 *                            headless_write_pidfile(f, &err) if --pidfile
 *                            headless_install_signals()
 *   startup_after_machine:   headless_daemon_ready()        once the machine and the
 *                                                            sockets are up: the
 *                                                            foreground parent exits 0
 *   startup_shutdown:        headless_remove_pidfile()
 *
 * With --daemonize the parent process stays in the foreground until the daemon is
 * ready (or dies: the parent then exits 1), so `mosaic --daemonize vm.ini && mosaic-ctl
 * ...` needs no sleep and start-up errors still reach the terminal. */
#ifndef MOSAIC_CORE_MONITOR_HEADLESS_H
#define MOSAIC_CORE_MONITOR_HEADLESS_H

#include <glib.h>

gboolean headless_daemonize(GError **err);
/* Redirects stdin/stdout to /dev/null (stderr too unless it was redirected to a file,
 * e.g. by --logfile) and releases the waiting parent.  No-op unless daemonized. */
void headless_daemon_ready(void);
gboolean headless_daemonized(void);

/* Writes our pid to `path` and keeps it locked (fcntl) while we run: a second instance
 * with the same pid file fails with a message naming the owner. */
gboolean headless_write_pidfile(const char *path, GError **err);
void headless_remove_pidfile(void);

/* SIGTERM and SIGINT: orderly shutdown from the main loop through `quit` (given the
 * reason "host-signal" for the SHUTDOWN event; it returns FALSE when there is nothing
 * to shut down: we exit at once with status 0); a second one while shutting down exits
 * at once with status 1.  SIGHUP and SIGPIPE ignored. */
typedef gboolean HeadlessQuitFn(const char *reason);
void headless_install_signals(HeadlessQuitFn *quit);

#endif
