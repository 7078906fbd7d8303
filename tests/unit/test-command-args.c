/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Argument tables of plugin commands are read by their declared element size
 * (MosaicCommandDesc.arg_size), so MosaicArgDesc can grow in a minor release. */
#include "monitor/monitor-internal.h"

static bool handler(void *opaque, const MosaicArgs *args, MosaicJson *ret, MosaicError *err)
{
    return true;
}

typedef struct {
    MosaicArgDesc a;
    void *later; /* a field of a later minor */
} WideArg;

static const WideArg wide[] = {
    {{"first", MOSAIC_ARG_INT, false, "h1"}, NULL},
    {{"second", MOSAIC_ARG_STR, true, "h2"}, NULL},
    {{NULL}, NULL},
};

static void test_wide_elements(void)
{
    MosaicCommandDesc c = {sizeof(c), "x-wide", "help", &wide[0].a, NULL, handler,
                           .arg_size = sizeof(WideArg)};
    MosaicError *err = NULL;
    g_assert_true(mosaic_monitor_register(&c, NULL, err));
    const MonitorCommand *got = monitor_command_find("x-wide");
    g_assert_nonnull(got);
    g_assert_cmpstr(got->desc.args[0].name, ==, "first");
    g_assert_cmpstr(got->desc.args[1].name, ==, "second");
    g_assert_true(got->desc.args[1].optional);
    g_assert_null(got->desc.args[2].name);
}

static void test_size_zero_is_1_0(void)
{
    static const MosaicArgDesc plain[] = {{"only", MOSAIC_ARG_BOOL, false, NULL}, {NULL}};
    MosaicCommandDesc c = {sizeof(c), "x-plain", "help", plain, NULL, handler};
    g_assert_true(mosaic_monitor_register(&c, NULL, NULL));
    g_assert_cmpstr(monitor_command_find("x-plain")->desc.args[0].name, ==, "only");
    g_assert_null(monitor_command_find("x-plain")->desc.args[1].name);
}

static void test_bad_size_refused(void)
{
    MosaicCommandDesc c = {sizeof(c), "x-bad", "help", &wide[0].a, NULL, handler, .arg_size = 4};
    g_assert_false(mosaic_monitor_register(&c, NULL, NULL));
    g_assert_null(monitor_command_find("x-bad"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/monitor/command-args/wide-elements", test_wide_elements);
    g_test_add_func("/monitor/command-args/size-zero-is-1.0", test_size_zero_is_1_0);
    g_test_add_func("/monitor/command-args/bad-size-refused", test_bad_size_refused);
    return g_test_run();
}
