/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON text that every reader takes back (see json-text.h). */
#include <math.h>
#include <string.h>
#include "util/json-text.h"

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
    if (!isfinite(d)) {
        g_string_append(out, "null");
        return;
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_dtostr(buf, sizeof buf, d); /* shortest text that reads back as d */
    g_string_append(out, buf);
    if (!strpbrk(buf, ".eE"))
        g_string_append(out, ".0"); /* stays a double for the reader */
}

/* A line break and the indent of `depth` (pretty only). */
static void newline(GString *out, int depth)
{
    if (depth < 0)
        return;
    g_string_append_c(out, '\n');
    for (int i = 0; i < depth; i++)
        g_string_append(out, "  ");
}

/* depth < 0: compact. */
static void write_value(GString *out, JsonNode *n, int depth)
{
    int inner = depth < 0 ? -1 : depth + 1;
    switch (json_node_get_node_type(n)) {
    case JSON_NODE_OBJECT: {
        JsonObject *o = json_node_get_object(n);
        g_autoptr(GList) names = json_object_get_members(o); /* insertion order */
        g_string_append_c(out, '{');
        for (GList *l = names; l; l = l->next) {
            if (l != names)
                g_string_append_c(out, ',');
            newline(out, inner);
            write_string(out, l->data);
            g_string_append(out, depth < 0 ? ":" : ": ");
            write_value(out, json_object_get_member(o, l->data), inner);
        }
        if (names)
            newline(out, depth);
        g_string_append_c(out, '}');
        break;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *a = json_node_get_array(n);
        guint len = json_array_get_length(a);
        g_string_append_c(out, '[');
        for (guint i = 0; i < len; i++) {
            if (i)
                g_string_append_c(out, ',');
            newline(out, inner);
            write_value(out, json_array_get_element(a, i), inner);
        }
        if (len)
            newline(out, depth);
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

void json_text_append(GString *out, JsonNode *node, gboolean pretty)
{
    write_value(out, node, pretty ? 0 : -1);
}

char *json_text(JsonNode *node, gboolean pretty)
{
    GString *out = g_string_new(NULL);
    json_text_append(out, node, pretty);
    return g_string_free(out, FALSE);
}
