/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writing the resolved machine back as INI (--dump-config) and describing types
 * (--describe). */
#include <string.h>

#include "config/config-internal.h"
#include "plugin/registry.h"

/* Dumped lines stay well inside the parser's limit; long values are wrapped onto
 * indented continuation lines, which the parser joins with one space. */
#define DUMP_WIDTH 100

/* Splitting at a space is lossless only where that space is single and the next piece
 * does not look like a comment or a key on a line of its own. */
static gboolean can_split_at(const char *s, gsize i)
{
    return s[i] == ' ' && i > 0 && s[i - 1] != ' ' && s[i + 1] && s[i + 1] != ' ' &&
           s[i + 1] != ';' && s[i + 1] != '#' && !config_looks_like_key(s + i + 1);
}

static void write_kv(GString *out, const char *key, const char *text)
{
    g_string_append_printf(out, "%s = ", key);
    gsize col = strlen(key) + 3, start = 0, len = strlen(text);
    while (len - start + col > DUMP_WIDTH) {
        /* The last split point that fits, else the first one after (long words). */
        gsize cut = 0;
        for (gsize i = start + 1; i < len; i++) {
            if (!can_split_at(text, i))
                continue;
            if (i - start + col <= DUMP_WIDTH || !cut)
                cut = i;
            if (i - start + col > DUMP_WIDTH)
                break;
        }
        if (!cut)
            break;
        g_string_append_len(out, text + start, cut - start);
        g_string_append(out, "\n    ");
        col = 4;
        start = cut + 1;
    }
    g_string_append(out, text + start);
    g_string_append_c(out, '\n');
}

static void dump_section(GString *out, const ConfigSection *s)
{
    if (s->label)
        g_string_append_printf(out, "\n[%s %s]\n", s->kind, s->label);
    else
        g_string_append_printf(out, "\n[%s]\n", s->kind);
    for (guint i = 0; i < s->props->values->len; i++) {
        const PropValue *v = g_ptr_array_index(s->props->values, i);
        if (v->set)
            write_kv(out, v->desc->key, v->text);
    }
}

char *config_dump(const MosaicConfig *cfg)
{
    g_return_val_if_fail(cfg != NULL, NULL);
    if (!cfg->validated)
        return NULL;
    GString *out = g_string_new("; Resolved machine (mosaic --dump-config): defaults included, "
                                "paths absolute.\n");
    /* [machine] and [accel] first, then everything else in file order. */
    static const char *const first[] = {"machine", "accel"};
    for (guint k = 0; k < G_N_ELEMENTS(first); k++) {
        ConfigSection *s = config_section_lookup(cfg, first[k], NULL);
        if (s)
            dump_section(out, s);
    }
    for (guint i = 0; i < cfg->sections->len; i++) {
        const ConfigSection *s = g_ptr_array_index(cfg->sections, i);
        if (s->external || (!s->label && (!strcmp(s->kind, "machine") ||
                                          !strcmp(s->kind, "accel"))))
            continue;
        dump_section(out, s);
    }
    return g_string_free(out, FALSE);
}

/* --describe */

static gboolean describe_props(GString *out, const MosaicPropDesc *table)
{
    gboolean any = FALSE;
    for (const MosaicPropDesc *d = table; d && d->key; d++) {
        any = TRUE;
        g_string_append_printf(out, "  %s = %s", d->key, config_prop_type_name(d->type));
        if (d->type == MOSAIC_PROP_ENUM && d->choices)
            g_string_append_printf(out, " (%s)", d->choices);
        if (d->type == MOSAIC_PROP_REF && d->choices)
            g_string_append_printf(out, " to a [%s LABEL]", d->choices);
        if (d->min < d->max) {
            if (d->type == MOSAIC_PROP_SIZE || d->type == MOSAIC_PROP_RATE) {
                g_autofree char *a = config_format_size((guint64)MAX(d->min, 0));
                g_autofree char *b = config_format_size((guint64)MAX(d->max, 0));
                const char *unit = d->type == MOSAIC_PROP_RATE ? "/s" : "";
                g_string_append_printf(out, " %s%s..%s%s", a, unit, b, unit);
            } else {
                g_string_append_printf(out, " %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT,
                                       d->min, d->max);
            }
        }
        if (d->flags & MOSAIC_PROP_REQUIRED)
            g_string_append(out, ", required");
        if (d->defval)
            g_string_append_printf(out, ", default %s", *d->defval ? d->defval : "\"\"");
        if (d->flags & MOSAIC_PROP_RUNTIME)
            g_string_append(out, ", changeable at run time");
        g_string_append_c(out, '\n');
        if (d->help)
            g_string_append_printf(out, "      %s\n", d->help);
    }
    return any;
}

static void describe_table(GString *out, const MosaicPropDesc *a, const MosaicPropDesc *b)
{
    gboolean any = describe_props(out, a);
    any |= describe_props(out, b);
    if (!any)
        g_string_append(out, "  (no keys)\n");
}

static void describe_plugin(GString *out, const MosaicPluginDesc *p)
{
    const char *kind = plugin_kind_name(p->kind);
    g_string_append_printf(out, "%s: %s plugin, version %s%s%s\n", p->name, kind,
                           p->version ? p->version : "?", p->license ? ", " : "",
                           p->license ? p->license : "");
    if (p->description)
        g_string_append_printf(out, "  %s\n", p->description);
    const SectionKind *sk = config_section_kind_for_plugin(p->kind);
    if (p->kind == MOSAIC_KIND_ACCEL) {
        g_string_append_printf(out, "Selected by [machine] accel = %s; its keys go in [accel]:\n",
                               p->name);
        describe_table(out, p->props, NULL);
    } else if (sk && sk->selector_key) {
        g_string_append_printf(out, "Used as [%s%s] with %s = %s; keys:\n", sk->kind,
                               sk->singleton ? "" : " LABEL", sk->selector_key, p->name);
        describe_table(out, sk->common_props, p->props);
    } else {
        g_string_append(out, "Keys:\n");
        describe_table(out, p->props, NULL);
    }
    for (const MosaicSectionDesc *s = p->sections; s && s->kind; s++) {
        g_string_append_printf(out, "Section [%s LABEL]%s%s:\n", s->kind, s->help ? ": " : "",
                               s->help ? s->help : "");
        describe_table(out, s->props, NULL);
    }
}

static void describe_owned_sections(const MosaicPluginDesc *p, void *opaque)
{
    for (const MosaicSectionDesc *s = p->sections; s && s->kind; s++)
        g_ptr_array_add(opaque, g_strdup(s->kind));
}

static void describe_type(const MosaicPluginDesc *p, void *opaque)
{
    GString *out = opaque;
    g_string_append_c(out, '\n');
    describe_plugin(out, p);
}

/* "all": every section kind, then every plugin type. */
static char *describe_all(GError **err)
{
    g_autoptr(GPtrArray) names = config_section_kind_names();
    for (int k = MOSAIC_KIND_ACCEL; k <= MOSAIC_KIND_EXPORT; k++)
        plugin_registry_foreach_kind(k, FALSE, describe_owned_sections, names);
    g_autoptr(GString) out = g_string_new(NULL);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *one = config_describe(g_ptr_array_index(names, i), err);
        if (!one)
            return NULL;
        /* A section kind that is also a type name describes both: keep the section. */
        char *type_part = strstr(one, "\n\n");
        if (type_part)
            *type_part = '\0';
        g_string_append_printf(out, "%s%s%s", out->len ? "\n" : "", one,
                               type_part ? "\n" : "");
    }
    for (int k = MOSAIC_KIND_ACCEL; k <= MOSAIC_KIND_EXPORT; k++)
        plugin_registry_foreach_kind(k, FALSE, describe_type, out);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

char *config_describe(const char *what, GError **err)
{
    g_return_val_if_fail(what != NULL, NULL);
    config_sections_init();
    if (g_str_equal(what, "all"))
        return describe_all(err);
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree char *kind_part = NULL;
    const char *name = what;
    const char *colon = strchr(what, ':');
    if (colon) {
        kind_part = g_strndup(what, colon - what);
        name = colon + 1;
    }

    if (!kind_part) {
        const SectionKind *sk = config_section_kind(name);
        if (sk) {
            g_string_append_printf(out, "[%s%s]: section kind", name, sk->singleton ? "" : " LABEL");
            if (sk->plugin_kind && sk->selector_key)
                g_string_append_printf(out, "; %s selects a %s plugin, whose keys are added",
                                       sk->selector_key, plugin_kind_name(sk->plugin_kind));
            else if (sk->plugin_kind)
                g_string_append_printf(out, "; keys of the %s plugin chosen by [machine] accel",
                                       plugin_kind_name(sk->plugin_kind));
            g_string_append(out, "\nKeys:\n");
            describe_table(out, sk->common_props, NULL);
        }
        const MosaicSectionDesc *sec = NULL;
        const MosaicPluginDesc *owner = sk ? NULL : plugin_registry_find_section_owner(name, &sec);
        if (owner && sec) {
            g_string_append_printf(out, "[%s LABEL]: section kind of the %s plugin '%s'%s%s\n"
                                   "Keys:\n", name, plugin_kind_name(owner->kind), owner->name,
                                   sec->help ? ": " : "", sec->help ? sec->help : "");
            describe_table(out, sec->props, NULL);
        }
    }

    const MosaicPluginDesc *seen[16];
    guint nseen = 0;
    for (int k = MOSAIC_KIND_ACCEL; k <= MOSAIC_KIND_MISC; k++) {
        if (kind_part && strcmp(kind_part, plugin_kind_name(k)))
            continue;
        const MosaicPluginDesc *p = plugin_registry_find(k, name, NULL);
        gboolean dup = FALSE;
        for (guint i = 0; i < nseen; i++)
            dup |= seen[i] == p;
        if (!p || dup || nseen == G_N_ELEMENTS(seen))
            continue;
        seen[nseen++] = p;
        if (out->len)
            g_string_append_c(out, '\n');
        describe_plugin(out, p);
    }
    if (!out->len) {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_SCHEMA,
                    "no plugin type or section kind named '%s' (see mosaic --list-plugins)", what);
        return NULL;
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}
