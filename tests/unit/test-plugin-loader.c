/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plugin loader against the test plugins of tests/plugins/<case>/: each bad case is
 * refused with its exact reason, one line on the log, and the core keeps working. */
#include <json-glib/json-glib.h>
#include <mosaic/mosaic.h>
#include <string.h>
#include "plugin/error.h"
#include "plugin/plugin-internal.h"
#include "plugin/policy.h"

static char *cases_dir;  /* build/<variant>/tests/plugins */
static FILE *log_file;   /* refusal lines of the current test */

static char *case_dir(const char *name)
{
    return g_build_filename(cases_dir, name, NULL);
}

static void scan(const char *const *cases)
{
    plugin_registry_reset();
    plugin_policy_reset();
    if (log_file)
        fclose(log_file);
    log_file = tmpfile();
    plugin_registry_set_log(log_file);
    g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
    for (; *cases; cases++)
        g_ptr_array_add(dirs, case_dir(*cases));
    g_ptr_array_add(dirs, NULL);
    plugin_registry_init_dirs((const char *const *)dirs->pdata);
}

static void scan1(const char *name)
{
    const char *cases[] = { name, NULL };
    scan(cases);
}

static char *log_text(void)
{
    fflush(log_file);
    rewind(log_file);
    GString *s = g_string_new(NULL);
    char buf[512];
    while (fgets(buf, sizeof(buf), log_file))
        g_string_append(s, buf);
    return g_string_free(s, FALSE);
}

static PluginEntry *entry_named(const char *file)
{
    GPtrArray *a = plugin_registry_entries();
    for (guint i = 0; i < a->len; i++) {
        PluginEntry *e = a->pdata[i];
        if (e->path && g_str_has_suffix(e->path, file))
            return e;
    }
    g_error("no entry for %s", file);
}

static void assert_refused(const char *file, const char *reason)
{
    PluginEntry *e = entry_named(file);
    g_assert_cmpint(e->state, ==, PLUGIN_REFUSED);
    g_assert_cmpstr(e->reason, ==, reason);
    g_autofree char *line = plugin_entry_refusal_line(e);
    g_autofree char *log = log_text();
    g_assert_nonnull(strstr(log, line));
}

/* Whatever was refused, a good plugin next to it still loads. */
static void assert_core_alive(void)
{
    g_autofree char *good = case_dir("good");
    const char *dirs[] = { good, NULL };
    plugin_registry_init_dirs(dirs);
    g_autoptr(GError) err = NULL;
    const MosaicPluginDesc *d = plugin_registry_find(MOSAIC_KIND_ACCEL, "good", &err);
    g_assert_no_error(err);
    g_assert_true(plugin_registry_require(d, "test:1", &err));
    g_assert_no_error(err);
}

static void test_good(void)
{
    scan1("good");
    g_autofree char *log = log_text();
    g_assert_cmpstr(log, ==, "");
    g_autoptr(GError) err = NULL;
    const MosaicPluginDesc *d = plugin_registry_find(MOSAIC_KIND_DEVICE, "good", &err);
    g_assert_no_error(err);
    g_assert_cmpstr(d->version, ==, "1.2.3");
    const MosaicDeviceOps *ops = d->ops;
    g_assert_cmpuint(ops->size, ==, sizeof(MosaicDeviceOps));
    g_assert_nonnull(ops->realize);
    g_assert_null(ops->reset);
    PluginEntry *e = entry_named("good/mosaic-device-good.so");
    g_assert_cmpint(e->state, ==, PLUGIN_AVAILABLE);
    g_assert_true(plugin_registry_require(d, "machine.ini:3", &err));
    g_assert_no_error(err);
    g_assert_cmpint(e->state, ==, PLUGIN_LOADED);
    g_assert_true(plugin_registry_require(d, "machine.ini:3", &err)); /* idempotent */
    g_assert_nonnull(plugin_registry_find(MOSAIC_KIND_ACCEL, "good", &err));
}

static void test_wrong_magic(void)
{
    scan1("wrong-magic");
    assert_refused("mosaic-device-wrong-magic.so", "bad magic 0x12345678 (expected 0x4d4f5341)");
    g_autofree char *log = log_text();
    g_autofree char *path = case_dir("wrong-magic/mosaic-device-wrong-magic.so");
    g_autofree char *want = g_strdup_printf(
        "mosaic: %s: device plugin 'wrong-magic' refused: bad magic 0x12345678 (expected "
        "0x4d4f5341) (not a mosaic plugin descriptor; define it with MOSAIC_PLUGIN(...))\n",
        path);
    g_assert_cmpstr(log, ==, want);
    assert_core_alive();
}

static void test_wrong_major(void)
{
    scan1("wrong-major");
    assert_refused("mosaic-device-wrong-major.so", "built for ABI 2.0, this core is 1.1");
    PluginEntry *e = entry_named("mosaic-device-wrong-major.so");
    g_assert_cmpstr(e->hint, ==, "rebuild it against mosaic-sdk 1");
    g_autoptr(GError) err = NULL;
    g_assert_null(plugin_registry_find(MOSAIC_KIND_DEVICE, "wrong-major", &err));
    g_assert_error(err, PLUGIN_ERROR, PLUGIN_ERROR_REFUSED);
    g_assert_nonnull(strstr(err->message, "was refused: built for ABI 2.0, this core is 1.1"));
    assert_core_alive();
}

static void test_newer_minor(void)
{
    scan1("newer-minor");
    g_autofree char *want = g_strdup_printf("built for ABI %d.%d, this core is %d.%d",
                                            MOSAIC_ABI_MAJOR, MOSAIC_ABI_MINOR + 1,
                                            MOSAIC_ABI_MAJOR, MOSAIC_ABI_MINOR);
    assert_refused("mosaic-device-newer-minor.so", want);
    assert_core_alive();
}

static void test_older_minor(void)
{
    scan1("older-minor-ok");
    g_autoptr(GError) err = NULL;
    const MosaicPluginDesc *d = plugin_registry_find(MOSAIC_KIND_DEVICE, "older-minor", &err);
    g_assert_no_error(err);
    g_assert_cmpuint(d->abi_minor, ==, 0);
    const MosaicDeviceOps *ops = d->ops;
    g_assert_cmpuint(ops->size, ==, sizeof(MosaicDeviceOps)); /* the core's own copy */
    g_assert_nonnull(ops->realize);
    g_assert_true(plugin_registry_require(d, NULL, &err));
    /* The rule itself, for minors this core does not have yet. */
    char *reason = NULL, *hint = NULL;
    g_assert_true(plugin_abi_check(1, 2, 1, 3, &reason, &hint));
    g_assert_true(plugin_abi_check(1, 3, 1, 3, &reason, &hint));
    g_assert_false(plugin_abi_check(1, 4, 1, 3, &reason, &hint));
    g_assert_cmpstr(reason, ==, "built for ABI 1.4, this core is 1.3");
    g_free(reason);
    g_free(hint);
    g_assert_false(plugin_abi_check(0, 9, 1, 3, &reason, &hint));
    g_assert_cmpstr(hint, ==, "rebuild it against mosaic-sdk 1");
    g_free(reason);
    g_free(hint);
}

static void test_short_desc(void)
{
    scan1("short-desc");
    g_autofree char *r1 = g_strdup_printf("descriptor is 16 bytes, ABI 1.0 needs at least %zu",
                                          (size_t)PLUGIN_DESC_MIN_SIZE);
    assert_refused("mosaic-device-short-desc.so", r1);
    g_autofree char *r2 = g_strdup_printf("descriptor claims %zu bytes but the symbol has 16",
                                          sizeof(MosaicPluginDesc));
    assert_refused("mosaic-device-short-symbol.so", r2);
    assert_core_alive();
}

static void test_missing_symbol(void)
{
    scan1("missing-symbol");
    assert_refused("mosaic-device-missing-symbol.so",
                   "not a mosaic plugin (no 'mosaic_plugin' symbol)");
    assert_core_alive();
}

static void test_name_mismatch(void)
{
    scan1("name-mismatch");
    assert_refused("mosaic-device-name-mismatch.so",
                   "file name mosaic-device-name-mismatch.so does not match the descriptor "
                   "(mosaic-device-other.so)");
    g_autoptr(GError) err = NULL;
    g_assert_null(plugin_registry_find(MOSAIC_KIND_DEVICE, "other", &err));
    assert_core_alive();
}

static void test_bad_commands(void)
{
    scan1("bad-commands");
    assert_refused("mosaic-device-bad-commands.so", "declared command 0 ('bad-command'): no handler");
    g_assert_cmpstr(entry_named("mosaic-device-bad-commands.so")->hint, ==,
                    "fix the .commands table of MOSAIC_PLUGIN(...)");
    assert_core_alive();
}

static void test_missing_op(void)
{
    scan1("missing-op");
    assert_refused("mosaic-accel-missing-op.so", "missing mandatory op .vcpu_kick");
    g_assert_cmpstr(entry_named("mosaic-accel-missing-op.so")->hint, ==,
                    "an accel plugin must implement it");
    /* A block driver the graph could not call. */
    assert_refused("mosaic-block-missing-open.so", "missing mandatory op .open");
    assert_refused("mosaic-block-filter-missing-io.so", "missing mandatory op .io or .submit");
    assert_core_alive();
}

static void test_failing_init(void)
{
    scan1("failing-init");
    PluginEntry *e = entry_named("mosaic-device-failing-init.so");
    g_assert_cmpint(e->state, ==, PLUGIN_AVAILABLE); /* scanning runs no plugin code */
    const MosaicPluginDesc *d = plugin_registry_find(MOSAIC_KIND_DEVICE, "failing-init", NULL);
    g_assert_nonnull(d);
    for (int i = 0; i < 2; i++) {
        g_autoptr(GError) err = NULL;
        g_assert_false(plugin_registry_require(d, "vm.ini:7", &err));
        g_assert_error(err, PLUGIN_ERROR, PLUGIN_ERROR_REFUSED);
        /* "(call 1)" both times: init is never called again. */
        g_assert_nonnull(strstr(err->message, "refused: init failed: cannot open /dev/hello "
                                              "(call 1); needed by vm.ini:7"));
    }
    assert_refused("mosaic-device-failing-init.so", "init failed: cannot open /dev/hello (call 1)");
    assert_core_alive();
}

static void test_duplicate(void)
{
    const char *cases[] = { "good", "duplicate", NULL };
    scan(cases);
    g_autofree char *first = case_dir("good/mosaic-device-good.so");
    g_autofree char *reason = g_strdup_printf("duplicate of %s", first);
    assert_refused("duplicate/mosaic-device-good.so", reason);
    g_autoptr(GError) err = NULL;
    const MosaicPluginDesc *d = plugin_registry_find(MOSAIC_KIND_DEVICE, "good", &err);
    g_assert_true(d == &entry_named("good/mosaic-device-good.so")->desc);
    /* Scanning the same directory twice is not a duplicate. */
    g_autofree char *good = case_dir("good");
    const char *dirs[] = { good, NULL };
    guint n = plugin_registry_entries()->len;
    plugin_registry_init_dirs(dirs);
    g_assert_cmpuint(plugin_registry_entries()->len, ==, n);
}

static void test_not_a_plugin(void)
{
    scan1("not-a-plugin");
    assert_refused("mosaic-device-garbage.so", "not an ELF shared object");
    PluginEntry *e = entry_named("mosaic-device-truncated.so");
    g_assert_cmpint(e->state, ==, PLUGIN_REFUSED);
    g_assert_true(g_str_has_prefix(e->reason, "truncated ELF file (1024 bytes, a segment ends at "));
    g_assert_cmpuint(plugin_registry_entries()->len, ==, 2); /* libnot-mosaic.so ignored */
    assert_core_alive();
}

static void test_missing_dependency(void)
{
    scan1("missing-dependency");
    PluginEntry *e = entry_named("mosaic-device-missing-dependency.so");
    g_assert_cmpint(e->state, ==, PLUGIN_REFUSED);
    g_assert_true(g_str_has_prefix(e->reason, "cannot open: libmosaic-test-gone.so: cannot open "
                                              "shared object file"));
    g_assert_true(g_str_has_prefix(e->hint, "check that the libraries it needs are installed"));
    assert_core_alive();
}

/* Descriptors that only a hand-made plugin can have, checked in memory. */
static const char *check_mem(const MosaicPluginDesc *d, size_t size, const char *file)
{
    static char last[256];
    MosaicPluginDesc out;
    void *ops = NULL, *tables = NULL;
    char *reason = NULL, *hint = NULL;
    gboolean ok = plugin_desc_check(d, size, file, &out, &ops, &tables, &reason, &hint);
    g_free(ops);
    g_free(tables);
    if (ok)
        return "ok";
    g_strlcpy(last, reason, sizeof(last));
    g_free(reason);
    g_free(hint);
    return last;
}

static void *realize(MosaicDevice *dev, const MosaicProps *p, const MosaicBusSlot *s,
                     MosaicError *e)
{
    return dev;
}

/* A plugin whose property and section elements are larger than the core's (built with
 * a later minor's structs, say): the core steps by the plugin's sizes and sees the
 * fields it knows.  A size below 1.0's is refused, 0 means 1.0's. */
static void test_table_element_sizes(void)
{
    typedef struct { MosaicPropDesc p; int64_t later; } WideProp;
    typedef struct { MosaicSectionDesc s; void *later; } WideSection;
    static const WideProp props[] = {
        {{.key = "a", .type = MOSAIC_PROP_BOOL}, 1},
        {{.key = "b", .type = MOSAIC_PROP_INT, .min = 1, .max = 9}, 2},
        {{NULL}, 0},
    };
    static const WideSection sections[] = {
        {{.kind = "x-group", .help = "h", .props = &props[1].p}, NULL},
        {{NULL}, NULL},
    };
    static const MosaicDeviceOps ops = { .size = sizeof(ops), .realize = realize };
    MosaicPluginDesc d = {
        .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
        .size = sizeof(d), .kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI,
        .name = "x", .version = "1", .license = "MIT", .description = "d", .ops = &ops,
        .props = &props[0].p, .sections = &sections[0].s,
        .prop_size = sizeof(WideProp), .section_size = sizeof(WideSection),
    };
    MosaicPluginDesc out;
    void *ops_copy = NULL, *tables = NULL;
    char *reason = NULL, *hint = NULL;
    g_assert_true(plugin_desc_check(&d, sizeof(d), NULL, &out, &ops_copy, &tables, &reason, &hint));
    g_assert_cmpstr(out.props[0].key, ==, "a");
    g_assert_cmpstr(out.props[1].key, ==, "b");
    g_assert_cmpint(out.props[1].max, ==, 9);
    g_assert_null(out.props[2].key);
    g_assert_cmpstr(out.sections[0].kind, ==, "x-group");
    g_assert_null(out.sections[1].kind);
    g_assert_cmpstr(out.sections[0].props[0].key, ==, "b");
    g_assert_null(out.sections[0].props[1].key);
    g_assert_cmpuint(out.prop_size, ==, sizeof(MosaicPropDesc));
    g_free(ops_copy);
    g_free(tables);

    MosaicPluginDesc b = d;
    b.prop_size = 8;
    g_assert_cmpstr(check_mem(&b, sizeof(b), NULL), ==,
                    ".prop_size is 8, ABI 1.0 elements are 64 bytes");
    static const MosaicPropDesc plain[] = {{.key = "c", .type = MOSAIC_PROP_BOOL}, {NULL}};
    b = d;
    b.props = plain;
    b.sections = NULL;
    b.prop_size = 0; /* a descriptor from before the field: 1.0 elements */
    g_assert_cmpstr(check_mem(&b, sizeof(b), NULL), ==, "ok");
}

static void test_descriptor_fields(void)
{
    static const MosaicDeviceOps ops = { .size = sizeof(ops), .realize = realize };
    static const MosaicDeviceOps no_realize = { .size = sizeof(ops) };
    static const MosaicDeviceOps zero_size = { .size = 0, .realize = realize };
    MosaicPluginDesc d = {
        .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
        .size = sizeof(d), .kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI,
        .name = "x", .version = "1", .license = "MIT", .description = "d", .ops = &ops,
    };
    g_assert_cmpstr(check_mem(&d, sizeof(d), "mosaic-device-x.so"), ==, "ok");
    g_assert_cmpstr(check_mem(&d, 8, "mosaic-device-x.so"), ==,
                    "descriptor is 8 bytes, shorter than its 12-byte header");
    MosaicPluginDesc b = d;
    b.kind = 42;
    g_assert_cmpstr(check_mem(&b, sizeof(b), NULL), ==, "unknown kind 42");
    b = d;
    b.name = "Bad_Name";
    g_assert_cmpstr(check_mem(&b, sizeof(b), NULL), ==, "invalid name 'Bad_Name'");
    b = d;
    b.name = NULL;
    g_assert_cmpstr(check_mem(&b, sizeof(b), NULL), ==, "missing .name");
    b = d;
    b.kind_abi = 7;
    g_assert_cmpstr(check_mem(&b, sizeof(b), NULL), ==,
                    "built for device ABI 7, this core implements device ABI 1");
    b = d;
    b.version = "";
    g_assert_cmpstr(check_mem(&b, sizeof(b), NULL), ==, "missing .version");
    b = d;
    b.license = NULL;
    g_assert_cmpstr(check_mem(&b, sizeof(b), NULL), ==, "missing .license");
    b = d;
    b.description = NULL;
    g_assert_cmpstr(check_mem(&b, sizeof(b), NULL), ==, "missing .description");
    b = d;
    b.ops = NULL;
    g_assert_cmpstr(check_mem(&b, sizeof(b), NULL), ==, "missing .ops");
    b.ops = &no_realize;
    g_assert_cmpstr(check_mem(&b, sizeof(b), NULL), ==, "missing mandatory op .realize");
    b.ops = &zero_size;
    g_assert_cmpstr(check_mem(&b, sizeof(b), NULL), ==, "ops table is 0 bytes, device ABI 1 "
                                                         "needs at least 56");
    b = d;
    b.kind = MOSAIC_KIND_MISC; /* ops optional */
    b.kind_abi = MOSAIC_MISC_ABI;
    b.ops = NULL;
    g_assert_cmpstr(check_mem(&b, sizeof(b), NULL), ==, "ok");
    b.kind = MOSAIC_KIND_BLOCK_FILTER;
    b.kind_abi = MOSAIC_BLOCK_ABI;
    g_assert_cmpstr(check_mem(&b, sizeof(b), NULL), ==, "missing .ops");
}

static bool builtin_inits;
static bool builtin_init(MosaicError *err)
{
    builtin_inits = true;
    return true;
}

static void test_builtin_and_policy(void)
{
    scan1("good");
    static const MosaicDeviceOps ops = { .size = sizeof(ops), .realize = realize };
    static const MosaicPluginDesc raw = {
        .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
        .size = sizeof(raw), .kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI,
        .name = "good", .version = "9", .license = "MIT", .description = "builtin",
        .ops = &ops, .init = builtin_init,
    };
    plugin_registry_add_builtin(&raw);
    assert_refused("good/mosaic-device-good.so", "duplicate of builtin");
    g_autoptr(GError) err = NULL;
    const MosaicPluginDesc *d = plugin_registry_find(MOSAIC_KIND_DEVICE, "good", &err);
    g_assert_true(d == &raw);
    plugin_policy_cmdline("device-g*", FALSE);
    g_assert_false(plugin_registry_require(d, "machine.ini:4", &err));
    g_assert_error(err, PLUGIN_ERROR, PLUGIN_ERROR_DISABLED);
    g_assert_cmpstr(err->message, ==, "plugin 'device-good' is disabled by the command line "
                                      "(--disable-plugin device-g*); needed by machine.ini:4");
    g_assert_false(builtin_inits);
    g_clear_error(&err);
    plugin_policy_cmdline("good", TRUE);
    g_assert_true(plugin_registry_require(d, "machine.ini:4", &err));
    g_assert_true(builtin_inits);

    g_assert_null(plugin_registry_find(MOSAIC_KIND_ACCEL, "nope", &err));
    g_assert_cmpstr(err->message, ==, "no accel plugin 'nope' (available: good)");
    g_clear_error(&err);
    g_assert_null(plugin_registry_find(MOSAIC_KIND_MACHINE, "virt", &err));
    g_assert_cmpstr(err->message, ==, "no machine plugin 'virt' (available: none)");
}

static void test_list(void)
{
    const char *cases[] = { "good", "wrong-major", "duplicate", NULL };
    scan(cases);
    plugin_policy_cmdline("accel-good", FALSE);
    plugin_registry_require(plugin_registry_find(MOSAIC_KIND_DEVICE, "good", NULL), NULL, NULL);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    plugin_registry_list(out, FALSE);
    fclose(out);
    g_assert_true(g_str_has_prefix(buf, "NAME "));
    g_assert_nonnull(strstr(buf, " STATE\n"));
    g_assert_nonnull(strstr(buf, "  loaded\n"));
    g_assert_nonnull(strstr(buf, "  disabled by the command line\n"));
    g_assert_nonnull(strstr(buf, "  refused: built for ABI 2.0, this core is 1.1\n"));
    g_assert_nonnull(strstr(buf, "  refused: duplicate of "));
    g_free(buf);

    out = open_memstream(&buf, &len);
    plugin_registry_list(out, TRUE);
    fclose(out);
    g_autoptr(JsonParser) p = json_parser_new();
    g_assert_true(json_parser_load_from_data(p, buf, -1, NULL));
    JsonObject *root = json_node_get_object(json_parser_get_root(p));
    g_assert_cmpstr(json_object_get_string_member(root, "core_abi"), ==, "1.1");
    JsonArray *plugins = json_object_get_array_member(root, "plugins");
    g_assert_cmpuint(json_array_get_length(plugins), ==, 4);
    JsonObject *first = json_array_get_object_element(plugins, 0);
    g_assert_cmpstr(json_object_get_string_member(first, "kind"), ==, "accel");
    g_assert_cmpstr(json_object_get_string_member(first, "state"), ==, "disabled");
    g_assert_cmpstr(json_object_get_string_member(first, "rule"), ==, "the command line");
    JsonObject *dev = json_array_get_object_element(plugins, 1);
    g_assert_cmpstr(json_object_get_string_member(dev, "state"), ==, "loaded");
    g_assert_cmpstr(json_object_get_string_member(dev, "abi"), ==, "1.1");
    g_assert_cmpstr(json_object_get_string_member(dev, "version"), ==, "1.2.3");
    JsonObject *major = json_array_get_object_element(plugins, 2);
    g_assert_cmpstr(json_object_get_string_member(major, "state"), ==, "refused");
    g_assert_cmpstr(json_object_get_string_member(major, "abi"), ==, "2.0");
    g_free(buf);
}

static void test_search_path(void)
{
    g_setenv("MOSAIC_PLUGIN_PATH", "/env/a::/env/b", TRUE);
    const char *extra[] = { "/x", "/env/a", NULL };
    g_auto(GStrv) dirs = plugin_registry_search_path(extra);
    g_assert_cmpstr(dirs[0], ==, "/x");
    g_assert_cmpstr(dirs[1], ==, "/env/a");
    g_assert_cmpstr(dirs[2], ==, "/env/b");
    /* From the build tree (as scons builds it) its plugins come next; a copy of this
     * test elsewhere must not see them.  Then the installed directory. */
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *build = g_path_get_dirname(MOSAIC_BUILD_PLUGINDIR);
    g_autofree char *build_slash = g_strconcat(build, "/", NULL);
    int i = 3;
    if (g_str_has_prefix(exe, build_slash))
        g_assert_cmpstr(dirs[i++], ==, MOSAIC_BUILD_PLUGINDIR);
    g_assert_cmpstr(dirs[i++], ==, MOSAIC_PLUGINDIR);
    g_assert_null(dirs[i]);
    g_unsetenv("MOSAIC_PLUGIN_PATH");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *unit = g_path_get_dirname(exe);
    cases_dir = g_build_filename(unit, "..", "plugins", NULL);
    g_test_add_func("/plugin/loader/good", test_good);
    g_test_add_func("/plugin/loader/wrong-magic", test_wrong_magic);
    g_test_add_func("/plugin/loader/wrong-major", test_wrong_major);
    g_test_add_func("/plugin/loader/newer-minor", test_newer_minor);
    g_test_add_func("/plugin/loader/older-minor-ok", test_older_minor);
    g_test_add_func("/plugin/loader/short-desc", test_short_desc);
    g_test_add_func("/plugin/loader/missing-symbol", test_missing_symbol);
    g_test_add_func("/plugin/loader/name-mismatch", test_name_mismatch);
    g_test_add_func("/plugin/loader/missing-op", test_missing_op);
    g_test_add_func("/plugin/loader/bad-commands", test_bad_commands);
    g_test_add_func("/plugin/loader/failing-init", test_failing_init);
    g_test_add_func("/plugin/loader/duplicate", test_duplicate);
    g_test_add_func("/plugin/loader/not-a-plugin", test_not_a_plugin);
    g_test_add_func("/plugin/loader/missing-dependency", test_missing_dependency);
    g_test_add_func("/plugin/loader/descriptor-fields", test_descriptor_fields);
    g_test_add_func("/plugin/loader/table-element-sizes", test_table_element_sizes);
    g_test_add_func("/plugin/loader/builtin-and-policy", test_builtin_and_policy);
    g_test_add_func("/plugin/loader/list", test_list);
    g_test_add_func("/plugin/loader/search-path", test_search_path);
    return g_test_run();
}
