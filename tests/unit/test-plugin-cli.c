/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `mosaic plugins enable|disable NAME`: edits the per-user policy file, keeps every
 * other line and comment, and the result loads. */
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include "plugin/plugin-internal.h"
#include "plugin/policy.h"

static char *tmp_dir;
static char *user_file;

static int cli(const char *a1, const char *a2)
{
    char *argv[] = { "plugins", (char *)a1, (char *)a2, NULL };
    return plugin_cli_main(a2 ? 3 : 2, argv);
}

static char *contents(void)
{
    char *text = NULL;
    g_assert_true(g_file_get_contents(user_file, &text, NULL, NULL));
    return text;
}

static gboolean allowed_after_load(const char *kind, const char *name)
{
    plugin_policy_reset();
    plugin_policy_set_system_file("/nonexistent/plugins.ini");
    g_autoptr(GError) err = NULL;
    g_assert_true(plugin_policy_load_defaults(&err));
    g_assert_no_error(err);
    return plugin_policy_allows(kind, name, NULL, NULL);
}

static void test_creates_file(void)
{
    g_remove(user_file);
    g_assert_cmpint(cli("disable", "accel-kvm"), ==, 0);
    g_autofree char *text = contents();
    g_assert_cmpstr(text, ==, "[plugins]\ndisable = accel-kvm\n");
    g_assert_false(allowed_after_load("accel", "kvm"));
    g_assert_cmpint(cli("enable", "accel-kvm"), ==, 0);
    g_autofree char *text2 = contents();
    g_assert_cmpstr(text2, ==, "[plugins]\nenable = accel-kvm\n");
    g_assert_true(allowed_after_load("accel", "kvm"));
}

static void test_keeps_user_lines(void)
{
    const char *before = "# my deployment\n"
                         "[plugins]\n"
                         "; GPUs are not for this box\n"
                         "deny = gpu-*, accel-kvm\n"
                         "disable = tcg\n"
                         "\n"
                         "# trailing comment\n";
    g_assert_true(g_file_set_contents(user_file, before, -1, NULL));
    g_assert_cmpint(cli("enable", "accel-kvm"), ==, 0);
    g_autofree char *after = contents();
    g_assert_cmpstr(after, ==, "# my deployment\n"
                               "[plugins]\n"
                               "; GPUs are not for this box\n"
                               "deny = gpu-*, accel-kvm\n"
                               "disable = tcg\n"
                               "\n"
                               "# trailing comment\n"
                               "enable = accel-kvm\n");
    g_assert_true(allowed_after_load("accel", "kvm"));
    g_assert_false(allowed_after_load("gpu", "virgl"));
    /* Enabling tcg replaces only the line that said exactly `disable = tcg`. */
    g_assert_cmpint(cli("enable", "tcg"), ==, 0);
    g_autofree char *after2 = contents();
    g_assert_cmpstr(after2, ==, "# my deployment\n"
                                "[plugins]\n"
                                "; GPUs are not for this box\n"
                                "deny = gpu-*, accel-kvm\n"
                                "\n"
                                "# trailing comment\n"
                                "enable = accel-kvm\n"
                                "enable = tcg\n");
    g_assert_true(allowed_after_load("accel", "tcg"));
}

static void test_section_elsewhere(void)
{
    /* A file without [plugins] gets one appended; other sections are untouched. */
    g_assert_true(g_file_set_contents(user_file, "; empty so far", -1, NULL));
    g_assert_cmpint(cli("disable", "gpu-*"), ==, 0);
    g_autofree char *after = contents();
    g_assert_cmpstr(after, ==, "; empty so far\n\n[plugins]\ndisable = gpu-*\n");
}

static void test_errors(void)
{
    g_assert_cmpint(cli("enable", NULL), ==, 2);
    g_assert_cmpint(cli("frobnicate", "x"), ==, 2);
    g_assert_cmpint(cli("enable", "Bad Name"), ==, 2);
    /* A broken user file is not rewritten: the user fixes it first. */
    const char *broken = "[plugins]\nalow = kvm\n";
    g_assert_true(g_file_set_contents(user_file, broken, -1, NULL));
    g_assert_cmpint(cli("enable", "kvm"), ==, 1);
    g_autofree char *after = contents();
    g_assert_cmpstr(after, ==, broken);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmp_dir = g_dir_make_tmp("test-plugin-cli-XXXXXX", NULL);
    g_setenv("XDG_CONFIG_HOME", tmp_dir, TRUE);
    g_unsetenv("MOSAIC_PLUGINS_CONF");
    user_file = g_build_filename(tmp_dir, "mosaic", "plugins.ini", NULL);
    g_test_add_func("/plugin/cli/creates-file", test_creates_file);
    g_test_add_func("/plugin/cli/keeps-user-lines", test_keeps_user_lines);
    g_test_add_func("/plugin/cli/section-elsewhere", test_section_elsewhere);
    g_test_add_func("/plugin/cli/errors", test_errors);
    int ret = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmp_dir);
    (void)!system(cmd);
    return ret;
}
