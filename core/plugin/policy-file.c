/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Policy files: INI with one [plugins] section, read by inih through our own line
 * reader (Debian's inih neither tells line numbers nor reports lines longer than its
 * 200-byte buffer; it would silently split them). */
#define _GNU_SOURCE
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plugin/plugin-internal.h"
#include "plugin/policy.h"

typedef struct PolicyParse {
    FILE *f;
    const char *path;
    int line;          /* physical line last handed to inih */
    GError *error;     /* the first error */
    int error_line;
    GPtrArray *rules;
} PolicyParse;

static void fail(PolicyParse *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void fail(PolicyParse *p, const char *fmt, ...)
{
    if (p->error)
        return;
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    p->error_line = p->line;
    p->error = g_error_new(PLUGIN_ERROR, PLUGIN_ERROR_POLICY, "%s:%d: %s", p->path, p->line, msg);
}

/* One physical line per call, so inih's line count and ours agree. */
static char *read_line(char *buf, int size, void *stream)
{
    PolicyParse *p = stream;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, p->f);
    if (n < 0) {
        free(line);
        return NULL;
    }
    p->line++;
    size_t len = (size_t)n;
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len > (size_t)size - 1) {
        fail(p, "line is %zu characters long, the limit is %d (split the list over "
                "several lines of the same key)", len, size - 1);
        free(line);
        return NULL; /* stops the parse */
    }
    memcpy(buf, line, len);
    buf[len] = '\0';
    free(line);
    return buf;
}

static gboolean pattern_valid(const char *s)
{
    for (; *s; s++)
        if (!(g_ascii_islower(*s) || g_ascii_isdigit(*s) || *s == '-' || *s == '*' || *s == '?'))
            return FALSE;
    return TRUE;
}

static gboolean add_patterns(PolicyParse *p, const char *key, const char *value, gboolean allow,
                             gboolean by_kind, gboolean makes_allowlist)
{
    g_auto(GStrv) items = g_strsplit(value, ",", -1);
    gboolean any = FALSE;
    for (char **it = items; *it; it++) {
        char *pat = g_strstrip(*it);
        if (!*pat && any && !it[1])
            break; /* a trailing comma before a continuation line */
        if (!*pat) {
            fail(p, "empty pattern in '%s = %s'", key, value);
            return FALSE;
        }
        if (!pattern_valid(pat)) {
            fail(p, "invalid pattern '%s' (use NAME, KIND-NAME or globs such as KIND-*)",
                 pat);
            return FALSE;
        }
        if (by_kind && !strpbrk(pat, "*?") && !plugin_kind_from_name(pat)) {
            fail(p, "unknown plugin kind '%s' (known: %s)", pat, plugin_kind_list());
            return FALSE;
        }
        PolicyRule *r = g_new0(PolicyRule, 1);
        r->allow = allow;
        r->by_kind = by_kind;
        r->makes_allowlist = makes_allowlist;
        r->pattern = g_strdup(pat);
        r->text = g_strdup_printf("%s = %s", key, pat);
        r->where = g_strdup_printf("%s:%d", p->path, p->line);
        g_ptr_array_add(p->rules, r);
        any = TRUE;
    }
    if (!any)
        fail(p, "'%s' needs a value (patterns separated by commas)", key);
    return any;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    PolicyParse *p = user;
    if (p->error)
        return 0;
    if (!*section) {
        fail(p, "key '%s' outside a section (put it under [plugins])", name);
        return 0;
    }
    if (strcmp(section, "plugins") != 0) {
        fail(p, "unknown section [%s] (a policy file has only [plugins])", section);
        return 0;
    }
    static const struct {
        const char *key;
        gboolean allow, by_kind, makes_allowlist;
    } keys[] = {
        { "allow", TRUE, FALSE, TRUE },   { "deny", FALSE, FALSE, FALSE },
        { "allow-kinds", TRUE, TRUE, TRUE }, { "deny-kinds", FALSE, TRUE, FALSE },
        { "enable", TRUE, FALSE, FALSE }, { "disable", FALSE, FALSE, FALSE },
    };
    if (strcmp(name, "default-accel") == 0) {
        /* One accel plugin's name: the deployment's choice (KVM where the host has it). */
        if (!*value || strpbrk(value, "*?,") || !pattern_valid(value)) {
            fail(p, "default-accel needs one accelerator's name, not '%s'", value);
            return 0;
        }
        PolicyRule *r = g_new0(PolicyRule, 1);
        r->default_accel = TRUE;
        r->pattern = g_strdup(value);
        r->text = g_strdup_printf("default-accel = %s", value);
        r->where = g_strdup_printf("%s:%d", p->path, p->line);
        g_ptr_array_add(p->rules, r);
        return 1;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        if (strcmp(name, keys[i].key) == 0)
            return add_patterns(p, name, value, keys[i].allow, keys[i].by_kind,
                                keys[i].makes_allowlist);
    fail(p, "unknown key '%s' (expected allow, deny, allow-kinds, deny-kinds, enable, disable "
         "or default-accel)", name);
    return 0;
}

gboolean plugin_policy_parse(FILE *f, const char *path, GPtrArray *rules, GError **err)
{
    PolicyParse p = { .f = f, .path = path, .rules = rules };
    int ret = ini_parse_stream(read_line, &p, handler, &p);
    if (ret > 0 && (!p.error || ret < p.error_line)) {
        /* inih found a line it cannot parse before any error of ours. */
        g_clear_error(&p.error);
        p.line = ret;
        fail(&p, "syntax error (expected [plugins] or key = value)");
    } else if (!p.error && ret < 0) {
        fail(&p, "cannot parse (out of memory)");
    }
    if (p.error) {
        g_propagate_error(err, p.error);
        return FALSE;
    }
    return TRUE;
}
