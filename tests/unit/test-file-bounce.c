/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The file driver with cache=none (O_DIRECT): requests that are not aligned go through a
 * bounce buffer whose size must not follow the request (a guest or NBD client picks the
 * size), and the data must still land exactly where asked, read-modify-write at both
 * ends.  Its own program: the memory check reads the process's peak RSS.
 *
 * A 64 MiB request is made of 256 entries that all point to one 256 KiB buffer, so the
 * test itself stays small while the driver sees the full size. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <mosaic/mosaic.h>

#include "block/block.h"
#include "block/block-internal.h"
#include "config/config.h"
#include "loop/loop.h"
#include "plugin/registry.h"
#include "blk-harness.h"

#define MB (1u << 20)
#define PIECE (256u * 1024)
#define PIECES 256u
#define BIG ((guint64)PIECE * PIECES) /* 64 MiB */
#define FILE_SIZE (BIG + 8 * MB)
#define OFF 100                     /* not aligned */

static char *tmpdir, *img;
static MosaicConfig *cfg;
static guint8 *piece;

static int submit(MosaicBlk *b, int type, guint64 off, struct iovec *iov, unsigned niov)
{
    MosaicBlkReq req = {.size = sizeof req, .type = type, .offset = off,
                        .bytes = mosaic_iov_size(iov, niov), .iov = iov, .niov = niov};
    return blk_harness_wait(b, &req);
}

static MosaicBlk *open_direct(void)
{
    GError *err = NULL;
    g_autofree char *ini = g_strdup_printf("[machine]\ntype = none\n[blockdev f]\ndriver = file\n"
                                           "filename = %s\ncache = none\n", img);
    cfg = config_load_string("test.ini", ini, NULL, &err);
    g_assert_no_error(err);
    config_validate(cfg, &err);
    g_assert_no_error(err);
    g_assert_true(blk_graph_build(cfg, &err));
    g_assert_no_error(err);
    MosaicBlk *b = mosaic_blk_attach(NULL, "f", true, NULL);
    g_assert_nonnull(b);
    return b;
}

/* The whole request, in pieces all pointing at `piece`. */
static struct iovec *pieces(void)
{
    struct iovec *iov = g_new(struct iovec, PIECES);
    for (guint i = 0; i < PIECES; i++)
        iov[i] = (struct iovec){piece, PIECE};
    return iov;
}

static void test_unaligned_big_request(void)
{
    /* The file: 0x11 everywhere, so both ends of the write can be checked. */
    int fd = g_open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_autofree guint8 *fill = g_malloc(MB);
    memset(fill, 0x11, MB);
    for (guint64 o = 0; o < FILE_SIZE; o += MB)
        g_assert_cmpint(pwrite(fd, fill, MB, o), ==, MB);
    close(fd);

    MosaicBlk *b = open_direct();
    g_autofree struct iovec *iov = pieces();
    long before = peak_rss_kib();
    g_assert_cmpint(submit(b, MOSAIC_BLK_WRITE, OFF, iov, PIECES), ==, 0);
    memset(piece, 0, PIECE);
    g_assert_cmpint(submit(b, MOSAIC_BLK_READ, OFF + 1, iov, PIECES), ==, 0);
    long grown = peak_rss_kib() - before;
    g_test_message("peak RSS grew by %ld KiB for two 64 MiB requests", grown);
    g_assert_cmpint(grown, <, 16 * 1024); /* bounded, not 64 MiB */

    /* What the read returned last: the final piece, shifted by one byte. */
    for (guint i = 0; i + 1 < PIECE; i++)
        if (piece[i] != (guint8)((i + 1) * 7 + 3))
            g_error("read back: byte %u is %#x", i, piece[i]);
    g_assert_cmpint(piece[PIECE - 1], ==, 0x11); /* the byte after the write */

    /* The file: untouched before and after, the pattern in between. */
    fd = g_open(img, O_RDONLY, 0);
    g_autofree guint8 *got = g_malloc(MB);
    for (guint64 o = 0; o < FILE_SIZE; o += MB) {
        g_assert_cmpint(pread(fd, got, MB, o), ==, MB);
        for (guint64 k = 0; k < MB; k++) {
            guint64 pos = o + k;
            guint8 want = pos < OFF || pos >= OFF + BIG ? 0x11 : (guint8)((pos - OFF) % PIECE * 7 + 3);
            if (got[k] != want)
                g_error("file byte %" G_GUINT64_FORMAT ": %#x, expected %#x", pos, got[k], want);
        }
    }
    close(fd);
    mosaic_blk_detach(b);
    blk_graph_close();
    g_clear_pointer(&cfg, config_free);
}

/* Small unaligned reads and writes across the bounce windows, against a copy in memory. */
static void test_unaligned_small_requests(void)
{
    int fd = g_open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(ftruncate(fd, 4 * MB), ==, 0);
    close(fd);
    g_autofree guint8 *model = g_malloc0(4 * MB);
    MosaicBlk *b = open_direct();
    GRand *r = g_rand_new_with_seed(10);
    g_autofree guint8 *buf = g_malloc(3 * MB);
    for (int i = 0; i < 200; i++) {
        guint64 off = g_rand_int_range(r, 0, 4 * MB - 1);
        guint64 len = g_rand_int_range(r, 1, MIN(3 * MB, 4 * MB - off) + 1);
        struct iovec iov = {buf, len};
        if (g_rand_boolean(r)) {
            for (guint64 k = 0; k < len; k++)
                buf[k] = g_rand_int(r);
            g_assert_cmpint(submit(b, MOSAIC_BLK_WRITE, off, &iov, 1), ==, 0);
            memcpy(model + off, buf, len);
        } else {
            g_assert_cmpint(submit(b, MOSAIC_BLK_READ, off, &iov, 1), ==, 0);
            g_assert_cmpmem(buf, len, model + off, len);
        }
    }
    g_rand_free(r);
    mosaic_blk_detach(b);
    blk_graph_close();
    g_clear_pointer(&cfg, config_free);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    blk_harness_init();
    tmpdir = g_dir_make_tmp("test-file-bounce-XXXXXX", NULL);
    img = g_build_filename(tmpdir, "d.img", NULL);
    piece = g_malloc(PIECE);
    for (guint i = 0; i < PIECE; i++)
        piece[i] = (guint8)(i * 7 + 3);
    g_test_add_func("/file-bounce/unaligned-big-request", test_unaligned_big_request);
    g_test_add_func("/file-bounce/unaligned-small-requests", test_unaligned_small_requests);
    int ret = g_test_run();
    g_unlink(img);
    g_rmdir(tmpdir);
    g_free(img);
    g_free(tmpdir);
    g_free(piece);
    return ret;
}
