/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The checksum a backup target's defer-flush filter makes while the file is written
 * (core/block/tree-hash.c): after random writes (many blocks at once, parts of blocks,
 * several iov pieces, the same block again), write-zeroes and growth, the checksum file
 * it writes at close equals the xxh128t computed here by reading the file. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <mosaic/mosaic.h>
#include <xxhash.h>

#include "block/block.h"
#include "block/block-internal.h"
#include "config/config.h"
#include "loop/loop.h"
#include "plugin/registry.h"
#include "blk-harness.h"

#define KB 1024u
#define MB (1024u * 1024u)
#define BLK (64u * KB)

static char *tmpdir;

static int submit(MosaicBlk *b, int type, guint64 off, struct iovec *iov, unsigned niov,
                  guint64 bytes)
{
    MosaicBlkReq req = {.size = sizeof req, .type = type, .offset = off, .bytes = bytes,
                        .iov = iov, .niov = niov};
    return blk_harness_wait(b, &req);
}

static void canonical(XXH128_hash_t h, guint8 out[16])
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    memcpy(out, c.digest, 16);
}

/* The definition, from the file's bytes. */
static char *reference(const char *path)
{
    gchar *data;
    gsize len;
    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    GByteArray *inner = g_byte_array_new();
    for (gsize o = 0; o < len; o += BLK) {
        guint8 d[16];
        canonical(XXH3_128bits(data + o, MIN(BLK, len - o)), d);
        g_byte_array_append(inner, d, 16);
    }
    for (int k = 0; k < 8; k++) {
        guint8 b = (guint64)len >> (8 * k);
        g_byte_array_append(inner, &b, 1);
    }
    guint8 d[16];
    canonical(XXH3_128bits(inner->data, inner->len), d);
    GString *s = g_string_new("xxh128t:");
    for (int k = 0; k < 16; k++)
        g_string_append_printf(s, "%02x", d[k]);
    g_byte_array_free(inner, TRUE);
    g_free(data);
    return g_string_free(s, FALSE);
}

static void run(guint seed, guint64 start_size)
{
    g_autofree char *img = g_build_filename(tmpdir, "t.img", NULL);
    g_autofree char *sum = g_build_filename(tmpdir, "t.sum", NULL);
    g_unlink(sum);
    int fd = g_open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    /* Bytes already there (a new qcow2's header): never written, read back at the end. */
    g_autofree guint8 *pre = g_malloc(start_size + 1);
    for (guint64 i = 0; i < start_size; i++)
        pre[i] = i * 13 + seed;
    g_assert_cmpint(write(fd, pre, start_size), ==, (gssize)start_size);
    close(fd);

    GError *err = NULL;
    g_autofree char *ini = g_strdup_printf("[machine]\ntype = none\n[blockdev f]\ndriver = file\n"
                                           "filename = %s\n[blockdev d]\ndriver = defer-flush\n"
                                           "file = f\nchecksum = %s\n", img, sum);
    MosaicConfig *cfg = config_load_string("test.ini", ini, NULL, &err);
    g_assert_no_error(err);
    config_validate(cfg, &err);
    g_assert_no_error(err);
    g_assert_true(blk_graph_build(cfg, &err));
    g_assert_no_error(err);
    MosaicBlk *b = mosaic_blk_attach(NULL, "d", true, NULL);
    g_assert_nonnull(b);

    GRand *r = g_rand_new_with_seed(seed);
    g_autofree guint8 *buf = g_malloc(2 * MB + BLK);
    for (int i = 0; i < 120; i++) {
        guint64 off, len;
        switch (g_rand_int_range(r, 0, 4)) {
        case 0: /* whole blocks, several at once (a raw target's 4 MiB chunks) */
            off = (guint64)g_rand_int_range(r, 0, 96) * BLK;
            len = (guint64)g_rand_int_range(r, 1, 33) * BLK;
            break;
        case 1: /* anywhere (metadata: parts of blocks) */
            off = g_rand_int_range(r, 0, 6 * MB);
            len = g_rand_int_range(r, 1, 3 * BLK);
            break;
        case 2: /* past the end: the file grows */
            off = 8 * MB + (guint64)g_rand_int_range(r, 0, 16) * BLK;
            len = BLK * g_rand_int_range(r, 1, 4) + g_rand_int_range(r, 0, 2) * 100;
            break;
        default: /* zeroes */
            off = g_rand_int_range(r, 0, 6 * MB);
            len = g_rand_int_range(r, 1, 4 * BLK);
            g_assert_cmpint(submit(b, MOSAIC_BLK_WRITE_ZEROES, off, NULL, 0, len), ==, 0);
            continue;
        }
        for (guint64 k = 0; k < len; k++)
            buf[k] = g_rand_int(r);
        /* two or three pieces, split anywhere */
        guint64 a = g_rand_int_range(r, 0, len + 1), c = g_rand_int_range(r, a, len + 1);
        struct iovec iov[3] = {{buf, a}, {buf + a, c - a}, {buf + c, len - c}};
        g_assert_cmpint(submit(b, MOSAIC_BLK_WRITE, off, iov, 3, len), ==, 0);
    }
    g_rand_free(r);
    mosaic_blk_detach(b);
    blk_graph_close(); /* closes d: its checksum file is written */
    config_free(cfg);

    g_autofree char *got = NULL;
    g_assert_true(g_file_get_contents(sum, &got, NULL, NULL));
    g_autofree char *want = reference(img);
    g_assert_cmpstr(got, ==, want);
}

static void test_random_writes(void)
{
    for (guint seed = 1; seed <= 6; seed++)
        run(seed, seed % 2 ? 3 * BLK + 17 : 0);
}

/* Changing one byte behind the filter's back changes the reference, not the filter's
 * checksum: the comparison above can fail. */
static void test_reference_sees_a_byte(void)
{
    g_autofree char *img = g_build_filename(tmpdir, "x.img", NULL);
    g_assert_true(g_file_set_contents(img, "abcdefgh", 8, NULL));
    g_autofree char *a = reference(img);
    g_assert_true(g_file_set_contents(img, "abcdefgi", 8, NULL));
    g_autofree char *b = reference(img);
    g_assert_cmpstr(a, !=, b);
    g_unlink(img);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    blk_harness_init();
    tmpdir = g_dir_make_tmp("test-tree-hash-XXXXXX", NULL);
    g_test_add_func("/tree-hash/random-writes", test_random_writes);
    g_test_add_func("/tree-hash/reference-sees-a-byte", test_reference_sees_a_byte);
    int ret = g_test_run();
    g_autofree char *img = g_build_filename(tmpdir, "t.img", NULL);
    g_autofree char *sum = g_build_filename(tmpdir, "t.sum", NULL);
    g_unlink(img);
    g_unlink(sum);
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
