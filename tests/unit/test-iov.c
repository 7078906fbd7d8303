/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SDK's scatter-gather helpers (mosaic/iov.h). */
#include <string.h>
#include <glib.h>
#include <mosaic/iov.h>

/* "abc" "" "defgh" "ij": 10 bytes in four pieces, one empty. */
static char a[] = "abc", d[] = "defgh", i_[] = "ij";
static struct iovec list[] = {{a, 3}, {NULL, 0}, {d, 5}, {i_, 2}};

static void test_size_and_copy(void)
{
    char buf[16] = {0};
    g_assert_cmpuint(mosaic_iov_size(list, 4), ==, 10);
    g_assert_cmpuint(mosaic_iov_to_buf(list, 4, 2, buf, 6), ==, 6);
    g_assert_cmpstr(buf, ==, "cdefgh");
    memset(buf, 0, sizeof(buf));
    g_assert_cmpuint(mosaic_iov_to_buf(list, 4, 7, buf, 100), ==, 3); /* cut at the end */
    g_assert_cmpstr(buf, ==, "hij");
    g_assert_cmpuint(mosaic_iov_to_buf(list, 4, 10, buf, 1), ==, 0);
}

static void test_from_buf_and_memset(void)
{
    char x[] = "....", y[] = "....";
    struct iovec l[] = {{x, 4}, {y, 4}};
    g_assert_cmpuint(mosaic_iov_from_buf(l, 2, 3, "ABC", 3), ==, 3);
    g_assert_cmpstr(x, ==, "...A");
    g_assert_cmpstr(y, ==, "BC..");
    g_assert_cmpuint(mosaic_iov_memset(l, 2, 1, 'z', 6), ==, 6);
    g_assert_cmpstr(x, ==, ".zzz");
    g_assert_cmpstr(y, ==, "zzz.");
}

static void test_slice(void)
{
    struct iovec out[3];
    g_assert_cmpuint(mosaic_iov_slice(list, 4, 1, 8, out, 3), ==, 3);
    g_assert_true(out[0].iov_base == a + 1 && out[0].iov_len == 2);
    g_assert_true(out[1].iov_base == d && out[1].iov_len == 5);
    g_assert_true(out[2].iov_base == i_ && out[2].iov_len == 1);
    /* Needs three entries: two are not enough. */
    g_assert_cmpuint(mosaic_iov_slice(list, 4, 1, 8, out, 2), ==, 0);
    g_assert_cmpuint(mosaic_iov_slice(list, 4, 4, 2, out, 1), ==, 1);
    g_assert_true(out[0].iov_base == d + 1 && out[0].iov_len == 2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/iov/size-and-copy", test_size_and_copy);
    g_test_add_func("/iov/from-buf-and-memset", test_from_buf_and_memset);
    g_test_add_func("/iov/slice", test_slice);
    return g_test_run();
}
