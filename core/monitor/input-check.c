/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What json-glib accepts but QMP must not: strings with NUL, strings that decode to
 * invalid UTF-8 (json-glib turns a lone surrogate escape into CESU-8 bytes), and
 * numbers that do not fit a double.
 *
 * json-glib turns "\u0000" into a C string cut at the NUL, so "quit\u0000x" would
 * compare equal to "quit" (QEMU's parser refuses NUL in strings for the same reason).
 * 1e999 becomes infinity, which JSON cannot write back ("inf.0" in an echoed id). */
#include <math.h>
#include "monitor/monitor-internal.h"

#define NOT_UTF8 "a string is not valid UTF-8 (a lone surrogate \\uD800-\\uDFFF?)"

static gboolean is_zero_escape(const char *p, gsize left)
{
    return left >= 5 && p[0] == 'u' && p[1] == '0' && p[2] == '0' && p[3] == '0' && p[4] == '0';
}

gboolean monitor_text_has_nul(const char *text, gsize len)
{
    gboolean in_string = FALSE;
    for (gsize i = 0; i < len; i++) {
        char c = text[i];
        if (c == '\0')
            return TRUE;
        if (!in_string) {
            in_string = c == '"';
        } else if (c == '\\') {
            if (i + 1 < len && is_zero_escape(text + i + 1, len - i - 1))
                return TRUE;
            i++; /* the escaped character, never a quote that ends the string */
        } else if (c == '"') {
            in_string = FALSE;
        }
    }
    return FALSE;
}

const char *monitor_node_problem(JsonNode *n)
{
    const char *why = NULL;
    if (JSON_NODE_HOLDS_OBJECT(n)) {
        JsonObjectIter it;
        const char *name;
        JsonNode *member;
        json_object_iter_init(&it, json_node_get_object(n));
        while (!why && json_object_iter_next(&it, &name, &member))
            why = !g_utf8_validate(name, -1, NULL) ? NOT_UTF8 : monitor_node_problem(member);
    } else if (JSON_NODE_HOLDS_ARRAY(n)) {
        JsonArray *a = json_node_get_array(n);
        for (guint i = 0; !why && i < json_array_get_length(a); i++)
            why = monitor_node_problem(json_array_get_element(a, i));
    } else if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_DOUBLE) {
        why = isfinite(json_node_get_double(n)) ? NULL : "a number is out of range (it must fit a double)";
    } else if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
        why = g_utf8_validate(json_node_get_string(n), -1, NULL) ? NULL : NOT_UTF8;
    }
    return why;
}
