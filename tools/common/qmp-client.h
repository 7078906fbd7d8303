/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A small blocking QMP client (GLib + json-glib), for mosaic-ctl and mosaic-backup.
 *
 *   g_autoptr(QmpClient) c = qmp_client_connect("unix:/run/vm.sock", 10, &err);
 *   g_autoptr(JsonNode) r = qmp_client_execute(c, "query-status", NULL, &err);
 *   JsonObject *ev = qmp_client_next_event(c, 5000, &err);   // events in arrival order
 *
 * Events that arrive while waiting for a reply are kept for qmp_client_next_event. */
#ifndef MOSAIC_TOOLS_QMP_CLIENT_H
#define MOSAIC_TOOLS_QMP_CLIENT_H

#include <glib.h>
#include <json-glib/json-glib.h>

#define QMP_CLIENT_ERROR (qmp_client_error_quark())
GQuark qmp_client_error_quark(void);
typedef enum {
    QMP_CLIENT_ERROR_CONNECT,  /* cannot connect, or the greeting is not QMP */
    QMP_CLIENT_ERROR_IO,       /* connection lost, malformed reply */
    QMP_CLIENT_ERROR_TIMEOUT,
    QMP_CLIENT_ERROR_COMMAND,  /* the server answered with an error */
} QmpClientError;

typedef struct QmpClient QmpClient;

/* address: "unix:PATH", "tcp:HOST:PORT" or a plain socket path.  Reads the greeting
 * and negotiates capabilities.  timeout_s bounds every wait (0: none). */
QmpClient *qmp_client_connect(const char *address, guint timeout_s, GError **err);
void qmp_client_free(QmpClient *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpClient, qmp_client_free)

/* The greeting's "QMP" object (owned by the client). */
JsonObject *qmp_client_greeting(QmpClient *c);

/* Runs a command (args may be NULL; not consumed) and returns its "return" value.  On a
 * QMP error: NULL with QMP_CLIENT_ERROR_COMMAND, message "CLASS: desc"; the class is
 * also kept for qmp_client_last_error_class. */
JsonNode *qmp_client_execute(QmpClient *c, const char *command, JsonObject *args, GError **err);
const char *qmp_client_last_error_class(QmpClient *c);

/* The next event (transfer full), waiting up to timeout_ms (-1: forever). NULL + err
 * (QMP_CLIENT_ERROR_TIMEOUT on timeout, _IO when the server closed). */
JsonObject *qmp_client_next_event(QmpClient *c, int timeout_ms, GError **err);

/* Sends raw text and reads the next non-event message (for tests of the server). */
JsonObject *qmp_client_raw(QmpClient *c, const char *text, GError **err);

#endif
