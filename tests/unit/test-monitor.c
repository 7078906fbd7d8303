/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control protocol engine without sockets: bytes in, replies out. */
#include <string.h>
#include "monitor/monitor-internal.h"
#include "plugin/error.h"
#include "loop/loop.h"
#include "machine/machine.h"

/* Takes the next complete line of output as a JSON object (NULL when none). */
static JsonObject *next_msg(MonitorSession *s)
{
    gsize len;
    const char *out = monitor_session_output(s, &len);
    const char *nl = memchr(out, '\n', len);
    if (!nl)
        return NULL;
    g_autoptr(JsonParser) p = json_parser_new();
    g_assert_true(json_parser_load_from_data(p, out, nl - out, NULL));
    monitor_session_consume(s, nl - out + 1);
    return json_object_ref(json_node_get_object(json_parser_get_root(p)));
}

static void send_str(MonitorSession *s, const char *text)
{
    monitor_session_feed(s, text, strlen(text));
}

/* Sends one request and returns the reply. */
static JsonObject *rpc(MonitorSession *s, const char *text)
{
    send_str(s, text);
    JsonObject *r = next_msg(s);
    g_assert_nonnull(r);
    return r;
}

static void assert_error(JsonObject *r, const char *cls, const char *desc_part)
{
    g_assert_true(json_object_has_member(r, "error"));
    JsonObject *e = json_object_get_object_member(r, "error");
    g_assert_cmpstr(json_object_get_string_member(e, "class"), ==, cls);
    if (desc_part)
        g_assert_nonnull(strstr(json_object_get_string_member(e, "desc"), desc_part));
    json_object_unref(r);
}

static MonitorSession *new_negotiated(void)
{
    MonitorSession *s = monitor_session_new(NULL, NULL);
    JsonObject *g = next_msg(s);
    json_object_unref(g);
    JsonObject *r = rpc(s, "{\"execute\": \"qmp_capabilities\"}");
    g_assert_true(json_object_has_member(r, "return"));
    json_object_unref(r);
    return s;
}

static void test_greeting(void)
{
    MonitorSession *s = monitor_session_new(NULL, NULL);
    JsonObject *g = next_msg(s);
    g_assert_nonnull(g);
    JsonObject *qmp = json_object_get_object_member(g, "QMP");
    g_assert_nonnull(qmp);
    JsonObject *ver = json_object_get_object_member(qmp, "version");
    g_assert_true(json_object_has_member(json_object_get_object_member(ver, "qemu"), "major"));
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(qmp, "capabilities")), ==, 0);
    json_object_unref(g);
    g_assert_null(next_msg(s));
    monitor_session_free(s);
}

static void test_negotiation(void)
{
    MonitorSession *s = monitor_session_new(NULL, NULL);
    json_object_unref(next_msg(s));
    JsonObject *r = rpc(s, "{\"execute\": \"query-status\", \"id\": 7}");
    g_assert_cmpint(json_object_get_int_member(r, "id"), ==, 7);
    assert_error(r, "CommandNotFound", "qmp_capabilities");
    r = rpc(s, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}");
    assert_error(r, "GenericError", "oob");
    g_assert_false(monitor_session_negotiated(s));
    r = rpc(s, "{\"execute\": \"qmp_capabilities\", \"id\": \"a\"}");
    g_assert_cmpstr(json_object_get_string_member(r, "id"), ==, "a");
    g_assert_true(json_object_has_member(r, "return"));
    json_object_unref(r);
    r = rpc(s, "{\"execute\": \"qmp_capabilities\"}");
    assert_error(r, "CommandNotFound", "already complete");
    r = rpc(s, "{\"execute\": \"query-status\", \"id\": {\"x\": [1]}}");
    JsonObject *ret = json_object_get_object_member(r, "return");
    g_assert_nonnull(ret);
    g_assert_true(json_object_has_member(ret, "running"));
    g_assert_nonnull(json_object_get_string_member(ret, "status"));
    g_assert_true(JSON_NODE_HOLDS_OBJECT(json_object_get_member(r, "id")));
    json_object_unref(r);
    monitor_session_free(s);
}

static void test_bad_input(void)
{
    MonitorSession *s = new_negotiated();
    assert_error(rpc(s, "{\"execute\": }\n"), "GenericError", "JSON parse error");
    assert_error(rpc(s, "hello\n"), "GenericError", "JSON parse error");
    assert_error(rpc(s, "}"), "GenericError", "JSON parse error");
    assert_error(rpc(s, "[1, 2]"), "GenericError", "must be a JSON object");
    assert_error(rpc(s, "{\"id\": 3}"), "GenericError", "lacks member 'execute'");
    assert_error(rpc(s, "{\"execute\": 5}"), "GenericError", "must be a string");
    assert_error(rpc(s, "{\"execute\": \"stop\", \"bogus\": 1}"), "GenericError", "unexpected");
    assert_error(rpc(s, "{\"execute\": \"stop\", \"arguments\": [1]}"), "GenericError", "object");
    assert_error(rpc(s, "{\"execute\": \"no-such-command\"}"), "CommandNotFound", "no-such-command");
    /* Strings with braces and escaped quotes do not confuse the framing. */
    assert_error(rpc(s, "{\"execute\": \"x}\\\"{\"}"), "CommandNotFound", NULL);
    /* Still usable after all that. */
    JsonObject *r = rpc(s, "{\"execute\": \"query-version\"}");
    g_assert_true(json_object_has_member(r, "return"));
    json_object_unref(r);
    g_assert_false(monitor_session_closing(s));
    monitor_session_free(s);
}

static void test_framing(void)
{
    MonitorSession *s = new_negotiated();
    /* Two messages in one chunk, no newline between them. */
    send_str(s, "{\"execute\":\"query-version\",\"id\":1}{\"execute\":\"query-version\",\"id\":2}");
    JsonObject *a = next_msg(s), *b = next_msg(s);
    g_assert_cmpint(json_object_get_int_member(a, "id"), ==, 1);
    g_assert_cmpint(json_object_get_int_member(b, "id"), ==, 2);
    json_object_unref(a);
    json_object_unref(b);
    /* One message a byte at a time. */
    const char *msg = "{ \"execute\" : \"query-version\", \"id\": \"split\" }";
    for (const char *p = msg; *p; p++) {
        g_assert_null(next_msg(s));
        monitor_session_feed(s, p, 1);
    }
    a = next_msg(s);
    g_assert_cmpstr(json_object_get_string_member(a, "id"), ==, "split");
    json_object_unref(a);
    monitor_session_free(s);
}

/* A 100 MB line: error, disconnect, and never more than MONITOR_MAX_INPUT held. */
static void test_huge_line(void)
{
    MonitorSession *s = new_negotiated();
    send_str(s, "{\"execute\": \"");
    g_autofree char *chunk = g_malloc(65536);
    memset(chunk, 'a', 65536);
    gsize fed = 0, max_held = 0;
    while (fed < 100u * 1000 * 1000 && !monitor_session_closing(s)) {
        monitor_session_feed(s, chunk, 65536);
        fed += 65536;
        max_held = MAX(max_held, monitor_session_input_len(s));
    }
    g_assert_true(monitor_session_closing(s));
    g_assert_cmpuint(max_held, <=, MONITOR_MAX_INPUT);
    g_assert_cmpuint(fed, <=, MONITOR_MAX_INPUT + 65536);
    assert_error(next_msg(s), "GenericError", "too large");
    /* Whatever comes next is ignored. */
    monitor_session_feed(s, chunk, 65536);
    g_assert_cmpuint(monitor_session_input_len(s), ==, 0);
    g_assert_null(next_msg(s));
    monitor_session_free(s);
}

static void test_deep_nesting(void)
{
    MonitorSession *s = new_negotiated();
    g_autofree char *deep = g_strnfill(100000, '[');
    send_str(s, deep);
    g_assert_true(monitor_session_closing(s));
    assert_error(next_msg(s), "GenericError", "nesting");
    monitor_session_free(s);
}

static void test_eof(void)
{
    MonitorSession *s = new_negotiated();
    send_str(s, "{\"execute\": \"query-version\", \"id\": 1}{\"execute\": \"qu");
    monitor_session_eof(s);
    g_assert_true(monitor_session_closing(s));
    JsonObject *r = next_msg(s);
    g_assert_cmpint(json_object_get_int_member(r, "id"), ==, 1);
    json_object_unref(r);
    g_assert_null(next_msg(s)); /* the cut message is dropped */
    monitor_session_free(s);
}

/* ---- a plugin-style command ---- */

static const MosaicArgDesc echo_args[] = {
    {"text", MOSAIC_ARG_STR, false, "what to echo"},
    {"count", MOSAIC_ARG_INT, true, "repetitions"},
    {"loud", MOSAIC_ARG_BOOL, true, NULL},
    {"ratio", MOSAIC_ARG_NUMBER, true, NULL},
    {"extra", MOSAIC_ARG_ANY, true, NULL},
    {NULL},
};

static bool echo(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    g_assert_cmpstr(opaque, ==, "opaque");
    const char *text = mosaic_args_get_str(a, "text");
    if (g_str_equal(text, "missing")) {
        mosaic_error_set_class(err, MOSAIC_ERRCLASS_NOT_FOUND, "no such thing '%s'", text);
        return false;
    }
    if (g_str_equal(text, "silent-failure"))
        return false;
    mosaic_json_str(ret, "text", text);
    mosaic_json_int(ret, "count", mosaic_args_has(a, "count") ? mosaic_args_get_int(a, "count") : -1);
    mosaic_json_bool(ret, "loud", mosaic_args_get_bool(a, "loud"));
    mosaic_json_number(ret, "ratio", mosaic_args_get_number(a, "ratio"));
    char *extra = mosaic_args_get_json(a, "extra");
    mosaic_json_str(ret, "extra", extra);
    mosaic_free(extra);
    mosaic_json_begin_array(ret, "list");
    mosaic_json_int(ret, NULL, 1);
    mosaic_json_begin_object(ret, NULL);
    mosaic_json_str(ret, "k", "v");
    mosaic_json_end_object(ret);
    mosaic_json_end_array(ret);
    mosaic_json_end_array(ret); /* unbalanced: survived */
    return true;
}

static const MosaicCommandDesc echo_cmd = {
    .size = sizeof(MosaicCommandDesc),
    .name = "x-test-echo",
    .help = "Echo the arguments back.",
    .args = echo_args,
    .returns = "the arguments",
    .handler = echo,
};

static void register_echo(void)
{
    static gboolean done;
    if (done)
        return;
    done = TRUE;
    MosaicError e = MOSAIC_ERROR_INIT;
    g_assert_true(mosaic_monitor_register(&echo_cmd, "opaque", &e));
}

static void test_plugin_command(void)
{
    register_echo();
    MonitorSession *s = new_negotiated();
    JsonObject *r = rpc(s, "{\"execute\": \"x-test-echo\", \"arguments\": {\"text\": \"hi\", \"count\": 3,"
                           " \"loud\": true, \"ratio\": 2, \"extra\": {\"a\": [null]}}, \"id\": 9}");
    JsonObject *ret = json_object_get_object_member(r, "return");
    g_assert_nonnull(ret);
    g_assert_cmpstr(json_object_get_string_member(ret, "text"), ==, "hi");
    g_assert_cmpint(json_object_get_int_member(ret, "count"), ==, 3);
    g_assert_true(json_object_get_boolean_member(ret, "loud"));
    g_assert_cmpfloat(json_object_get_double_member(ret, "ratio"), ==, 2.0);
    g_assert_cmpstr(json_object_get_string_member(ret, "extra"), ==, "{\"a\":[null]}");
    JsonArray *list = json_object_get_array_member(ret, "list");
    g_assert_cmpuint(json_array_get_length(list), ==, 2);
    json_object_unref(r);

    assert_error(rpc(s, "{\"execute\": \"x-test-echo\"}"), "GenericError", "Parameter 'text' is missing");
    assert_error(rpc(s, "{\"execute\": \"x-test-echo\", \"arguments\": {\"text\": 1}}"), "GenericError",
                 "Invalid parameter type for 'text', expected: string");
    assert_error(rpc(s, "{\"execute\": \"x-test-echo\", \"arguments\": {\"text\": \"a\", \"count\": 1.5}}"),
                 "GenericError", "'count', expected: int");
    assert_error(rpc(s, "{\"execute\": \"x-test-echo\", \"arguments\": {\"text\": \"a\", \"loud\": \"yes\"}}"),
                 "GenericError", "'loud', expected: bool");
    assert_error(rpc(s, "{\"execute\": \"x-test-echo\", \"arguments\": {\"text\": \"a\", \"ratio\": null}}"),
                 "GenericError", "'ratio', expected: number");
    assert_error(rpc(s, "{\"execute\": \"x-test-echo\", \"arguments\": {\"text\": \"a\", \"colour\": 1}}"),
                 "GenericError", "Parameter 'colour' is unexpected");
    assert_error(rpc(s, "{\"execute\": \"x-test-echo\", \"arguments\": {\"text\": \"missing\"}}"),
                 "DeviceNotFound", "no such thing");
    assert_error(rpc(s, "{\"execute\": \"x-test-echo\", \"arguments\": {\"text\": \"silent-failure\"}}"),
                 "GenericError", "without an error message");
    monitor_session_free(s);
}

static void test_register_errors(void)
{
    register_echo();
    MosaicError e = MOSAIC_ERROR_INIT;
    MosaicError *err = &e;
    g_assert_false(mosaic_monitor_register(&echo_cmd, NULL, err)); /* duplicate */
    g_assert_nonnull(strstr(e.error->message, "already registered"));
    g_clear_error(&e.error);
    MosaicCommandDesc bad = echo_cmd;
    bad.name = "bad name";
    g_assert_false(mosaic_monitor_register(&bad, NULL, err));
    g_clear_error(&e.error);
    bad.name = "x-no-handler";
    bad.handler = NULL;
    g_assert_false(mosaic_monitor_register(&bad, NULL, err));
    g_clear_error(&e.error);
    bad = echo_cmd;
    bad.name = "x-short";
    bad.size = 8;
    g_assert_false(mosaic_monitor_register(&bad, NULL, err));
    g_clear_error(&e.error);
    static const MosaicArgDesc dup[] = {{"a", MOSAIC_ARG_INT}, {"a", MOSAIC_ARG_STR}, {NULL}};
    bad = echo_cmd;
    bad.name = "x-dup-args";
    bad.args = dup;
    g_assert_false(mosaic_monitor_register(&bad, NULL, err));
    g_assert_nonnull(strstr(e.error->message, "twice"));
    g_clear_error(&e.error);
    g_assert_null(monitor_command_find("x-dup-args"));
}

static void test_introspection(void)
{
    register_echo();
    MonitorSession *s = new_negotiated();
    JsonObject *r = rpc(s, "{\"execute\": \"query-commands\"}");
    JsonArray *a = json_object_get_array_member(r, "return");
    gboolean found_echo = FALSE, found_quit = FALSE;
    for (guint i = 0; i < json_array_get_length(a); i++) {
        const char *n = json_object_get_string_member(json_array_get_object_element(a, i), "name");
        found_echo |= g_str_equal(n, "x-test-echo");
        found_quit |= g_str_equal(n, "quit");
    }
    g_assert_true(found_echo && found_quit);
    json_object_unref(r);
    r = rpc(s, "{\"execute\": \"query-schema\"}");
    a = json_object_get_array_member(r, "return");
    gboolean checked = FALSE;
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *c = json_array_get_object_element(a, i);
        if (!g_str_equal(json_object_get_string_member(c, "name"), "x-test-echo"))
            continue;
        JsonArray *args = json_object_get_array_member(c, "arguments");
        g_assert_cmpuint(json_array_get_length(args), ==, 5);
        JsonObject *cnt = json_array_get_object_element(args, 1);
        g_assert_cmpstr(json_object_get_string_member(cnt, "name"), ==, "count");
        g_assert_cmpstr(json_object_get_string_member(cnt, "type"), ==, "int");
        g_assert_true(json_object_get_boolean_member(cnt, "optional"));
        checked = TRUE;
    }
    g_assert_true(checked);
    json_object_unref(r);
    g_autofree char *md = monitor_commands_markdown();
    g_assert_nonnull(strstr(md, "### query-status"));
    g_assert_nonnull(strstr(md, "### SHUTDOWN"));
    g_assert_nonnull(strstr(md, "### x-test-echo"));
    g_assert_nonnull(strstr(md, "| `count` | int | no | repetitions |"));
    monitor_session_free(s);
}

/* No machine in this program: lifecycle commands fail cleanly. */
static void test_no_machine(void)
{
    MonitorSession *s = new_negotiated();
    assert_error(rpc(s, "{\"execute\": \"stop\"}"), "GenericError", "no machine");
    assert_error(rpc(s, "{\"execute\": \"system_reset\"}"), "GenericError", "no machine");
    assert_error(rpc(s, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"nic0\", \"property\": \"x\"}}"),
                 "DeviceNotFound", "nic0");
    JsonObject *r = rpc(s, "{\"execute\": \"qom-list\", \"arguments\": {\"path\": \"/\"}}");
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(r, "return")), ==, 1);
    json_object_unref(r);
    monitor_session_free(s);
}

static void drain_loop(void)
{
    while (loop_iterate(false))
        ;
}

static gpointer emit_thread(gpointer data)
{
    MosaicJson *ev = mosaic_event_begin("X_THREAD");
    mosaic_json_int(ev, "n", GPOINTER_TO_INT(data));
    mosaic_event_emit(ev);
    return NULL;
}

static void test_events(void)
{
    MonitorSession *fresh = monitor_session_new(NULL, NULL);
    json_object_unref(next_msg(fresh));
    MonitorSession *s = new_negotiated();
    JsonObject *data = json_object_new();
    json_object_set_string_member(data, "device", "nic0");
    monitor_emit_event("DEVICE_DELETED", data);
    GThread *t = g_thread_new("emit", emit_thread, GINT_TO_POINTER(42));
    g_thread_join(t);
    drain_loop();
    JsonObject *e = next_msg(s);
    g_assert_cmpstr(json_object_get_string_member(e, "event"), ==, "DEVICE_DELETED");
    g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(e, "data"), "device"), ==, "nic0");
    JsonObject *ts = json_object_get_object_member(e, "timestamp");
    g_assert_cmpint(json_object_get_int_member(ts, "seconds"), >, 1000000000);
    g_assert_cmpint(json_object_get_int_member(ts, "microseconds"), <, 1000000);
    json_object_unref(e);
    e = next_msg(s);
    g_assert_cmpstr(json_object_get_string_member(e, "event"), ==, "X_THREAD");
    g_assert_cmpint(json_object_get_int_member(json_object_get_object_member(e, "data"), "n"), ==, 42);
    json_object_unref(e);
    g_assert_null(next_msg(fresh)); /* not negotiated: no events */
    monitor_session_free(fresh);
    monitor_session_free(s);
}

/* A client that never reads: its queue stops at MONITOR_MAX_OUTPUT and it is dropped. */
static void test_output_bound(void)
{
    MonitorSession *s = new_negotiated();
    g_autofree char *big = g_strnfill(60000, 'x');
    gsize max = 0;
    for (int i = 0; i < 400 && !monitor_session_dead(s); i++) {
        JsonObject *d = json_object_new();
        json_object_set_string_member(d, "pad", big);
        monitor_emit_event("X_BIG", d);
        drain_loop();
        max = MAX(max, monitor_session_output_len(s));
    }
    g_assert_true(monitor_session_dead(s));
    g_assert_cmpuint(max, <=, MONITOR_MAX_OUTPUT);
    g_assert_cmpuint(monitor_session_output_len(s), ==, 0);
    monitor_session_free(s);
}

/* Strings with NUL and non-finite numbers never reach a command (json-glib would cut
 * "quit\u0000x" to "quit" and print 1e999 back as "inf.0"). */
static void test_nul_and_nonfinite(void)
{
    static const struct { const char *text; gboolean nul; } cases[] = {
        {"{\"execute\": \"quit\\u0000x\"}", TRUE},
        {"{\"a\\u0000\": 1}", TRUE},
        {"{\"a\": \"\\\\u0000\"}", FALSE},      /* escaped backslash, then text */
        {"{\"a\": \"\\\"\\u0000\"}", TRUE},    /* escaped quote keeps the string open */
        {"{\"a\": \"\\u00000\"}", TRUE},
        {"{\"a\": \"\\u0001\"}", FALSE},
        {"{\"a\": u0000}", FALSE},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
        g_assert_cmpint(monitor_text_has_nul(cases[i].text, strlen(cases[i].text)), ==,
                        cases[i].nul);
    g_assert_true(monitor_text_has_nul("{\"a\": \"x\0y\"}", 12));

    MonitorSession *s = new_negotiated();
    const char *bad[] = {"{\"execute\": \"quit\\u0000x\"}",
                         "{\"execute\": \"query-version\", \"id\": 1e999}",
                         "{\"execute\": \"query-version\", \"id\": [{\"x\": -1e400}]}"};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(JsonObject) r = rpc(s, bad[i]);
        g_assert_true(json_object_has_member(r, "error"));
        g_assert_false(json_object_has_member(r, "id"));
    }
    g_autoptr(JsonObject) ok = rpc(s, "{\"execute\": \"query-version\", \"id\": 1e300}");
    g_assert_true(json_object_has_member(ok, "return"));
    g_assert_cmpfloat(json_object_get_double_member(ok, "id"), ==, 1e300);
    monitor_session_free(s);
}

/* Hostile ids and arguments, and random byte flips of them: every reply is one line of
 * valid JSON in valid UTF-8, and the session survives or closes cleanly. */
static void test_random_messages(void)
{
    static const char *const values[] = {
        "1e999", "-1e999", "1e308", "-0", "0.1e-400", "123456789012345678901234567890",
        "\"\\u0000\"", "\"\\ud800\"", "\"\\udfff\\ud800\"", "\"\\\\u0000\"", "\"\\\\\"",
        "[[[[1e999]]]]", "{\"a\\u0000\": 1}", "true", "null", "\"\xff\xfe\"", "\"\xc0\x80\"",
    };
    static const char *const cmds[] = {"query-version", "query-status", "qom-list",
                                       "query-commands", "qmp_capabilities", "no-such"};
    MonitorSession *s = new_negotiated();
    for (int i = 0; i < 4000; i++) {
        const char *v = values[g_test_rand_int_range(0, G_N_ELEMENTS(values))];
        const char *w = values[g_test_rand_int_range(0, G_N_ELEMENTS(values))];
        g_autofree char *msg = g_strdup_printf(
            "{\"execute\": \"%s\", \"arguments\": {\"path\": %s}, \"id\": %s}\n",
            cmds[g_test_rand_int_range(0, G_N_ELEMENTS(cmds))], v, w);
        gsize len = strlen(msg);
        for (int f = g_test_rand_int_range(0, 3); f > 0; f--)
            msg[g_test_rand_int_range(0, len)] = (char)g_test_rand_int_range(0, 256);
        monitor_session_feed(s, msg, len);
        gsize n;
        const char *out = monitor_session_output(s, &n);
        for (const char *nl; n && (nl = memchr(out, '\n', n));) {
            if (!g_utf8_validate(out, nl - out, NULL)) {
                g_autofree char *line = g_strndup(out, nl - out);
                g_autofree char *a = g_strescape(msg, NULL), *b = g_strescape(line, NULL);
                g_test_message("input %s gave %s", a, b);
            }
            g_assert_true(g_utf8_validate(out, nl - out, NULL));
            g_autoptr(JsonParser) p = json_parser_new();
            g_autoptr(GError) e = NULL;
            if (!json_parser_load_from_data(p, out, nl - out, &e)) {
                g_autofree char *line = g_strndup(out, nl - out);
                g_autofree char *a = g_strescape(msg, NULL), *b = g_strescape(line, NULL);
                g_test_message("input %s gave %s: %s", a, b, e->message);
            }
            g_assert_true(json_parser_load_from_data(p, out, nl - out, NULL));
            monitor_session_consume(s, nl - out + 1);
            out = monitor_session_output(s, &n);
        }
        if (monitor_session_closing(s) || monitor_session_dead(s)) {
            monitor_session_free(s);
            s = new_negotiated();
        }
    }
    monitor_session_free(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    loop_context();
    monitor_register_builtins();
    machine_register_commands(); /* stop, cont, qom-*: the machine registers them */
    g_test_add_func("/monitor/greeting", test_greeting);
    g_test_add_func("/monitor/negotiation", test_negotiation);
    g_test_add_func("/monitor/bad-input", test_bad_input);
    g_test_add_func("/monitor/framing", test_framing);
    g_test_add_func("/monitor/huge-line", test_huge_line);
    g_test_add_func("/monitor/deep-nesting", test_deep_nesting);
    g_test_add_func("/monitor/eof", test_eof);
    g_test_add_func("/monitor/plugin-command", test_plugin_command);
    g_test_add_func("/monitor/register-errors", test_register_errors);
    g_test_add_func("/monitor/introspection", test_introspection);
    g_test_add_func("/monitor/no-machine", test_no_machine);
    g_test_add_func("/monitor/events", test_events);
    g_test_add_func("/monitor/output-bound", test_output_bound);
    g_test_add_func("/monitor/nul-and-nonfinite", test_nul_and_nonfinite);
    g_test_add_func("/monitor/random-messages", test_random_messages);
    return g_test_run();
}
