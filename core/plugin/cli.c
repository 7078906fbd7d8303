/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `mosaic plugins enable|disable NAME...` and `mosaic plugins list`.
 *
 * enable/disable edit the per-user policy file ($XDG_CONFIG_HOME/mosaic/plugins.ini):
 * they add `enable = NAME` or `disable = NAME` at the end of its [plugins] section
 * (last rule wins) and drop only earlier lines that say exactly `enable = NAME` or
 * `disable = NAME`, which the new line overrides.  Every other line and comment stays
 * byte for byte.  The file is replaced atomically. */
#include <errno.h>
#include <string.h>
#include "plugin/plugin-internal.h"
#include "plugin/policy.h"

static gboolean is_section(const char *line, const char **name_out)
{
    g_autofree char *s = g_strstrip(g_strdup(line));
    if (s[0] != '[')
        return FALSE;
    if (name_out)
        *name_out = strcmp(s, "[plugins]") == 0 ? "plugins" : "other";
    return TRUE;
}

/* Whether `line` is exactly `enable = NAME` or `disable = NAME` (spacing aside). */
static gboolean is_toggle_of(const char *line, const char *name)
{
    g_auto(GStrv) kv = g_strsplit(line, "=", 2);
    if (!kv[0] || !kv[1])
        return FALSE;
    const char *k = g_strstrip(kv[0]), *v = g_strstrip(kv[1]);
    return (strcmp(k, "enable") == 0 || strcmp(k, "disable") == 0) && strcmp(v, name) == 0;
}

/* The new contents; `text` is the old file (possibly empty). */
static char *edit_policy(const char *text, const char *name, gboolean enable)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint n = g_strv_length(lines);
    if (n && !*lines[n - 1])
        n--; /* the empty string after the final newline */
    GPtrArray *out = g_ptr_array_new();
    const char *section = NULL;
    int insert_at = -1; /* index in out after the last non-blank line of [plugins] */
    for (guint i = 0; i < n; i++) {
        const char *sname = NULL;
        if (is_section(lines[i], &sname))
            section = sname;
        else if (section && strcmp(section, "plugins") == 0 && is_toggle_of(lines[i], name))
            continue;
        g_ptr_array_add(out, lines[i]);
        g_autofree char *stripped = g_strstrip(g_strdup(lines[i]));
        if (section && strcmp(section, "plugins") == 0 && *stripped)
            insert_at = (int)out->len;
    }
    g_autofree char *rule = g_strdup_printf("%s = %s", enable ? "enable" : "disable", name);
    if (insert_at < 0) {
        if (out->len)
            g_ptr_array_add(out, "");
        g_ptr_array_add(out, "[plugins]");
        g_ptr_array_add(out, rule);
    } else {
        g_ptr_array_insert(out, insert_at, rule);
    }
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < out->len; i++)
        g_string_append_printf(s, "%s\n", (char *)out->pdata[i]);
    g_ptr_array_unref(out);
    return g_string_free(s, FALSE);
}

/* The file must be valid before and after: never write a policy that cannot load. */
static gboolean check_policy_text(const char *path, const char *text, GError **err)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    if (!f)
        return TRUE; /* empty text: fmemopen of size 0 fails on old libcs */
    g_autoptr(GPtrArray) rules = g_ptr_array_new_with_free_func(plugin_policy_rule_free);
    gboolean ok = plugin_policy_parse(f, path, rules, err);
    fclose(f);
    return ok;
}

static gboolean set_plugin(const char *name, gboolean enable, GError **err)
{
    g_autofree char *path = plugin_policy_user_file();
    g_autofree char *old = NULL;
    g_autoptr(GError) rerr = NULL;
    if (!g_file_get_contents(path, &old, NULL, &rerr)) {
        if (!g_error_matches(rerr, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            g_propagate_error(err, g_steal_pointer(&rerr));
            return FALSE;
        }
        old = g_strdup("");
    }
    if (!check_policy_text(path, old, err))
        return FALSE;
    g_autofree char *new_text = edit_policy(old, name, enable);
    if (!check_policy_text(path, new_text, err))
        return FALSE;
    g_autofree char *dir = g_path_get_dirname(path);
    if (g_mkdir_with_parents(dir, 0755) != 0) {
        g_set_error(err, PLUGIN_ERROR, PLUGIN_ERROR_POLICY, "%s: cannot create: %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    if (!g_file_set_contents(path, new_text, -1, err))
        return FALSE;
    printf("mosaic: %s: %s = %s\n", path, enable ? "enable" : "disable", name);
    return TRUE;
}

static int usage(void)
{
    fprintf(stderr, "usage: mosaic plugins enable NAME...\n"
                    "       mosaic plugins disable NAME...\n"
                    "       mosaic plugins list [--json] [--plugin-path DIR]...\n"
                    "NAME is a plugin name, KIND-NAME (as --list-plugins shows) or a glob (KIND-*).\n");
    return 2;
}

static int cli_list(int argc, char **argv)
{
    gboolean json = FALSE;
    g_autoptr(GPtrArray) paths = g_ptr_array_new();
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = TRUE;
        else if (strcmp(argv[i], "--plugin-path") == 0 && i + 1 < argc)
            g_ptr_array_add(paths, argv[++i]);
        else
            return usage();
    }
    g_ptr_array_add(paths, NULL);
    g_autoptr(GError) err = NULL;
    if (!plugin_policy_load_defaults(&err)) {
        fprintf(stderr, "mosaic: %s\n", err->message);
        return 1;
    }
    plugin_registry_init((const char *const *)paths->pdata);
    plugin_registry_list(stdout, json);
    return 0;
}

int plugin_cli_main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "list") == 0)
        return cli_list(argc, argv);
    gboolean enable = strcmp(argv[1], "enable") == 0;
    if ((!enable && strcmp(argv[1], "disable") != 0) || argc < 3)
        return usage();
    for (int i = 2; i < argc; i++) {
        g_autoptr(GError) err = NULL;
        const char *name = argv[i];
        if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-*?") != strlen(name)) {
            fprintf(stderr, "mosaic: invalid plugin name '%s' (use NAME, KIND-NAME or a glob such as KIND-*)\n",
                    name);
            return 2;
        }
        if (!set_plugin(name, enable, &err)) {
            fprintf(stderr, "mosaic: %s\n", err->message);
            return 1;
        }
    }
    return 0;
}
