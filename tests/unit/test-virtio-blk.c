/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-mmio + virtio-blk driven like a guest driver would, with fake guest memory
 * built from core memory regions: normal requests, bad requests (fail alone) and
 * malformed rings (device needs reset, nothing crashes, nothing outside guest RAM). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <mosaic/mosaic.h>

#include "block/block.h"
#include "loop/loop.h"
#include "plugin/registry.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (16u << 20)
#define MMIO_BASE 0x10001000ull
#define QN 8
#define DESC (RAM_BASE + 0x1000)
#define AVAIL (RAM_BASE + 0x2000)
#define USED (RAM_BASE + 0x3000)
#define BUF (RAM_BASE + 0x10000)
#define DISK (4u << 20)

static MosaicRegion *root, *ram;
static MosaicAddressSpace *as;
static uint8_t *host;
static int irq_level;
static uint16_t avail_idx, used_seen;
static unsigned qn = QN; /* queue size the driver sets up */
static MosaicConfig *cfg;
static char *img;
static void *dev;
extern const MosaicPluginDesc mosaic_plugin; /* plugins/device-virtio-blk, linked in */

static const MosaicAccelOps fake_accel_ops = {.size = sizeof(MosaicAccelOps)};
static const MosaicPluginDesc fake_tcg = {
    .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
    .size = sizeof(MosaicPluginDesc), .kind = MOSAIC_KIND_ACCEL, .kind_abi = MOSAIC_ACCEL_ABI,
    .name = "tcg", .version = "1", .license = "MIT", .description = "fake", .ops = &fake_accel_ops,
};

static void irq_set(void *opaque, unsigned n, bool level) { irq_level = level; }

static uint32_t rreg(unsigned off)
{
    uint64_t v = 0;
    g_assert_cmpint(mosaic_as_read(as, MMIO_BASE + off, 4, &v), ==, MOSAIC_MEM_OK);
    return v;
}

static void wreg(unsigned off, uint32_t v)
{
    g_assert_cmpint(mosaic_as_write(as, MMIO_BASE + off, 4, v), ==, MOSAIC_MEM_OK);
}

static void *gpa(uint64_t a) { return host + (a - RAM_BASE); }

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *d = gpa(DESC + 16 * i);
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

static void driver_init(void)
{
    wreg(0x70, 0);
    memset(gpa(DESC), 0, 0x3000);
    avail_idx = used_seen = 0;
    wreg(0x70, 1 | 2);
    wreg(0x14, 1);
    g_assert_cmpuint(rreg(0x10) & 1, ==, 1); /* VERSION_1 */
    wreg(0x14, 0);
    uint32_t f = rreg(0x10);
    wreg(0x24, 0);
    wreg(0x20, f);
    wreg(0x24, 1);
    wreg(0x20, 1);
    wreg(0x70, 1 | 2 | 8);
    g_assert_cmpuint(rreg(0x70) & 8, ==, 8);
    wreg(0x30, 0);
    g_assert_cmpuint(rreg(0x34), >=, qn);
    wreg(0x38, qn);
    wreg(0x80, (uint32_t)DESC);
    wreg(0x84, DESC >> 32);
    wreg(0x90, (uint32_t)AVAIL);
    wreg(0x94, AVAIL >> 32);
    wreg(0xa0, (uint32_t)USED);
    wreg(0xa4, USED >> 32);
    wreg(0x44, 1);
    wreg(0x70, 1 | 2 | 8 | 4);
}

static uint16_t used_idx(void)
{
    uint16_t v;
    memcpy(&v, gpa(USED + 2), 2);
    return v;
}

static void kick(uint16_t head)
{
    memcpy(gpa(AVAIL + 4 + 2 * (avail_idx % qn)), &head, 2);
    avail_idx++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    memcpy(gpa(AVAIL + 2), &avail_idx, 2);
    wreg(0x50, 0);
}

/* Waits for the next used entry; returns FALSE when none came (ring refused). */
static gboolean wait_used(void)
{
    for (int i = 0; i < 400 && used_idx() == used_seen; i++) {
        loop_iterate(false);
        g_usleep(500);
    }
    if (used_idx() == used_seen)
        return FALSE;
    used_seen++;
    return TRUE;
}

/* One request: header, optional data, status.  Returns the status byte. */
static int request(uint32_t type, uint64_t sector, uint64_t data_gpa, uint32_t len, bool dev_writes)
{
    uint8_t *h = gpa(BUF);
    memset(h, 0, 16);
    memcpy(h, &type, 4);
    memcpy(h + 8, &sector, 8);
    uint8_t *status = gpa(BUF + 16);
    *status = 0xee;
    if (len) {
        set_desc(0, BUF, 16, 1, 1);
        set_desc(1, data_gpa, len, 1 | (dev_writes ? 2 : 0), 2);
        set_desc(2, BUF + 16, 1, 2, 0);
    } else {
        set_desc(0, BUF, 16, 1, 2);
        set_desc(2, BUF + 16, 1, 2, 0);
    }
    kick(0);
    g_assert_true(wait_used());
    return *status;
}

static void make_device_on(const char *blockdevs, const char *extra);

static void make_device(const char *extra)
{
    g_autofree char *f = g_strdup_printf("[blockdev f]\ndriver = file\nfilename = %s\n", img);
    make_device_on(f, extra);
}

/* A virtio-blk device "vb" on node "f" of `blockdevs` (extra keys of the device after). */
static void make_device_on(const char *blockdevs, const char *extra)
{
    GError *err = NULL;
    blk_graph_close();
    if (cfg)
        config_free(cfg);
    g_autofree char *text = g_strdup_printf("[machine]\ntype = none\n%s[device vb]\n"
                                            "type = virtio-blk\ndrive = f\nserial = SER123\n%s",
                                            blockdevs, extra);
    cfg = config_load_string("vb.ini", text, NULL, &err);
    g_assert_no_error(err);
    config_validate(cfg, &err);
    g_assert_no_error(err);
    g_assert_true(blk_graph_build(cfg, &err));
    MosaicBusSlot slot = {.size = sizeof slot, .bus = "virtio-mmio", .base = MMIO_BASE,
                          .length = 0x200, .irq = {irq_set, NULL, 0}, .dma = as,
                          .container = root};
    const MosaicDeviceOps *ops = mosaic_plugin.ops;
    dev = ops->realize(NULL, config_find(cfg, "device", "vb"), &slot, NULL);
    g_assert_nonnull(dev);
}

static void drop_device(void)
{
    ((const MosaicDeviceOps *)mosaic_plugin.ops)->unrealize(dev);
    dev = NULL;
}

static void test_basic(void)
{
    make_device("");
    g_assert_cmphex(rreg(0), ==, 0x74726976);
    g_assert_cmpuint(rreg(4), ==, 2);
    g_assert_cmpuint(rreg(8), ==, 2);
    driver_init();
    uint64_t cap = rreg(0x100) | (uint64_t)rreg(0x104) << 32; /* 64-bit fields: two reads */
    g_assert_cmpuint(cap, ==, DISK / 512);
    uint8_t *data = gpa(BUF + 0x1000);
    for (int i = 0; i < 4096; i++)
        data[i] = i * 7;
    g_assert_cmpint(request(1, 10, BUF + 0x1000, 4096, false), ==, 0);
    g_assert_true(irq_level);
    wreg(0x64, rreg(0x60));
    g_assert_false(irq_level);
    memset(gpa(BUF + 0x3000), 0, 4096);
    g_assert_cmpint(request(0, 10, BUF + 0x3000, 4096, true), ==, 0);
    g_assert_cmpmem(gpa(BUF + 0x3000), 4096, data, 4096);
    g_assert_cmpint(request(4, 0, 0, 0, false), ==, 0);
    memset(gpa(BUF + 0x5000), 0, 32);
    g_assert_cmpint(request(8, 0, BUF + 0x5000, 20, true), ==, 0);
    g_assert_cmpstr((char *)gpa(BUF + 0x5000), ==, "SER123");
    /* write-zeroes of sectors 10..17, then read back zeroes */
    uint8_t *seg = gpa(BUF + 0x6000);
    uint64_t s = 10;
    uint32_t n = 8, fl = 0;
    memcpy(seg, &s, 8);
    memcpy(seg + 8, &n, 4);
    memcpy(seg + 12, &fl, 4);
    g_assert_cmpint(request(13, 0, BUF + 0x6000, 16, false), ==, 0);
    memset(gpa(BUF + 0x3000), 0xff, 4096);
    g_assert_cmpint(request(0, 10, BUF + 0x3000, 4096, true), ==, 0);
    for (int i = 0; i < 4096; i++)
        g_assert_cmpuint(((uint8_t *)gpa(BUF + 0x3000))[i], ==, 0);
    g_assert_cmpint(request(11, 0, BUF + 0x6000, 16, false), ==, 0); /* discard */
    /* The data reached the file. */
    g_assert_cmpint(request(1, 100, BUF + 0x1000, 4096, false), ==, 0);
    drop_device();
    g_autofree char *contents = NULL;
    gsize len;
    g_assert_true(g_file_get_contents(img, &contents, &len, NULL));
    g_assert_cmpmem(contents + 100 * 512, 4096, data, 4096);
}

static void test_bad_requests(void)
{
    make_device("");
    driver_init();
    g_assert_cmpint(request(0, DISK / 512, BUF + 0x1000, 512, true), ==, 1); /* past the end */
    g_assert_cmpint(request(0, UINT64_MAX / 2, BUF + 0x1000, 512, true), ==, 1);
    g_assert_cmpint(request(0, 0, BUF + 0x1000, 100, true), ==, 1);          /* not sectors */
    g_assert_cmpint(request(99, 0, BUF + 0x1000, 512, true), ==, 2);         /* unknown */
    g_assert_cmpint(request(11, 0, BUF + 0x6000, 32, false), ==, 2);         /* two segments */
    g_assert_cmpint(request(0, 0, BUF + 0x1000, 512, true), ==, 0);          /* still fine */
    drop_device();
    make_device("read-only = on\n");
    driver_init();
    wreg(0x14, 0);
    g_assert_cmpuint(rreg(0x10) & (1u << 5), !=, 0); /* VIRTIO_BLK_F_RO */
    g_assert_cmpint(request(1, 0, BUF + 0x1000, 512, false), ==, 1);
    g_assert_cmpint(request(0, 0, BUF + 0x1000, 512, true), ==, 0);
    drop_device();
}

typedef void BreakFn(void);
static void brk_loop(void)
{
    set_desc(0, BUF, 16, 1, 1);
    set_desc(1, BUF + 0x1000, 512, 1, 0); /* 0 -> 1 -> 0 ... */
    kick(0);
}
static void brk_head(void) { kick(QN + 3); }
static void brk_next(void)
{
    set_desc(0, BUF, 16, 1, 200);
    kick(0);
}
static void brk_mmio_buffer(void)
{
    set_desc(0, BUF, 16, 1, 1);
    set_desc(1, MMIO_BASE, 512, 1 | 2, 2); /* device-writable buffer on the device itself */
    set_desc(2, BUF + 16, 1, 2, 0);
    kick(0);
}
static void brk_wrap(void)
{
    set_desc(0, BUF, 16, 1, 1);
    set_desc(1, UINT64_MAX - 0xfff, 0x2000, 1 | 2, 2);
    set_desc(2, BUF + 16, 1, 2, 0);
    kick(0);
}
static void brk_ram_end(void)
{
    set_desc(0, BUF, 16, 1, 1);
    set_desc(1, RAM_BASE + RAM_SIZE - 512, 0x1000, 1 | 2, 2);
    set_desc(2, BUF + 16, 1, 2, 0);
    kick(0);
}
static void brk_avail_jump(void)
{
    avail_idx += QN + 5;
    kick(0);
}
static void brk_order(void)
{
    set_desc(0, BUF + 16, 1, 2 | 1, 1); /* writable before readable */
    set_desc(1, BUF, 16, 0, 0);
    kick(0);
}

static void test_bad_rings(void)
{
    static BreakFn *const breaks[] = {brk_loop, brk_head, brk_next, brk_mmio_buffer, brk_wrap,
                                      brk_ram_end, brk_avail_jump, brk_order};
    make_device("");
    for (unsigned i = 0; i < G_N_ELEMENTS(breaks); i++) {
        driver_init();
        uint8_t canary = *(uint8_t *)gpa(RAM_BASE + RAM_SIZE - 1);
        breaks[i]();
        g_assert_false(wait_used());
        g_assert_cmpuint(rreg(0x70) & 64, ==, 64); /* DEVICE_NEEDS_RESET */
        g_assert_cmpuint(*(uint8_t *)gpa(RAM_BASE + RAM_SIZE - 1), ==, canary);
        /* A reset brings it back. */
        driver_init();
        g_assert_cmpuint(rreg(0x70) & 64, ==, 0);
        g_assert_cmpint(request(0, 0, BUF + 0x1000, 512, true), ==, 0);
    }
    /* Queue setup with a bad size or misaligned rings is refused too. */
    wreg(0x70, 0);
    wreg(0x30, 0);
    wreg(0x38, 3); /* not a power of two: ignored, num stays 0 */
    wreg(0x44, 1);
    g_assert_cmpuint(rreg(0x44), ==, 0);
    drop_device();
}

/* ---- bounded requests (issue 10, item 5) ---- */
#define SIZE_MAX_BYTES (1u << 20)
#define SEG_MAX 254u
#define DATA (RAM_BASE + 0x100000) /* one MiB of guest RAM that every data descriptor reuses */

/* A read or write whose data is `nseg` descriptors of `seglen` bytes, all at DATA (a
 * read's status byte ends its last data descriptor, so that SEG_MAX + 1 segments fit the
 * queue).  Returns the status byte. */
static int request_segs(uint32_t type, uint64_t sector, unsigned nseg, uint32_t seglen)
{
    bool in = type == 0;
    uint8_t *h = gpa(BUF);
    memset(h, 0, 16);
    memcpy(h, &type, 4);
    memcpy(h + 8, &sector, 8);
    uint8_t *status = in ? gpa(DATA + seglen) : gpa(BUF + 16);
    *status = 0xee;
    set_desc(0, BUF, 16, 1, 1);
    for (unsigned i = 0; i < nseg; i++) {
        bool last = i == nseg - 1;
        set_desc(1 + i, DATA, seglen + (in && last), in ? (last ? 2 : 1 | 2) : 1, 2 + i);
    }
    if (!in)
        set_desc(1 + nseg, BUF + 16, 1, 2, 0);
    kick(0);
    g_assert_true(wait_used());
    return *status;
}

/* The device advertises size_max and seg_max and refuses requests beyond them with
 * IOERR, without touching the disk; requests within them work. */
static void test_size_and_seg_max(void)
{
    make_device("");
    qn = 256;
    driver_init();
    wreg(0x14, 0);
    uint32_t f = rreg(0x10);
    g_assert_cmpuint(f & (1u << 1), !=, 0); /* VIRTIO_BLK_F_SIZE_MAX */
    g_assert_cmpuint(f & (1u << 2), !=, 0); /* VIRTIO_BLK_F_SEG_MAX */
    g_assert_cmpuint(rreg(0x100 + 8), ==, SIZE_MAX_BYTES);
    g_assert_cmpuint(rreg(0x100 + 12), ==, SEG_MAX);
    memset(gpa(DATA), 0x5a, 2 * SIZE_MAX_BYTES + 1);
    /* One segment of 2 MiB: refused, and nothing written. */
    g_assert_cmpint(request_segs(1, 0, 1, 2 * SIZE_MAX_BYTES), ==, 1);
    g_assert_cmpint(request_segs(0, 0, 1, 2 * SIZE_MAX_BYTES), ==, 1);
    memset(gpa(DATA), 0xff, 512);
    g_assert_cmpint(request_segs(0, 0, 1, 512), ==, 0);
    g_assert_cmpuint(((uint8_t *)gpa(DATA))[0], ==, 0);
    /* seg_max + 1 segments: refused; seg_max: fine. */
    g_assert_cmpint(request_segs(0, 0, SEG_MAX + 1, 512), ==, 1);
    g_assert_cmpint(request_segs(0, 0, SEG_MAX, 512), ==, 0);
    g_assert_cmpint(request_segs(0, 0, 2, SIZE_MAX_BYTES), ==, 0);
    qn = QN;
    drop_device();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL); /* guest-error warnings expected */
    const char *none[] = {NULL};
    plugin_registry_init_dirs(none);
    blk_register_builtins();
    plugin_registry_add_builtin(&fake_tcg);
    plugin_registry_add_builtin(&mosaic_plugin);
    root = mosaic_region_new_container("root", 1ull << 40);
    ram = mosaic_region_new_ram("ram", RAM_SIZE, NULL);
    mosaic_region_add(root, RAM_BASE, ram, 0, NULL);
    as = mosaic_address_space_new("as", root);
    host = mosaic_region_host_ptr(ram);
    g_autofree char *dir = g_dir_make_tmp("test-virtio-XXXXXX", NULL);
    img = g_build_filename(dir, "disk.img", NULL);
    int fd = g_open(img, O_CREAT | O_RDWR, 0644);
    g_assert_cmpint(ftruncate(fd, DISK), ==, 0);
    close(fd);
    g_test_add_func("/virtio-blk/basic", test_basic);
    g_test_add_func("/virtio-blk/bad-requests", test_bad_requests);
    g_test_add_func("/virtio-blk/bad-rings", test_bad_rings);
    g_test_add_func("/virtio-blk/size-and-seg-max", test_size_and_seg_max);
    int ret = g_test_run();
    blk_graph_close();
    g_unlink(img);
    g_rmdir(dir);
    return ret;
}
