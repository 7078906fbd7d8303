/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON text from a json-glib tree, written so that every reader takes it back: json-glib
 * 1.6's generator prints a double whose shortest form has an exponent but no point with
 * ".0" appended ("1e+308.0", not JSON), writes inf and nan as they are, and copies
 * strings byte for byte.  Used by the monitor for replies and events and, compiled into
 * them, by the tools (mosaic-ctl) for what they send and print.  Depends on GLib and
 * json-glib only. */
#ifndef MOSAIC_CORE_UTIL_JSON_TEXT_H
#define MOSAIC_CORE_UTIL_JSON_TEXT_H

#include <glib.h>
#include <json-glib/json-glib.h>

/* Appends `node` to `out`: compact on one line, or pretty (two-space indent, one member
 * per line).  A double that is not finite becomes null (JSON has no spelling for it);
 * strings are made valid UTF-8 with control characters escaped. */
void json_text_append(GString *out, JsonNode *node, gboolean pretty);
/* The same as a new string. */
char *json_text(JsonNode *node, gboolean pretty);

#endif
