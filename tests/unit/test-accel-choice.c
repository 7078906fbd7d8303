/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The accelerator of a machine when [machine] names none: the board's default, else
 * the only accel plugin that runs the board's architecture, else a clear error.  The
 * core itself names no accelerator. */
#include <string.h>
#include <glib.h>
#include <mosaic/mosaic.h>
#include "config/config.h"
#include "plugin/registry.h"

static const char *const arch_a[] = {"arch-a", NULL};
static const char *const arch_b[] = {"arch-b", NULL};
static const MosaicAccelOps accel_a = {.size = sizeof(MosaicAccelOps), .archs = arch_a};
static const MosaicAccelOps accel_b = {.size = sizeof(MosaicAccelOps), .archs = arch_b};
static const MosaicMachineOps board_a = {.size = sizeof(MosaicMachineOps), .arch = "arch-a"};
static const MosaicMachineOps board_b = {.size = sizeof(MosaicMachineOps), .arch = "arch-b",
                                         .default_accel = "second-b"};
static const MosaicMachineOps board_c = {.size = sizeof(MosaicMachineOps), .arch = "arch-c"};

#define DESC(k, n, o) {.magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR,          \
                       .abi_minor = MOSAIC_ABI_MINOR, .size = sizeof(MosaicPluginDesc),      \
                       .kind = k, .kind_abi = 1, .name = n, .version = "1", .license = "MIT", \
                       .description = "fake", .ops = o}
static const MosaicPluginDesc fakes[] = {
    DESC(MOSAIC_KIND_MACHINE, "board-a", &board_a),
    DESC(MOSAIC_KIND_MACHINE, "board-b", &board_b),
    DESC(MOSAIC_KIND_MACHINE, "board-c", &board_c),
    DESC(MOSAIC_KIND_ACCEL, "only-a", &accel_a),
    DESC(MOSAIC_KIND_ACCEL, "first-b", &accel_b),
    DESC(MOSAIC_KIND_ACCEL, "second-b", &accel_b),
};

static char *chosen(const char *board, GError **err)
{
    g_autofree char *text = g_strdup_printf("[machine]\ntype = %s\n", board);
    g_autoptr(MosaicConfig) cfg = config_load_string("m.ini", text, NULL, err);
    if (!cfg || !config_validate(cfg, err))
        return NULL;
    return g_strdup(mosaic_props_get_str(config_find(cfg, "machine", NULL), "accel"));
}

static void test_only_candidate(void)
{
    g_autofree char *a = chosen("board-a", NULL);
    g_assert_cmpstr(a, ==, "only-a");
}

static void test_board_default(void)
{
    g_autofree char *b = chosen("board-b", NULL);
    g_assert_cmpstr(b, ==, "second-b");
}

static void test_none_fits(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *c = chosen("board-c", &err);
    g_assert_null(c);
    g_assert_cmpstr(err->message, ==, "m.ini:1: [machine] accel is not set, the board names no "
                    "default and 0 accelerators can run it: set accel = NAME (mosaic "
                    "--list-plugins shows them)");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    const char *none[] = {NULL};
    plugin_registry_init_dirs(none);
    for (guint i = 0; i < G_N_ELEMENTS(fakes); i++)
        plugin_registry_add_builtin(&fakes[i]);
    g_test_add_func("/accel-choice/only-candidate", test_only_candidate);
    g_test_add_func("/accel-choice/board-default", test_board_default);
    g_test_add_func("/accel-choice/none-fits", test_none_fits);
    return g_test_run();
}
