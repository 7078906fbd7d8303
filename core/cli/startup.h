/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Process-level start-up around the machine (core/machine/startup.c): built-in types,
 * control sockets, debug front ends, daemonizing, logging. */
#ifndef MOSAIC_CORE_STARTUP_H
#define MOSAIC_CORE_STARTUP_H

#include <glib.h>
#include "machine/machine.h"

typedef struct StartupOptions {
    const char *const *qmp;
    gboolean daemonize;
    const char *pidfile;
    const char *log;
    const char *logfile;
} StartupOptions;

/* Types compiled into the core and the section kinds of core subsystems. */
void startup_register_builtins(void);
gboolean startup_before_machine(const StartupOptions *o, GError **err);
gboolean startup_after_machine(MosaicMachine *m, const StartupOptions *o, GError **err);
void startup_shutdown(MosaicMachine *m, const StartupOptions *o);
int startup_list_commands(gboolean json);

#endif
