/* SPDX-License-Identifier: GPL-2.0-or-later */
/* copy-before-write (plugins/block-backup/cbw.c, linked in): a guest request of any size
 * copies the old data of its clusters with bounded memory (a window of copies at a
 * time, not one buffer per cluster of the request), and the target still gets exactly
 * the old data.  Its own program: the memory check reads the process's peak RSS. */
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
#define DISK (160 * (guint64)MB)
#define BIG (128 * (guint64)MB)
#define OFF (8 * (guint64)MB + 512) /* not on a cluster boundary */

extern const MosaicPluginDesc mosaic_plugin; /* plugins/block-backup/cbw.c, linked in */

static char *tmpdir;

static int submit(MosaicBlk *b, int type, guint64 off, guint64 len, void *buf)
{
    struct iovec iov = {buf, len};
    gboolean data = type == MOSAIC_BLK_READ || type == MOSAIC_BLK_WRITE;
    MosaicBlkReq req = {.size = sizeof req, .type = type, .offset = off, .bytes = len,
                        .iov = data ? &iov : NULL, .niov = data ? 1 : 0};
    return blk_harness_wait(b, &req);
}

/* The byte the disk held at `pos` before the backup. */
static guint8 old_byte(guint64 pos)
{
    return (guint8)(pos / 4096 * 13 + 1);
}

static char *disk_file(const char *name, gboolean with_data)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    int fd = g_open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, DISK), ==, 0);
    if (with_data) {
        g_autofree guint8 *b = g_malloc(MB);
        for (guint64 o = 0; o < DISK; o += MB) {
            for (guint k = 0; k < MB; k++)
                b[k] = old_byte(o + k);
            g_assert_cmpint(pwrite(fd, b, MB, o), ==, MB);
        }
    }
    close(fd);
    return path;
}

static void run(int type)
{
    g_autofree char *disk = disk_file("disk.img", TRUE);
    g_autofree char *target = disk_file("target.img", FALSE);
    g_autofree char *ini = g_strdup_printf(
        "[machine]\ntype = none\n"
        "[blockdev d]\ndriver = file\nfilename = %s\n"
        "[blockdev t]\ndriver = file\nfilename = %s\n"
        "[blockdev c]\ndriver = copy-before-write\nfile = d\ntarget = t\n", disk, target);
    GError *err = NULL;
    MosaicConfig *cfg = config_load_string("test.ini", ini, NULL, &err);
    g_assert_no_error(err);
    config_validate(cfg, &err);
    g_assert_no_error(err);
    g_assert_true(blk_graph_build(cfg, &err));
    MosaicBlk *b = mosaic_blk_attach(NULL, "c", true, NULL);
    g_assert_nonnull(b);

    long before = peak_rss_kib();
    g_assert_cmpint(submit(b, type, OFF, BIG, NULL), ==, 0);
    long grown = peak_rss_kib() - before;
    g_test_message("peak RSS grew by %ld KiB for one 128 MiB request", grown);
    g_assert_cmpint(grown, <, 16 * 1024); /* bounded, not 128 MiB */
    mosaic_blk_detach(b);
    blk_graph_close();
    config_free(cfg);

    /* The target holds the old data of every cluster the request touched (and nothing
     * else); the disk reads zeroes there. */
    int td = g_open(target, O_RDONLY, 0), dd = g_open(disk, O_RDONLY, 0);
    g_autofree guint8 *t = g_malloc(MB), *d = g_malloc(MB);
    guint64 gran = 65536, first = OFF / gran * gran, last = (OFF + BIG + gran - 1) / gran * gran;
    for (guint64 o = 0; o < DISK; o += MB) {
        g_assert_cmpint(pread(td, t, MB, o), ==, MB);
        g_assert_cmpint(pread(dd, d, MB, o), ==, MB);
        for (guint k = 0; k < MB; k++) {
            guint64 pos = o + k;
            guint8 want_t = pos >= first && pos < last ? old_byte(pos) : 0;
            guint8 want_d = pos >= OFF && pos < OFF + BIG ? 0 : old_byte(pos);
            if (t[k] != want_t || d[k] != want_d)
                g_error("byte %" G_GUINT64_FORMAT ": target %#x (want %#x), disk %#x (want %#x)",
                        pos, t[k], want_t, d[k], want_d);
        }
    }
    close(td);
    close(dd);
    g_unlink(disk);
    g_unlink(target);
}

static void test_write_zeroes(void)
{
    run(MOSAIC_BLK_WRITE_ZEROES);
}

static void test_discard(void)
{
    run(MOSAIC_BLK_DISCARD);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    blk_harness_init();
    plugin_registry_add_builtin(&mosaic_plugin);
    tmpdir = g_dir_make_tmp("test-cbw-bounded-XXXXXX", NULL);
    g_test_add_func("/cbw-bounded/write-zeroes", test_write_zeroes);
    g_test_add_func("/cbw-bounded/discard", test_discard);
    int ret = g_test_run();
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
