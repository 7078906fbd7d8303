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

#include "../../plugins/block-qcow2/header.c"
#include "../../plugins/block-qcow2/q2-alloc.c"
#include "../../plugins/block-qcow2/q2-bitmaps.c"
#include "../../plugins/block-qcow2/q2-cache.c"
#include "../../plugins/block-qcow2/qcow2.c"

#define MB (1u << 20)

static const MosaicAccelOps fake_accel_ops = {.size = sizeof(MosaicAccelOps)};
static const MosaicPluginDesc fake_tcg = {
    .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
    .size = sizeof(MosaicPluginDesc), .kind = MOSAIC_KIND_ACCEL, .kind_abi = MOSAIC_ACCEL_ABI,
    .name = "tcg", .version = "1", .license = "MIT", .description = "fake", .ops = &fake_accel_ops,
};

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

static MosaicBlk *open_qcow2(const char *img, MosaicConfig **cfg)
{
    GError *err = NULL;
    blk_graph_close();
    g_autofree char *text = g_strdup_printf("[machine]\ntype = none\n[blockdev f]\ndriver = file\n"
                                            "filename = %s\n[blockdev q]\ndriver = qcow2\n"
                                            "file = f\n", img);
    *cfg = config_load_string("q.ini", text, NULL, &err);
    g_assert_no_error(err);
    g_assert_true(config_validate(*cfg, &err));
    g_assert_true(blk_graph_build(*cfg, &err));
    g_assert_no_error(err);
    MosaicBlk *b = mosaic_blk_attach(NULL, "q", true, NULL);
    g_assert_nonnull(b);
    return b;
}

typedef struct Sync {
    int done, ret;
} Sync;

static void sync_cb(void *opaque, int ret)
{
    Sync *s = opaque;
    s->ret = ret;
    s->done = 1;
}

static int submit(MosaicBlk *b, MosaicBlkReq *req)
{
    Sync s = {0};
    mosaic_blk_submit(b, req, sync_cb, &s);
    while (!s.done)
        loop_iterate(true);
    return s.ret;
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
    /* clear_refs 5 resets the peak, so the growth below is the requests' alone. */
    FILE *cr = fopen("/proc/self/clear_refs", "w");
    g_assert_nonnull(cr);
    g_assert_cmpint(fputs("5", cr), >=, 0);
    g_assert_cmpint(fclose(cr), ==, 0);
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

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    const char *none[] = {NULL};
    plugin_registry_init_dirs(none);
    blk_register_builtins();
    plugin_registry_add_builtin(&fake_tcg);
    plugin_registry_add_builtin(&mosaic_plugin);
    tmpdir = g_dir_make_tmp("test-qcow2-io-XXXXXX", NULL);
    g_test_add_func("/qcow2-io/fragmented-requests-bounded", test_fragmented_requests_bounded);
    int ret = g_test_run();
    g_rmdir(tmpdir);
    return ret;
}
