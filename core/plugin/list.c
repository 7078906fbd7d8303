/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `mosaic --list-plugins [--json]`: every plugin found, with why it can or cannot be
 * used. */
#include <json-glib/json-glib.h>
#include <string.h>
#include "plugin/plugin-internal.h"
#include "plugin/policy.h"

typedef struct Row {
    const char *cols[5]; /* NAME KIND VERSION ABI PATH */
    char *abi;
    const char *state;   /* available loaded disabled refused builtin */
    char *state_text;    /* the STATE column */
    char *reason;        /* refused/disabled: why */
    char *rule_where;    /* disabled: FILE:LINE */
} Row;

static void row_fill(Row *r, const PluginEntry *e)
{
    r->abi = e->abi_known ? g_strdup_printf("%u.%u", e->abi_major, e->abi_minor) : g_strdup("-");
    r->cols[0] = e->name;
    r->cols[1] = e->kind_str;
    r->cols[2] = e->version ? e->version : "-";
    r->cols[3] = r->abi;
    r->cols[4] = e->path ? e->path : "-";
    g_autofree char *where = NULL, *rule = NULL;
    if (e->state == PLUGIN_REFUSED) {
        r->state = "refused";
        r->reason = g_strdup(e->reason);
        r->state_text = g_strdup_printf("refused: %s", e->reason);
    } else if (!plugin_policy_allows(e->kind_str, e->name, &where, &rule)) {
        r->state = "disabled";
        r->reason = g_strdup(rule);
        r->rule_where = g_strdup(where);
        r->state_text = g_strdup_printf("disabled by %s", where);
    } else {
        r->state = e->state == PLUGIN_LOADED ? "loaded"
                   : e->state == PLUGIN_BUILTIN ? "builtin" : "available";
        r->state_text = g_strdup(r->state);
    }
}

static void row_clear(Row *r)
{
    g_free(r->abi);
    g_free(r->state_text);
    g_free(r->reason);
    g_free(r->rule_where);
}

static void print_table(FILE *out, Row *rows, guint n)
{
    static const char *const heads[] = { "NAME", "KIND", "VERSION", "ABI", "PATH" };
    int w[5];
    for (int c = 0; c < 5; c++) {
        w[c] = (int)strlen(heads[c]);
        for (guint i = 0; i < n; i++)
            w[c] = MAX(w[c], (int)strlen(rows[i].cols[c]));
    }
    for (int c = 0; c < 5; c++)
        fprintf(out, "%-*s  ", w[c], heads[c]);
    fprintf(out, "STATE\n");
    for (guint i = 0; i < n; i++) {
        for (int c = 0; c < 5; c++)
            fprintf(out, "%-*s  ", w[c], rows[i].cols[c]);
        fprintf(out, "%s\n", rows[i].state_text);
    }
}

static void json_member(JsonBuilder *b, const char *key, const char *value)
{
    json_builder_set_member_name(b, key);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

static void print_json(FILE *out, Row *rows, guint n, GPtrArray *entries)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_member(b, "core_abi", G_STRINGIFY(MOSAIC_ABI_MAJOR) "." G_STRINGIFY(MOSAIC_ABI_MINOR));
    json_builder_set_member_name(b, "plugins");
    json_builder_begin_array(b);
    for (guint i = 0; i < n; i++) {
        const PluginEntry *e = entries->pdata[i];
        gboolean ok = e->state != PLUGIN_REFUSED;
        json_builder_begin_object(b);
        json_member(b, "name", e->name);
        json_member(b, "kind", e->kind_str);
        json_member(b, "version", e->version);
        json_member(b, "abi", e->abi_known ? rows[i].abi : NULL);
        json_member(b, "path", e->path);
        json_member(b, "state", rows[i].state);
        json_member(b, "reason", rows[i].reason);
        json_member(b, "rule", rows[i].rule_where);
        json_member(b, "hint", e->state == PLUGIN_REFUSED ? e->hint : NULL);
        json_member(b, "license", ok ? e->desc.license : NULL);
        json_member(b, "description", ok ? e->desc.description : NULL);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_pretty(gen, TRUE);
    json_generator_set_root(gen, root);
    g_autofree char *text = json_generator_to_data(gen, NULL);
    fprintf(out, "%s\n", text);
}

void plugin_registry_list(FILE *out, gboolean json)
{
    GPtrArray *entries = plugin_registry_entries();
    guint n = entries->len;
    Row *rows = g_new0(Row, MAX(n, 1u));
    for (guint i = 0; i < n; i++)
        row_fill(&rows[i], entries->pdata[i]);
    if (json)
        print_json(out, rows, n, entries);
    else
        print_table(out, rows, n);
    for (guint i = 0; i < n; i++)
        row_clear(&rows[i]);
    g_free(rows);
    fflush(out);
}
