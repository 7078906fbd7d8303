/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Descriptor validation: everything the loader decides from the bytes of
 * `mosaic_plugin` alone.  Nothing here calls plugin code. */
#include <string.h>
#include <mosaic/mosaic.h>
#include "plugin/plugin-internal.h"

#define SDK_HINT "rebuild it against mosaic-sdk " G_STRINGIFY(MOSAIC_ABI_MAJOR)

static gboolean refuse(char **reason, char **hint, char *r, const char *h)
{
    *reason = r;
    *hint = h ? g_strdup(h) : NULL;
    return FALSE;
}

gboolean plugin_abi_check(unsigned plugin_major, unsigned plugin_minor, unsigned core_major,
                          unsigned core_minor, char **reason, char **hint)
{
    if (plugin_major == core_major && plugin_minor <= core_minor)
        return TRUE;
    char *r = g_strdup_printf("built for ABI %u.%u, this core is %u.%u", plugin_major,
                              plugin_minor, core_major, core_minor);
    if (plugin_major != core_major)
        return refuse(reason, hint, r, SDK_HINT);
    return refuse(reason, hint, r, "rebuild it against this core's mosaic-sdk or upgrade mosaic");
}

static gboolean string_field(const char *value, const char *field, char **reason, char **hint)
{
    if (value && *value)
        return TRUE;
    return refuse(reason, hint, g_strdup_printf("missing .%s", field),
                  "set it in MOSAIC_PLUGIN(...)");
}

/* The per-kind ops table: its own size first, mandatory ops non-NULL. */
static gboolean ops_check(const PluginKindInfo *k, const void *ops, void **ops_copy,
                          char **reason, char **hint)
{
    if (!ops) {
        if (!k->needs_ops)
            return TRUE;
        return refuse(reason, hint, g_strdup_printf("missing .ops"),
                      "every plugin of this kind needs its ops table");
    }
    uint32_t size;
    memcpy(&size, ops, sizeof(size));
    if (size == 0 || size < k->ops_min_size)
        return refuse(reason, hint,
                      g_strdup_printf("ops table is %u bytes, %s ABI %u needs at least %zu", size,
                                      k->name, k->kind_abi, MAX(k->ops_min_size, (size_t)1)),
                      "set .size = sizeof(the ops struct)");
    const void *checked = ops;
    if (k->ops_size) {
        /* Copy min(sizes), zero-fill the rest: ops the plugin predates read as NULL. */
        *ops_copy = g_malloc0(k->ops_size);
        memcpy(*ops_copy, ops, MIN((size_t)size, k->ops_size));
        ((uint32_t *)*ops_copy)[0] = (uint32_t)k->ops_size;
        checked = *ops_copy;
    }
    g_autoptr(GError) err = NULL;
    if (k->check && !k->check(checked, &err)) {
        g_clear_pointer(ops_copy, g_free);
        return refuse(reason, hint, g_strdup(err->message),
                      k->kind == MOSAIC_KIND_ACCEL    ? "an accel plugin must implement it"
                      : k->kind == MOSAIC_KIND_MACHINE ? "a machine plugin must implement it"
                      : "a plugin of this kind must implement it");
    }
    return TRUE;
}

/* Fields after the header: kind, name, strings, ops. */
static gboolean body_check(const MosaicPluginDesc *d, const char *basename, void **ops_copy,
                           char **reason, char **hint)
{
    const PluginKindInfo *k = plugin_kind_info(d->kind);
    if (!k)
        return refuse(reason, hint, g_strdup_printf("unknown kind %u", d->kind),
                      "known kinds: accel, machine, device, block, block-filter, audio, net, "
                      "gpu, misc, debug, export; " SDK_HINT);
    if (!d->name)
        return refuse(reason, hint, g_strdup("missing .name"), "set it in MOSAIC_PLUGIN(...)");
    if (!plugin_name_valid(d->name))
        return refuse(reason, hint, g_strdup_printf("invalid name '%.64s'", d->name),
                      "names match [a-z0-9][a-z0-9-]*");
    g_autofree char *expected = g_strdup_printf("mosaic-%s-%s.so", k->name, d->name);
    if (basename && strcmp(basename, expected) != 0)
        return refuse(reason, hint,
                      g_strdup_printf("file name %s does not match the descriptor (%s)", basename,
                                      expected),
                      "rename the file or fix .kind/.name");
    if (d->kind_abi != k->kind_abi)
        return refuse(reason, hint,
                      g_strdup_printf("built for %s ABI %u, this core implements %s ABI %u",
                                      k->name, d->kind_abi, k->name, k->kind_abi),
                      SDK_HINT);
    if (!string_field(d->version, "version", reason, hint) ||
        !string_field(d->license, "license", reason, hint) ||
        !string_field(d->description, "description", reason, hint) ||
        !plugin_commands_check(d->commands, reason, hint))
        return FALSE;
    return ops_check(k, d->ops, ops_copy, reason, hint);
}

gboolean plugin_desc_check(const void *sym, size_t sym_size, const char *basename,
                           MosaicPluginDesc *out, void **ops_copy, void **tables_copy,
                           char **reason, char **hint)
{
    memset(out, 0, sizeof(*out));
    *ops_copy = NULL;
    *tables_copy = NULL;
    /* Read the four frozen fields first; never past the symbol's own size. */
    if (sym_size < PLUGIN_DESC_HEADER_SIZE)
        return refuse(reason, hint,
                      g_strdup_printf("descriptor is %zu bytes, shorter than its %zu-byte header",
                                      sym_size, (size_t)PLUGIN_DESC_HEADER_SIZE),
                      "define it with MOSAIC_PLUGIN(...)");
    MosaicPluginDesc h = { 0 };
    memcpy(&h, sym, PLUGIN_DESC_HEADER_SIZE);
    if (h.magic != MOSAIC_PLUGIN_MAGIC)
        return refuse(reason, hint,
                      g_strdup_printf("bad magic 0x%08x (expected 0x%08x)", h.magic,
                                      MOSAIC_PLUGIN_MAGIC),
                      "not a mosaic plugin descriptor; define it with MOSAIC_PLUGIN(...)");
    out->abi_major = h.abi_major;
    out->abi_minor = h.abi_minor;
    if (!plugin_abi_check(h.abi_major, h.abi_minor, MOSAIC_ABI_MAJOR, MOSAIC_ABI_MINOR, reason,
                          hint))
        return FALSE;
    if (h.size < PLUGIN_DESC_MIN_SIZE)
        return refuse(reason, hint,
                      g_strdup_printf("descriptor is %u bytes, ABI %u.0 needs at least %zu", h.size,
                                      (unsigned)MOSAIC_ABI_MAJOR, (size_t)PLUGIN_DESC_MIN_SIZE),
                      "define it with MOSAIC_PLUGIN(...), which sets .size");
    if (h.size > sym_size)
        return refuse(reason, hint,
                      g_strdup_printf("descriptor claims %u bytes but the symbol has %zu", h.size,
                                      sym_size),
                      "define it with MOSAIC_PLUGIN(...), which sets .size");
    memcpy(out, sym, MIN((size_t)h.size, sizeof(*out)));
    out->size = sizeof(*out);
    return body_check(out, basename, ops_copy, reason, hint) &&
           plugin_tables_copy(out, tables_copy, reason, hint);
}
