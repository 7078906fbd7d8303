/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A device whose reset finishes later, on the main loop (virtio-gpu: virglrenderer and
 * mapped blobs), must not read as reset before it is: the driver waits for status 0
 * (virtio 1.2, 2.1.2) and then expects the old life's state gone.  Before
 * mosaic_virtio_reset_defer existed, status read 0 at once and a guest could still see
 * a mapped blob after "reset". */
#include <glib.h>
#include <mosaic/mosaic.h>

#define MMIO_BASE 0x10001000ull
#define R_STATUS 0x70

static MosaicRegion *root;
static MosaicAddressSpace *as;
static MosaicVirtio *v;
static int resets;
static bool defer;

static void irq_set(void *opaque, unsigned n, bool level) {}

static void dev_reset(void *opaque)
{
    resets++;
    if (defer)
        mosaic_virtio_reset_defer(v);
}

static uint32_t status(void)
{
    uint64_t val = 0;
    g_assert_cmpint(mosaic_as_read(as, MMIO_BASE + R_STATUS, 4, &val), ==, MOSAIC_MEM_OK);
    return (uint32_t)val;
}

static void set_status(uint32_t s)
{
    g_assert_cmpint(mosaic_as_write(as, MMIO_BASE + R_STATUS, 4, s), ==, MOSAIC_MEM_OK);
}

static void setup(void)
{
    static const MosaicVirtioDeviceOps ops = {
        .size = sizeof ops, .device_id = 16, .num_queues = 1, .queue_max = 8,
        .reset = dev_reset,
    };
    root = mosaic_region_new_container("root", 1ull << 40);
    as = mosaic_address_space_new("as", root);
    MosaicBusSlot slot = {.size = sizeof slot, .bus = "virtio-mmio", .base = MMIO_BASE,
                          .length = 0x200, .irq = {irq_set, NULL, 0}, .dma = as,
                          .container = root};
    v = mosaic_virtio_mmio_new(&slot, &ops, NULL, NULL);
    g_assert_nonnull(v);
    resets = 0;
}

static void teardown(void)
{
    mosaic_virtio_free(v);
    mosaic_address_space_free(as);
    mosaic_region_unref(root);
}

static void test_immediate_reset(void)
{
    setup();
    defer = false;
    set_status(1 | 2);
    g_assert_cmpuint(status(), ==, 3);
    set_status(0);
    g_assert_cmpint(resets, ==, 1);
    g_assert_cmpuint(status(), ==, 0);
    teardown();
}

static void test_deferred_reset_reads_nonzero_until_done(void)
{
    setup();
    defer = true;
    set_status(1 | 2 | 8);
    set_status(0);
    g_assert_cmpint(resets, ==, 1);
    g_assert_cmpuint(status(), !=, 0); /* the driver keeps waiting */
    g_assert_cmpuint(status(), !=, 0);
    mosaic_virtio_reset_done(v);
    g_assert_cmpuint(status(), ==, 0);
    /* The next life starts from a clean status. */
    defer = false;
    set_status(1);
    g_assert_cmpuint(status(), ==, 1);
    teardown();
}

static void test_deferred_reset_from_fresh_device(void)
{
    setup();
    defer = true;
    set_status(0); /* a driver's first reset of a device never started */
    g_assert_cmpuint(status(), !=, 0);
    mosaic_virtio_reset_done(v);
    g_assert_cmpuint(status(), ==, 0);
    teardown();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-reset/immediate", test_immediate_reset);
    g_test_add_func("/virtio-reset/deferred-reads-nonzero-until-done",
                    test_deferred_reset_reads_nonzero_until_done);
    g_test_add_func("/virtio-reset/deferred-from-fresh-device", test_deferred_reset_from_fresh_device);
    return g_test_run();
}
