/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mosaic_as_access_section: an MMIO access through a section an accelerator's TLB
 * cached, without the address lookup; the region's size rules still apply, and once
 * the map changed the access follows the new map, never the stale section. */
#include <glib.h>
#include <mosaic/memory.h>

typedef struct Dev {
    uint64_t last_off, last_val;
    unsigned writes;
} Dev;

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
    return 0x100 + off;
}

static void dev_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    Dev *d = opaque;
    d->last_off = off;
    d->last_val = v;
    d->writes++;
}

static const MosaicMmioOps ops = {sizeof(MosaicMmioOps), dev_read, dev_write, 1, 4, false};

static void test_cached_section(void)
{
    Dev a = {0}, b = {0};
    MosaicRegion *root = mosaic_region_new_container("root", 1ull << 32);
    MosaicRegion *ra = mosaic_region_new_mmio("a", 0x1000, &ops, &a);
    MosaicRegion *rb = mosaic_region_new_mmio("b", 0x1000, &ops, &b);
    g_assert_true(mosaic_region_add(root, 0x10000, ra, 0, NULL));
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);

    MosaicMemSection s;
    g_assert_true(mosaic_as_lookup(as, 0x10000, &s));
    uint64_t gen = mosaic_address_space_generation(as);
    uint64_t v = 7;
    g_assert_cmpint(mosaic_as_access_section(as, gen, &s, 0x10008, 4, &v, true), ==, MOSAIC_MEM_OK);
    g_assert_cmpuint(a.writes, ==, 1);
    g_assert_cmpuint(a.last_off, ==, 8);
    g_assert_cmpuint(a.last_val, ==, 7);
    g_assert_cmpint(mosaic_as_access_section(as, gen, &s, 0x10010, 2, &v, false), ==, MOSAIC_MEM_OK);
    g_assert_cmpuint(v, ==, 0x110);
    /* The region's rules: 8 bytes is over its max_access, 3 is misaligned. */
    g_assert_cmpint(mosaic_as_access_section(as, gen, &s, 0x10000, 8, &v, true), ==, MOSAIC_MEM_ERROR);
    g_assert_cmpint(mosaic_as_access_section(as, gen, &s, 0x10003, 4, &v, true), ==, MOSAIC_MEM_ERROR);
    g_assert_cmpuint(a.writes, ==, 1);
    /* Outside the cached section: by address, where nothing is mapped. */
    g_assert_cmpint(mosaic_as_access_section(as, gen, &s, 0x11000, 4, &v, true), ==,
                    MOSAIC_MEM_UNASSIGNED);

    /* The map changes under the cache: the stale section must not reach device a. */
    mosaic_region_del(root, ra);
    g_assert_true(mosaic_region_add(root, 0x10000, rb, 0, NULL));
    g_assert_cmpuint(mosaic_address_space_generation(as), !=, gen);
    v = 9;
    g_assert_cmpint(mosaic_as_access_section(as, gen, &s, 0x10004, 4, &v, true), ==, MOSAIC_MEM_OK);
    g_assert_cmpuint(a.writes, ==, 1);
    g_assert_cmpuint(b.writes, ==, 1);
    g_assert_cmpuint(b.last_off, ==, 4);

    mosaic_address_space_free(as);
    mosaic_region_unref(ra);
    mosaic_region_unref(rb);
    mosaic_region_unref(root);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/mmio-cache/section", test_cached_section);
    return g_test_run();
}
