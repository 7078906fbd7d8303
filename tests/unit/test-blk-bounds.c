/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The block layer's own range check (blk_check_req): every request type at the
 * boundaries of a fixed-size node and of a growable one.  The NBD server checks the
 * same ranges first (tests/interop/test_nbd_bounds.py, which tells its refusals apart
 * by their message); each line is tested on its own so neither hides a fault of the
 * other. */
#include <errno.h>
#include <sys/uio.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <mosaic/mosaic.h>

#include "block/block-internal.h"
#include "block/block.h"
#include "config/config.h"
#include "plugin/registry.h"
#include "blk-harness.h"

#define LEN (1u << 20)
#define NEAR_TOP (G_MAXUINT64 - 255) /* offset + 512 wraps */

static int check(const char *node, int type, guint64 offset, guint64 bytes)
{
    struct iovec iov = {NULL, bytes}; /* only its length is looked at */
    gboolean data = type == MOSAIC_BLK_READ || type == MOSAIC_BLK_WRITE;
    MosaicBlkReq req = {.size = sizeof req, .type = type, .offset = offset, .bytes = bytes,
                        .iov = data ? &iov : NULL, .niov = data ? 1 : 0};
    return blk_check_req(blk_node_find(node), &req);
}

static const int ranged[] = {MOSAIC_BLK_READ, MOSAIC_BLK_WRITE, MOSAIC_BLK_DISCARD,
                             MOSAIC_BLK_WRITE_ZEROES, MOSAIC_BLK_BLOCK_STATUS};

static void test_fixed_size(void)
{
    for (guint i = 0; i < G_N_ELEMENTS(ranged); i++) {
        int t = ranged[i];
        g_assert_cmpint(check("r", t, LEN - 512, 512), ==, 0);      /* ends at the end */
        g_assert_cmpint(check("r", t, 0, LEN), ==, 0);              /* all of it */
        g_assert_cmpint(check("r", t, LEN, 0), ==, 0);              /* empty, at the end */
        g_assert_cmpint(check("r", t, LEN - 511, 512), ==, -EINVAL); /* one byte past */
        g_assert_cmpint(check("r", t, 0, LEN + 1), ==, -EINVAL);
        g_assert_cmpint(check("r", t, LEN, 1), ==, -EINVAL);
        g_assert_cmpint(check("r", t, LEN + 1, 0), ==, -EINVAL);     /* empty, past the end */
        g_assert_cmpint(check("r", t, NEAR_TOP, 512), ==, -EINVAL);  /* wraps */
        g_assert_cmpint(check("r", t, 512, G_MAXUINT64), ==, -EINVAL);
    }
    g_assert_cmpint(check("r", MOSAIC_BLK_FLUSH, 0, 0), ==, 0);
    g_assert_cmpint(check("r", MOSAIC_BLK_NR_TYPES, 0, 512), ==, -EINVAL);
}

/* The request's size says which fields its maker has: below the 1.0 layout it is
 * refused before any field past `size` is read; a bigger (newer) request passes. */
static void test_request_size(void)
{
    struct iovec iov = {NULL, 512};
    MosaicBlkReq req = {.type = MOSAIC_BLK_READ, .bytes = 512, .iov = &iov, .niov = 1};
    MosaicBlkNode *r = blk_node_find("r");
    for (uint32_t size = 0; size < 56; size += 8) {
        req.size = size;
        g_assert_cmpint(blk_check_req(r, &req), ==, -EINVAL);
    }
    req.size = 56; /* ABI 1.0 */
    g_assert_cmpint(blk_check_req(r, &req), ==, 0);
    req.size = 4096; /* a later minor's, bigger */
    g_assert_cmpint(blk_check_req(r, &req), ==, 0);
}

/* A writable file grows under a format that allocates past its end: only writes may,
 * and never by wrapping around. */
static void test_growable(void)
{
    g_assert_true(blk_node_growable(blk_node_find("f")));
    for (guint i = 0; i < G_N_ELEMENTS(ranged); i++) {
        int t = ranged[i];
        gboolean grows = t == MOSAIC_BLK_WRITE || t == MOSAIC_BLK_WRITE_ZEROES;
        g_assert_cmpint(check("f", t, LEN - 512, 512), ==, 0);
        g_assert_cmpint(check("f", t, LEN - 511, 512), ==, grows ? 0 : -EINVAL);
        g_assert_cmpint(check("f", t, LEN + 4096, 512), ==, grows ? 0 : -EINVAL);
        g_assert_cmpint(check("f", t, NEAR_TOP, 512), ==, -EINVAL);
        g_assert_cmpint(check("f", t, G_MAXUINT64, 1), ==, -EINVAL);
    }
}

static void test_read_only(void)
{
    g_assert_cmpint(check("ro", MOSAIC_BLK_READ, LEN - 512, 512), ==, 0);
    g_assert_cmpint(check("ro", MOSAIC_BLK_WRITE, 0, 512), ==, -EPERM);
    g_assert_cmpint(check("ro", MOSAIC_BLK_DISCARD, 0, 512), ==, -EPERM);
    g_assert_cmpint(check("ro", MOSAIC_BLK_WRITE_ZEROES, 0, 512), ==, -EPERM);
    g_assert_cmpint(check("ro", MOSAIC_BLK_WRITE, LEN, 512), ==, -EINVAL); /* range first */
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    blk_harness_init();
    g_autofree char *dir = g_dir_make_tmp("test-blk-bounds-XXXXXX", NULL);
    g_autofree char *img = g_build_filename(dir, "d.img", NULL);
    g_autofree char *img2 = g_build_filename(dir, "ro.img", NULL);
    g_autofree char *zeros = g_malloc0(LEN);
    g_assert_true(g_file_set_contents(img, zeros, LEN, NULL));
    g_assert_true(g_file_set_contents(img2, zeros, LEN, NULL));
    g_autofree char *ini = g_strdup_printf(
        "[machine]\ntype = none\n"
        "[blockdev f]\ndriver = file\nfilename = %s\n"
        "[blockdev r]\ndriver = raw\nfile = f\n"
        "[blockdev ro]\ndriver = file\nfilename = %s\nread-only = on\n", img, img2);
    GError *err = NULL;
    MosaicConfig *cfg = config_load_string("bounds.ini", ini, NULL, &err);
    g_assert_no_error(err);
    g_assert_true(config_validate(cfg, &err));
    g_assert_true(blk_graph_build(cfg, &err));
    g_assert_no_error(err);
    g_test_add_func("/blk-bounds/fixed-size", test_fixed_size);
    g_test_add_func("/blk-bounds/request-size", test_request_size);
    g_test_add_func("/blk-bounds/growable", test_growable);
    g_test_add_func("/blk-bounds/read-only", test_read_only);
    int ret = g_test_run();
    blk_graph_close();
    config_free(cfg);
    g_unlink(img);
    g_unlink(img2);
    g_rmdir(dir);
    return ret;
}
