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
    if (s->props)
        config_props_free(s->props);
    g_free(s);
}

ConfigSection *config_section_lookup(const MosaicConfig *cfg, const char *kind, const char *label)
{
    for (guint i = 0; i < cfg->sections->len; i++) {
        ConfigSection *s = g_ptr_array_index(cfg->sections, i);
        if (!strcmp(s->kind, kind) && !g_strcmp0(s->label, label))
            return s;
    }
    return NULL;
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
    s->where = g_strdup(where);
    s->basedir = g_strdup(basedir);
    s->entries = g_ptr_array_new_with_free_func(entry_free);
    g_ptr_array_add(cfg->sections, s);
    return s;
}

ConfigEntry *config_section_set(ConfigSection *s, const char *key, const char *value,
                                const char *where, const char *basedir)
{
    ConfigEntry *e = NULL;
    for (guint i = 0; i < s->entries->len && !e; i++) {
        ConfigEntry *x = g_ptr_array_index(s->entries, i);
        if (!strcmp(x->key, key))
            e = x;
    }
    if (!e) {
        e = g_new0(ConfigEntry, 1);
        e->key = g_strdup(key);
        g_ptr_array_add(s->entries, e);
    }
    g_free(e->value);
    g_free(e->where);
    g_free(e->basedir);
    e->value = g_strdup(value);
    e->where = g_strdup(where);
    e->basedir = g_strdup(basedir);
    return e;
}

void config_free(MosaicConfig *cfg)
{
    if (!cfg)
        return;
    g_ptr_array_unref(cfg->sections);
    g_free(cfg->path);
    g_free(cfg);
}

guint config_count(const MosaicConfig *cfg, const char *kind)
{
    g_return_val_if_fail(cfg && kind, 0);
    if (!cfg->validated)
        return 0;
    guint n = 0;
    for (guint i = 0; i < cfg->sections->len; i++)
        n += !strcmp(((ConfigSection *)g_ptr_array_index(cfg->sections, i))->kind, kind);
    return n;
}

const MosaicProps *config_get(const MosaicConfig *cfg, const char *kind, guint index)
{
    g_return_val_if_fail(cfg && kind, NULL);
    if (!cfg->validated)
        return NULL;
    for (guint i = 0; i < cfg->sections->len; i++) {
        ConfigSection *s = g_ptr_array_index(cfg->sections, i);
        if (!strcmp(s->kind, kind) && index-- == 0)
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
    for (guint i = 0; key && i < s->entries->len; i++) {
        ConfigEntry *e = g_ptr_array_index(s->entries, i);
        if (!strcmp(e->key, key))
            return e->where;
    }
    return s->where;
}

const MosaicProps *config_nth(const MosaicConfig *cfg, guint index)
{
    g_return_val_if_fail(cfg, NULL);
    if (!cfg->validated || index >= cfg->sections->len)
        return NULL;
    return ((ConfigSection *)g_ptr_array_index(cfg->sections, index))->props;
}
