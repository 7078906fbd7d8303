/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `mosaic --describe NAME|all --json`: the typed property tables of every section kind
 * and plugin type as JSON.  The man page mosaic-machine.ini(5) and the shell completion
 * are generated from this, so they list exactly what the configuration reader checks. */
#include <string.h>
#include <json-glib/json-glib.h>

#include "config/config-internal.h"
#include "plugin/registry.h"

static void add_keys(JsonBuilder *b, const MosaicPropDesc *table)
{
    for (const MosaicPropDesc *d = table; d && d->key; d++) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "key");
        json_builder_add_string_value(b, d->key);
        json_builder_set_member_name(b, "type");
        json_builder_add_string_value(b, config_prop_type_name(d->type));
        if (d->choices && (d->type == MOSAIC_PROP_ENUM || d->type == MOSAIC_PROP_REF)) {
            json_builder_set_member_name(b, d->type == MOSAIC_PROP_ENUM ? "choices" : "refers_to");
            json_builder_add_string_value(b, d->choices);
        }
        if (d->min < d->max) {
            json_builder_set_member_name(b, "min");
            json_builder_add_int_value(b, d->min);
            json_builder_set_member_name(b, "max");
            json_builder_add_int_value(b, d->max);
        }
        if (d->defval) {
            json_builder_set_member_name(b, "default");
            json_builder_add_string_value(b, d->defval);
        }
        json_builder_set_member_name(b, "required");
        json_builder_add_boolean_value(b, (d->flags & MOSAIC_PROP_REQUIRED) != 0);
        json_builder_set_member_name(b, "runtime");
        json_builder_add_boolean_value(b, (d->flags & MOSAIC_PROP_RUNTIME) != 0);
        json_builder_set_member_name(b, "help");
        json_builder_add_string_value(b, d->help ? d->help : "");
        json_builder_end_object(b);
    }
}

static void add_key_list(JsonBuilder *b, const MosaicPropDesc *a, const MosaicPropDesc *c)
{
    json_builder_set_member_name(b, "keys");
    json_builder_begin_array(b);
    add_keys(b, a);
    add_keys(b, c);
    json_builder_end_array(b);
}

static void add_str(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

typedef struct Walk {
    JsonBuilder *b;
    const char *only; /* NULL: everything */
    guint count;
} Walk;

static void add_owned_sections(const MosaicPluginDesc *p, void *opaque)
{
    Walk *w = opaque;
    for (const MosaicSectionDesc *s = p->sections; s && s->kind; s++) {
        if (w->only && strcmp(w->only, s->kind))
            continue;
        w->count++;
        json_builder_begin_object(w->b);
        add_str(w->b, "kind", s->kind);
        json_builder_set_member_name(w->b, "singleton");
        json_builder_add_boolean_value(w->b, FALSE);
        add_str(w->b, "selector", NULL);
        add_str(w->b, "plugin_kind", NULL);
        add_str(w->b, "owner", p->name);
        add_str(w->b, "help", s->help);
        add_key_list(w->b, s->props, NULL);
        json_builder_end_object(w->b);
    }
}

static void add_type(const MosaicPluginDesc *p, void *opaque)
{
    Walk *w = opaque;
    if (w->only && strcmp(w->only, p->name))
        return;
    w->count++;
    const SectionKind *sk = config_section_kind_for_plugin(p->kind);
    json_builder_begin_object(w->b);
    add_str(w->b, "name", p->name);
    add_str(w->b, "kind", plugin_kind_name(p->kind));
    add_str(w->b, "version", p->version);
    add_str(w->b, "description", p->description);
    /* Where its keys go: [accel] for an accelerator (chosen by [machine] accel), else
     * the section whose selector key names it ([device] type = NAME). */
    if (p->kind == MOSAIC_KIND_ACCEL) {
        add_str(w->b, "section", "accel");
        add_str(w->b, "selected_by", "machine.accel");
    } else if (sk && sk->selector_key) {
        g_autofree char *sel = g_strdup_printf("%s.%s", sk->kind, sk->selector_key);
        add_str(w->b, "section", sk->kind);
        add_str(w->b, "selected_by", sel);
    } else {
        add_str(w->b, "section", NULL);
        add_str(w->b, "selected_by", NULL);
    }
    add_key_list(w->b, p->props, NULL);
    json_builder_end_object(w->b);
}

char *config_describe_json(const char *what, GError **err)
{
    config_sections_init();
    const char *only = what && strcmp(what, "all") ? what : NULL;
    g_autoptr(JsonBuilder) b = json_builder_new();
    Walk w = {.b = b, .only = only};
    json_builder_begin_object(b);

    json_builder_set_member_name(b, "sections");
    json_builder_begin_array(b);
    g_autoptr(GPtrArray) names = config_section_kind_names();
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        if (only && strcmp(only, name))
            continue;
        const SectionKind *sk = config_section_kind(name);
        w.count++;
        json_builder_begin_object(b);
        add_str(b, "kind", sk->kind);
        json_builder_set_member_name(b, "singleton");
        json_builder_add_boolean_value(b, sk->singleton);
        add_str(b, "selector", sk->selector_key);
        add_str(b, "plugin_kind", sk->plugin_kind ? plugin_kind_name(sk->plugin_kind) : NULL);
        add_str(b, "owner", NULL);
        add_str(b, "help", NULL);
        add_key_list(b, sk->common_props, NULL);
        json_builder_end_object(b);
    }
    for (int k = MOSAIC_KIND_ACCEL; k <= MOSAIC_KIND_EXPORT; k++)
        plugin_registry_foreach_kind(k, FALSE, add_owned_sections, &w);
    json_builder_end_array(b);

    json_builder_set_member_name(b, "types");
    json_builder_begin_array(b);
    for (int k = MOSAIC_KIND_ACCEL; k <= MOSAIC_KIND_EXPORT; k++)
        plugin_registry_foreach_kind(k, FALSE, add_type, &w);
    json_builder_end_array(b);
    json_builder_end_object(b);

    if (only && !w.count) {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_SCHEMA,
                    "no plugin type or section kind named '%s' (see mosaic --list-plugins)", what);
        return NULL;
    }
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_pretty(gen, TRUE);
    json_generator_set_root(gen, root);
    char *text = json_generator_to_data(gen, NULL);
    char *out = g_strconcat(text, "\n", NULL);
    g_free(text);
    return out;
}
