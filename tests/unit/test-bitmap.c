/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dirty bitmaps (core/block/bitmap*.c): set/reset/count with granularity, merge,
 * freeze/abdicate/reclaim, claims, serialization, the request-path hook, and
 * persistence with an unclean shutdown making bitmaps inconsistent. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <mosaic/mosaic.h>

#include "block/block.h"
#include "block/block-internal.h"
#include "block/bitmap.h"
#include "loop/loop.h"
#include "plugin/registry.h"
#include "blk-harness.h"

#define MB (1024 * 1024)

static char *tmpdir;
static MosaicConfig *cfg;

static char *make_image(const char *name, guint64 size)
{
    return blk_harness_image(tmpdir, name, size);
}

static void build(const char *img)
{
    GError *err = NULL;
    g_autofree char *text = g_strdup_printf("[machine]\ntype = none\n[blockdev f]\ndriver = file\n"
                                            "filename = %s\n[blockdev d]\ndriver = raw\nfile = f\n",
                                            img);
    cfg = config_load_string("test.ini", text, NULL, &err);
    g_assert_no_error(err);
    config_validate(cfg, &err);
    g_assert_no_error(err);
    g_assert_true(blk_graph_build(cfg, &err));
    g_assert_no_error(err);
}

static void close_graph(void)
{
    blk_graph_close();
    config_free(cfg);
    cfg = NULL;
}

static void test_bits(void)
{
    MosaicBlkBitmap *bm = mosaic_blk_bitmap_new(4096, 10 * 4096 + 100, false);
    g_assert_nonnull(bm);
    g_assert_null(mosaic_blk_bitmap_new(3000, MB, false));
    g_assert_null(mosaic_blk_bitmap_new(256, MB, false));
    g_assert_cmpuint(mosaic_blk_bitmap_count(bm), ==, 0);
    mosaic_blk_bitmap_set(bm, 4095, 2);               /* touches clusters 0 and 1 */
    g_assert_cmpuint(mosaic_blk_bitmap_count(bm), ==, 8192);
    g_assert_true(mosaic_blk_bitmap_get(bm, 0) && mosaic_blk_bitmap_get(bm, 4096));
    g_assert_false(mosaic_blk_bitmap_get(bm, 8192));
    mosaic_blk_bitmap_reset(bm, 0, 4000);             /* partial cluster: kept */
    g_assert_cmpuint(mosaic_blk_bitmap_count(bm), ==, 8192);
    mosaic_blk_bitmap_reset(bm, 0, 4096);
    g_assert_cmpuint(mosaic_blk_bitmap_count(bm), ==, 4096);
    /* The partial tail cluster counts only its real bytes, and can be reset. */
    mosaic_blk_bitmap_set(bm, 10 * 4096, 1);
    g_assert_cmpuint(mosaic_blk_bitmap_count(bm), ==, 4096 + 100);
    mosaic_blk_bitmap_reset(bm, 10 * 4096, 100);
    g_assert_cmpuint(mosaic_blk_bitmap_count(bm), ==, 4096);
    /* Past the end: ignored. */
    mosaic_blk_bitmap_set(bm, 20 * 4096, 4096);
    g_assert_cmpuint(mosaic_blk_bitmap_count(bm), ==, 4096);
    /* next_dirty */
    g_assert_cmpint(blk_bitmap_next_dirty(bm, 0), ==, 4096);
    g_assert_cmpint(blk_bitmap_next_dirty(bm, 8192), ==, -1);
    mosaic_blk_bitmap_free(bm);

    /* Big ranges use whole words. */
    bm = mosaic_blk_bitmap_new(512, 64 * MB, true);
    g_assert_cmpuint(mosaic_blk_bitmap_count(bm), ==, 64 * MB);
    mosaic_blk_bitmap_reset(bm, 512, 64 * MB - 1024);
    g_assert_cmpuint(mosaic_blk_bitmap_count(bm), ==, 1024);
    g_assert_cmpint(blk_bitmap_next_dirty(bm, 512), ==, 64 * MB - 512);
    mosaic_blk_bitmap_free(bm);
}

static void test_serialize(void)
{
    MosaicBlkBitmap *a = mosaic_blk_bitmap_new(65536, 100 * 65536 + 1, false);
    for (guint i = 0; i < 101; i += 3)
        mosaic_blk_bitmap_set(a, i * 65536ull, 1);
    gsize len = blk_bitmap_serialized_size(a);
    g_autofree guint8 *buf = g_malloc(len);
    blk_bitmap_serialize(a, buf);
    MosaicBlkBitmap *b = mosaic_blk_bitmap_new(65536, 100 * 65536 + 1, false);
    g_assert_true(blk_bitmap_deserialize(b, buf, len));
    g_assert_cmpuint(mosaic_blk_bitmap_count(a), ==, mosaic_blk_bitmap_count(b));
    for (guint i = 0; i < 101; i++)
        g_assert_cmpint(mosaic_blk_bitmap_get(a, i * 65536ull), ==, mosaic_blk_bitmap_get(b, i * 65536ull));
    g_assert_false(blk_bitmap_deserialize(b, buf, len - 8));
    /* Garbage beyond the last bit does not count. */
    memset(buf, 0xff, len);
    g_assert_true(blk_bitmap_deserialize(b, buf, len));
    g_assert_cmpuint(mosaic_blk_bitmap_count(b), ==, 100 * 65536 + 1);
    mosaic_blk_bitmap_free(a);
    mosaic_blk_bitmap_free(b);
}

static int waited;
static void wait_cb(void *opaque)
{
    waited++;
}

static void test_claims(void)
{
    MosaicBlkBitmap *bm = mosaic_blk_bitmap_new(4096, MB, true);
    g_assert_true(mosaic_blk_bitmap_claim(bm, 100));
    g_assert_false(mosaic_blk_bitmap_claim(bm, 0));     /* busy: not claimable twice */
    g_assert_true(mosaic_blk_bitmap_busy(bm, 4095));
    g_assert_false(mosaic_blk_bitmap_get(bm, 0));
    waited = 0;
    mosaic_blk_bitmap_wait(bm, 0, wait_cb, NULL);
    mosaic_blk_bitmap_wait(bm, 8192, wait_cb, NULL);    /* not busy: at once */
    g_assert_cmpint(waited, ==, 1);
    g_assert_cmpuint(blk_bitmap_claims(bm), ==, 1);
    mosaic_blk_bitmap_release(bm, 0, true);             /* failed copy: dirty again */
    g_assert_cmpint(waited, ==, 2);
    g_assert_true(mosaic_blk_bitmap_get(bm, 0));
    g_assert_false(mosaic_blk_bitmap_busy(bm, 0));
    g_assert_true(mosaic_blk_bitmap_claim(bm, 0));
    mosaic_blk_bitmap_release(bm, 0, false);
    g_assert_false(mosaic_blk_bitmap_get(bm, 0));
    g_assert_false(mosaic_blk_bitmap_claim(bm, 0));
    g_assert_cmpuint(blk_bitmap_claims(bm), ==, 0);
    mosaic_blk_bitmap_free(bm);
}

static void write_cb(void *o, int ret)
{
    *(int *)o = 1;
    g_assert_cmpint(ret, ==, 0);
}

static void write_node(const char *label, guint64 off, guint64 len)
{
    MosaicBlk *b = mosaic_blk_attach(NULL, label, true, NULL);
    g_assert_nonnull(b);
    g_autofree guint8 *buf = g_malloc0(len);
    struct iovec iov = {buf, len};
    MosaicBlkReq req = {.size = sizeof req, .type = MOSAIC_BLK_WRITE, .offset = off, .bytes = len,
                        .iov = &iov, .niov = 1};
    int done = 0;
    mosaic_blk_submit(b, &req, write_cb, &done);
    while (!done)
        loop_iterate(true);
    mosaic_blk_detach(b);
}

static void test_named_hook_merge_freeze(void)
{
    g_autofree char *img = make_image("n.img", 4 * MB);
    build(img);
    MosaicBlkNode *d = blk_node_find("d");
    GError *e = NULL;
    BlkBitmap *a = blk_bitmap_add(d, "a", 0, FALSE, FALSE, &e);
    g_assert_no_error(e);
    g_assert_cmpuint(mosaic_blk_bitmap_granularity(a), ==, 65536);
    BlkBitmap *off = blk_bitmap_add(d, "off", 65536, FALSE, TRUE, &e);
    g_assert_null(blk_bitmap_add(d, "a", 0, FALSE, FALSE, &e));
    g_clear_error(&e);
    g_assert_null(blk_bitmap_add(d, "", 0, FALSE, FALSE, &e));
    g_clear_error(&e);

    write_node("d", 100, 10);
    g_assert_cmpuint(mosaic_blk_bitmap_count(a), ==, 65536);
    g_assert_cmpuint(mosaic_blk_bitmap_count(off), ==, 0);
    /* The lower node has its own bitmaps: writes through d complete there too. */
    BlkBitmap *fb = blk_bitmap_add(blk_node_find("f"), "fb", 65536, FALSE, FALSE, &e);
    write_node("d", MB, 10);
    g_assert_cmpuint(mosaic_blk_bitmap_count(fb), ==, 65536);

    /* merge: all sources checked first */
    g_autoptr(GPtrArray) srcs = g_ptr_array_new();
    g_ptr_array_add(srcs, a);
    g_assert_true(blk_bitmap_merge(off, srcs, &e));
    g_assert_cmpuint(mosaic_blk_bitmap_count(off), ==, 2 * 65536);
    BlkBitmap *fine = blk_bitmap_add(d, "fine", 4096, FALSE, FALSE, &e);
    g_ptr_array_add(srcs, fine);
    g_assert_false(blk_bitmap_merge(off, srcs, &e));
    g_clear_error(&e);
    g_assert_cmpuint(mosaic_blk_bitmap_count(off), ==, 2 * 65536);

    /* freeze: writes go to the successor; reclaim merges, abdicate keeps only new */
    g_assert_true(blk_bitmap_freeze(a, "test job", &e));
    g_assert_true(blk_bitmap_busy(a));
    g_assert_false(blk_bitmap_clear(a, &e));
    g_clear_error(&e);
    g_assert_false(blk_bitmap_remove(a, &e));
    g_clear_error(&e);
    write_node("d", 2 * MB, 10);
    g_assert_cmpuint(mosaic_blk_bitmap_count(a), ==, 2 * 65536);
    BlkBitmap *all = blk_bitmap_copy_all(a);
    g_assert_cmpuint(mosaic_blk_bitmap_count(all), ==, 3 * 65536);
    mosaic_blk_bitmap_free(all);
    blk_bitmap_reclaim(a);
    g_assert_false(blk_bitmap_busy(a));
    g_assert_cmpuint(mosaic_blk_bitmap_count(a), ==, 3 * 65536);
    g_assert_true(blk_bitmap_freeze(a, "test job", &e));
    write_node("d", 3 * MB, 10);
    blk_bitmap_abdicate(a);
    g_assert_cmpuint(mosaic_blk_bitmap_count(a), ==, 65536);
    g_assert_true(mosaic_blk_bitmap_get(a, 3 * MB));
    write_node("d", 0, 10);
    g_assert_cmpuint(mosaic_blk_bitmap_count(a), ==, 2 * 65536); /* still recording */

    g_assert_true(blk_bitmap_enable(a, FALSE, &e));
    write_node("d", 65536, 10);
    g_assert_cmpuint(mosaic_blk_bitmap_count(a), ==, 2 * 65536);
    g_assert_true(blk_bitmap_clear(a, &e));
    g_assert_cmpuint(mosaic_blk_bitmap_count(a), ==, 0);
    g_autoptr(GPtrArray) list = blk_node_bitmaps(d);
    g_assert_cmpuint(list->len, ==, 3);
    g_assert_true(blk_bitmap_remove(off, &e));
    close_graph();
}

static void test_persistence(void)
{
    g_autofree char *img = make_image("p.img", 4 * MB);
    g_autofree char *side = g_strconcat(img, ".bitmaps", NULL);
    GError *e = NULL;
    build(img);
    BlkBitmap *p = blk_bitmap_add(blk_node_find("d"), "p", 65536, TRUE, FALSE, &e);
    g_assert_no_error(e);
    blk_bitmap_add(blk_node_find("d"), "transient", 65536, FALSE, FALSE, &e);
    g_assert_true(g_file_test(side, G_FILE_TEST_EXISTS));
    write_node("d", MB, 3 * 65536);
    g_assert_cmpuint(mosaic_blk_bitmap_count(p), ==, 3 * 65536);
    close_graph();  /* clean */
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(side, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "\"in-use\":false"));

    build(img);
    p = blk_bitmap_lookup("d", "p", &e);
    g_assert_no_error(e);
    g_assert_null(blk_bitmap_lookup("d", "transient", NULL));
    g_assert_true(blk_bitmap_persistent(p));
    g_assert_false(blk_bitmap_inconsistent(p));
    g_assert_cmpuint(mosaic_blk_bitmap_count(p), ==, 3 * 65536);
    g_assert_true(mosaic_blk_bitmap_get(p, MB + 65536));
    g_assert_true(blk_bitmap_check_usable(p, "an incremental backup", &e));
    g_free(text);
    g_assert_true(g_file_get_contents(side, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "\"in-use\":true"));  /* running */
    /* The warnings below are expected (they tell the user what happened). */
    g_log_set_always_fatal(G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL);
    /* An unclean end: the graph goes without storing (like a kill). */
    g_autofree char *saved = g_strdup(text);
    close_graph();
    g_assert_true(g_file_set_contents(side, saved, -1, NULL));

    build(img);
    p = blk_bitmap_lookup("d", "p", &e);
    g_assert_no_error(e);
    g_assert_true(blk_bitmap_inconsistent(p));
    g_assert_false(blk_bitmap_check_usable(p, "an incremental backup", &e));
    g_assert_nonnull(strstr(e->message, "full backup is needed"));
    g_clear_error(&e);
    g_assert_false(blk_bitmap_clear(p, &e));
    g_clear_error(&e);
    g_assert_false(blk_bitmap_freeze(p, "test job", &e));
    g_clear_error(&e);
    g_assert_true(blk_bitmap_remove(p, &e));
    close_graph();
    /* Nothing persistent left: the side file goes. */
    g_assert_false(g_file_test(side, G_FILE_TEST_EXISTS));

    /* A damaged or mismatched side file never stops the machine. */
    g_assert_true(g_file_set_contents(side, "{\"version\":1,\"in-use\":false,\"bitmaps\":[{\"node\":"
                                      "\"d\",\"name\":\"x\",\"granularity\":65536,\"size\":12,"
                                      "\"data\":\"AAAA\"},{\"node\":\"gone\",\"name\":\"y\"}]}",
                                      -1, NULL));
    build(img);
    BlkBitmap *x = blk_bitmap_lookup("d", "x", &e);
    g_assert_no_error(e);
    g_assert_true(blk_bitmap_inconsistent(x));
    close_graph();
    g_assert_true(g_file_set_contents(side, "not json", -1, NULL));
    build(img);
    close_graph();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    blk_harness_init();
    tmpdir = g_dir_make_tmp("test-bitmap-XXXXXX", NULL);
    g_test_add_func("/bitmap/bits", test_bits);
    g_test_add_func("/bitmap/serialize", test_serialize);
    g_test_add_func("/bitmap/claims", test_claims);
    g_test_add_func("/bitmap/named-hook-merge-freeze", test_named_hook_merge_freeze);
    g_test_add_func("/bitmap/persistence", test_persistence);
    int ret = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    if (system(cmd)) {}
    return ret;
}
