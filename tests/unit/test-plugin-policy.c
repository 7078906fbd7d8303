/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Deployment policy: allow/deny by name, KIND-NAME, kind and glob; rule order; file
 * order and the command line; errors naming FILE:LINE; the message of a machine that
 * needs a disabled plugin. */
#include <glib/gstdio.h>
#include <mosaic/mosaic.h>
#include <stdlib.h>
#include <string.h>
#include "plugin/plugin-internal.h"
#include "plugin/policy.h"

static char *tmp_dir;

static char *write_file(const char *name, const char *text)
{
    char *path = g_build_filename(tmp_dir, name, NULL);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    return path;
}

/* Loads `text` as the only policy file; returns its path. */
static char *policy(const char *text)
{
    plugin_policy_reset();
    char *path = write_file("plugins.ini", text);
    g_autoptr(GError) err = NULL;
    g_assert_true(plugin_policy_add_file(path, TRUE, &err));
    g_assert_no_error(err);
    return path;
}

static gboolean allows(const char *kind, const char *name)
{
    return plugin_policy_allows(kind, name, NULL, NULL);
}

/* "WHERE (RULE)" of a denial, or "allowed". */
static char *why(const char *kind, const char *name)
{
    g_autofree char *where = NULL, *rule = NULL;
    if (plugin_policy_allows(kind, name, &where, &rule))
        return g_strdup("allowed");
    return g_strdup_printf("%s (%s)", where, rule);
}

static void test_empty_allows_all(void)
{
    plugin_policy_reset();
    g_assert_true(allows("accel", "kvm"));
    g_free(policy("# nothing here\n[plugins]\n"));
    g_assert_true(allows("gpu", "virgl"));
}

static void test_deny_by_name(void)
{
    g_autofree char *p = policy("[plugins]\ndeny = kvm\n");
    g_assert_false(allows("accel", "kvm"));
    g_assert_true(allows("accel", "tcg"));
    g_autofree char *w = why("accel", "kvm");
    g_autofree char *want = g_strdup_printf("%s:2 (deny = kvm)", p);
    g_assert_cmpstr(w, ==, want);
}

static void test_deny_by_kind_name(void)
{
    g_free(policy("[plugins]\ndeny = accel-kvm, block-filter-throttle\n"));
    g_assert_false(allows("accel", "kvm"));
    g_assert_false(allows("block-filter", "throttle"));
    g_assert_true(allows("block", "throttle"));      /* block-throttle is another plugin */
    g_assert_true(allows("device", "kvm-clock") );
}

static void test_globs(void)
{
    g_autofree char *p = policy("[plugins]\n; no GPU backends here\ndeny = gpu-*, virtio-*\n");
    g_assert_false(allows("gpu", "virgl"));
    g_assert_false(allows("device", "virtio-gpu")); /* the name alone matches too */
    g_assert_true(allows("device", "pci-bridge"));
    g_autofree char *w = why("device", "virtio-snd");
    g_autofree char *want = g_strdup_printf("%s:3 (deny = virtio-*)", p);
    g_assert_cmpstr(w, ==, want);
}

static void test_kinds(void)
{
    g_autofree char *p = policy("[plugins]\ndeny-kinds = gpu, audio\n");
    g_assert_false(allows("gpu", "virgl"));
    g_assert_false(allows("audio", "pulse"));
    g_assert_true(allows("device", "gpu")); /* kind rules never look at names */
    g_free(policy("[plugins]\nallow-kinds = accel, block-filter\n"));
    g_assert_true(allows("accel", "tcg"));
    g_assert_true(allows("block-filter", "throttle"));
    g_assert_false(allows("block", "qcow2"));
}

static void test_allow_list(void)
{
    g_autofree char *p = policy("[plugins]\nallow = accel-tcg, device-*\n");
    g_assert_true(allows("accel", "tcg"));
    g_assert_true(allows("device", "virtio-snd"));
    g_assert_false(allows("accel", "kvm"));
    g_autofree char *w = why("machine", "riscv-virt");
    g_autofree char *want = g_strdup_printf(
        "%s:2 (not matched by any allow rule, e.g. allow = accel-tcg)", p);
    g_assert_cmpstr(w, ==, want);
}

static void test_order_last_wins(void)
{
    g_autofree char *p = policy("[plugins]\ndeny = accel-*\nallow = accel-tcg\n");
    g_assert_true(allows("accel", "tcg"));
    g_assert_false(allows("accel", "kvm"));
    g_autofree char *w = why("accel", "kvm");
    g_autofree char *want = g_strdup_printf("%s:2 (deny = accel-*)", p);
    g_assert_cmpstr(w, ==, want);

    g_free(policy("[plugins]\nallow = accel-tcg\ndeny = accel-*\n"));
    g_assert_false(allows("accel", "tcg"));
    /* enable overrides without turning the file into an allow list */
    g_free(policy("[plugins]\ndeny = gpu-*\nenable = gpu-virgl\n"));
    g_assert_true(allows("gpu", "virgl"));
    g_assert_false(allows("gpu", "venus"));
    g_assert_true(allows("accel", "kvm"));
    /* continuation lines add patterns to the same key */
    g_free(policy("[plugins]\ndeny = gpu-*,\n  accel-kvm\n"));
    g_assert_false(allows("accel", "kvm"));
}

static void test_files_then_cmdline(void)
{
    plugin_policy_reset();
    /* The command line applies after every file, even when given first. */
    plugin_policy_cmdline("accel-kvm", TRUE);
    g_autofree char *sys = write_file("system.ini", "[plugins]\ndeny = accel-*\n");
    g_autofree char *user = write_file("user.ini", "[plugins]\nenable = tcg\n");
    g_assert_true(plugin_policy_add_file(sys, TRUE, NULL));
    g_assert_false(allows("accel", "tcg"));
    g_assert_true(plugin_policy_add_file(user, TRUE, NULL));
    g_assert_true(allows("accel", "tcg"));
    g_assert_true(allows("accel", "kvm"));
    g_assert_false(allows("accel", "hvf"));
    plugin_policy_cmdline("tcg", FALSE);
    g_autofree char *w = why("accel", "tcg");
    g_assert_cmpstr(w, ==, "the command line (--disable-plugin tcg)");
}

static void test_load_defaults(void)
{
    plugin_policy_reset();
    g_autofree char *sys = write_file("etc.ini", "[plugins]\ndeny = accel-kvm\n");
    plugin_policy_set_system_file(sys);
    g_autofree char *xdg = g_build_filename(tmp_dir, "xdg", NULL);
    g_autofree char *dir = g_build_filename(xdg, "mosaic", NULL);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
    g_autofree char *user = g_build_filename(dir, "plugins.ini", NULL);
    g_assert_true(g_file_set_contents(user, "[plugins]\nenable = kvm\ndeny = gpu-*\n", -1, NULL));
    g_autofree char *env = write_file("env.ini", "[plugins]\nenable = gpu-virgl\n");
    g_setenv("XDG_CONFIG_HOME", xdg, TRUE);
    g_setenv("MOSAIC_PLUGINS_CONF", env, TRUE);
    g_autofree char *uf = plugin_policy_user_file();
    g_assert_cmpstr(uf, ==, user);
    g_autoptr(GError) err = NULL;
    g_assert_true(plugin_policy_load_defaults(&err));
    g_assert_no_error(err);
    g_assert_true(allows("accel", "kvm"));   /* user file after the system file */
    g_assert_true(allows("gpu", "virgl"));   /* $MOSAIC_PLUGINS_CONF after the user file */
    g_assert_false(allows("gpu", "venus"));

    /* $MOSAIC_PLUGINS_CONF must exist; the other two may not. */
    plugin_policy_reset();
    plugin_policy_set_system_file("/nonexistent/plugins.ini");
    g_setenv("MOSAIC_PLUGINS_CONF", "/nonexistent/env.ini", TRUE);
    g_assert_false(plugin_policy_load_defaults(&err));
    g_assert_error(err, PLUGIN_ERROR, PLUGIN_ERROR_POLICY);
    g_assert_cmpstr(err->message, ==, "/nonexistent/env.ini: cannot read plugin policy: "
                                      "No such file or directory");
    g_unsetenv("MOSAIC_PLUGINS_CONF");
    g_unsetenv("XDG_CONFIG_HOME");
    plugin_policy_reset();
}

/* `text` must fail with "FILE:LINE: message". */
static void assert_bad(const char *text, int line, const char *message)
{
    plugin_policy_reset();
    g_autofree char *path = write_file("bad.ini", text);
    g_autoptr(GError) err = NULL;
    g_assert_false(plugin_policy_add_file(path, TRUE, &err));
    g_assert_error(err, PLUGIN_ERROR, PLUGIN_ERROR_POLICY);
    g_autofree char *want = g_strdup_printf("%s:%d: %s", path, line, message);
    g_assert_cmpstr(err->message, ==, want);
    /* A bad file adds no rule at all. */
    g_assert_true(allows("accel", "kvm"));
}

static void test_bad_lines(void)
{
    assert_bad("[plugins]\ndeny = accel-kvm\n\nalow = tcg\n", 4,
               "unknown key 'alow' (expected allow, deny, allow-kinds, deny-kinds, enable, "
               "disable or default-accel)");
    assert_bad("[plugins]\ndefault-accel = kvm*\n", 2,
               "default-accel needs one accelerator's name, not 'kvm*'");
    assert_bad("deny = accel-kvm\n", 1, "key 'deny' outside a section (put it under [plugins])");
    assert_bad("[plugin]\ndeny = kvm\n", 2,
               "unknown section [plugin] (a policy file has only [plugins])");
    assert_bad("[plugins]\ndeny = Accel_KVM\n", 2,
               "invalid pattern 'Accel_KVM' (use NAME, KIND-NAME or globs such as KIND-*)");
    assert_bad("[plugins]\ndeny-kinds = accel, gpus\n", 2,
               "unknown plugin kind 'gpus' (known: accel, machine, device, block, block-filter, "
               "audio, net, gpu, misc, debug, export)");
    assert_bad("[plugins]\ndeny = kvm,,tcg\n", 2, "empty pattern in 'deny = kvm,,tcg'");
    assert_bad("[plugins]\ndeny =\n", 2, "'deny' needs a value (patterns separated by commas)");
    assert_bad("[plugins]\ndeny = kvm\nthis is not ini\n", 3,
               "syntax error (expected [plugins] or key = value)");
    assert_bad("[plugins\n", 1, "syntax error (expected [plugins] or key = value)");
    /* Debian's inih would cut this line at 199 characters and parse the rest as a new
     * line; it must be an error on the right line instead. */
    g_autofree char *pats = g_strnfill(240, 'a');
    g_autofree char *longline = g_strdup_printf("[plugins]\n# ok\ndeny = %s\n", pats);
    assert_bad(longline, 3, "line is 247 characters long, the limit is 199 (split the list "
                            "over several lines of the same key)");
    /* 199 characters still fit. */
    g_autofree char *fit = g_strnfill(192, 'b');
    g_autofree char *fits = g_strdup_printf("[plugins]\ndeny = %s\n", fit);
    g_free(policy(fits));
    g_assert_false(allows("device", fit));
}

static void test_missing_file(void)
{
    plugin_policy_reset();
    g_assert_true(plugin_policy_add_file("/nonexistent/x.ini", FALSE, NULL));
    g_autoptr(GError) err = NULL;
    g_assert_false(plugin_policy_add_file("/nonexistent/x.ini", TRUE, &err));
    g_assert_error(err, PLUGIN_ERROR, PLUGIN_ERROR_POLICY);
}

static void *create(MosaicMachine *m, const MosaicProps *p, MosaicError *e) { return m; }
static void *vcpu_create(void *a, MosaicVcpu *v, unsigned i, MosaicError *e) { return v; }
static void vcpu_run(void *c) {}
static void set_irq(void *c, unsigned line, bool level) {}
static bool get_reg(void *c, unsigned r, uint64_t *v) { return false; }
static bool set_reg(void *c, unsigned r, uint64_t v) { return false; }

/* The message a machine file gets when it needs a plugin the deployment disabled. */
static void test_require_message(void)
{
    static const MosaicAccelOps ops = {
        .size = sizeof(ops), .create = create, .vcpu_create = vcpu_create, .vcpu_run = vcpu_run,
        .vcpu_kick = vcpu_run, .vcpu_set_irq = set_irq, .vcpu_get_reg = get_reg,
        .vcpu_set_reg = set_reg,
    };
    static const MosaicPluginDesc kvm = {
        .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
        .size = sizeof(kvm), .kind = MOSAIC_KIND_ACCEL, .kind_abi = MOSAIC_ACCEL_ABI,
        .name = "kvm", .version = "1", .license = "MIT", .description = "d", .ops = &ops,
    };
    plugin_registry_reset();
    plugin_registry_add_builtin(&kvm);
    g_autofree char *p = policy("[plugins]\n# no hardware acceleration on this host\n"
                                "deny = accel-*\n");
    g_autoptr(GError) err = NULL;
    const MosaicPluginDesc *d = plugin_registry_find(MOSAIC_KIND_ACCEL, "kvm", &err);
    g_assert_nonnull(d);
    g_assert_false(plugin_registry_require(d, "machine.ini:4", &err));
    g_assert_error(err, PLUGIN_ERROR, PLUGIN_ERROR_DISABLED);
    g_autofree char *want = g_strdup_printf(
        "plugin 'accel-kvm' is disabled by %s:3 (deny = accel-*); needed by machine.ini:4", p);
    g_assert_cmpstr(err->message, ==, want);
    plugin_registry_reset();
    plugin_policy_reset();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmp_dir = g_dir_make_tmp("test-plugin-policy-XXXXXX", NULL);
    g_test_add_func("/plugin/policy/empty", test_empty_allows_all);
    g_test_add_func("/plugin/policy/deny-name", test_deny_by_name);
    g_test_add_func("/plugin/policy/deny-kind-name", test_deny_by_kind_name);
    g_test_add_func("/plugin/policy/globs", test_globs);
    g_test_add_func("/plugin/policy/kinds", test_kinds);
    g_test_add_func("/plugin/policy/allow-list", test_allow_list);
    g_test_add_func("/plugin/policy/order", test_order_last_wins);
    g_test_add_func("/plugin/policy/files-then-cmdline", test_files_then_cmdline);
    g_test_add_func("/plugin/policy/load-defaults", test_load_defaults);
    g_test_add_func("/plugin/policy/bad-lines", test_bad_lines);
    g_test_add_func("/plugin/policy/missing-file", test_missing_file);
    g_test_add_func("/plugin/policy/require-message", test_require_message);
    int ret = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmp_dir);
    (void)!system(cmd);
    return ret;
}
