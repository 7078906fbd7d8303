/* SPDX-License-Identifier: GPL-2.0-or-later */
/* MosaicProps: one validated section, and the SDK accessors plugins read it with. */
#include <string.h>

#include "config/config-internal.h"

static void value_free(gpointer p)
{
    PropValue *v = p;
    g_free(v->text);
    g_free(v);
}

MosaicProps *config_props_new(const char *kind, const char *label, const char *where,
                              const MosaicPluginDesc *plugin)
{
    MosaicProps *p = g_new0(MosaicProps, 1);
    p->kind = kind;
    p->label = label;
    p->where = where;
    p->plugin = plugin;
    p->values = g_ptr_array_new_with_free_func(value_free);
    return p;
}

void config_props_free(MosaicProps *p)
{
    if (!p)
        return;
    g_ptr_array_unref(p->values);
    g_free(p);
}

PropValue *config_props_lookup(const MosaicProps *p, const char *key)
{
    for (guint i = 0; i < p->values->len; i++) {
        PropValue *v = g_ptr_array_index(p->values, i);
        if (!strcmp(v->desc->key, key))
            return v;
    }
    return NULL;
}

const MosaicPluginDesc *config_props_plugin(const MosaicProps *props)
{
    return props ? props->plugin : NULL;
}

/* Reading a key the section does not declare, or as the wrong type, is a plugin bug:
 * g_critical (fatal under G_DEBUG=fatal-criticals and in unit tests), then 0/NULL. */
static const PropValue *get(const MosaicProps *p, const char *key, guint types)
{
    g_return_val_if_fail(p != NULL && key != NULL, NULL);
    const PropValue *v = config_props_lookup(p, key);
    if (!v) {
        g_critical("plugin bug: key '%s' is not declared for [%s%s%s]", key, p->kind,
                   p->label ? " " : "", p->label ? p->label : "");
        return NULL;
    }
    if (!(types & (1u << v->desc->type))) {
        g_critical("plugin bug: key '%s' of [%s] is a %s", key, p->kind,
                   config_prop_type_name(v->desc->type));
        return NULL;
    }
    return v->set ? v : NULL;
}

#define T(x) (1u << MOSAIC_PROP_##x)

MOSAIC_API const char *mosaic_props_label(const MosaicProps *p)
{
    g_return_val_if_fail(p != NULL, NULL);
    return p->label;
}

MOSAIC_API const char *mosaic_props_kind(const MosaicProps *p)
{
    g_return_val_if_fail(p != NULL, NULL);
    return p->kind;
}

MOSAIC_API bool mosaic_props_has(const MosaicProps *p, const char *key)
{
    g_return_val_if_fail(p != NULL && key != NULL, false);
    const PropValue *v = config_props_lookup(p, key);
    return v && v->set;
}

MOSAIC_API bool mosaic_props_get_bool(const MosaicProps *p, const char *key)
{
    const PropValue *v = get(p, key, T(BOOL));
    return v ? v->v.b : false;
}

MOSAIC_API int64_t mosaic_props_get_int(const MosaicProps *p, const char *key)
{
    const PropValue *v = get(p, key, T(INT));
    return v ? v->v.i : 0;
}

MOSAIC_API uint64_t mosaic_props_get_uint(const MosaicProps *p, const char *key)
{
    const PropValue *v = get(p, key, T(UINT) | T(SIZE) | T(RATE));
    return v ? v->v.u : 0;
}

MOSAIC_API const char *mosaic_props_get_str(const MosaicProps *p, const char *key)
{
    const PropValue *v = get(p, key, T(STRING) | T(ENUM) | T(REF) | T(PATH));
    return v ? v->text : NULL;
}

MOSAIC_API const char *mosaic_props_where(const MosaicProps *p, const char *key)
{
    g_return_val_if_fail(p != NULL, NULL);
    const PropValue *v = key ? config_props_lookup(p, key) : NULL;
    return v && v->set && !v->defaulted ? v->where : p->where;
}
