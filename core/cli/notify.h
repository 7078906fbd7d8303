/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sd_notify readiness (core/cli/notify.c).  Called by core/cli/main.c: notify_ready once
 * the machine has started and its control sockets listen, notify_stopping before it is
 * torn down.  No-ops when $NOTIFY_SOCKET is unset. */
#ifndef MOSAIC_CORE_CLI_NOTIFY_H
#define MOSAIC_CORE_CLI_NOTIFY_H

#include <glib.h>

void notify_ready(const char *status);
void notify_stopping(void);

#endif
