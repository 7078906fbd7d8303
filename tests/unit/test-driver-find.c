/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Block drivers found by what they do (caps, URI schemes), whatever their names. */
#include <glib.h>
#include <mosaic/mosaic.h>
#include "block/block-internal.h"
#include "plugin/registry.h"

static const char *const schemes[] = {"xnbd", "xnbd+unix", NULL};
static const MosaicBlkDriverOps filter_ops = {.size = sizeof(MosaicBlkDriverOps),
                                              .caps = MOSAIC_BLK_CAP_COPY_BEFORE_WRITE};
static const MosaicBlkDriverOps proto_ops = {.size = sizeof(MosaicBlkDriverOps),
                                             .uri_schemes = schemes};
/* Built against ABI 1.0: its table ends before caps and must not be read past. */
static const MosaicBlkDriverOps old_ops = {.size = offsetof(MosaicBlkDriverOps, caps),
                                           .caps = MOSAIC_BLK_CAP_COPY_BEFORE_WRITE};

#define DESC(k, n, o) {.magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR,          \
                       .abi_minor = MOSAIC_ABI_MINOR, .size = sizeof(MosaicPluginDesc),      \
                       .kind = k, .kind_abi = 1, .name = n, .version = "1", .license = "MIT", \
                       .description = "fake", .ops = o}
static const MosaicPluginDesc old_filter = DESC(MOSAIC_KIND_BLOCK_FILTER, "old-filter", &old_ops);
static const MosaicPluginDesc fakes[] = {
    DESC(MOSAIC_KIND_BLOCK_FILTER, "some-filter", &filter_ops),
    DESC(MOSAIC_KIND_BLOCK, "some-proto", &proto_ops),
};

static void test_by_cap(void)
{
    g_autoptr(GError) err = NULL;
    g_assert_null(blk_driver_with_cap(MOSAIC_BLK_CAP_COPY_BEFORE_WRITE, "a cbw filter", &err));
    g_assert_cmpstr(err->message, ==, "no block plugin provides a cbw filter (mosaic "
                    "--list-plugins shows the installed ones)");
    for (guint i = 0; i < G_N_ELEMENTS(fakes); i++)
        plugin_registry_add_builtin(&fakes[i]);
    g_assert_cmpstr(blk_driver_with_cap(MOSAIC_BLK_CAP_COPY_BEFORE_WRITE, "x", NULL), ==,
                    "some-filter");
}

static void test_by_uri(void)
{
    g_autoptr(GError) err = NULL;
    g_assert_cmpstr(blk_driver_for_uri("xnbd+unix:///e?socket=/s", NULL), ==, "some-proto");
    g_assert_cmpstr(blk_driver_for_uri("xnbd://h:1/e", NULL), ==, "some-proto");
    g_assert_null(blk_driver_for_uri("xnbdx://h/e", NULL));
    g_assert_null(blk_driver_for_uri("no-scheme", &err));
    g_assert_cmpstr(err->message, ==, "'no-scheme': no block plugin opens URIs of this scheme "
                    "(mosaic --list-plugins shows the installed ones)");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    const char *none[] = {NULL};
    plugin_registry_init_dirs(none);
    plugin_registry_add_builtin(&old_filter);
    g_test_add_func("/block/driver-find/cap", test_by_cap);
    g_test_add_func("/block/driver-find/uri", test_by_uri);
    return g_test_run();
}
