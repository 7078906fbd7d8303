/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checking a parsed machine file against its schema: section kinds, selected plugin
 * types, keys, typed values, defaults, references and reference cycles. */
#include <stddef.h>
#include <mosaic/machine.h>
#include <string.h>

#include "config/config-internal.h"
#include "plugin/registry.h"

static gboolean err_at(GError **err, const char *where, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static gboolean err_at(GError **err, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_SCHEMA, "%s: %s", where, msg);
    return FALSE;
}

static char *section_name(const char *kind, const char *label)
{
    return label ? g_strdup_printf("[%s %s]", kind, label) : g_strdup_printf("[%s]", kind);
}

/* What a section is: a core kind (SectionKind) or a plugin's (MosaicSectionDesc). */
typedef struct KindInfo {
    const SectionKind *core;
    const MosaicPluginDesc *owner;
    const MosaicSectionDesc *owned;
} KindInfo;

static gboolean check_kind(ConfigSection *s, KindInfo *ki, GError **err)
{
    g_autofree char *name = section_name(s->kind, s->label);
    memset(ki, 0, sizeof(*ki));
    ki->core = config_section_kind(s->kind);
    if (!ki->core)
        ki->owner = plugin_registry_find_section_owner(s->kind, &ki->owned);
    if (!ki->core && !ki->owner) {
        g_autoptr(GPtrArray) names = config_section_kind_names();
        const char *near = config_closest(s->kind, (const char *const *)names->pdata, names->len);
        g_ptr_array_add(names, NULL);
        g_autofree char *list = g_strjoinv(", ", (char **)names->pdata);
        if (near)
            return err_at(err, s->where, "unknown section kind %s (did you mean [%s]?)", name,
                          near);
        return err_at(err, s->where, "unknown section kind %s (known: %s, and those plugins "
                      "declare)", name, list);
    }
    if (ki->core && ki->core->singleton && s->label)
        return err_at(err, s->where, "%s takes no label: write [%s]", name, s->kind);
    if (ki->core && !ki->core->singleton && !s->label)
        return err_at(err, s->where, "%s needs a label: write [%s LABEL]", name, s->kind);
    return TRUE;
}

static void add_table(MosaicProps *p, const MosaicPropDesc *table)
{
    for (const MosaicPropDesc *d = table; d && d->key; d++) {
        if (config_props_lookup(p, d->key))
            continue; /* a plugin cannot redefine a core key */
        PropValue *v = g_new0(PropValue, 1);
        v->desc = d;
        g_ptr_array_add(p->values, v);
    }
}

static char *unknown_key_hint(MosaicProps *p, const char *key, const char *type)
{
    g_autoptr(GPtrArray) keys = g_ptr_array_new();
    for (guint i = 0; i < p->values->len; i++)
        g_ptr_array_add(keys, (gpointer)((PropValue *)g_ptr_array_index(p->values, i))->desc->key);
    const char *near = config_closest(key, (const char *const *)keys->pdata, keys->len);
    if (near)
        return g_strdup_printf("did you mean '%s'?", near);
    g_ptr_array_add(keys, NULL);
    g_autofree char *list = g_strjoinv(", ", (char **)keys->pdata);
    if (type)
        return g_strdup_printf("known keys for type %s: %s", type, list);
    return g_strdup_printf("known keys: %s", list);
}

/* Builds s->props.  `plugin` is the already chosen plugin for [accel], else NULL. */
static gboolean validate_section(ConfigSection *s, const KindInfo *ki,
                                 const MosaicPluginDesc *plugin, GError **err)
{
    g_autofree char *name = section_name(s->kind, s->label);
    const MosaicPropDesc *common = ki->core ? ki->core->common_props : ki->owned->props;

    if (ki->core && ki->core->selector_key && ki->core->plugin_kind) {
        const char *sel = ki->core->selector_key;
        ConfigEntry *e = config_section_entry(s, sel);
        if (!e || !*e->value)
            return err_at(err, e ? e->where : s->where, "missing required key '%s' in %s "
                          "(the %s plugin type)", sel, name,
                          plugin_kind_name(ki->core->plugin_kind));
        g_autoptr(GError) perr = NULL;
        plugin = plugin_registry_find(ki->core->plugin_kind, e->value, &perr);
        if (!plugin)
            return err_at(err, e->where, "%s %s = %s: %s", name, sel, e->value,
                          perr ? perr->message : "unknown type");
    } else if (ki->owner) {
        plugin = ki->owner;
    }

    MosaicProps *p = config_props_new(s->kind, s->label, s->where, plugin);
    s->props = p;
    add_table(p, common);
    if (plugin && !ki->owner)
        add_table(p, plugin->props);

    for (guint i = 0; i < s->entries->len; i++) {
        ConfigEntry *e = g_ptr_array_index(s->entries, i);
        PropValue *v = config_props_lookup(p, e->key);
        if (!v) {
            g_autofree char *hint =
                unknown_key_hint(p, e->key, plugin && !ki->owner ? plugin->name : NULL);
            return err_at(err, e->where, "unknown key '%s' in %s (%s)", e->key, name, hint);
        }
        /* "key =" means "not set" except for strings, where it is the empty string. */
        if (!*e->value && v->desc->type != MOSAIC_PROP_STRING)
            continue;
        g_autofree char *msg = NULL;
        if (!config_parse_value(v->desc, e->value, e->basedir, v, &msg))
            return err_at(err, e->where, "%s %s", name, msg);
        v->set = TRUE;
        v->where = e->where;
    }
    for (guint i = 0; i < p->values->len; i++) {
        PropValue *v = g_ptr_array_index(p->values, i);
        if (v->set)
            continue;
        if (v->desc->defval) {
            g_autofree char *msg = NULL;
            if (!config_parse_value(v->desc, v->desc->defval, s->basedir, v, &msg))
                return err_at(err, s->where, "%s: bad default of %s (a bug of %s): %s", name,
                              v->desc->key, plugin ? plugin->name : "the core", msg);
            v->set = v->defaulted = TRUE;
            v->where = s->where;
        } else if (v->desc->flags & MOSAIC_PROP_REQUIRED) {
            return err_at(err, s->where, "missing required key '%s' in %s%s%s", v->desc->key,
                          name, v->desc->help ? ": " : "", v->desc->help ? v->desc->help : "");
        }
    }
    return TRUE;
}

static gboolean check_refs(MosaicConfig *cfg, GError **err)
{
    for (guint i = 0; i < cfg->sections->len; i++) {
        ConfigSection *s = g_ptr_array_index(cfg->sections, i);
        for (guint j = 0; s->props && j < s->props->values->len; j++) {
            PropValue *v = g_ptr_array_index(s->props->values, j);
            if (v->desc->type != MOSAIC_PROP_REF || !v->set)
                continue;
            const char *kind = v->desc->choices ? v->desc->choices : "";
            if (config_section_lookup(cfg, kind, v->text))
                continue;
            g_autoptr(GPtrArray) labels = g_ptr_array_new();
            for (guint k = 0; k < cfg->sections->len; k++) {
                ConfigSection *t = g_ptr_array_index(cfg->sections, k);
                if (!strcmp(t->kind, kind) && t->label)
                    g_ptr_array_add(labels, t->label);
            }
            g_autofree char *name = section_name(s->kind, s->label);
            g_ptr_array_add(labels, NULL);
            g_autofree char *list = g_strjoinv(", ", (char **)labels->pdata);
            if (labels->len > 1)
                return err_at(err, v->where, "%s %s = %s: there is no [%s %s] (existing %s "
                              "labels: %s)", name, v->desc->key, v->text, kind, v->text, kind,
                              list);
            return err_at(err, v->where, "%s %s = %s: there is no [%s %s] (the file has no "
                          "[%s ...] section)", name, v->desc->key, v->text, kind, v->text, kind);
        }
    }
    return TRUE;
}

/* Depth-first search over REF edges; 0 unvisited, 1 on the path, 2 done. */
static gboolean find_cycle(MosaicConfig *cfg, guint node, guint8 *state, GArray *path,
                           GError **err)
{
    ConfigSection *s = g_ptr_array_index(cfg->sections, node);
    state[node] = 1;
    for (guint j = 0; j < s->props->values->len; j++) {
        PropValue *v = g_ptr_array_index(s->props->values, j);
        if (v->desc->type != MOSAIC_PROP_REF || !v->set)
            continue;
        ConfigSection *t = config_section_lookup(cfg, v->desc->choices, v->text);
        guint ti;
        if (!t || t->external)
            continue;
        ti = t->index;
        g_array_append_val(path, v);
        if (state[ti] == 1) {
            /* The cycle starts at the first edge leaving t. */
            g_autoptr(GString) chain = g_string_new(NULL);
            const char *where = NULL;
            gboolean in = FALSE;
            for (guint k = 0; k < path->len; k++) {
                PropValue *e = g_array_index(path, PropValue *, k);
                ConfigSection *from = NULL;
                for (guint m = 0; m < cfg->sections->len && !from; m++) {
                    ConfigSection *c = g_ptr_array_index(cfg->sections, m);
                    if (c->props && config_props_lookup(c->props, e->desc->key) == e)
                        from = c;
                }
                if (from == t)
                    in = TRUE;
                if (!in)
                    continue;
                if (!where)
                    where = e->where;
                g_autofree char *n = section_name(from->kind, from->label);
                g_string_append_printf(chain, "%s %s -> ", n, e->desc->key);
            }
            g_autofree char *n = section_name(t->kind, t->label);
            g_string_append(chain, n);
            return err_at(err, where, "reference cycle: %s", chain->str);
        }
        if (state[ti] == 0 && !find_cycle(cfg, ti, state, path, err))
            return FALSE;
        g_array_set_size(path, path->len - 1);
    }
    state[node] = 2;
    return TRUE;
}

static gboolean check_cycles(MosaicConfig *cfg, GError **err)
{
    g_autofree guint8 *state = g_new0(guint8, cfg->sections->len);
    g_autoptr(GArray) path = g_array_new(FALSE, FALSE, sizeof(PropValue *));
    for (guint i = 0; i < cfg->sections->len; i++)
        if (!state[i] && !((ConfigSection *)g_ptr_array_index(cfg->sections, i))->external &&
            !find_cycle(cfg, i, state, path, err))
            return FALSE;
    return TRUE;
}

gboolean config_validate(MosaicConfig *cfg, GError **err)
{
    g_return_val_if_fail(cfg != NULL, FALSE);
    config_sections_init();
    cfg->validated = FALSE;
    for (guint i = 0; i < cfg->sections->len; i++) {
        ConfigSection *s = g_ptr_array_index(cfg->sections, i);
        g_clear_pointer(&s->props, config_props_free);
    }

    guint n = cfg->sections->len;
    g_autofree KindInfo *ki = g_new0(KindInfo, n + 1);
    for (guint i = 0; i < n; i++) {
        ConfigSection *s = g_ptr_array_index(cfg->sections, i);
        if (!s->external && !check_kind(s, &ki[i], err))
            return FALSE;
    }

    ConfigSection *machine = config_section_lookup(cfg, "machine", NULL);
    if (!machine)
        return err_at(err, cfg->path, "no [machine] section (add [machine] with type = BOARD)");
    if (!validate_section(machine, &ki[machine->index], NULL, err))
        return FALSE;

    /* A board without CPUs (arch "none": storage-only machines) needs no accelerator. */
    const MosaicPluginDesc *board = config_props_plugin(machine->props);
    const MosaicMachineOps *mops = board ? board->ops : NULL;
    gboolean cpuless = mops && mops->size >= offsetof(MosaicMachineOps, arch) + sizeof(mops->arch) &&
                       mops->arch && !strcmp(mops->arch, "none");
    g_autoptr(GError) perr = NULL;
    const MosaicPluginDesc *accel = NULL;
    if (!cpuless) {
        const char *accel_name = config_accel_name(machine->props, mops, err);
        if (!accel_name)
            return FALSE;
        accel = plugin_registry_find(MOSAIC_KIND_ACCEL, accel_name, &perr);
        if (!accel)
            return err_at(err, mosaic_props_where(machine->props, "accel"), "[machine] accel = %s: %s",
                          accel_name, perr ? perr->message : "unknown accelerator");
    }
    if (!cpuless && !config_section_lookup(cfg, "accel", NULL)) {
        config_section_get(cfg, "accel", NULL, machine->where, machine->basedir);
        ki = g_renew(KindInfo, ki, cfg->sections->len);
        ki[cfg->sections->len - 1].core = config_section_kind("accel");
        ki[cfg->sections->len - 1].owner = NULL;
    }

    for (guint i = 0; i < cfg->sections->len; i++) {
        ConfigSection *s = g_ptr_array_index(cfg->sections, i);
        if (s == machine || s->external)
            continue;
        gboolean is_accel = ki[i].core && !strcmp(s->kind, "accel");
        if (!validate_section(s, &ki[i], is_accel ? accel : NULL, err))
            return FALSE;
    }
    if (!check_refs(cfg, err) || !check_cycles(cfg, err))
        return FALSE;
    cfg->validated = TRUE;
    return TRUE;
}
