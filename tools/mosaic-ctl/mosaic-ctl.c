/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mosaic-ctl: command-line client of Mosaic's control socket (QMP).
 *
 *   mosaic-ctl [--json] [--timeout S] SOCKET query-status
 *   mosaic-ctl SOCKET execute NAME [key=value | key:=JSON ...]
 *   mosaic-ctl SOCKET NAME [key=value ...]          (the same)
 *   mosaic-ctl SOCKET events [--count N] [--timeout S]
 *   mosaic-ctl SOCKET shutdown [--timeout S]        (powerdown, then quit)
 *
 * Exit status: 0 success, 1 the command failed (or connection lost / timed out),
 * 2 usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qmp-client.h"
#include "util/json-text.h"

static gboolean opt_json;
static guint opt_timeout = 30;

static const char usage_text[] =
    "usage: mosaic-ctl [--json] [--timeout S] SOCKET COMMAND [ARGS...]\n"
    "\n"
    "Sends one command to a running machine's control socket (QMP) and prints the reply.\n"
    "\n"
    "  SOCKET                 unix:PATH, PATH or tcp:127.0.0.1:PORT (mosaic --qmp ...)\n"
    "  COMMAND:\n"
    "    query-status         run state of the machine\n"
    "    execute NAME [ARG...] any command (`query-commands` lists them)\n"
    "    NAME [ARG...]        the same\n"
    "    events [--count N] [--timeout S]  print events as they come\n"
    "    shutdown [--timeout S]  system_powerdown, wait up to S seconds (default 30) for\n"
    "                         the machine to exit, then quit; for service managers' ExecStop\n"
    "  ARG: key=value (numbers, true/false and null are typed; the rest is a string)\n"
    "       key:=JSON (any JSON value, e.g. ids:='[1,2]')\n"
    "\n"
    "Options:\n"
    "  --json                 print replies as JSON (one line) instead of text\n"
    "  --timeout S            give up after S seconds without an answer (default 30; 0: never)\n"
    "  -h, --help             print this help and exit\n"
    "\n"
    "Exit status: 0 success, 1 the command failed (or connection lost / timed out), 2 usage.\n"
    "See mosaic-ctl(1); the commands are listed by `mosaic --list-commands`.\n";

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "mosaic-ctl: %s\n", why);
    fputs(usage_text, stderr);
    return 2;
}

static JsonNode *typed_value(const char *v)
{
    JsonNode *n = json_node_alloc();
    if (g_str_equal(v, "true") || g_str_equal(v, "false"))
        return json_node_init_boolean(n, g_str_equal(v, "true"));
    if (g_str_equal(v, "null"))
        return json_node_init_null(n);
    char *end = NULL;
    if (*v) {
        gint64 i = g_ascii_strtoll(v, &end, 0);
        if (end && !*end && (g_ascii_isdigit(*v) || *v == '-'))
            return json_node_init_int(n, i);
        double d = g_ascii_strtod(v, &end);
        if (end && !*end && (g_ascii_isdigit(*v) || *v == '-' || *v == '.'))
            return json_node_init_double(n, d);
    }
    return json_node_init_string(n, v);
}

static JsonObject *parse_args(char **argv, int argc, GError **err)
{
    JsonObject *o = json_object_new();
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            g_set_error(err, QMP_CLIENT_ERROR, 0, "argument '%s': expected key=value or key:=JSON", argv[i]);
            json_object_unref(o);
            return NULL;
        }
        if (eq > argv[i] + 1 && eq[-1] == ':') {
            g_autofree char *key = g_strndup(argv[i], eq - 1 - argv[i]);
            g_autoptr(JsonParser) p = json_parser_new();
            if (!json_parser_load_from_data(p, eq + 1, -1, err)) {
                g_prefix_error(err, "argument '%s': ", key);
                json_object_unref(o);
                return NULL;
            }
            json_object_set_member(o, key, json_node_copy(json_parser_get_root(p)));
        } else {
            g_autofree char *key = g_strndup(argv[i], eq - argv[i]);
            json_object_set_member(o, key, typed_value(eq + 1));
        }
    }
    return o;
}

static void print_node(JsonNode *n, gboolean pretty)
{
    g_autofree char *text = json_text(n, pretty);
    printf("%s\n", text);
}

static void print_human(const char *cmd, JsonNode *ret)
{
    if (JSON_NODE_HOLDS_OBJECT(ret)) {
        JsonObject *o = json_node_get_object(ret);
        if (json_object_get_size(o) == 0)
            return; /* plain success */
        if (g_str_equal(cmd, "query-status") && json_object_has_member(o, "status")) {
            printf("status: %s\n", json_object_get_string_member(o, "status"));
            return;
        }
    }
    if (JSON_NODE_HOLDS_VALUE(ret) && json_node_get_value_type(ret) == G_TYPE_STRING) {
        printf("%s\n", json_node_get_string(ret));
        return;
    }
    print_node(ret, TRUE);
}

static int fail(GError *err)
{
    fprintf(stderr, "mosaic-ctl: %s\n", err->message);
    g_error_free(err);
    return 1;
}

static int run_events(QmpClient *c, int argc, char **argv)
{
    long count = -1;
    double timeout = -1;
    for (int i = 0; i < argc; i++) {
        if (g_str_equal(argv[i], "--count") && i + 1 < argc)
            count = strtol(argv[++i], NULL, 10);
        else if (g_str_equal(argv[i], "--timeout") && i + 1 < argc)
            timeout = g_ascii_strtod(argv[++i], NULL);
        else
            return usage("events: expected --count N and/or --timeout S");
    }
    /* Tell a waiting script that we are subscribed (stderr keeps stdout clean). */
    fprintf(stderr, "mosaic-ctl: following events\n");
    fflush(stderr);
    gint64 deadline = timeout < 0 ? -1 : g_get_monotonic_time() + (gint64)(timeout * G_USEC_PER_SEC);
    for (long seen = 0; count < 0 || seen < count; seen++) {
        int left = deadline < 0 ? -1 : (int)MAX(0, (deadline - g_get_monotonic_time()) / 1000);
        GError *err = NULL;
        g_autoptr(JsonObject) ev = qmp_client_next_event(c, left, &err);
        if (!ev) {
            if (g_error_matches(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_TIMEOUT)) {
                g_error_free(err);
                return count < 0 ? 0 : 1; /* fewer events than asked for */
            }
            if (count < 0 && g_error_matches(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_IO)) {
                g_error_free(err);
                return 0; /* the machine went away: following is over */
            }
            return fail(err);
        }
        if (opt_json) {
            g_autoptr(JsonNode) n = json_node_init_object(json_node_alloc(), json_object_ref(ev));
            print_node(n, FALSE);
        } else {
            JsonObject *ts = json_object_get_object_member(ev, "timestamp");
            JsonNode *data = json_object_get_member(ev, "data");
            g_autofree char *dtext = data ? json_to_string(data, FALSE) : g_strdup("{}");
            printf("%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT " %s %s\n",
                   ts ? json_object_get_int_member(ts, "seconds") : 0,
                   ts ? json_object_get_int_member(ts, "microseconds") : 0,
                   json_object_get_string_member(ev, "event"), dtext);
        }
        fflush(stdout);
    }
    return 0;
}

/* Waits until the server closes the connection (the machine exited) or the deadline
 * passes; TRUE when it closed. */
static gboolean wait_for_exit(QmpClient *c, gint64 deadline)
{
    for (;;) {
        int left = (int)MAX(0, (deadline - g_get_monotonic_time()) / 1000);
        GError *err = NULL;
        g_autoptr(JsonObject) ev = qmp_client_next_event(c, left, &err);
        if (ev)
            continue; /* SHUTDOWN, STOP...: the close follows */
        gboolean closed = g_error_matches(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_IO);
        g_error_free(err);
        return closed;
    }
}

/* The orderly stop a service manager asks for: the guest gets the power button and
 * `--timeout` seconds to shut down; then the machine is told to quit. */
static int run_shutdown(QmpClient *c, int argc, char **argv)
{
    double timeout = 30;
    for (int i = 0; i < argc; i++) {
        if (g_str_equal(argv[i], "--timeout") && i + 1 < argc)
            timeout = g_ascii_strtod(argv[++i], NULL);
        else
            return usage("shutdown: expected --timeout S");
    }
    GError *err = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute(c, "system_powerdown", NULL, &err);
    if (!r) {
        /* Already on its way down, or a board without a power button: quit below. */
        fprintf(stderr, "mosaic-ctl: system_powerdown: %s\n", err->message);
        g_clear_error(&err);
    } else if (wait_for_exit(c, g_get_monotonic_time() + (gint64)(timeout * G_USEC_PER_SEC))) {
        return 0;
    }
    fprintf(stderr, "mosaic-ctl: the machine did not power down within %g s: quit\n", timeout);
    g_autoptr(JsonNode) q = qmp_client_execute(c, "quit", NULL, &err);
    if (!q) {
        if (g_error_matches(err, QMP_CLIENT_ERROR, QMP_CLIENT_ERROR_IO)) {
            g_error_free(err);
            return 0; /* it exited meanwhile */
        }
        return fail(err);
    }
    if (wait_for_exit(c, g_get_monotonic_time() + 10 * G_USEC_PER_SEC))
        return 0;
    fprintf(stderr, "mosaic-ctl: the machine did not exit after quit\n");
    return 1;
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (g_str_equal(argv[i], "--json"))
            opt_json = TRUE;
        else if (g_str_equal(argv[i], "--timeout") && i + 1 < argc)
            opt_timeout = (guint)strtoul(argv[++i], NULL, 10);
        else if (g_str_equal(argv[i], "--help") || g_str_equal(argv[i], "-h"))
            return fputs(usage_text, stdout), 0;
        else
            return usage("unknown option");
    }
    if (argc - i < 2)
        return usage("expected SOCKET and COMMAND");
    const char *sock = argv[i++];
    const char *cmd = argv[i++];
    if (g_str_equal(cmd, "execute")) {
        if (i >= argc)
            return usage("execute: expected a command name");
        cmd = argv[i++];
    }
    GError *err = NULL;
    g_autoptr(JsonObject) args = NULL;
    if (!g_str_equal(cmd, "events") && !g_str_equal(cmd, "shutdown") && !(args = parse_args(argv + i, argc - i, &err))) {
        fprintf(stderr, "mosaic-ctl: %s\n", err->message);
        g_error_free(err);
        return 2;
    }
    g_autoptr(QmpClient) c = qmp_client_connect(sock, opt_timeout, &err);
    if (!c && g_str_equal(cmd, "shutdown") &&
        (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
         g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))) {
        /* A service manager runs ExecStop also after the machine exited on its own. */
        fprintf(stderr, "mosaic-ctl: %s: the machine is not running; nothing to stop\n",
                err->message);
        g_error_free(err);
        return 0;
    }
    if (!c)
        return fail(err);
    if (g_str_equal(cmd, "events"))
        return run_events(c, argc - i, argv + i);
    if (g_str_equal(cmd, "shutdown"))
        return run_shutdown(c, argc - i, argv + i);
    g_autoptr(JsonNode) ret = qmp_client_execute(c, cmd, json_object_get_size(args) ? args : NULL, &err);
    if (!ret) {
        if (opt_json && qmp_client_last_error_class(c)) {
            /* Machine-readable errors too: {"error": {"class", "desc"}} on stdout. */
            const char *msg = err->message + strlen(qmp_client_last_error_class(c)) + 2;
            g_autoptr(JsonObject) o = json_object_new();
            JsonObject *e = json_object_new();
            json_object_set_string_member(e, "class", qmp_client_last_error_class(c));
            json_object_set_string_member(e, "desc", msg);
            json_object_set_object_member(o, "error", e);
            g_autoptr(JsonNode) n = json_node_init_object(json_node_alloc(), json_object_ref(o));
            print_node(n, FALSE);
        }
        return fail(err);
    }
    if (opt_json)
        print_node(ret, FALSE);
    else
        print_human(cmd, ret);
    return 0;
}
