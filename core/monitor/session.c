/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The protocol engine of one client, without sockets: bytes in, replies out.
 *
 * Input is framed like QEMU's streaming JSON parser does it: a message is a balanced
 * {...} (or [...]) with strings and escapes honoured, so no newline is needed and one
 * read may carry several messages or part of one.  Stray text outside a message is a
 * parse error at the next whitespace.  A message may not exceed MONITOR_MAX_INPUT bytes
 * or MONITOR_MAX_NESTING levels: the client gets an error and is disconnected, so the
 * memory a client can make us hold stays bounded. */
#include <string.h>
#include "monitor/monitor-internal.h"

struct MonitorSession {
    GByteArray *in;      /* the message being received */
    int depth;
    gboolean in_string, escape, stray;
    GByteArray *out;     /* queued output; out_off bytes of it were sent */
    gsize out_off;
    gboolean negotiated, closing, dead;
    MonitorWakeFn *wake;
    void *opaque;
};

static GList *sessions; /* every live session, for events */

static void queue(MonitorSession *s, const char *line, gsize len)
{
    if (s->dead)
        return;
    if (s->out->len - s->out_off + len > MONITOR_MAX_OUTPUT) {
        /* It stopped reading: drop it rather than let it grow without bound. */
        g_log(MONITOR_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
              "monitor client disconnected: more than %u MiB of output not read",
              MONITOR_MAX_OUTPUT >> 20);
        s->dead = TRUE;
        g_byte_array_set_size(s->out, 0);
        s->out_off = 0;
        return;
    }
    g_byte_array_append(s->out, (const guint8 *)line, len);
}

static void queue_node(MonitorSession *s, JsonNode *n)
{
    gsize len;
    g_autofree char *line = monitor_json_line(n, &len);
    queue(s, line, len);
}

static void reply_error(MonitorSession *s, int cls, const char *desc, JsonNode *id)
{
    /* json-glib's messages may quote input bytes that are not UTF-8. */
    g_autofree char *valid = g_utf8_make_valid(desc, -1);
    JsonObject *o = json_object_new();
    JsonObject *e = json_object_new();
    json_object_set_string_member(e, "class", monitor_error_class_name(cls));
    json_object_set_string_member(e, "desc", valid);
    json_object_set_object_member(o, "error", e);
    if (id)
        json_object_set_member(o, "id", json_node_copy(id));
    g_autoptr(JsonNode) n = monitor_object_node(o);
    queue_node(s, n);
}

static void reply_gerror(MonitorSession *s, const GError *e, JsonNode *id)
{
    int cls = e->domain == MONITOR_ERROR ? e->code : MOSAIC_ERRCLASS_GENERIC;
    reply_error(s, cls, e->message, id);
}

static void reply_return(MonitorSession *s, JsonNode *value, JsonNode *id)
{
    JsonObject *o = json_object_new();
    json_object_set_member(o, "return",
                           value ? value : monitor_object_node(json_object_new()));
    if (id)
        json_object_set_member(o, "id", json_node_copy(id));
    g_autoptr(JsonNode) n = monitor_object_node(o);
    queue_node(s, n);
}

static void greet(MonitorSession *s)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "QMP");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "version");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "qemu");
    json_builder_begin_object(b);
    unsigned v[3] = {0, 0, 0};
    sscanf(MOSAIC_VERSION, "%u.%u.%u", &v[0], &v[1], &v[2]);
    const char *names[] = {"major", "minor", "micro"};
    for (int i = 0; i < 3; i++) {
        json_builder_set_member_name(b, names[i]);
        json_builder_add_int_value(b, v[i]);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "package");
    json_builder_add_string_value(b, "mosaic-" MOSAIC_VERSION);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "capabilities");
    json_builder_begin_array(b);
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_builder_end_object(b);
    g_autoptr(JsonNode) n = json_builder_get_root(b);
    queue_node(s, n);
}

MonitorSession *monitor_session_new(MonitorWakeFn *wake, void *opaque)
{
    MonitorSession *s = g_new0(MonitorSession, 1);
    s->in = g_byte_array_new();
    s->out = g_byte_array_new();
    s->wake = wake;
    s->opaque = opaque;
    sessions = g_list_prepend(sessions, s);
    greet(s);
    return s;
}

void monitor_session_free(MonitorSession *s)
{
    if (!s)
        return;
    sessions = g_list_remove(sessions, s);
    g_byte_array_unref(s->in);
    g_byte_array_unref(s->out);
    g_free(s);
}

static void negotiate(MonitorSession *s, JsonObject *args, JsonNode *id)
{
    if (s->negotiated) {
        reply_error(s, MONITOR_ERRCLASS_COMMAND_NOT_FOUND,
                    "Capabilities negotiation is already complete, command ignored", id);
        return;
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonNode) ret = monitor_command_run(monitor_command_find("qmp_capabilities"), args, &err);
    if (!ret) {
        reply_gerror(s, err, id);
        return;
    }
    s->negotiated = TRUE;
    reply_return(s, g_steal_pointer(&ret), id);
}

/* One complete message. */
static void dispatch(MonitorSession *s, const char *text, gsize len)
{
    if (monitor_text_has_nul(text, len)) {
        reply_error(s, MOSAIC_ERRCLASS_GENERIC,
                    "JSON parse error, a string contains NUL (\\u0000), which QMP does not accept",
                    NULL);
        return;
    }
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) err = NULL;
    if (!json_parser_load_from_data(parser, text, len, &err)) {
        g_autofree char *desc = g_strdup_printf("JSON parse error, %s", err->message);
        reply_error(s, MOSAIC_ERRCLASS_GENERIC, desc, NULL);
        return;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        reply_error(s, MOSAIC_ERRCLASS_GENERIC, "QMP input must be a JSON object", NULL);
        return;
    }
    const char *problem = monitor_node_problem(root);
    if (problem) {
        g_autofree char *desc = g_strdup_printf("JSON parse error, %s", problem);
        reply_error(s, MOSAIC_ERRCLASS_GENERIC, desc, NULL);
        return;
    }
    JsonObject *req = json_node_get_object(root);
    JsonNode *id = json_object_get_member(req, "id");
    g_autoptr(GList) members = json_object_get_members(req);
    for (GList *l = members; l; l = l->next)
        if (!g_str_equal(l->data, "execute") && !g_str_equal(l->data, "arguments") &&
            !g_str_equal(l->data, "id")) {
            g_autofree char *d = g_strdup_printf("QMP input member '%s' is unexpected",
                                                 (const char *)l->data);
            reply_error(s, MOSAIC_ERRCLASS_GENERIC, d, id);
            return;
        }
    JsonNode *ex = json_object_get_member(req, "execute");
    if (!ex) {
        reply_error(s, MOSAIC_ERRCLASS_GENERIC, "QMP input lacks member 'execute'", id);
        return;
    }
    if (!JSON_NODE_HOLDS_VALUE(ex) || json_node_get_value_type(ex) != G_TYPE_STRING) {
        reply_error(s, MOSAIC_ERRCLASS_GENERIC, "QMP input member 'execute' must be a string", id);
        return;
    }
    JsonNode *an = json_object_get_member(req, "arguments");
    if (an && !JSON_NODE_HOLDS_OBJECT(an)) {
        reply_error(s, MOSAIC_ERRCLASS_GENERIC, "QMP input member 'arguments' must be an object", id);
        return;
    }
    JsonObject *args = an ? json_node_get_object(an) : NULL;
    const char *name = json_node_get_string(ex);
    if (g_str_equal(name, "qmp_capabilities")) {
        negotiate(s, args, id);
        return;
    }
    if (!s->negotiated) {
        reply_error(s, MONITOR_ERRCLASS_COMMAND_NOT_FOUND,
                    "Expecting capabilities negotiation with 'qmp_capabilities'", id);
        return;
    }
    const MonitorCommand *cmd = monitor_command_find(name);
    if (!cmd) {
        g_autofree char *d = g_strdup_printf("The command %s has not been found", name);
        reply_error(s, MONITOR_ERRCLASS_COMMAND_NOT_FOUND, d, id);
        return;
    }
    JsonNode *ret = monitor_command_run(cmd, args, &err);
    if (ret)
        reply_return(s, ret, id);
    else
        reply_gerror(s, err, id);
}

static void fatal_input(MonitorSession *s, const char *desc)
{
    reply_error(s, MOSAIC_ERRCLASS_GENERIC, desc, NULL);
    g_byte_array_set_size(s->in, 0);
    s->closing = TRUE;
}

static void complete(MonitorSession *s)
{
    g_byte_array_append(s->in, (const guint8 *)"", 1); /* json-glib wants it terminated */
    dispatch(s, (const char *)s->in->data, s->in->len - 1);
    g_byte_array_set_size(s->in, 0);
    s->depth = 0;
    s->in_string = s->escape = s->stray = FALSE;
}

void monitor_session_feed(MonitorSession *s, const char *buf, gsize len)
{
    gsize i = 0;
    while (i < len && !s->closing && !s->dead) {
        char c = buf[i];
        gboolean space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
        if (s->depth == 0 && !s->stray) {
            /* Between messages. */
            i++;
            if (space)
                continue;
            g_byte_array_append(s->in, (const guint8 *)&c, 1);
            if (c == '{' || c == '[')
                s->depth = 1;
            else if (c == '}' || c == ']')
                complete(s); /* a lone closer: parse error */
            else
                s->stray = TRUE;
            continue;
        }
        if (s->stray) {
            /* Text outside any object ends at whitespace or where an object starts. */
            if (space || c == '{' || c == '[') {
                complete(s);
                continue; /* reprocess c between messages */
            }
        } else if (s->in_string) {
            if (s->escape)
                s->escape = FALSE;
            else if (c == '\\')
                s->escape = TRUE;
            else if (c == '"')
                s->in_string = FALSE;
        } else if (c == '"') {
            s->in_string = TRUE;
        } else if (c == '{' || c == '[') {
            if (++s->depth > MONITOR_MAX_NESTING) {
                fatal_input(s, "JSON parse error, nesting too deep (limit " G_STRINGIFY(MONITOR_MAX_NESTING) ")");
                return;
            }
        } else if (c == '}' || c == ']') {
            s->depth--;
        }
        /* Append the run of bytes up to the next byte that can change the state cheaply:
         * inside strings most bytes are plain. */
        if (s->in->len + 1 > MONITOR_MAX_INPUT) {
            fatal_input(s, "JSON parse error, message too large (limit 1 MiB); disconnecting");
            return;
        }
        g_byte_array_append(s->in, (const guint8 *)&c, 1);
        i++;
        if (!s->stray && s->depth == 0)
            complete(s);
    }
}

void monitor_session_eof(MonitorSession *s)
{
    if (s->stray)
        complete(s); /* "garbage<EOF>" still gets its error */
    g_byte_array_set_size(s->in, 0);
    s->closing = TRUE;
}

const char *monitor_session_output(MonitorSession *s, gsize *len)
{
    *len = s->out->len - s->out_off;
    return (const char *)s->out->data + s->out_off;
}

void monitor_session_consume(MonitorSession *s, gsize n)
{
    s->out_off += MIN(n, s->out->len - s->out_off);
    if (s->out_off == s->out->len) {
        g_byte_array_set_size(s->out, 0);
        s->out_off = 0;
    } else if (s->out_off > 65536 && s->out_off > s->out->len / 2) {
        g_byte_array_remove_range(s->out, 0, s->out_off);
        s->out_off = 0;
    }
}

gsize monitor_session_output_len(MonitorSession *s) { return s->out->len - s->out_off; }
gsize monitor_session_input_len(MonitorSession *s) { return s->in->len; }
gboolean monitor_session_closing(MonitorSession *s) { return s->closing; }
gboolean monitor_session_dead(MonitorSession *s) { return s->dead; }
gboolean monitor_session_negotiated(MonitorSession *s) { return s->negotiated; }

void monitor_sessions_broadcast(const char *line, gsize len)
{
    for (GList *l = sessions; l; l = l->next) {
        MonitorSession *s = l->data;
        if (!s->negotiated || s->dead)
            continue;
        queue(s, line, len);
        if (s->wake)
            s->wake(s->opaque);
    }
}
