/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Machine files: parsing, includes, overrides, types, validation, dump round trip.
 * Fake plugin descriptors stand in for real plugins (registered as builtins), and
 * every tests/data/config/bad/ file must fail with the message its "; expect:" says. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <mosaic/props.h>

#include "config/config.h"
#include "config/config-internal.h"
#include "plugin/registry.h"

/* ---- fake plugins ---- */

static const MosaicPropDesc board_props[] = {
    {.key = "bootargs", .type = MOSAIC_PROP_STRING, .help = "kernel command line"},
    {.key = "kernel", .type = MOSAIC_PROP_PATH, .help = "kernel image"},
    {.key = "secure", .type = MOSAIC_PROP_BOOL, .defval = "false", .help = "secure boot"},
    {.key = "mode", .type = MOSAIC_PROP_ENUM, .choices = "a|b|c", .defval = "a"},
    {.key = "fdt-addr", .type = MOSAIC_PROP_UINT},
    {NULL},
};
static const MosaicPropDesc tcg_props[] = {
    {.key = "tb-size", .type = MOSAIC_PROP_SIZE, .defval = "32M", .min = 1 << 20,
     .max = 1 << 30, .help = "translation cache"},
    {.key = "threads", .type = MOSAIC_PROP_ENUM, .choices = "single|multi", .defval = "multi"},
    {NULL},
};
static const MosaicPropDesc blk_props[] = {
    {.key = "drive", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED,
     .help = "the blockdev to show the guest"},
    {.key = "queues", .type = MOSAIC_PROP_UINT, .defval = "1", .min = 1, .max = 16},
    {.key = "iops", .type = MOSAIC_PROP_RATE},
    {.key = "serial", .type = MOSAIC_PROP_STRING, .flags = MOSAIC_PROP_RUNTIME},
    {NULL},
};
static const MosaicPropDesc serial_props[] = {
    {.key = "chardev", .type = MOSAIC_PROP_REF, .choices = "chardev",
     .flags = MOSAIC_PROP_REQUIRED},
    {NULL},
};
static const MosaicPropDesc file_props[] = {
    {.key = "filename", .type = MOSAIC_PROP_PATH, .flags = MOSAIC_PROP_REQUIRED,
     .help = "host file"},
    {.key = "readonly", .type = MOSAIC_PROP_BOOL, .defval = "false"},
    {NULL},
};
static const MosaicPropDesc qcow2_props[] = {
    {.key = "file", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED},
    {.key = "backing", .type = MOSAIC_PROP_REF, .choices = "blockdev"},
    {.key = "cache-size", .type = MOSAIC_PROP_SIZE, .defval = "1M"},
    {.key = "lazy", .type = MOSAIC_PROP_INT, .defval = "0", .min = -5, .max = 5},
    {NULL},
};
static const MosaicPropDesc throttle_props[] = {
    {.key = "file", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED},
    {.key = "bps", .type = MOSAIC_PROP_RATE, .defval = "0/s", .help = "bytes per second, 0: no limit"},
    {NULL},
};
static const MosaicPropDesc group_props[] = {
    {.key = "limit", .type = MOSAIC_PROP_RATE, .flags = MOSAIC_PROP_REQUIRED},
    {.key = "burst", .type = MOSAIC_PROP_SIZE, .defval = "0"},
    {NULL},
};
static const MosaicSectionDesc owner_sections[] = {
    {.kind = "throttle-group", .help = "shared limits", .props = group_props},
    {NULL},
};

#define FAKE(k, n, p, ...)                                                              \
    {.magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR,                       \
     .abi_minor = MOSAIC_ABI_MINOR, .size = sizeof(MosaicPluginDesc), .kind = k,        \
     .kind_abi = 1, .name = n, .version = "1.0", .license = "MIT",                      \
     .description = "fake " n " for test-config", .props = p, __VA_ARGS__}

static const MosaicPluginDesc fakes[] = {
    FAKE(MOSAIC_KIND_MACHINE, "test-board", board_props),
    FAKE(MOSAIC_KIND_ACCEL, "tcg", tcg_props),
    FAKE(MOSAIC_KIND_DEVICE, "test-blk", blk_props),
    FAKE(MOSAIC_KIND_DEVICE, "test-serial", serial_props),
    FAKE(MOSAIC_KIND_BLOCK, "test-file", file_props),
    FAKE(MOSAIC_KIND_BLOCK, "test-qcow2", qcow2_props),
    FAKE(MOSAIC_KIND_BLOCK_FILTER, "test-throttle", throttle_props),
    FAKE(MOSAIC_KIND_MISC, "test-owner", NULL, .sections = owner_sections),
};

/* ---- helpers ---- */

static char *datadir; /* tests/data/config, absolute; tests run with it as cwd */

static MosaicConfig *load_ok(const char *path, const char *const *sets)
{
    g_autoptr(GError) err = NULL;
    MosaicConfig *cfg = config_load(path, sets, &err);
    g_assert_no_error(err);
    g_assert_nonnull(cfg);
    gboolean ok = config_validate(cfg, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    return cfg;
}

static MosaicConfig *text_ok(const char *text, const char *const *sets)
{
    g_autoptr(GError) err = NULL;
    MosaicConfig *cfg = config_load_string("mem.ini", text, sets, &err);
    g_assert_no_error(err);
    gboolean ok = config_validate(cfg, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    return cfg;
}

/* The error message of load+validate, or NULL when it works. */
static char *text_error(const char *text, const char *const *sets)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(MosaicConfig) cfg = config_load_string("mem.ini", text, sets, &err);
    if (cfg)
        config_validate(cfg, &err);
    return err ? g_strdup(err->message) : NULL;
}

static const MosaicProps *section(const MosaicConfig *cfg, const char *kind, const char *label)
{
    const MosaicProps *p = config_find(cfg, kind, label);
    g_assert_nonnull(p);
    return p;
}

/* ---- the bad files ---- */

static void test_bad_files(void)
{
    g_autoptr(GDir) dir = g_dir_open("bad", 0, NULL);
    g_assert_nonnull(dir);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    while ((n = g_dir_read_name(dir)))
        if (g_str_has_suffix(n, ".ini"))
            g_ptr_array_add(names, g_strdup(n));
    g_assert_cmpuint(names->len, >=, 15);

    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename("bad", names->pdata[i], NULL);
        g_autofree char *text = NULL;
        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        g_autoptr(GPtrArray) expect = g_ptr_array_new();
        g_autoptr(GPtrArray) sets = g_ptr_array_new();
        for (guint l = 0; lines[l]; l++) {
            if (g_str_has_prefix(lines[l], "; expect: "))
                g_ptr_array_add(expect, lines[l] + strlen("; expect: "));
            if (g_str_has_prefix(lines[l], "; set: "))
                g_ptr_array_add(sets, lines[l] + strlen("; set: "));
        }
        g_ptr_array_add(sets, NULL);
        if (!expect->len)
            g_error("%s has no '; expect: ' line", path);

        g_autoptr(GError) err = NULL;
        g_autoptr(MosaicConfig) cfg = config_load(path, (const char *const *)sets->pdata, &err);
        if (cfg)
            config_validate(cfg, &err);
        if (!err)
            g_error("%s: loaded without error, expected: %s", path, (char *)expect->pdata[0]);
        for (guint e = 0; e < expect->len; e++)
            if (!strstr(err->message, expect->pdata[e]))
                g_error("%s:\n  got:      %s\n  expected: %s", path, err->message,
                        (char *)expect->pdata[e]);
        g_assert_true(g_error_matches(err, CONFIG_ERROR, CONFIG_ERROR_SYNTAX) ||
                      g_error_matches(err, CONFIG_ERROR, CONFIG_ERROR_SCHEMA) ||
                      g_error_matches(err, CONFIG_ERROR, CONFIG_ERROR_IO));
        g_test_message("%s: %s", path, err->message);
    }
}

/* ---- the good file: includes, continuation, override order, paths ---- */

static void test_full(void)
{
    g_autoptr(MosaicConfig) cfg = load_ok("good/full.ini", NULL);
    const MosaicProps *m = section(cfg, "machine", NULL);
    /* full.ini cpus=2, the include sets 3, the later [machine] in full.ini sets 4. */
    g_assert_cmpuint(mosaic_props_get_uint(m, "cpus"), ==, 4);
    g_assert_cmpstr(mosaic_props_where(m, "cpus"), ==, "good/full.ini:37");
    /* full.ini memory=256M, then the include (later) sets 512M. */
    g_assert_cmpuint(mosaic_props_get_uint(m, "memory"), ==, 512u << 20);
    g_assert_cmpstr(mosaic_props_where(m, "memory"), ==, "good/fragments/disks.ini:19");
    g_assert_cmpstr(mosaic_props_get_str(m, "bootargs"), ==, "console=ttyS0 root=/dev/vda rw earlycon");
    g_assert_cmpstr(mosaic_props_where(m, "bootargs"), ==, "good/full.ini:7");
    g_autofree char *kernel = g_build_filename(datadir, "good/images/Image", NULL);
    g_assert_cmpstr(mosaic_props_get_str(m, "kernel"), ==, kernel);
    g_assert_true(mosaic_props_get_bool(m, "secure"));
    g_assert_cmpstr(mosaic_props_get_str(m, "accel"), ==, "tcg");
    g_assert_cmpstr(mosaic_props_get_str(m, "mode"), ==, "a");
    g_assert_cmpstr(mosaic_props_where(m, "mode"), ==, "good/full.ini:2"); /* defaulted */
    g_assert_false(mosaic_props_has(m, "fdt-addr"));
    g_assert_cmpstr(mosaic_props_kind(m), ==, "machine");
    g_assert_null(mosaic_props_label(m));
    g_assert_cmpstr(config_props_plugin(m)->name, ==, "test-board");

    const MosaicProps *a = section(cfg, "accel", NULL);
    g_assert_cmpuint(mosaic_props_get_uint(a, "tb-size"), ==, 64u << 20);
    g_assert_cmpstr(mosaic_props_get_str(a, "threads"), ==, "multi");

    g_assert_cmpuint(config_count(cfg, "blockdev"), ==, 3);
    g_assert_cmpstr(mosaic_props_label(config_get(cfg, "blockdev", 0)), ==, "raw0");
    g_assert_cmpstr(mosaic_props_label(config_get(cfg, "blockdev", 2)), ==, "thr");
    g_assert_null(config_get(cfg, "blockdev", 3));
    const MosaicProps *raw = section(cfg, "blockdev", "raw0");
    g_autofree char *disk = g_build_filename(datadir, "good/disk.img", NULL);
    g_assert_cmpstr(mosaic_props_get_str(raw, "filename"), ==, disk);
    g_assert_false(mosaic_props_get_bool(raw, "readonly"));
    const MosaicProps *top = section(cfg, "blockdev", "top");
    g_assert_cmpint(mosaic_props_get_int(top, "lazy"), ==, -3);
    g_assert_cmpuint(mosaic_props_get_uint(top, "cache-size"), ==, 2u << 20);
    g_assert_cmpstr(mosaic_props_get_str(top, "file"), ==, "thr");
    g_assert_false(mosaic_props_has(top, "backing"));
    const MosaicProps *thr = section(cfg, "blockdev", "thr");
    g_assert_cmpuint(mosaic_props_get_uint(thr, "bps"), ==, 1u << 30);
    g_assert_cmpstr(config_props_plugin(thr)->name, ==, "test-throttle");

    g_assert_cmpuint(config_count(cfg, "device"), ==, 2);
    const MosaicProps *blk = config_get(cfg, "device", 0);
    g_assert_cmpstr(mosaic_props_label(blk), ==, "blk0");
    g_assert_cmpuint(mosaic_props_get_uint(blk, "iops"), ==, 500);
    g_assert_cmpuint(mosaic_props_get_uint(blk, "queues"), ==, 1);
    const MosaicProps *ser = section(cfg, "chardev", "serial0");
    g_assert_cmpstr(mosaic_props_get_str(ser, "backend"), ==, "file");
    g_assert_true(mosaic_props_get_bool(ser, "append"));
    g_assert_false(mosaic_props_get_bool(ser, "server"));
    const MosaicProps *g0 = section(cfg, "throttle-group", "g0");
    g_assert_cmpuint(mosaic_props_get_uint(g0, "limit"), ==, 10u << 20);
    g_assert_cmpstr(config_props_plugin(g0)->name, ==, "test-owner");

    g_assert_cmpstr(config_where(cfg, "blockdev", "top", "lazy"), ==, "good/fragments/disks.ini:11");
    g_assert_cmpstr(config_where(cfg, "blockdev", "top", NULL), ==, "good/fragments/disks.ini:7");
    g_assert_null(config_where(cfg, "blockdev", "nope", NULL));
    g_assert_null(config_find(cfg, "device", "nope"));
}

/* ---- lines, continuation and the inih limit ---- */

static void test_line_limit(void)
{
    /* 198 characters fit; 199 do not. */
    g_autofree char *v186 = g_strnfill(198 - strlen("bootargs = "), 'x');
    g_autofree char *ok = g_strdup_printf("[machine]\ntype = test-board\nbootargs = %s\ncpus = 2\n", v186);
    g_autoptr(MosaicConfig) cfg = text_ok(ok, NULL);
    g_assert_cmpstr(mosaic_props_get_str(section(cfg, "machine", NULL), "bootargs"), ==, v186);
    g_assert_cmpuint(mosaic_props_get_uint(section(cfg, "machine", NULL), "cpus"), ==, 2);

    g_autofree char *bad = g_strdup_printf("[machine]\ntype = test-board\nbootargs = %sy\ncpus = 2\n", v186);
    g_autofree char *msg = text_error(bad, NULL);
    g_assert_cmpstr(msg, ==, "mem.ini:3: line is 199 characters long, the limit is 198 (split a "
                    "long value over indented continuation lines)");
}

static void test_continuation(void)
{
    /* A 600-character command line over 6 lines; CRLF line ends; a blank line and a
     * comment inside do not end the value. */
    GString *t = g_string_new("[machine]\r\ntype = test-board\r\nbootargs = ");
    GString *want = g_string_new(NULL);
    for (int i = 0; i < 6; i++) {
        g_autofree char *piece = g_strdup_printf("opt%d=%s", i, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
        g_string_append_printf(t, "%s%s\r\n", i ? "  " : "", piece);
        g_string_append_printf(want, "%s%s", i ? " " : "", piece);
        if (i == 2)
            g_string_append(t, "\r\n; a comment\r\n");
    }
    g_string_append(t, "cpus = 3\r\n");
    g_autoptr(MosaicConfig) cfg = text_ok(t->str, NULL);
    const MosaicProps *m = section(cfg, "machine", NULL);
    g_assert_cmpstr(mosaic_props_get_str(m, "bootargs"), ==, want->str);
    g_assert_cmpuint(strlen(mosaic_props_get_str(m, "bootargs")), >, 500);
    g_assert_cmpuint(mosaic_props_get_uint(m, "cpus"), ==, 3);

    /* The dump wraps it again and loads back to the same value. */
    g_autofree char *dump = config_dump(cfg);
    g_auto(GStrv) lines = g_strsplit(dump, "\n", -1);
    for (guint i = 0; lines[i]; i++)
        g_assert_cmpuint(strlen(lines[i]), <=, 198);
    g_autoptr(MosaicConfig) again = text_ok(dump, NULL);
    g_assert_cmpstr(mosaic_props_get_str(section(again, "machine", NULL), "bootargs"), ==, want->str);
    g_string_free(t, TRUE);
    g_string_free(want, TRUE);
}

/* ---- --set ---- */

static void test_set(void)
{
    const char *sets[] = {"machine.memory=1G", "machine.cpus = 8", "blockdev.new0.driver=test-file",
                          "blockdev.new0.filename=rel/x.img", "device.blk0.queues=4",
                          "machine.secure=", NULL};
    g_autoptr(MosaicConfig) cfg = load_ok("good/full.ini", sets);
    const MosaicProps *m = section(cfg, "machine", NULL);
    g_assert_cmpuint(mosaic_props_get_uint(m, "memory"), ==, 1u << 30);
    g_assert_cmpstr(mosaic_props_where(m, "memory"), ==, "--set:1");
    g_assert_cmpuint(mosaic_props_get_uint(m, "cpus"), ==, 8);
    /* An empty value removes the key: the default applies again. */
    g_assert_false(mosaic_props_get_bool(m, "secure"));
    g_assert_cmpuint(mosaic_props_get_uint(section(cfg, "device", "blk0"), "queues"), ==, 4);
    /* PATH values from --set are relative to the current directory. */
    g_autofree char *cwd = g_get_current_dir();
    g_autofree char *x = g_build_filename(cwd, "rel/x.img", NULL);
    g_assert_cmpstr(mosaic_props_get_str(section(cfg, "blockdev", "new0"), "filename"), ==, x);
    g_assert_cmpstr(config_where(cfg, "blockdev", "new0", NULL), ==, "--set:3");

    const char *bad1[] = {"machine.cpus", NULL};
    g_autofree char *m1 = text_error("[machine]\ntype = test-board\n", bad1);
    g_assert_nonnull(strstr(m1, "--set:1: 'machine.cpus' is not kind.key=value"));
    const char *bad2[] = {"machine.bootargs=a ;b", NULL};
    g_autofree char *m2 = text_error("[machine]\ntype = test-board\n", bad2);
    g_assert_nonnull(strstr(m2, "--set:1: the value of 'machine.bootargs' contains"));
    /* Only regular files can be included (a device could be read for ever). */
    g_autofree char *m4 = text_error("[machine]\ntype = test-board\ninclude = /dev/zero\n", NULL);
    g_assert_cmpstr(m4, ==, "mem.ini:3: cannot include '/dev/zero': it is a character device, "
                    "not a regular file");
    /* The top file may be anything the user names but a directory; an endless line (no
     * newline, NUL bytes) is refused without reading it all. */
    g_autoptr(GError) e5 = NULL;
    g_assert_null(config_load("/dev/zero", NULL, &e5));
    g_assert_nonnull(strstr(e5->message, "/dev/zero:1: "));
    /* Everything after the label is the key (dotted keys: out.pipeline); an empty name
     * in it is not a key. */
    const char *bad3[] = {"device.x.y..z=1", NULL};
    g_autofree char *m3 = text_error("[machine]\ntype = test-board\n", bad3);
    g_assert_nonnull(strstr(m3, "bad section kind, label or key in 'device.x.y..z=1'"));
}

/* ---- value syntax ---- */

static void expect_value(const char *set, const char *key, guint64 want)
{
    const char *sets[] = {set, NULL};
    g_autoptr(MosaicConfig) cfg = text_ok("[machine]\ntype = test-board\n"
                                          "[blockdev f]\ndriver = test-file\nfilename = f\n"
                                          "[blockdev t]\ndriver = test-throttle\nfile = f\n", sets);
    const MosaicProps *p = g_str_has_prefix(set, "machine.") ? section(cfg, "machine", NULL)
                                                              : section(cfg, "blockdev", "t");
    g_assert_cmpuint(mosaic_props_get_uint(p, key), ==, want);
}

static void test_suffixes(void)
{
    expect_value("machine.memory=512M", "memory", 512ull << 20);
    expect_value("machine.memory=1G", "memory", 1ull << 30);
    expect_value("machine.memory=1g", "memory", 1ull << 30);
    expect_value("machine.memory=2048K", "memory", 2ull << 20);
    expect_value("machine.memory=1GiB", "memory", 1ull << 30);
    expect_value("machine.memory=4194304", "memory", 4ull << 20);
    expect_value("machine.memory=0x200000", "memory", 2ull << 20);
    expect_value("machine.memory=1T", "memory", 1ull << 40);
    expect_value("machine.fdt-addr=0x80000000", "fdt-addr", 0x80000000ull);
    expect_value("blockdev.t.bps=10M/s", "bps", 10ull << 20);
    expect_value("blockdev.t.bps=500/s", "bps", 500);
    expect_value("blockdev.t.bps=2K", "bps", 2048);

    const char *bad[][2] = {
        {"machine.memory=1.5G", "is not a size"},
        {"machine.memory=G", "is not a size"},
        {"machine.memory=-1M", "is not a size"},
        {"machine.memory=1P", "is not a size"},
        {"machine.memory=99999999999T", "is not a size"},
        {"machine.memory=2T", "is out of range (allowed: 1M..1T)"},
        {"machine.memory=1K", "is out of range"},
        {"machine.fdt-addr=18446744073709551616", "is not a uint"},
        {"machine.fdt-addr=12abc", "is not a uint"},
        {"blockdev.t.bps=10M/min", "is not a rate"},
        {"blockdev.t.bps=/s", "is not a rate"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        const char *sets[] = {bad[i][0], NULL};
        g_autofree char *msg = text_error("[machine]\ntype = test-board\n"
                                          "[blockdev f]\ndriver = test-file\nfilename = f\n"
                                          "[blockdev t]\ndriver = test-throttle\nfile = f\n", sets);
        if (!msg || !strstr(msg, bad[i][1]))
            g_error("%s: got '%s', expected '%s'", bad[i][0], msg, bad[i][1]);
    }
}

static void test_bools(void)
{
    const char *forms[][2] = {{"true", "1"}, {"TRUE", "1"}, {"yes", "1"}, {"on", "1"}, {"1", "1"},
                              {"false", "0"}, {"No", "0"}, {"off", "0"}, {"0", "0"}};
    for (guint i = 0; i < G_N_ELEMENTS(forms); i++) {
        g_autofree char *set = g_strdup_printf("machine.secure=%s", forms[i][0]);
        const char *sets[] = {set, NULL};
        g_autoptr(MosaicConfig) cfg = text_ok("[machine]\ntype = test-board\n", sets);
        g_assert_cmpint(mosaic_props_get_bool(section(cfg, "machine", NULL), "secure"), ==,
                        forms[i][1][0] == '1');
    }
    const char *sets[] = {"machine.secure=2", NULL};
    g_autofree char *msg = text_error("[machine]\ntype = test-board\n", sets);
    g_assert_nonnull(strstr(msg, "secure = 2 is not a bool"));
}

/* ---- duplicate singletons merge, labels merge ---- */

static void test_merge(void)
{
    g_autoptr(MosaicConfig) cfg = text_ok(
        "[machine]\ntype = test-board\ncpus = 2\nmode = b\n"
        "[blockdev f]\ndriver = test-file\nfilename = one\n"
        "[machine]\ncpus = 5\n"
        "[blockdev f]\nfilename = /two\n"
        "[machine]\nmode = c\n", NULL);
    const MosaicProps *m = section(cfg, "machine", NULL);
    g_assert_cmpuint(mosaic_props_get_uint(m, "cpus"), ==, 5);
    g_assert_cmpstr(mosaic_props_get_str(m, "mode"), ==, "c");
    g_assert_cmpstr(mosaic_props_where(m, "mode"), ==, "mem.ini:13");
    g_assert_cmpuint(config_count(cfg, "machine"), ==, 1);
    g_assert_cmpuint(config_count(cfg, "blockdev"), ==, 1);
    g_assert_cmpstr(mosaic_props_get_str(section(cfg, "blockdev", "f"), "filename"), ==, "/two");
    /* The implicit [accel] exists with the accel plugin's defaults. */
    g_assert_cmpuint(mosaic_props_get_uint(section(cfg, "accel", NULL), "tb-size"), ==, 32u << 20);
}

/* ---- dump round trip ---- */

static void round_trip(const char *path, const char *const *sets)
{
    g_autoptr(MosaicConfig) cfg = load_ok(path, sets);
    g_autofree char *d1 = config_dump(cfg);
    g_assert_nonnull(d1);
    g_autofree char *tmpdir = g_dir_make_tmp("test-config-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(tmpdir, "dump.ini", NULL);
    g_assert_true(g_file_set_contents(file, d1, -1, NULL));
    g_autoptr(MosaicConfig) cfg2 = load_ok(file, NULL);
    g_autofree char *d2 = config_dump(cfg2);
    g_assert_cmpstr(d1, ==, d2);
    g_unlink(file);
    g_rmdir(tmpdir);
}

static void test_dump(void)
{
    round_trip("good/full.ini", NULL);
    round_trip("good/minimal.ini", NULL);
    const char *sets2[] = {"machine.bootargs=", "machine.memory=3M", NULL};
    round_trip("good/full.ini", sets2);

    /* A long value with words that would read as a comment or a key at the start of a
     * continuation line: the dump must not wrap there. */
    GString *v = g_string_new("start");
    for (int i = 0; i < 40; i++)
        g_string_append_printf(v, " k%d = v #h%d", i, i);
    const char *t = "[machine]\ntype = test-board\nbootargs = start k0 = v\n   k1 = v #h1\n";
    g_autofree char *err = text_error(t, NULL);
    g_assert_nonnull(strstr(err, "mem.ini:4: this indented line continues the value of 'bootargs'"));
    const char *sets[] = {NULL, NULL};
    g_autofree char *set = g_strdup_printf("machine.bootargs=%s", v->str);
    sets[0] = set;
    g_autoptr(MosaicConfig) tricky = text_ok("[machine]\ntype = test-board\n", sets);
    g_autofree char *td = config_dump(tricky);
    g_autoptr(MosaicConfig) tricky2 = text_ok(td, NULL);
    g_assert_cmpstr(mosaic_props_get_str(section(tricky2, "machine", NULL), "bootargs"), ==, v->str);
    g_string_free(v, TRUE);
    g_autoptr(MosaicConfig) cfg = load_ok("good/full.ini", NULL);
    g_autofree char *d = config_dump(cfg);
    /* Defaults are included, values canonical, paths absolute, [machine] first. */
    g_assert_true(g_str_has_prefix(strstr(d, "\n[") + 1, "[machine]\ntype = test-board\naccel = tcg\n"
                                   "cpus = 4\nmemory = 512M\n"));
    g_assert_nonnull(strstr(d, "\n[accel]\ntb-size = 64M\nthreads = multi\n"));
    g_assert_nonnull(strstr(d, "secure = true\n"));
    g_assert_nonnull(strstr(d, "iops = 500/s\n"));
    g_assert_nonnull(strstr(d, "\n[throttle-group g0]\nlimit = 10M/s\nburst = 0\n"));
    g_autofree char *disk = g_strdup_printf("filename = %s/good/disk.img\n", datadir);
    g_assert_nonnull(strstr(d, disk));
    g_test_message("%s", d);

    /* Not validated: no dump. */
    g_autoptr(MosaicConfig) raw = config_load("good/full.ini", NULL, NULL);
    g_assert_null(config_dump(raw));
    g_assert_cmpuint(config_count(raw, "device"), ==, 0);
    g_assert_cmpstr(config_where(raw, "machine", NULL, "cpus"), ==, "good/full.ini:37");
}

/* ---- describe ---- */

static void test_describe(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *d = config_describe("test-blk", &err);
    g_assert_no_error(err);
    g_assert_nonnull(strstr(d, "test-blk: device plugin, version 1.0, MIT\n"));
    g_assert_nonnull(strstr(d, "Used as [device LABEL] with type = test-blk"));
    g_assert_nonnull(strstr(d, "  drive = ref to a [blockdev LABEL], required\n"
                               "      the blockdev to show the guest\n"));
    g_assert_nonnull(strstr(d, "  queues = uint 1..16, default 1\n"));
    g_assert_nonnull(strstr(d, "  serial = string, changeable at run time\n"));

    g_autofree char *t = config_describe("tcg", &err);
    g_assert_nonnull(strstr(t, "Selected by [machine] accel = tcg"));
    g_assert_nonnull(strstr(t, "  tb-size = size 1M..1G, default 32M\n"));
    g_autofree char *f = config_describe("test-throttle", &err);
    g_assert_nonnull(strstr(f, "block-filter plugin"));
    g_assert_nonnull(strstr(f, "Used as [blockdev LABEL] with driver = test-throttle"));
    g_autofree char *m = config_describe("machine", &err);
    g_assert_nonnull(strstr(m, "  cpus = uint 1..64, default 1\n"));
    g_assert_nonnull(strstr(m, "  memory = size 1M..1T, default 128M\n"));
    g_autofree char *c = config_describe("chardev", &err);
    g_assert_nonnull(strstr(c, "  backend = enum (stdio|file|socket|pty), required\n"));
    g_autofree char *g = config_describe("throttle-group", &err);
    g_assert_nonnull(strstr(g, "section kind of the misc plugin 'test-owner'"));
    g_autofree char *o = config_describe("test-owner", &err);
    g_assert_nonnull(strstr(o, "Section [throttle-group LABEL]: shared limits:\n"
                               "  limit = rate, required\n"));
    g_autofree char *k = config_describe("device:test-blk", &err);
    g_assert_nonnull(strstr(k, "test-blk: device plugin"));
    g_assert_null(config_describe("block:test-blk", &err));
    g_clear_error(&err);
    g_assert_null(config_describe("nonesuch", &err));
    g_assert_error(err, CONFIG_ERROR, CONFIG_ERROR_SCHEMA);
    g_assert_cmpstr(err->message, ==, "no plugin type or section kind named 'nonesuch' "
                    "(see mosaic --list-plugins)");
}

/* ---- registered section kinds ---- */

static const MosaicPropDesc export_props[] = {
    {.key = "node", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED},
    {.key = "socket", .type = MOSAIC_PROP_PATH},
    {NULL},
};

static void test_register(void)
{
    config_register_section("export", NULL, 0, export_props, FALSE);
    g_autoptr(MosaicConfig) cfg = text_ok("[machine]\ntype = test-board\n"
                                          "[blockdev f]\ndriver = test-file\nfilename = /f\n"
                                          "[export e0]\nnode = f\nsocket = /tmp/e0.sock\n", NULL);
    g_assert_cmpstr(mosaic_props_get_str(section(cfg, "export", "e0"), "node"), ==, "f");
    g_autofree char *msg = text_error("[machine]\ntype = test-board\n[export e0]\nnode = nope\n", NULL);
    g_assert_cmpstr(msg, ==, "mem.ini:4: [export e0] node = nope: there is no [blockdev nope] "
                    "(the file has no [blockdev ...] section)");
}

/* ---- getters of undeclared keys are plugin bugs ---- */

static void test_undeclared_key(void)
{
    if (g_test_subprocess()) {
        g_autoptr(MosaicConfig) cfg = text_ok("[machine]\ntype = test-board\n", NULL);
        mosaic_props_get_uint(section(cfg, "machine", NULL), "nonesuch");
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*key 'nonesuch' is not declared for [machine]*");
}


/* ---- hostile input: random mutations of a good file never crash ---- */

static void test_mutations(void)
{
    g_autofree char *text = NULL;
    gsize len;
    g_assert_true(g_file_get_contents("good/full.ini", &text, &len, NULL));
    static const char alphabet[] = "[]=;#: \t\n\r\\x0123456789abcdeKMGT/s.-_";
    GRand *r = g_rand_new_with_seed(1234);
    guint failed = 0;
    for (guint round = 0; round < 3000; round++) {
        g_autoptr(GString) t = g_string_new_len(text, len);
        guint edits = g_rand_int_range(r, 1, 8);
        for (guint e = 0; e < edits && t->len > 1; e++) {
            guint pos = g_rand_int_range(r, 0, t->len);
            gsize n1 = g_rand_int_range(r, 1, 20), n2 = g_rand_int_range(r, 1, 200);
            char c = alphabet[g_rand_int_range(r, 0, sizeof(alphabet) - 1)];
            switch (g_rand_int_range(r, 0, 4)) {
            case 0: t->str[pos] = c; break;
            case 1: g_string_insert_c(t, pos, c); break;
            case 2: g_string_erase(t, pos, MIN(t->len - pos, n1)); break;
            default: { /* duplicate a chunk, making long lines and repeated keys */
                gsize n = MIN(t->len - pos, n2);
                g_autofree char *chunk = g_strndup(t->str + pos, n);
                g_string_insert(t, g_rand_int_range(r, 0, t->len), chunk);
            }
            }
        }
        /* Relative includes resolve against good/, where the fragments are. */
        g_autoptr(GError) err = NULL;
        g_autoptr(MosaicConfig) cfg = config_load_string("good/mutant.ini", t->str, NULL, &err);
        if (cfg && config_validate(cfg, &err)) {
            /* What loads also round-trips through its dump. */
            g_autofree char *d = config_dump(cfg);
            g_autoptr(MosaicConfig) again = config_load_string("good/dump.ini", d, NULL, &err);
            g_assert_no_error(err);
            config_validate(again, &err);
            g_assert_no_error(err);
            g_autofree char *d2 = config_dump(again);
            g_assert_cmpstr(d, ==, d2);
        } else {
            /* Every error says where: FILE:LINE or at least the file. */
            g_assert_nonnull(err);
            g_assert_true(g_str_has_prefix(err->message, "good/"));
            failed++;
        }
    }
    g_rand_free(r);
    g_test_message("%u of 3000 mutants refused", failed);
    g_assert_cmpuint(failed, >, 0);
}

/* ---- the builder ---- */

/* Code builds the same sections the reader makes from text: same values, same dump;
 * and values never pass through INI syntax. */
static void test_builder(void)
{
    g_autoptr(MosaicConfig) read = text_ok("[machine]\ntype = test-board\ncpus = 2\n"
                                           "[blockdev d0]\ndriver = test-file\n"
                                           "filename = /img/a.img\n", NULL);
    g_autoptr(MosaicConfig) built = config_new("built");
    ConfigSection *m = config_section_get(built, "machine", NULL, NULL, NULL);
    config_section_set(m, "type", "test-board", NULL, NULL);
    config_section_set_uint(m, "cpus", 2);
    ConfigSection *d = config_section_get(built, "blockdev", "d0", NULL, NULL);
    config_section_set(d, "driver", "test-file", NULL, NULL);
    config_section_set(d, "filename", "/img/a.img", NULL, NULL);
    g_autoptr(GError) err = NULL;
    g_assert_true(config_validate(built, &err));
    g_assert_no_error(err);
    g_autofree char *d1 = config_dump(read), *d2 = config_dump(built);
    g_assert_cmpstr(d1, ==, d2);
    g_assert_cmpstr(config_where(built, "blockdev", "d0", "filename"), ==, "built");

    /* Any text: comment characters, '=' and 300 characters in one value. */
    g_autofree char *longname = g_strnfill(300, 'n');
    g_autofree char *odd = g_strdup_printf("/img/a ;b #c = [d] %s.img", longname);
    config_section_set(d, "filename", odd, NULL, NULL);
    config_section_set_bool(d, "readonly", TRUE);
    g_assert_true(config_validate(built, &err));
    const MosaicProps *p = section(built, "blockdev", "d0");
    g_assert_cmpstr(mosaic_props_get_str(p, "filename"), ==, odd);
    g_assert_true(mosaic_props_get_bool(p, "readonly"));

    /* An external section may be referenced but is neither validated nor listed. */
    ConfigSection *b = config_section_get(built, "device", "b0", NULL, NULL);
    config_section_set(b, "type", "test-blk", NULL, NULL);
    config_section_set(b, "drive", "elsewhere", NULL, NULL);
    g_assert_false(config_validate(built, &err));
    g_assert_nonnull(strstr(err->message, "there is no [blockdev elsewhere]"));
    g_clear_error(&err);
    config_section_external(built, "blockdev", "elsewhere");
    g_assert_true(config_validate(built, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(config_count(built, "blockdev"), ==, 1);
    g_assert_null(config_find(built, "blockdev", "elsewhere"));
    g_autofree char *d3 = config_dump(built);
    g_assert_null(strstr(d3, "elsewhere]"));

    /* A copy is the same configuration, to add to. */
    g_autoptr(MosaicConfig) copy = config_copy(built, "copy");
    g_assert_true(config_validate(copy, &err));
    g_autofree char *d4 = config_dump(copy);
    g_assert_cmpstr(d3, ==, d4);
}

/* ---- bounded work on hostile files ----
 * Each test has a generous alarm() as a hang guard only (an unbounded parse must fail
 * the test, not stall the suite); nothing here measures speed. */

static char *write_tmp(const char *dir, const char *name, const char *text)
{
    char *path = g_build_filename(dir, name, NULL);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    return path;
}

static void test_include_fifo(void)
{
    alarm(60);
    g_autofree char *dir = g_dir_make_tmp("test-config-XXXXXX", NULL);
    g_autofree char *fifo = g_build_filename(dir, "fifo.ini", NULL);
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    g_autofree char *text = g_strdup_printf("[machine]\ntype = test-board\ninclude = %s\n", fifo);
    g_autofree char *msg = text_error(text, NULL);
    g_autofree char *want = g_strdup_printf("mem.ini:3: cannot include '%s': it is a FIFO, not a "
                                            "regular file", fifo);
    g_assert_cmpstr(msg, ==, want);
    alarm(0);
    g_unlink(fifo);
    g_rmdir(dir);
}

/* Each of 8 levels includes the next 4 times: 4^8 files without a bound. */
static void test_include_fan_out(void)
{
    alarm(60);
    g_autofree char *dir = g_dir_make_tmp("test-config-XXXXXX", NULL);
    for (int level = 0; level < 8; level++) {
        g_autoptr(GString) t = g_string_new(level ? "" : "[machine]\ntype = test-board\n");
        for (int k = 0; k < 4; k++)
            g_string_append_printf(t, "include = f%d.ini\n", level + 1);
        g_autofree char *name = g_strdup_printf("f%d.ini", level);
        g_free(write_tmp(dir, name, t->str));
    }
    g_free(write_tmp(dir, "f8.ini", "; the leaf\n"));
    g_autofree char *top = g_build_filename(dir, "f0.ini", NULL);
    g_autoptr(GError) err = NULL;
    g_assert_null(config_load(top, NULL, &err));
    g_assert_nonnull(strstr(err->message, ": more than 256 files read with their includes "
                                          "(the limit)"));
    alarm(0);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    g_assert_cmpint(system(cmd), ==, 0);
}

/* 20,000 continuation lines load (in linear time: the hang guard stops a quadratic
 * join); a value past the limit names the line where it passes it. */
static void test_long_continuations(void)
{
    alarm(60);
    g_autoptr(GString) t = g_string_new("[machine]\ntype = test-board\nbootargs = x\n");
    for (int i = 0; i < 20000; i++)
        g_string_append(t, "  y\n");
    g_autoptr(MosaicConfig) cfg = text_ok(t->str, NULL);
    const char *v = mosaic_props_get_str(section(cfg, "machine", NULL), "bootargs");
    g_assert_cmpuint(strlen(v), ==, 1 + 2 * 20000);
    g_assert_true(g_str_has_suffix(v, " y y"));

    g_string_assign(t, "[machine]\ntype = test-board\nbootargs = x\n");
    for (int i = 0; i < 20000; i++)
        g_string_append(t, "  abcdefgh\n");
    g_autofree char *msg = text_error(t->str, NULL);
    /* 1 + 9k > 65536 first at k = 7282, on line 3 + k. */
    g_assert_cmpstr(msg, ==, "mem.ini:7285: the value of 'bootargs' is longer than 65536 "
                             "characters (the limit)");
    alarm(0);
}

static void test_many_sections(void)
{
    alarm(60);
    g_autoptr(GString) t = g_string_new("[machine]\ntype = test-board\n");
    for (int i = 0; i < 4000; i++)
        g_string_append_printf(t, "[blockdev d%d]\ndriver = test-file\nfilename = d%d.img\n", i,
                               i);
    g_autoptr(MosaicConfig) cfg = text_ok(t->str, NULL);
    g_assert_cmpuint(config_count(cfg, "blockdev"), ==, 4000);
    g_assert_nonnull(config_find(cfg, "blockdev", "d3999"));

    for (int i = 4000; i < 40000; i++)
        g_string_append_printf(t, "[blockdev d%d]\ndriver = test-file\nfilename = d%d.img\n", i,
                               i);
    g_autofree char *msg = text_error(t->str, NULL);
    /* [machine] is section 1; the 4097th header is [blockdev d4095], on line 3 + 4095 * 3. */
    g_assert_cmpstr(msg, ==, "mem.ini:12288: more than 4096 sections (the limit)");

    g_string_assign(t, "[machine]\ntype = test-board\n");
    for (int i = 0; i < 300; i++)
        g_string_append_printf(t, "k%d = 1\n", i);
    g_autofree char *msg2 = text_error(t->str, NULL);
    g_assert_cmpstr(msg2, ==, "mem.ini:258: more than 256 keys in one section (the limit)");
    alarm(0);
}

/* An included file that is no machine file: where, never what it holds. */
static void test_include_not_echoed(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-config-XXXXXX", NULL);
    g_autofree char *shadow = write_tmp(dir, "shadow", "root:$y$j9T$c2VjcmV0:19000:0:99999:7:::\n"
                                                      "daemon:*:19000:0:99999:7:::\n");
    g_autofree char *text = g_strdup_printf("[machine]\ntype = test-board\ninclude = %s\n",
                                            shadow);
    g_autofree char *msg = text_error(text, NULL);
    g_autofree char *want = g_strdup_printf("%s:1: not a line of a machine file (this file is "
                                            "included at mem.ini:3 and has no [kind label] "
                                            "header before this line; its text is not shown)",
                                            shadow);
    g_assert_cmpstr(msg, ==, want);
    g_assert_null(strstr(msg, "root"));
    g_assert_null(strstr(msg, "c2VjcmV0"));
    /* The same line in the file the user named is theirs: quoted. */
    g_autofree char *own = text_error("root:$y$j9T$c2VjcmV0:19000\n", NULL);
    g_assert_cmpstr(own, ==, "mem.ini:1: key 'root' is outside any section (put it after a "
                             "[kind label] header, e.g. [machine])");
    g_unlink(shadow);
    g_rmdir(dir);
}

/* More than 16 MiB over all files (here one include of comments). */
static void test_total_bytes(void)
{
    alarm(60);
    g_autofree char *dir = g_dir_make_tmp("test-config-XXXXXX", NULL);
    g_autoptr(GString) t = g_string_new(NULL);
    while (t->len <= (16u << 20))
        g_string_append(t, "; 0123456789012345678901234567890123456789012345678901234567890\n");
    g_autofree char *big = write_tmp(dir, "big.ini", t->str);
    g_autofree char *text = g_strdup_printf("[machine]\ntype = test-board\ninclude = %s\n", big);
    g_autofree char *msg = text_error(text, NULL);
    g_assert_nonnull(msg);
    g_assert_nonnull(strstr(msg, "the machine file and its includes are longer than 16 MiB "
                                 "(the limit)"));
    g_assert_true(g_str_has_prefix(msg, big));
    alarm(0);
    g_unlink(big);
    g_rmdir(dir);
}

/* ---- integer boundaries: the last value in range passes, the next one fails ---- */

/* Parses `text` for `d`: TRUE with the value in *out, or FALSE with the message freed. */
static gboolean parse_one(const MosaicPropDesc *d, const char *text, PropValue *out)
{
    g_autofree char *msg = NULL;
    memset(out, 0, sizeof *out);
    gboolean ok = config_parse_value(d, text, "/", out, &msg);
    g_free(out->text);
    out->text = NULL;
    g_assert_true(ok == (msg == NULL));
    return ok;
}

static void test_int_boundaries(void)
{
    const MosaicPropDesc wide = {.key = "n", .type = MOSAIC_PROP_INT}; /* no range */
    const MosaicPropDesc narrow = {.key = "n", .type = MOSAIC_PROP_INT, .min = -5, .max = 5};
    const MosaicPropDesc count = {.key = "n", .type = MOSAIC_PROP_UINT, .min = 1, .max = 16};
    const MosaicPropDesc big = {.key = "n", .type = MOSAIC_PROP_UINT, .min = 0,
                                .max = G_MAXINT64};
    PropValue pv;

    g_assert_true(parse_one(&wide, "9223372036854775807", &pv));
    g_assert_cmpint(pv.v.i, ==, G_MAXINT64);
    g_assert_false(parse_one(&wide, "9223372036854775808", &pv)); /* 2^63 would wrap */
    g_assert_false(parse_one(&wide, "+9223372036854775808", &pv));
    g_assert_false(parse_one(&wide, "0x8000000000000000", &pv));
    g_assert_true(parse_one(&wide, "-9223372036854775808", &pv));
    g_assert_cmpint(pv.v.i, ==, G_MININT64);
    g_assert_false(parse_one(&wide, "-9223372036854775809", &pv));

    g_assert_true(parse_one(&narrow, "5", &pv));
    g_assert_cmpint(pv.v.i, ==, 5);
    g_assert_false(parse_one(&narrow, "6", &pv));
    g_assert_true(parse_one(&narrow, "-5", &pv));
    g_assert_false(parse_one(&narrow, "-6", &pv));

    g_assert_true(parse_one(&count, "16", &pv));
    g_assert_cmpuint(pv.v.u, ==, 16);
    g_assert_false(parse_one(&count, "17", &pv));
    g_assert_true(parse_one(&count, "1", &pv));
    g_assert_false(parse_one(&count, "0", &pv));

    g_assert_true(parse_one(&big, "9223372036854775807", &pv));
    g_assert_false(parse_one(&big, "9223372036854775808", &pv));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(fakes); i++)
        plugin_registry_add_builtin(&fakes[i]);

    /* tests/data/config: from $MOSAIC_SRCDIR, else from build/<variant>/tests/unit/. */
    const char *src = g_getenv("MOSAIC_SRCDIR");
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *exedir = exe ? g_path_get_dirname(exe) : g_get_current_dir();
    g_autofree char *root = src ? g_strdup(src) : g_build_filename(exedir, "../../../..", NULL);
    g_autofree char *d = g_build_filename(root, "tests/data/config", NULL);
    datadir = g_canonicalize_filename(d, NULL);
    if (g_chdir(datadir) != 0)
        g_error("cannot enter %s (set MOSAIC_SRCDIR to the source tree)", datadir);

    g_test_add_func("/config/bad-files", test_bad_files);
    g_test_add_func("/config/full", test_full);
    g_test_add_func("/config/line-limit", test_line_limit);
    g_test_add_func("/config/continuation", test_continuation);
    g_test_add_func("/config/set", test_set);
    g_test_add_func("/config/suffixes", test_suffixes);
    g_test_add_func("/config/bools", test_bools);
    g_test_add_func("/config/merge", test_merge);
    g_test_add_func("/config/dump-round-trip", test_dump);
    g_test_add_func("/config/describe", test_describe);
    g_test_add_func("/config/register-section", test_register);
    g_test_add_func("/config/undeclared-key", test_undeclared_key);
    g_test_add_func("/config/mutations", test_mutations);
    g_test_add_func("/config/builder", test_builder);
    g_test_add_func("/config/include-fifo", test_include_fifo);
    g_test_add_func("/config/include-fan-out", test_include_fan_out);
    g_test_add_func("/config/long-continuations", test_long_continuations);
    g_test_add_func("/config/many-sections", test_many_sections);
    g_test_add_func("/config/include-not-echoed", test_include_not_echoed);
    g_test_add_func("/config/total-bytes", test_total_bytes);
    g_test_add_func("/config/int-boundaries", test_int_boundaries);
    return g_test_run();
}
