/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The deployment policy: rules from files and the command line, and the decision.
 *
 * Rules apply in order: files in the order read, lines in file order, then the
 * command line.  The last rule that matches a plugin decides.  When no rule matches,
 * the plugin is allowed, unless some `allow` or `allow-kinds` rule exists anywhere:
 * then anything not allowed is denied.  `enable`/`disable` (and the command line)
 * override without turning the policy into an allow list. */
#include <errno.h>
#include <string.h>
#include "plugin/plugin-internal.h"
#include "plugin/policy.h"

static GPtrArray *file_rules;    /* PolicyRule*, in the order read */
static GPtrArray *cmdline_rules; /* always after the files */
static char *system_file;

void plugin_policy_rule_free(gpointer p)
{
    PolicyRule *r = p;
    g_free(r->pattern);
    g_free(r->text);
    g_free(r->where);
    g_free(r);
}

static GPtrArray *rules(GPtrArray **a)
{
    if (!*a)
        *a = g_ptr_array_new_with_free_func(plugin_policy_rule_free);
    return *a;
}

void plugin_policy_append(GPtrArray *parsed)
{
    GPtrArray *a = rules(&file_rules);
    for (guint i = 0; i < parsed->len; i++)
        g_ptr_array_add(a, parsed->pdata[i]);
    g_ptr_array_set_free_func(parsed, NULL);
    g_ptr_array_unref(parsed);
}

void plugin_policy_reset(void)
{
    g_clear_pointer(&file_rules, g_ptr_array_unref);
    g_clear_pointer(&cmdline_rules, g_ptr_array_unref);
    g_clear_pointer(&system_file, g_free);
}

void plugin_policy_set_system_file(const char *path)
{
    g_free(system_file);
    system_file = g_strdup(path);
}

gboolean plugin_policy_add_file(const char *path, gboolean must_exist, GError **err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT && !must_exist)
            return TRUE;
        g_set_error(err, PLUGIN_ERROR, PLUGIN_ERROR_POLICY, "%s: cannot read plugin policy: %s",
                    path, g_strerror(errno));
        return FALSE;
    }
    /* All or nothing: a file with a bad line adds no rule. */
    GPtrArray *parsed = g_ptr_array_new_with_free_func(plugin_policy_rule_free);
    gboolean ok = plugin_policy_parse(f, path, parsed, err);
    fclose(f);
    if (ok)
        plugin_policy_append(parsed);
    else
        g_ptr_array_unref(parsed);
    return ok;
}

char *plugin_policy_user_file(void)
{
    /* Read the environment each time (g_get_user_config_dir caches it). */
    const char *xdg = g_getenv("XDG_CONFIG_HOME");
    if (xdg && g_path_is_absolute(xdg))
        return g_build_filename(xdg, "mosaic", "plugins.ini", NULL);
    const char *home = g_getenv("HOME");
    return g_build_filename(home && *home ? home : g_get_home_dir(), ".config", "mosaic",
                            "plugins.ini", NULL);
}

gboolean plugin_policy_load_defaults(GError **err)
{
    g_autofree char *user = plugin_policy_user_file();
    const char *env = g_getenv("MOSAIC_PLUGINS_CONF");
    return plugin_policy_add_file(system_file ? system_file : PLUGIN_POLICY_SYSTEM_FILE, FALSE,
                                  err) &&
           plugin_policy_add_file(user, FALSE, err) &&
           (!env || !*env || plugin_policy_add_file(env, TRUE, err));
}

void plugin_policy_cmdline(const char *name, gboolean enable)
{
    PolicyRule *r = g_new0(PolicyRule, 1);
    r->allow = enable;
    r->pattern = g_strdup(name);
    r->text = g_strdup_printf("%s %s", enable ? "--enable-plugin" : "--disable-plugin", name);
    r->where = g_strdup("the command line");
    g_ptr_array_add(rules(&cmdline_rules), r);
}

static gboolean rule_matches(const PolicyRule *r, const char *kind, const char *name,
                             const char *full)
{
    if (r->by_kind)
        return g_pattern_match_simple(r->pattern, kind);
    return g_pattern_match_simple(r->pattern, full) || g_pattern_match_simple(r->pattern, name);
}

/* The last matching rule of `a`, and the first allow-list rule. */
static void scan_rules(GPtrArray *a, const char *kind, const char *name, const char *full,
                       const PolicyRule **last, const PolicyRule **allowlist)
{
    for (guint i = 0; a && i < a->len; i++) {
        const PolicyRule *r = a->pdata[i];
        if (r->default_accel)
            continue;
        if (r->makes_allowlist && !*allowlist)
            *allowlist = r;
        if (rule_matches(r, kind, name, full))
            *last = r;
    }
}

const char *plugin_policy_default_accel(const char **where)
{
    const PolicyRule *last = NULL;
    for (guint i = 0; file_rules && i < file_rules->len; i++)
        if (((const PolicyRule *)file_rules->pdata[i])->default_accel)
            last = file_rules->pdata[i];
    if (where)
        *where = last ? last->where : NULL;
    return last ? last->pattern : NULL;
}

gboolean plugin_policy_allows(const char *kind, const char *name, char **where, char **rule)
{
    g_autofree char *full = g_strdup_printf("%s-%s", kind, name);
    const PolicyRule *last = NULL, *allowlist = NULL;
    scan_rules(file_rules, kind, name, full, &last, &allowlist);
    scan_rules(cmdline_rules, kind, name, full, &last, &allowlist);
    if (last ? last->allow : !allowlist)
        return TRUE;
    if (where)
        *where = g_strdup(last ? last->where : allowlist->where);
    if (rule)
        *rule = last ? g_strdup(last->text)
                     : g_strdup_printf("not matched by any allow rule, e.g. %s", allowlist->text);
    return FALSE;
}
