/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-deployment plugin policy: which plugins may be used here.
 *
 * Sources, read in this order (later rules win):
 *   /etc/mosaic/plugins.ini, $XDG_CONFIG_HOME/mosaic/plugins.ini (~/.config/...),
 *   $MOSAIC_PLUGINS_CONF, then --enable-plugin / --disable-plugin.
 * Format and semantics: sdk/README.md, "Deployment policy". */
#ifndef MOSAIC_CORE_PLUGIN_POLICY_H
#define MOSAIC_CORE_PLUGIN_POLICY_H

#include <stdio.h>
#include <glib.h>

#define PLUGIN_POLICY_SYSTEM_FILE "/etc/mosaic/plugins.ini"

/* Parses one policy file and appends its rules.  A missing file is an error only
 * when must_exist.  Errors name FILE:LINE. */
gboolean plugin_policy_add_file(const char *path, gboolean must_exist, GError **err);
/* The system file, the user's file, then $MOSAIC_PLUGINS_CONF (which must exist). */
gboolean plugin_policy_load_defaults(GError **err);
/* --enable-plugin NAME / --disable-plugin NAME: always applied after every file,
 * whenever it is called.  NAME is a pattern like in the files (kvm, accel-kvm, gpu-*). */
void plugin_policy_cmdline(const char *name, gboolean enable);

/* Whether plugin KIND NAME may be used.  When not: *where is "FILE:LINE" (or the
 * command-line option) of the deciding rule and *rule its text ("deny = accel-*").
 * Both may be NULL. */
gboolean plugin_policy_allows(const char *kind, const char *name, char **where, char **rule);

/* The deployment's accelerator default (`default-accel = NAME` in [plugins]; the last
 * one read wins), or NULL; *where: its "FILE:LINE".  Machine files that set no accel
 * use it before the board's default. */
const char *plugin_policy_default_accel(const char **where);

/* $XDG_CONFIG_HOME/mosaic/plugins.ini, or ~/.config/mosaic/plugins.ini. */
char *plugin_policy_user_file(void);
/* Tests: forget all rules; read `path` instead of /etc/mosaic/plugins.ini (NULL: default). */
void plugin_policy_reset(void);
void plugin_policy_set_system_file(const char *path);

/* Internal to core/plugin: one rule of the policy. */
typedef struct PolicyRule {
    gboolean allow;
    gboolean by_kind;        /* pattern matches the kind ("accel") */
    gboolean makes_allowlist; /* allow / allow-kinds: anything not allowed is denied */
    gboolean default_accel;  /* not a rule: `default-accel = NAME` (pattern: the name) */
    char *pattern;
    char *text;              /* "deny = accel-*" */
    char *where;             /* "FILE:LINE" or "the command line" */
} PolicyRule;
/* Takes ownership of the rules (PolicyRule*) of one parsed file, appended in order. */
void plugin_policy_append(GPtrArray *rules);
void plugin_policy_rule_free(gpointer rule);
/* Parses a policy file into rules; FALSE + err naming FILE:LINE on any bad line. */
gboolean plugin_policy_parse(FILE *f, const char *path, GPtrArray *rules, GError **err);
#endif
