/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Walking the registry by kind, and monitor commands declared in plugin descriptors: checked at scan time and listed
 * without running plugin code (the monitor loads the plugin on the first call).
 * The table is an array of MosaicCommandDesc as the plugin was built: its stride is
 * the plugin's sizeof, read from the first entry's size field, so a table built
 * against another minor is walked correctly. */
#include <string.h>
#include <mosaic/monitor.h>
#include "plugin/plugin-internal.h"

#define CMD_MIN_SIZE (offsetof(MosaicCommandDesc, handler) + sizeof(void *))

static size_t stride(const MosaicCommandDesc *cmds)
{
    return cmds[0].size;
}

static const MosaicCommandDesc *at(const MosaicCommandDesc *cmds, unsigned i)
{
    return (const MosaicCommandDesc *)((const char *)cmds + (size_t)i * stride(cmds));
}

gboolean plugin_commands_check(const MosaicCommandDesc *cmds, char **reason, char **hint)
{
    if (!cmds || !cmds[0].name)
        return TRUE;
    if (cmds[0].size < CMD_MIN_SIZE || cmds[0].size > 4096) {
        *reason = g_strdup_printf("declared command table has %u-byte entries, ABI 1.1 needs %zu",
                                  cmds[0].size, (size_t)CMD_MIN_SIZE);
        *hint = g_strdup("set .size = sizeof(MosaicCommandDesc) in every entry");
        return FALSE;
    }
    for (unsigned i = 0; at(cmds, i)->name; i++) {
        const MosaicCommandDesc *c = at(cmds, i);
        const char *bad = i >= PLUGIN_MAX_COMMANDS ? "too many (end the table with {0})"
                          : c->size != cmds[0].size ? "entry size differs from the first"
                          : !c->handler             ? "no handler"
                                                    : NULL;
        if (bad) {
            *reason = g_strdup_printf("declared command %u ('%.64s'): %s", i, c->name, bad);
            *hint = g_strdup("fix the .commands table of MOSAIC_PLUGIN(...)");
            return FALSE;
        }
    }
    return TRUE;
}

void plugin_registry_foreach_command(PluginCommandFn *fn, void *opaque)
{
    GPtrArray *a = plugin_registry_entries();
    for (guint i = 0; i < a->len; i++) {
        PluginEntry *e = a->pdata[i];
        const MosaicPluginDesc *d = plugin_entry_desc(e);
        if (e->state == PLUGIN_REFUSED || !d->commands || !d->commands[0].name)
            continue;
        for (unsigned k = 0; at(d->commands, k)->name; k++)
            fn(d, at(d->commands, k), opaque);
    }
}

void plugin_registry_foreach_kind(MosaicPluginKind kind, gboolean loaded_only, PluginFn *fn,
                                  void *opaque)
{
    GPtrArray *a = plugin_registry_entries();
    for (guint i = 0; i < a->len; i++) {
        PluginEntry *e = a->pdata[i];
        if (e->state != PLUGIN_REFUSED && e->kind == kind && (e->init_done || !loaded_only))
            fn(plugin_entry_desc(e), opaque);
    }
}
