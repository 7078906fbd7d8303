/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Replies and events on the wire: compact JSON, one line ending "\r\n" as QEMU sends.
 * The text comes from util/json-text.c, not JsonGenerator: an id of 1e308 must come back
 * as a number a client can parse. */
#include "monitor/monitor-internal.h"
#include "util/json-text.h"

char *monitor_json_line(JsonNode *node, gsize *len)
{
    GString *out = g_string_new(NULL);
    json_text_append(out, node, FALSE);
    g_string_append(out, "\r\n");
    if (len)
        *len = out->len;
    return g_string_free(out, FALSE);
}
