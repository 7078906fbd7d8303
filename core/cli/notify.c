/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Readiness for service managers through the sd_notify protocol (libsystemd): a
 * datagram "READY=1" to $NOTIFY_SOCKET once the machine runs and every control socket
 * listens, "STOPPING=1" when it shuts down.  Without NOTIFY_SOCKET nothing is sent, so
 * the same binary runs under systemd (Type=notify), any supervisor that sets
 * NOTIFY_SOCKET itself, or none (docs/service.md). */
#include <systemd/sd-daemon.h>
#include "cli/notify.h"

static gboolean notified_ready;

void notify_ready(const char *status)
{
    /* NOTIFY_SOCKET stays set: STOPPING=1 goes to the same socket at shutdown. */
    g_autofree char *msg = g_strdup_printf("READY=1\nSTATUS=%s", status ? status : "running");
    int r = sd_notify(0, msg);
    if (r < 0)
        g_warning("sd_notify READY=1 to $NOTIFY_SOCKET failed: %s; the service manager "
                  "will not see the machine as started", g_strerror(-r));
    notified_ready = r > 0;
}

void notify_stopping(void)
{
    if (notified_ready)
        sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
}
