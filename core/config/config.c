/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The parsed machine file: sections, entries, lookups. */
#include <string.h>

#include "config/config-internal.h"

G_DEFINE_QUARK(mosaic-config-error-quark, config_error)

static void entry_free(gpointer p)
{
    ConfigEntry *e = p;
    g_free(e->key);
    g_free(e->value);
    g_free(e->where);
    g_free(e->basedir);
    g_free(e);
}

void config_section_free(ConfigSection *s)
{
    g_free(s->kind);
    g_free(s->label);
    g_free(s->where);
    g_free(s->basedir);
    g_ptr_array_unref(s->entries);
    g_hash_table_unref(s->by_key);
    if (s->props)
        config_props_free(s->props);
    g_free(s);
}

static char *section_key(const char *kind, const char *label)
{
    return label ? g_strconcat(kind, " ", label, NULL) : g_strdup(kind);
}

ConfigSection *config_section_lookup(const MosaicConfig *cfg, const char *kind, const char *label)
{
    g_autofree char *k = section_key(kind, label);
    return g_hash_table_lookup(cfg->by_name, k);
}

ConfigEntry *config_section_entry(const ConfigSection *s, const char *key)
{
    return g_hash_table_lookup(s->by_key, key);
}

MosaicConfig *config_new(const char *name)
{
    MosaicConfig *cfg = g_new0(MosaicConfig, 1);
    cfg->path = g_strdup(name);
    cfg->sections = g_ptr_array_new_with_free_func((GDestroyNotify)config_section_free);
    cfg->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return cfg;
}

/* Same kind and label: the same section, whatever file it appears in. */
ConfigSection *config_section_get(MosaicConfig *cfg, const char *kind, const char *label,
                                  const char *where, const char *basedir)
{
    ConfigSection *s = config_section_lookup(cfg, kind, label);
    if (s)
        return s;
    s = g_new0(ConfigSection, 1);
    s->kind = g_strdup(kind);
    s->label = g_strdup(label);
    s->where = g_strdup(where ? where : cfg->path);
    s->basedir = basedir ? g_strdup(basedir) : g_get_current_dir(); /* as for --set */
    s->index = cfg->sections->len;
    s->entries = g_ptr_array_new_with_free_func(entry_free);
    s->by_key = g_hash_table_new(g_str_hash, g_str_equal);
    g_ptr_array_add(cfg->sections, s);
    g_hash_table_insert(cfg->by_name, section_key(kind, label), s);
    cfg->validated = FALSE;
    return s;
}

void config_section_set(ConfigSection *s, const char *key, const char *value, const char *where,
                        const char *basedir)
{
    config_section_set_len(s, key, value, strlen(value), where, basedir);
}

void config_section_set_len(ConfigSection *s, const char *key, const char *value, gsize len,
                            const char *where, const char *basedir)
{
    s->external = FALSE; /* a section given keys is this configuration's own */
    ConfigEntry *e = g_hash_table_lookup(s->by_key, key);
    if (!e) {
        e = g_new0(ConfigEntry, 1);
        e->key = g_strdup(key);
        g_ptr_array_add(s->entries, e);
        g_hash_table_insert(s->by_key, e->key, e);
    }
    g_free(e->value);
    e->value = g_strndup(value, len);
    if (!where)
        where = s->where;
    if (where != e->where) { /* (the caller may pass the entry's own string) */
        g_free(e->where);
        e->where = g_strdup(where);
    }
    g_free(e->basedir);
    e->basedir = g_strdup(basedir ? basedir : s->basedir);
}

void config_section_set_bool(ConfigSection *s, const char *key, gboolean value)
{
    config_section_set(s, key, value ? "on" : "off", NULL, NULL);
}

void config_section_set_uint(ConfigSection *s, const char *key, guint64 value)
{
    char buf[24];
    g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT, value);
    config_section_set(s, key, buf, NULL, NULL);
}

void config_section_external(MosaicConfig *cfg, const char *kind, const char *label)
{
    ConfigSection *s = config_section_get(cfg, kind, label, cfg->path, NULL);
    s->external = TRUE;
}

MosaicConfig *config_copy(const MosaicConfig *from, const char *name)
{
    MosaicConfig *cfg = config_new(name);
    for (guint i = 0; i < from->sections->len; i++) {
        const ConfigSection *s = g_ptr_array_index(from->sections, i);
        ConfigSection *c = config_section_get(cfg, s->kind, s->label, s->where, s->basedir);
        c->external = s->external;
        for (guint j = 0; j < s->entries->len; j++) {
            const ConfigEntry *e = g_ptr_array_index(s->entries, j);
            config_section_set(c, e->key, e->value, e->where, e->basedir);
        }
    }
    return cfg;
}

void config_free(MosaicConfig *cfg)
{
    if (!cfg)
        return;
    g_ptr_array_unref(cfg->sections);
    g_hash_table_unref(cfg->by_name);
    g_free(cfg->path);
    g_free(cfg);
}

guint config_count(const MosaicConfig *cfg, const char *kind)
{
    g_return_val_if_fail(cfg && kind, 0);
    if (!cfg->validated)
        return 0;
    guint n = 0;
    for (guint i = 0; i < cfg->sections->len; i++) {
        ConfigSection *s = g_ptr_array_index(cfg->sections, i);
        n += !s->external && !strcmp(s->kind, kind);
    }
    return n;
}

const MosaicProps *config_get(const MosaicConfig *cfg, const char *kind, guint index)
{
    g_return_val_if_fail(cfg && kind, NULL);
    if (!cfg->validated)
        return NULL;
    for (guint i = 0; i < cfg->sections->len; i++) {
        ConfigSection *s = g_ptr_array_index(cfg->sections, i);
        if (!s->external && !strcmp(s->kind, kind) && index-- == 0)
            return s->props;
    }
    return NULL;
}

const MosaicProps *config_find(const MosaicConfig *cfg, const char *kind, const char *label)
{
    g_return_val_if_fail(cfg && kind, NULL);
    if (!cfg->validated)
        return NULL;
    ConfigSection *s = config_section_lookup(cfg, kind, label);
    return s ? s->props : NULL;
}

const char *config_where(const MosaicConfig *cfg, const char *kind, const char *label,
                         const char *key)
{
    g_return_val_if_fail(cfg && kind, NULL);
    ConfigSection *s = config_section_lookup(cfg, kind, label);
    if (!s)
        return NULL;
    if (s->props && key)
        return mosaic_props_where(s->props, key);
    ConfigEntry *e = key ? config_section_entry(s, key) : NULL;
    return e ? e->where : s->where;
}

const MosaicProps *config_nth(const MosaicConfig *cfg, guint index)
{
    g_return_val_if_fail(cfg, NULL);
    if (!cfg->validated || index >= cfg->sections->len)
        return NULL;
    return ((ConfigSection *)g_ptr_array_index(cfg->sections, index))->props;
}
