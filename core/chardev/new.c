/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Creating chardevs from [chardev L] sections (their keys: chardev_props, config/sections.c)
 * and the registry. */
#include <string.h>

#include "chardev/chardev-internal.h"

MosaicChardev *chardev_new_opts(const ChardevOpts *o, GError **err)
{
    MosaicChardev *cd = chardev_alloc(o->label, o->backend);
    if (!chardev_open_backend(cd, o, err)) {
        chardev_free(cd);
        return NULL;
    }
    return cd;
}

/* Reads a key only if the section declares it (config may use an older table). */
static const char *str_or_null(const MosaicProps *p, const char *key)
{
    return mosaic_props_has(p, key) ? mosaic_props_get_str(p, key) : NULL;
}

static bool bool_or(const MosaicProps *p, const char *key, bool def)
{
    return mosaic_props_has(p, key) ? mosaic_props_get_bool(p, key) : def;
}

MosaicChardev *chardev_new(const MosaicProps *props, GError **err)
{
    static const char *names[] = {"stdio", "file", "socket", "pty"};
    const char *be = str_or_null(props, "backend");
    ChardevOpts o = {.label = mosaic_props_label(props)};
    guint i;
    for (i = 0; i < G_N_ELEMENTS(names); i++)
        if (be && !strcmp(be, names[i]))
            break;
    if (i == G_N_ELEMENTS(names)) {
        g_set_error(err, CHARDEV_ERROR, 0, "%s: [chardev %s] backend = %s: unknown (use stdio, "
                    "file, socket or pty)", mosaic_props_where(props, "backend"), o.label,
                    be ? be : "(none)");
        return NULL;
    }
    o.backend = (ChardevBackend)i;
    o.path = str_or_null(props, "path");
    o.server = bool_or(props, "server", false);
    o.wait = bool_or(props, "wait", true);
    o.append = bool_or(props, "append", false);
    o.logfile = str_or_null(props, "logfile");
    GError *e = NULL;
    MosaicChardev *cd = chardev_new_opts(&o, &e);
    if (!cd)
        g_propagate_prefixed_error(err, e, "%s: ", mosaic_props_where(props, NULL));
    return cd;
}

MosaicChardev *chardev_new_stdio(void)
{
    ChardevOpts o = {.label = "stdio", .backend = CHARDEV_STDIO};
    return chardev_new_opts(&o, NULL);
}

/* Registry: one per process (one machine per process). */
static GMutex reg_lock;
static GHashTable *registry; /* label -> MosaicChardev* (owned) */

bool chardev_registry_add(const char *label, MosaicChardev *cd)
{
    if (!label || !cd)
        return false; /* e.g. chardev_new_stdio() when stdio is already taken */
    g_mutex_lock(&reg_lock);
    if (!registry)
        registry = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify)chardev_free);
    bool ok = !g_hash_table_contains(registry, label);
    if (ok)
        g_hash_table_insert(registry, g_strdup(label), cd);
    g_mutex_unlock(&reg_lock);
    return ok;
}

MosaicChardev *chardev_registry_find(const char *label)
{
    g_mutex_lock(&reg_lock);
    MosaicChardev *cd = registry && label ? g_hash_table_lookup(registry, label) : NULL;
    g_mutex_unlock(&reg_lock);
    return cd;
}

void chardev_registry_clear(void)
{
    g_mutex_lock(&reg_lock);
    GHashTable *r = registry;
    registry = NULL;
    g_mutex_unlock(&reg_lock);
    if (r)
        g_hash_table_destroy(r);
}

MOSAIC_API MosaicChardev *mosaic_chardev_find(MosaicMachine *m, const char *label)
{
    return chardev_registry_find(label);
}
