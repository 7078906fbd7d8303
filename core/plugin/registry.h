/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Plugin registry (internal to the core): scanning, lookup, policy, loading. */
#ifndef MOSAIC_CORE_PLUGIN_REGISTRY_H
#define MOSAIC_CORE_PLUGIN_REGISTRY_H

#include <stdio.h>
#include <glib.h>
#include <mosaic/plugin.h>

/* Search order: extra_paths (--plugin-path, in order), $MOSAIC_PLUGIN_PATH, the build
 * tree when running from it, the installed directory.  Scans descriptors only. */
void plugin_registry_init(const char *const *extra_paths);
/* Types compiled into the core (file/raw drivers, virtio-blk, ...): always available,
 * shown as "builtin" by --list-plugins, subject to the same policy. */
void plugin_registry_add_builtin(const MosaicPluginDesc *desc);
/* A type by kind and name; for MOSAIC_KIND_BLOCK it also finds BLOCK_FILTER plugins.
 * NULL + err ("no accel plugin 'foo' (available: tcg, kvm)") when unknown or refused. */
const MosaicPluginDesc *plugin_registry_find(MosaicPluginKind kind, const char *name, GError **err);
/* The plugin that declares section kind `kind` in its `sections`, or NULL. */
const MosaicPluginDesc *plugin_registry_find_section_owner(const char *kind,
                                                           const MosaicSectionDesc **section);
/* Checks the deployment policy, loads the plugin if needed and runs its init once.
 * `needed_at` is "file:line" of the key that needs it, for the error message. */
gboolean plugin_registry_require(const MosaicPluginDesc *desc, const char *needed_at, GError **err);

const char *plugin_kind_name(MosaicPluginKind kind); /* "accel", "block-filter", ... */

/* Monitor commands declared in the descriptors of plugins that are not refused (in
 * scan order), read without running plugin code; `cmd` is the plugin's own entry,
 * at least as large as ABI 1.1's MosaicCommandDesc (the scan refused shorter ones). */
typedef void PluginCommandFn(const MosaicPluginDesc *plugin, const MosaicCommandDesc *cmd,
                             void *opaque);
void plugin_registry_foreach_command(PluginCommandFn *fn, void *opaque);
/* Plugins of one kind that are not refused, in scan order (debug front ends, exports);
 * only those whose init ran when `loaded_only`. */
typedef void PluginFn(const MosaicPluginDesc *plugin, void *opaque);
void plugin_registry_foreach_kind(MosaicPluginKind kind, gboolean loaded_only, PluginFn *fn,
                                  void *opaque);

/* Errors of the registry and the deployment policy. */
#define PLUGIN_ERROR plugin_error_quark()
GQuark plugin_error_quark(void);
typedef enum PluginError {
    PLUGIN_ERROR_NOT_FOUND, /* no such plugin */
    PLUGIN_ERROR_REFUSED,   /* refused at scan or by a failed init */
    PLUGIN_ERROR_DISABLED,  /* denied by the deployment policy */
    PLUGIN_ERROR_POLICY,    /* bad policy file */
    PLUGIN_ERROR_THREAD,    /* loading off the main thread */
} PluginError;

/* Exactly the directories given, nothing else (tests, tools). */
void plugin_registry_init_dirs(const char *const *dirs);

/* --list-plugins: a table (NAME KIND VERSION ABI PATH STATE) or JSON. */
void plugin_registry_list(FILE *out, gboolean json);

/* `mosaic plugins enable|disable|list ...`: argv[0] is "plugins".  Returns the exit
 * status (0 ok, 1 failure, 2 usage). */
int plugin_cli_main(int argc, char **argv);

#endif
