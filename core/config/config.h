/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Machine files (internal to the core): INI text -> a typed, validated machine.
 *
 * Syntax (core/config/README.md has the user's view):
 *   [kind label]           a section; the label is absent for singletons ([machine], [accel])
 *   key = value            later assignments of the same key override earlier ones; two
 *                          sections with the same kind and label are one section
 *       more text          an indented line continues the previous key's value; the pieces
 *                          are joined with one space (inih's multi-line values)
 *   include = path         anywhere: reads the fragment (relative to the including file) at
 *                          that point; a fragment starts outside any section
 *   ; comment / # comment
 * Physical lines may be at most CONFIG_MAX_LINE_CHARS characters (Debian's inih limit).
 *
 * Command-line overrides (`--set`), applied after the whole file in the order given:
 *   kind.key=value          singleton section, e.g. machine.memory=1G
 *   kind.label.key=value    labelled section, e.g. blockdev.disk0.file=/tmp/x.img
 * An empty value (`machine.accel=`) removes the key, so its default applies.  Their
 * "file:line" is "--set:N", N counting the --set options from 1; PATH values given
 * there are relative to the current directory.
 *
 * Typical use:
 *   g_autoptr(MosaicConfig) cfg = config_load(path, sets, &err);
 *   if (!cfg || !config_validate(cfg, &err)) -> print "mosaic: %s", err->message
 */
#ifndef MOSAIC_CORE_CONFIG_H
#define MOSAIC_CORE_CONFIG_H

#include <glib.h>
#include <mosaic/props.h>

#define CONFIG_ERROR (config_error_quark())
GQuark config_error_quark(void);
typedef enum {
    CONFIG_ERROR_IO,      /* a file cannot be read */
    CONFIG_ERROR_SYNTAX,  /* INI syntax, overlong line, bad --set, include cycle */
    CONFIG_ERROR_SCHEMA,  /* unknown section/key/type, wrong value, missing key, references */
} ConfigErrorCode;

/* inih on Debian 12 reads lines into a 200-byte buffer (content, '\n', '\0'). */
#define CONFIG_MAX_LINE_CHARS 198

/* Bounds on the work one machine file can cause (with its includes); past them the
 * reader stops with file:line and the limit. */
#define CONFIG_MAX_FILES 256          /* files read, the top file included */
#define CONFIG_MAX_BYTES (16 << 20)   /* bytes read over all files */
#define CONFIG_MAX_SECTIONS 4096
#define CONFIG_MAX_KEYS 256           /* per section */
#define CONFIG_MAX_VALUE_CHARS 65536  /* a value with its continuation lines */

typedef struct MosaicConfig MosaicConfig;

/* Parses `path` with its includes, then applies `sets` (NULL-terminated, may be NULL).
 * Nothing is checked against the schema yet.  NULL + err (with file:line) on failure. */
MosaicConfig *config_load(const char *path, const char *const *sets, GError **err);
/* Same from text in memory; `name` is used as the file name in messages and for
 * resolving relative includes and paths. */
MosaicConfig *config_load_string(const char *name, const char *text, const char *const *sets,
                                 GError **err);
/* ---- Building a configuration in code ----
 * The INI reader makes its sections with these same calls, so a node described by code
 * (a backing file, a job's temporary node, blockdev-add) is validated exactly like one
 * read from a file, and its values never pass through INI syntax: a file name may hold
 * ';', '#' or any length.  Values are the text a machine file would hold ("on", "512M",
 * a label for a reference, a path).
 *   g_autoptr(MosaicConfig) c = config_new("backing file of disk0");
 *   ConfigSection *s = config_section_get(c, "blockdev", "b0", NULL, NULL);
 *   config_section_set(s, "driver", "file", NULL, NULL);
 *   config_section_set(s, "filename", path, NULL, NULL);
 *   config_section_set_bool(s, "read-only", TRUE);
 *   if (!config_validate(c, &err)) ...
 * `where` (what messages name; NULL: the section's, or the config's name for a section)
 * and `basedir` (relative paths; NULL: the section's, or the current directory, as for
 * --set) may be NULL. */
typedef struct ConfigSection ConfigSection;
MosaicConfig *config_new(const char *name);
/* The section [kind label] (label NULL: [kind]), made if new; the same one if it exists. */
ConfigSection *config_section_get(MosaicConfig *cfg, const char *kind, const char *label,
                                  const char *where, const char *basedir);
/* Sets `key`; a later call for the same key replaces the value. */
void config_section_set(ConfigSection *s, const char *key, const char *value, const char *where,
                        const char *basedir);
void config_section_set_len(ConfigSection *s, const char *key, const char *value, gsize len,
                            const char *where, const char *basedir);
void config_section_set_bool(ConfigSection *s, const char *key, gboolean value);
void config_section_set_uint(ConfigSection *s, const char *key, guint64 value);
/* [kind label] exists outside this configuration (a node already in the graph): other
 * sections may reference it; it is not validated, looked up or dumped. */
void config_section_external(MosaicConfig *cfg, const char *kind, const char *label);
/* The sections and values of `from` (not validated yet), to add to. */
MosaicConfig *config_copy(const MosaicConfig *from, const char *name);

/* Checks every section against its schema (section kinds, keys, types, ranges, selected
 * plugin types, references and reference cycles), fills in defaults and builds the
 * MosaicProps.  Stops at the first error; err says file:line.  Plugins are looked up with
 * plugin_registry_find only (descriptors), never loaded. */
gboolean config_validate(MosaicConfig *cfg, GError **err);
void config_free(MosaicConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MosaicConfig, config_free)

/* Lookups; valid after config_validate succeeded (before that they return 0/NULL).
 * Sections of a kind are in order of first appearance. */
guint config_count(const MosaicConfig *cfg, const char *kind);
const MosaicProps *config_get(const MosaicConfig *cfg, const char *kind, guint index);
const MosaicProps *config_find(const MosaicConfig *cfg, const char *kind, const char *label);
/* Every section in file order (index < number of sections, else NULL). */
const MosaicProps *config_nth(const MosaicConfig *cfg, guint index);
/* The plugin selected by a section (type=, driver=, [machine] accel for [accel]), or NULL. */
const MosaicPluginDesc *config_props_plugin(const MosaicProps *props);
struct MosaicMachineOps;
/* The accelerator of a [machine] section (accel-choice.c), recorded in it as a default
 * when it was not set; NULL + err when neither the board nor the installed plugins
 * decide it. */
const char *config_accel_name(MosaicProps *machine, const struct MosaicMachineOps *mops,
                              GError **err);
/* "file:line" where `key` was set (the section header when key is NULL or the key was
 * defaulted); NULL when there is no such section.  Works before validation too. */
const char *config_where(const MosaicConfig *cfg, const char *kind, const char *label,
                         const char *key);

/* The fully resolved machine (defaults included, paths absolute) as INI text that loads
 * back to the same configuration: config_dump(load(config_dump(c))) == config_dump(c).
 * Needs a validated config (NULL otherwise). */
char *config_dump(const MosaicConfig *cfg);

/* Human-readable description of a plugin type ("virtio-blk", "tcg", "qcow2"; looked up
 * across kinds, also "device:virtio-blk") or of a section kind ("machine", "chardev"):
 * every key with type, default, range, choices, flags and help.  NULL + err if unknown. */
char *config_describe(const char *type_kind_or_name, GError **err);
/* The same tables as JSON ({"sections": [...], "types": [...]}), for the man page
 * generator and the shell completion; "all" for everything (describe-json.c). */
char *config_describe_json(const char *type_kind_or_name, GError **err);

/* The keys of [chardev L] sections: backend, path, server, wait, append, logfile. */
extern const MosaicPropDesc chardev_props[];

/* Section kinds.  The core registers machine, accel, device, blockdev and chardev itself;
 * other subsystems register theirs ([export L], [monitor L], ...) at startup, before
 * config_validate.  Registering an existing kind replaces it (so the chardev code can
 * extend the table given here).
 *   selector_key: key whose value names the plugin type of the section (NULL: none)
 *   plugin_kind:  MosaicPluginKind of that plugin (0: none); the plugin's props are
 *                 added to common_props.  MOSAIC_KIND_BLOCK also finds block filters.
 *   common_props: keys every section of this kind has; {NULL}-terminated, static.
 *   singleton:    [kind] without a label; otherwise [kind LABEL] is required.
 * Plugins declare further kinds in MosaicPluginDesc.sections (label optional). */
void config_register_section(const char *kind, const char *selector_key, int plugin_kind,
                             const MosaicPropDesc *common_props, gboolean singleton);

#endif
