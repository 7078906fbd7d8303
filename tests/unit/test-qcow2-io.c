/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The qcow2 driver (plugins/block-qcow2, compiled in and registered as a builtin) under
 * requests a guest can send: reads and writes of hundreds of large iovecs cost memory
 * independent of their size (the driver used to copy a too fragmented request into one
 * buffer: 31 GiB for 250 x 128 MiB). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <mosaic/mosaic.h>

#include "block/block.h"
#include "loop/loop.h"
#include "plugin/registry.h"

#include "../../plugins/block-qcow2/bitmap-dir.c"
#include "../../plugins/block-qcow2/header.c"
#include "../../plugins/block-qcow2/q2-alloc.c"
#include "../../plugins/block-qcow2/q2-bitmaps.c"
#include "../../plugins/block-qcow2/q2-cache.c"
#include "../../plugins/block-qcow2/q2-iov.c"
#include "../../plugins/block-qcow2/qcow2.c"
#include "blk-harness.h"

#define MB (1u << 20)

static char *tmpdir;

static char *qemu_img_create(const char *name, const char *opts, const char *size)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    const char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-o", opts, path, size, NULL};
    int status;
    GError *err = NULL;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, &err));
    g_assert_no_error(err);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    return path;
}

/* Builds the graph file + qcow2 over img; false with *err when the image is refused. */
static gboolean build_qcow2(const char *img, const char *keys, MosaicConfig **cfg, GError **err)
{
    blk_graph_close();
    g_autofree char *text = g_strdup_printf("[machine]\ntype = none\n[blockdev f]\ndriver = file\n"
                                            "filename = %s\n[blockdev q]\ndriver = qcow2\n"
                                            "file = f\n%s", img, keys);
    *cfg = config_load_string("q.ini", text, NULL, err);
    g_assert_no_error(*err);
    g_assert_true(config_validate(*cfg, err));
    return blk_graph_build(*cfg, err);
}

static MosaicBlk *open_qcow2(const char *img, MosaicConfig **cfg)
{
    GError *err = NULL;
    g_assert_true(build_qcow2(img, "", cfg, &err));
    g_assert_no_error(err);
    MosaicBlk *b = mosaic_blk_attach(NULL, "q", true, NULL);
    g_assert_nonnull(b);
    return b;
}

static int submit(MosaicBlk *b, MosaicBlkReq *req)
{
    return blk_harness_wait(b, req);
}

static void reset_peak_rss(void)
{
    /* clear_refs 5 resets VmHWM, so a growth measured after is the test's alone. */
    FILE *cr = fopen("/proc/self/clear_refs", "w");
    g_assert_nonnull(cr);
    g_assert_cmpint(fputs("5", cr), >=, 0);
    g_assert_cmpint(fclose(cr), ==, 0);
}

static uint64_t vm_hwm_kib(void)
{
    g_autofree char *st = NULL;
    g_assert_true(g_file_get_contents("/proc/self/status", &st, NULL, NULL));
    const char *p = strstr(st, "VmHWM:");
    g_assert_nonnull(p);
    return g_ascii_strtoull(p + 6, NULL, 10);
}

/* n iovecs of `len` bytes, all over the same buffer (as a guest's descriptors may be). */
static struct iovec *same_buffer(void *buf, size_t len, unsigned n)
{
    struct iovec *iov = g_new(struct iovec, n);
    for (unsigned i = 0; i < n; i++)
        iov[i] = (struct iovec){buf, len};
    return iov;
}

static void test_fragmented_requests_bounded(void)
{
    /* Every cluster allocated (and host-contiguous), so reads and writes go to the file. */
    g_autofree char *img = qemu_img_create("prealloc.qcow2", "preallocation=metadata", "2G");
    MosaicConfig *cfg;
    MosaicBlk *b = open_qcow2(img, &cfg);
    uint8_t *buf = g_malloc(4 * MB);
    memset(buf, 0xee, 4 * MB);
    g_autofree struct iovec *iov = same_buffer(buf, 4 * MB, 100);
    reset_peak_rss();
    uint64_t before = vm_hwm_kib();
    MosaicBlkReq rd = {.size = sizeof rd, .type = MOSAIC_BLK_READ, .offset = 0,
                       .bytes = 100ull * 4 * MB, .iov = iov, .niov = 100};
    g_assert_cmpint(submit(b, &rd), ==, 0);
    g_assert_cmpuint(buf[4 * MB - 1], ==, 0); /* preallocated: reads zeroes */
    memset(buf, 0x77, 4 * MB);
    for (unsigned i = 0; i < 70; i++)
        iov[i].iov_len = MB;
    MosaicBlkReq wr = {.size = sizeof wr, .type = MOSAIC_BLK_WRITE, .offset = 512,
                       .bytes = 70ull * MB, .iov = iov, .niov = 70};
    g_assert_cmpint(submit(b, &wr), ==, 0);
    uint64_t grew = vm_hwm_kib() - before;
    g_test_message("peak RSS grew by %llu KiB for a read of 100 x 4 MiB and a write of "
                   "70 x 1 MiB", (unsigned long long)grew);
    g_assert_cmpuint(grew, <, 32 * 1024);
    /* The write landed: its last byte, read back. */
    uint8_t back[512];
    struct iovec one = {back, sizeof back};
    MosaicBlkReq chk = {.size = sizeof chk, .type = MOSAIC_BLK_READ,
                        .offset = 512 + 70ull * MB - sizeof back, .bytes = sizeof back,
                        .iov = &one, .niov = 1};
    memset(back, 0, sizeof back);
    g_assert_cmpint(submit(b, &chk), ==, 0);
    g_assert_cmpuint(back[sizeof back - 1], ==, 0x77);
    mosaic_blk_detach(b);
    blk_graph_close();
    config_free(cfg);
    g_free(buf);
    g_unlink(img);
}

/* The image (384 KiB here): 2 TiB, 64 KiB clusters, and `nb` persistent bitmaps of
 * granularity 512 (512 MiB of bits each) whose tables, all "every bit set", are the one at
 * cluster 4 (shared) or one each from cluster 4 on.  Refcounts are right, so only the
 * bitmaps are wrong. */
static char *bitmap_bomb(const char *name, unsigned nb, bool shared)
{
    const uint64_t cs = 65536, size = 1ull << 41;
    unsigned tables = shared ? 1 : nb, dir = 4 + tables, nclusters = dir + 1;
    g_autofree uint8_t *f = g_malloc0(nclusters * cs);
    q_st32(f, QCOW2_MAGIC);
    q_st32(f + 4, 3);
    q_st32(f + 20, 16);
    q_st64(f + 24, size);
    q_st32(f + 36, 4096); /* L1: 2 TiB / 512 MiB per L2 table */
    q_st64(f + 40, 3 * cs);
    q_st64(f + 48, 1 * cs);
    q_st32(f + 56, 1);
    q_st64(f + 88, QCOW2_AUTOCLEAR_BITMAPS);
    q_st32(f + 96, 4);
    q_st32(f + 100, 104);
    q_st32(f + 104, QCOW2_EXT_BITMAPS);
    q_st32(f + 108, 24);
    q_st32(f + 112, nb);
    q_st64(f + 120, 32ull * nb);
    q_st64(f + 128, (uint64_t)dir * cs);
    q_st64(f + cs, 2 * cs);                 /* refcount table -> block */
    for (unsigned c = 0; c < nclusters; c++)
        q_st16(f + 2 * cs + 2 * c, 1);
    for (unsigned t = 0; t < tables; t++)
        for (unsigned j = 0; j < 8192; j++) /* 2^32 bits / 2^19 bits per cluster */
            q_st64(f + (4 + t) * cs + 8 * j, 1);
    for (unsigned i = 0; i < nb; i++) {
        uint8_t *e = f + dir * cs + 32 * i;
        q_st64(e, (4 + (shared ? 0 : i)) * cs);
        q_st32(e + 8, 8192);
        q_st32(e + 12, 2);
        e[16] = 1;
        e[17] = 9;
        q_st16(e + 18, 2);
        e[24] = 'b';
        e[25] = '0' + i;
    }
    char *path = g_build_filename(tmpdir, name, NULL);
    g_assert_true(g_file_set_contents(path, (char *)f, nclusters * cs, NULL));
    return path;
}

static void refused(const char *img, const char *keys, const char *expect)
{
    MosaicConfig *cfg;
    GError *err = NULL;
    reset_peak_rss();
    uint64_t before = vm_hwm_kib();
    g_assert_false(build_qcow2(img, keys, &cfg, &err));
    g_assert_nonnull(err);
    g_test_message("%s", err->message);
    if (!strstr(err->message, expect) || !strstr(err->message, img))
        g_error("message '%s' lacks '%s' or the image's name", err->message, expect);
    g_assert_cmpuint(vm_hwm_kib() - before, <, 64 * 1024);
    g_clear_error(&err);
    blk_graph_close();
    config_free(cfg);
    g_unlink(img);
}

/* Four bitmaps sharing one table: refused as corrupt at open, in bounded memory, even
 * when the memory they claim would be allowed. */
static void test_bitmaps_sharing_a_table_refused(void)
{
    g_autofree char *img = bitmap_bomb("shared.qcow2", 4, true);
    refused(img, "bitmaps-max-memory = 4G\n", "overlaps a bitmap table");
}

/* Four bitmaps of 512 MiB each, tables of their own: more than bitmaps-max-memory. */
static void test_bitmaps_past_memory_budget_refused(void)
{
    g_autofree char *img = bitmap_bomb("big.qcow2", 4, false);
    refused(img, "", "bitmaps-max-memory");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    blk_harness_init();
    plugin_registry_add_builtin(&mosaic_plugin);
    tmpdir = g_dir_make_tmp("test-qcow2-io-XXXXXX", NULL);
    g_test_add_func("/qcow2-io/fragmented-requests-bounded", test_fragmented_requests_bounded);
    g_test_add_func("/qcow2-io/bitmaps-sharing-a-table-refused",
                    test_bitmaps_sharing_a_table_refused);
    g_test_add_func("/qcow2-io/bitmaps-past-memory-budget-refused",
                    test_bitmaps_past_memory_budget_refused);
    int ret = g_test_run();
    g_rmdir(tmpdir);
    return ret;
}
