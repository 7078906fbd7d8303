/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals of the plugin registry shared by its files (and the loader unit tests). */
#ifndef MOSAIC_CORE_PLUGIN_INTERNAL_H
#define MOSAIC_CORE_PLUGIN_INTERNAL_H

#include <stdio.h>
#include "plugin/registry.h"

/* Every field of ABI 1.0 must be present: a shorter descriptor is refused. */
#define PLUGIN_DESC_MIN_SIZE (offsetof(MosaicPluginDesc, ops) + sizeof(const void *))
/* magic, abi_major, abi_minor, size: the part read before anything else. */
#define PLUGIN_DESC_HEADER_SIZE (offsetof(MosaicPluginDesc, size) + sizeof(uint32_t))

typedef enum PluginState {
    PLUGIN_AVAILABLE, /* descriptor accepted, init not run yet */
    PLUGIN_LOADED,    /* init ran and succeeded (or there is none) */
    PLUGIN_REFUSED,   /* at scan, or init failed: never called again */
    PLUGIN_BUILTIN,   /* compiled into the core */
} PluginState;

typedef struct PluginEntry {
    char *path;                /* NULL for builtins */
    MosaicPluginKind kind;     /* 0 when not known (refused before the descriptor) */
    char *kind_str;            /* "accel", or the kind guessed from the file name */
    char *name;                /* from the descriptor, else guessed from the file name */
    char *version;             /* NULL when unknown */
    unsigned abi_major, abi_minor;
    gboolean abi_known;
    PluginState state;
    gboolean init_done;        /* init ran (successfully or not) */
    char *reason;              /* PLUGIN_REFUSED: why */
    char *hint;                /* PLUGIN_REFUSED: what to do, may be NULL */
    MosaicPluginDesc desc;     /* zero-filled copy of min(plugin's size, ours) */
    const MosaicPluginDesc *builtin; /* PLUGIN_BUILTIN: the core's own descriptor */
    void *ops_copy;            /* zero-filled full-size copy of the kind's ops table */
    void *tables_copy;         /* desc.props and desc.sections, with the core's element sizes */
} PluginEntry;

/* Per-kind facts.  ops_size is the core's sizeof of the kind's ops struct (0: the
 * loader does not copy the table); ops_min_size the smallest table it accepts. */
typedef gboolean PluginOpsCheck(const void *ops, GError **err);
typedef struct PluginKindInfo {
    MosaicPluginKind kind;
    const char *name;
    uint32_t kind_abi;   /* the version this core implements */
    gboolean needs_ops;
    size_t ops_size;
    size_t ops_min_size;
    PluginOpsCheck *check; /* mandatory ops; NULL: only ops != NULL and size != 0 */
} PluginKindInfo;

const PluginKindInfo *plugin_kind_info(MosaicPluginKind kind);
/* "block-filter" -> MOSAIC_KIND_BLOCK_FILTER; 0 when unknown. */
MosaicPluginKind plugin_kind_from_name(const char *name);
/* "accel, machine, device, ..." for error messages. */
const char *plugin_kind_list(void);
gboolean plugin_name_valid(const char *name);

/* Validates a descriptor read from a symbol of `sym_size` bytes (G_MAXSIZE when
 * unknown) found in the file `basename`.  On success fills *out (zero-filled copy,
 * its props and sections pointing into *tables_copy), *ops_copy (g_malloc'd copy of
 * the ops table, or NULL) and *tables_copy (g_malloc'd).  On failure sets *reason and
 * *hint (hint may be NULL) and fills in out->kind/out->name when known; what it set in
 * *ops_copy and *tables_copy is still the caller's to free. */
gboolean plugin_desc_check(const void *sym, size_t sym_size, const char *basename,
                           MosaicPluginDesc *out, void **ops_copy, void **tables_copy,
                           char **reason, char **hint);
/* The descriptor's props and sections tables (elements of the plugin's sizes) copied
 * into one g_malloc'd *block with the core's element sizes; d's pointers moved there. */
gboolean plugin_tables_copy(MosaicPluginDesc *d, void **block, char **reason, char **hint);
/* Version rule, separated so a core with another minor can be simulated in tests. */
gboolean plugin_abi_check(unsigned plugin_major, unsigned plugin_minor, unsigned core_major,
                          unsigned core_minor, char **reason, char **hint);

/* Scanning directories exactly as given (no environment, no defaults). */
void plugin_registry_scan_dirs(const char *const *dirs);
/* Opens one file and reads its descriptor into a new entry (no registry change). */
PluginEntry *plugin_entry_from_file(const char *path);
/* Loads one file (scan step) and adds its entry, refusing duplicates. */
PluginEntry *plugin_registry_scan_file(const char *path);
/* The directories plugin_registry_init() scans, in order (NULL-terminated, g_strfreev). */
char **plugin_registry_search_path(const char *const *extra_paths);
/* Forgets every entry (tests).  Shared objects stay loaded: nothing is ever unloaded. */
void plugin_registry_reset(void);
/* Entries in scan order (builtins first); the array belongs to the registry. */
GPtrArray *plugin_registry_entries(void);
PluginEntry *plugin_registry_lookup(MosaicPluginKind kind, const char *name);
/* The descriptor of an entry: the core's own for builtins, else the checked copy. */
const MosaicPluginDesc *plugin_entry_desc(PluginEntry *e);
/* Scan-time check of a descriptor's declared monitor commands (declared.c): sizes,
 * names and handlers, at most PLUGIN_MAX_COMMANDS of them. */
#define PLUGIN_MAX_COMMANDS 256
gboolean plugin_commands_check(const MosaicCommandDesc *cmds, char **reason, char **hint);

/* Where the refusal message goes (default stderr; NULL: nowhere). */
void plugin_registry_set_log(FILE *out);
/* "mosaic: PATH: KIND plugin 'NAME' refused: REASON (HINT)" */
char *plugin_entry_refusal_line(const PluginEntry *e);

#endif
