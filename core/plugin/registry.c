/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plugin registry: every plugin found (or compiled in), its state, lookup, and
 * the one place where plugin init runs. */
#include <string.h>
#include "plugin/error.h"
#include "plugin/plugin-internal.h"
#include "plugin/policy.h"

static GPtrArray *entries;   /* PluginEntry*, in scan order */
static GThread *main_thread; /* loading happens on this thread only */
static FILE *log_out;
static gboolean log_set;

static void entry_free(gpointer p)
{
    PluginEntry *e = p;
    g_free(e->path);
    g_free(e->kind_str);
    g_free(e->name);
    g_free(e->version);
    g_free(e->reason);
    g_free(e->hint);
    g_free(e->ops_copy);
    g_free(e->tables_copy);
    g_free(e);
}

static GPtrArray *all(void)
{
    if (!entries)
        entries = g_ptr_array_new_with_free_func(entry_free);
    if (!main_thread)
        main_thread = g_thread_self();
    return entries;
}

GPtrArray *plugin_registry_entries(void)
{
    return all();
}

void plugin_registry_reset(void)
{
    g_clear_pointer(&entries, g_ptr_array_unref);
}

void plugin_registry_set_log(FILE *out)
{
    log_out = out;
    log_set = TRUE;
}

char *plugin_entry_refusal_line(const PluginEntry *e)
{
    g_autofree char *hint = e->hint ? g_strdup_printf(" (%s)", e->hint) : g_strdup("");
    return g_strdup_printf("mosaic: %s: %s plugin '%s' refused: %s%s",
                           e->path ? e->path : "builtin", e->kind_str, e->name, e->reason, hint);
}

static void entry_refuse(PluginEntry *e, char *reason, char *hint)
{
    e->state = PLUGIN_REFUSED;
    g_free(e->reason);
    g_free(e->hint);
    e->reason = reason;
    e->hint = hint;
}

static void log_refusal(const PluginEntry *e)
{
    FILE *out = log_set ? log_out : stderr;
    if (!out)
        return;
    g_autofree char *line = plugin_entry_refusal_line(e);
    fprintf(out, "%s\n", line);
    fflush(out);
}

static gboolean kind_matches(MosaicPluginKind want, MosaicPluginKind have)
{
    return want == have || (want == MOSAIC_KIND_BLOCK && have == MOSAIC_KIND_BLOCK_FILTER);
}

/* The usable (not refused) entry of that kind and name. */
PluginEntry *plugin_registry_lookup(MosaicPluginKind kind, const char *name)
{
    GPtrArray *a = all();
    for (guint i = 0; i < a->len; i++) {
        PluginEntry *e = a->pdata[i];
        if (e->state != PLUGIN_REFUSED && e->kind == kind && strcmp(e->name, name) == 0)
            return e;
    }
    return NULL;
}

static PluginEntry *find_path(const char *path)
{
    GPtrArray *a = all();
    for (guint i = 0; i < a->len; i++) {
        PluginEntry *e = a->pdata[i];
        if (e->path && strcmp(e->path, path) == 0)
            return e;
    }
    return NULL;
}

PluginEntry *plugin_registry_scan_file(const char *path)
{
    PluginEntry *e = find_path(path);
    if (e)
        return e; /* scanned already */
    e = plugin_entry_from_file(path);
    if (e->state == PLUGIN_AVAILABLE) {
        /* The first one found wins: earlier directories override later ones. */
        PluginEntry *first = plugin_registry_lookup(e->kind, e->name);
        if (first)
            entry_refuse(e, g_strdup_printf("duplicate of %s", first->path ? first->path : "builtin"),
                         g_strdup("remove one of them"));
    }
    g_ptr_array_add(all(), e);
    if (e->state == PLUGIN_REFUSED)
        log_refusal(e);
    return e;
}

void plugin_registry_init_dirs(const char *const *dirs)
{
    all();
    plugin_registry_scan_dirs(dirs);
}

void plugin_registry_init(const char *const *extra_paths)
{
    g_auto(GStrv) dirs = plugin_registry_search_path(extra_paths);
    plugin_registry_init_dirs((const char *const *)dirs);
}

void plugin_registry_add_builtin(const MosaicPluginDesc *desc)
{
    PluginEntry *e = g_new0(PluginEntry, 1);
    e->kind = desc->kind;
    e->kind_str = g_strdup(plugin_kind_name(desc->kind));
    e->name = g_strdup(desc->name);
    e->version = g_strdup(desc->version ? desc->version : MOSAIC_VERSION);
    e->abi_major = desc->abi_major;
    e->abi_minor = desc->abi_minor;
    e->abi_known = TRUE;
    e->state = PLUGIN_BUILTIN;
    e->desc = *desc;
    e->builtin = desc;
    /* A builtin wins over a file of the same kind and name, whenever it is added. */
    PluginEntry *file = plugin_registry_lookup(desc->kind, desc->name);
    if (file && file->state != PLUGIN_BUILTIN) {
        entry_refuse(file, g_strdup("duplicate of builtin"), g_strdup("remove the file"));
        log_refusal(file);
    }
    g_ptr_array_add(all(), e);
}

static char *available_names(MosaicPluginKind kind)
{
    GString *s = g_string_new(NULL);
    GPtrArray *a = all();
    for (guint i = 0; i < a->len; i++) {
        PluginEntry *e = a->pdata[i];
        if (e->state != PLUGIN_REFUSED && kind_matches(kind, e->kind))
            g_string_append_printf(s, "%s%s", s->len ? ", " : "", e->name);
    }
    return g_string_free(s, FALSE);
}

static const MosaicPluginDesc *entry_desc(PluginEntry *e)
{
    return e->builtin ? e->builtin : &e->desc;
}

const MosaicPluginDesc *plugin_entry_desc(PluginEntry *e)
{
    return entry_desc(e);
}

const MosaicPluginDesc *plugin_registry_find(MosaicPluginKind kind, const char *name,
                                             GError **err)
{
    GPtrArray *a = all();
    PluginEntry *refused = NULL;
    for (guint i = 0; i < a->len; i++) {
        PluginEntry *e = a->pdata[i];
        if (!kind_matches(kind, e->kind) || strcmp(e->name, name) != 0)
            continue;
        if (e->state != PLUGIN_REFUSED)
            return entry_desc(e);
        refused = refused ? refused : e;
    }
    if (refused) {
        g_set_error(err, PLUGIN_ERROR, PLUGIN_ERROR_REFUSED, "%s plugin '%s' (%s) was refused: %s",
                    plugin_kind_name(kind), name, refused->path ? refused->path : "builtin",
                    refused->reason);
        return NULL;
    }
    g_autofree char *avail = available_names(kind);
    g_set_error(err, PLUGIN_ERROR, PLUGIN_ERROR_NOT_FOUND, "no %s plugin '%s' (available: %s)",
                plugin_kind_name(kind), name, *avail ? avail : "none");
    return NULL;
}

const MosaicPluginDesc *plugin_registry_find_section_owner(const char *kind,
                                                           const MosaicSectionDesc **section)
{
    GPtrArray *a = all();
    for (guint i = 0; i < a->len; i++) {
        PluginEntry *e = a->pdata[i];
        const MosaicPluginDesc *d = entry_desc(e);
        if (e->state == PLUGIN_REFUSED || !d->sections)
            continue;
        for (const MosaicSectionDesc *s = d->sections; s->kind; s++) {
            if (strcmp(s->kind, kind) == 0) {
                if (section)
                    *section = s;
                return d;
            }
        }
    }
    return NULL;
}

static PluginEntry *entry_of(const MosaicPluginDesc *desc)
{
    GPtrArray *a = all();
    for (guint i = 0; i < a->len; i++) {
        PluginEntry *e = a->pdata[i];
        if (entry_desc(e) == desc)
            return e;
    }
    return NULL;
}

/* init runs once; a failure refuses the plugin for the rest of the run. */
static gboolean run_init(PluginEntry *e, GError **err)
{
    const MosaicPluginDesc *d = entry_desc(e);
    e->init_done = TRUE;
    if (d->init) {
        MosaicError merr = MOSAIC_ERROR_INIT;
        if (!d->init(&merr)) {
            g_autoptr(GError) pe = plugin_error_take(&merr, "init");
            entry_refuse(e, g_strdup_printf("init failed: %s", pe->message), NULL);
            log_refusal(e);
            return FALSE;
        }
        plugin_error_clear(&merr);
    }
    if (e->state == PLUGIN_AVAILABLE)
        e->state = PLUGIN_LOADED;
    return TRUE;
}

gboolean plugin_registry_require(const MosaicPluginDesc *desc, const char *needed_at,
                                 GError **err)
{
    g_autofree char *by = needed_at ? g_strdup_printf("; needed by %s", needed_at) : g_strdup("");
    PluginEntry *e = desc ? entry_of(desc) : NULL;
    if (!e) {
        g_set_error(err, PLUGIN_ERROR, PLUGIN_ERROR_NOT_FOUND, "unknown plugin descriptor%s", by);
        return FALSE;
    }
    if (g_thread_self() != main_thread) {
        g_set_error(err, PLUGIN_ERROR, PLUGIN_ERROR_THREAD,
                    "plugin '%s-%s' must be loaded on the main thread%s", e->kind_str, e->name, by);
        return FALSE;
    }
    if (e->state != PLUGIN_REFUSED) {
        g_autofree char *where = NULL, *rule = NULL;
        if (!plugin_policy_allows(e->kind_str, e->name, &where, &rule)) {
            g_set_error(err, PLUGIN_ERROR, PLUGIN_ERROR_DISABLED,
                        "plugin '%s-%s' is disabled by %s (%s)%s", e->kind_str, e->name, where,
                        rule, by);
            return FALSE;
        }
        if (e->init_done || run_init(e, err))
            return TRUE;
    }
    g_set_error(err, PLUGIN_ERROR, PLUGIN_ERROR_REFUSED, "%s plugin '%s' (%s) is refused: %s%s",
                e->kind_str, e->name, e->path ? e->path : "builtin", e->reason, by);
    return FALSE;
}
