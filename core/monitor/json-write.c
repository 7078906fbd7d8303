/* Replies and events on the wire: compact JSON, one line ending "\r\n" as QEMU sends.
 *
 * Written here rather than by JsonGenerator: json-glib 1.6 prints a double whose
 * shortest form has an exponent but no point with ".0" appended ("1e+308.0", not JSON),
 * and copies strings byte for byte.  An id of 1e308 must come back as a number a client
 * can parse. */
#include <math.h>
#include <string.h>
#include "monitor/monitor-internal.h"

static void write_string(GString *out, const char *s)
{
    g_autofree char *valid = g_utf8_make_valid(s, -1);
    g_string_append_c(out, '"');
    for (const char *p = valid; *p; p++) {
        guchar c = *p;
        if (c == '"' || c == '\\')
            g_string_append_c(out, '\\'), g_string_append_c(out, c);
        else if (c == '\n')
            g_string_append(out, "\\n");
        else if (c == '\r')
            g_string_append(out, "\\r");
        else if (c == '\t')
            g_string_append(out, "\\t");
        else if (c < 0x20 || c == 0x7f)
            g_string_append_printf(out, "\\u%04x", c);
        else
            g_string_append_c(out, c);
    }
    g_string_append_c(out, '"');
}

static void write_double(GString *out, double d)
{
    if (!isfinite(d)) { /* JSON has no spelling for it (input never has one) */
        g_string_append(out, "null");
        return;
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_dtostr(buf, sizeof buf, d); /* shortest text that reads back as d */
    g_string_append(out, buf);
    if (!strpbrk(buf, ".eE"))
        g_string_append(out, ".0"); /* stays a double for the reader */
}

static void write_value(GString *out, JsonNode *n)
{
    switch (json_node_get_node_type(n)) {
    case JSON_NODE_OBJECT: {
        JsonObject *o = json_node_get_object(n);
        g_autoptr(GList) names = json_object_get_members(o); /* insertion order */
        g_string_append_c(out, '{');
        for (GList *l = names; l; l = l->next) {
            if (l != names)
                g_string_append_c(out, ',');
            write_string(out, l->data);
            g_string_append_c(out, ':');
            write_value(out, json_object_get_member(o, l->data));
        }
        g_string_append_c(out, '}');
        break;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *a = json_node_get_array(n);
        g_string_append_c(out, '[');
        for (guint i = 0; i < json_array_get_length(a); i++) {
            if (i)
                g_string_append_c(out, ',');
            write_value(out, json_array_get_element(a, i));
        }
        g_string_append_c(out, ']');
        break;
    }
    case JSON_NODE_VALUE: {
        GType t = json_node_get_value_type(n);
        if (t == G_TYPE_INT64)
            g_string_append_printf(out, "%" G_GINT64_FORMAT, json_node_get_int(n));
        else if (t == G_TYPE_DOUBLE)
            write_double(out, json_node_get_double(n));
        else if (t == G_TYPE_BOOLEAN)
            g_string_append(out, json_node_get_boolean(n) ? "true" : "false");
        else if (t == G_TYPE_STRING)
            write_string(out, json_node_get_string(n));
        else
            g_string_append(out, "null");
        break;
    }
    case JSON_NODE_NULL:
        g_string_append(out, "null");
        break;
    }
}

char *monitor_json_line(JsonNode *node, gsize *len)
{
    GString *out = g_string_new(NULL);
    write_value(out, node);
    g_string_append(out, "\r\n");
    if (len)
        *len = out->len;
    return g_string_free(out, FALSE);
}
