/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Memory: flattening (priorities, aliases, nested containers), access rules, DMA,
 * dirty tracking, generations and lock-free lookups while the map changes. */
#include <string.h>

#include <glib.h>
#include <mosaic/memory.h>
#include <mosaic/loop.h>

#include "memory/memory.h"
#include "plugin/error.h"

typedef struct Dev {
    unsigned reads, writes;
    uint64_t last_off, last_val;
    unsigned last_size;
    unsigned sizes[9];
    bool lock_was_held;
    uint64_t regs[64];
} Dev;

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
    Dev *d = opaque;
    d->reads++;
    d->last_off = off;
    d->last_size = size;
    d->lock_was_held = mosaic_lock_held();
    return 0x1122334455667788ull + off;
}

static void dev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Dev *d = opaque;
    d->writes++;
    d->last_off = off;
    d->last_val = val;
    d->last_size = size;
    d->sizes[size]++;
    d->lock_was_held = mosaic_lock_held();
}

static MosaicMmioOps ops_any = {sizeof(MosaicMmioOps), dev_read, dev_write, 0, 0, false};
static MosaicMmioOps ops_word = {sizeof(MosaicMmioOps), dev_read, dev_write, 4, 4, false};
static MosaicMmioOps ops_unal = {sizeof(MosaicMmioOps), dev_read, dev_write, 1, 4, true};

static MosaicRegion *ram(const char *name, uint64_t size)
{
    MosaicError e = MOSAIC_ERROR_INIT;
    MosaicRegion *r = mosaic_region_new_ram(name, size, &e);
    g_assert_null(e.error);
    g_assert_nonnull(r);
    return r;
}

static void add(MosaicRegion *c, uint64_t addr, MosaicRegion *sub, int prio)
{
    MosaicError e = MOSAIC_ERROR_INIT;
    g_assert_true(mosaic_region_add(c, addr, sub, prio, &e));
    g_assert_null(e.error);
}

static bool add_fails(MosaicRegion *c, uint64_t addr, MosaicRegion *sub, int prio)
{
    MosaicError e = MOSAIC_ERROR_INIT;
    bool ok = mosaic_region_add(c, addr, sub, prio, &e);
    if (!ok) {
        g_assert_nonnull(e.error);
        g_test_message("refused as expected: %s", e.error->message);
        g_clear_error(&e.error);
    }
    return !ok;
}

static MosaicRegion *root_new(void)
{
    return mosaic_region_new_container("root", UINT64_MAX);
}

static MosaicRegion *lookup_region(MosaicAddressSpace *as, uint64_t addr, uint64_t *off)
{
    MosaicMemSection s;
    if (!mosaic_as_lookup(as, addr, &s))
        return NULL;
    g_assert_cmpuint(addr - s.base, <, s.size);
    if (off)
        *off = s.region_offset + (addr - s.base);
    return s.region;
}

static void test_ram_basic(void)
{
    MosaicRegion *root = root_new(), *r = ram("ram", 0x10000);
    add(root, 0x80000000, r, 0);
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    uint8_t *host = mosaic_region_host_ptr(r);
    g_assert_nonnull(host);
    g_assert_cmpint(mosaic_as_write(as, 0x80000010, 4, 0xdeadbeef), ==, MOSAIC_MEM_OK);
    g_assert_cmpuint(host[0x10], ==, 0xef);
    g_assert_cmpuint(host[0x13], ==, 0xde);
    uint64_t v = 0;
    g_assert_cmpint(mosaic_as_read(as, 0x80000010, 2, &v), ==, MOSAIC_MEM_OK);
    g_assert_cmphex(v, ==, 0xbeef);
    g_assert_cmpint(mosaic_as_read(as, 0x80000010, 3, &v), ==, MOSAIC_MEM_ERROR);
    g_assert_cmpint(mosaic_as_read(as, 0x7fffffff, 1, &v), ==, MOSAIC_MEM_UNASSIGNED);
    g_assert_cmpint(mosaic_as_read(as, 0x80010000, 1, &v), ==, MOSAIC_MEM_UNASSIGNED);
    /* straddling the end of RAM into nothing */
    g_assert_cmpint(mosaic_as_read(as, 0x8000fffc, 8, &v), ==, MOSAIC_MEM_UNASSIGNED);
    g_assert_cmpstr(mosaic_region_name(r), ==, "ram");
    g_assert_cmpuint(mosaic_region_size(r), ==, 0x10000);
    mosaic_address_space_free(as);
    mosaic_region_unref(r);
    mosaic_region_unref(root);
}

static void test_huge_ram_lazy(void)
{
    /* 64 GiB: only reserved, never committed until touched. */
    MosaicError e = MOSAIC_ERROR_INIT;
    MosaicRegion *r = mosaic_region_new_ram("huge", (uint64_t)64 << 30, &e);
    if (!r) {
        g_test_skip("host refuses a 64 GiB reservation");
        g_clear_error(&e.error);
        return;
    }
    ((uint8_t *)mosaic_region_host_ptr(r))[(uint64_t)63 << 30] = 1;
    mosaic_region_unref(r);
    g_assert_null(mosaic_region_new_ram("zero", 0, &e));
    g_assert_nonnull(e.error);
    g_clear_error(&e.error);
}

static void test_priorities(void)
{
    Dev d = {0};
    MosaicRegion *root = root_new(), *r = ram("ram", 0x10000);
    MosaicRegion *io = mosaic_region_new_mmio("io", 0x1000, &ops_any, &d);
    add(root, 0, r, 0);
    add(root, 0x1000, io, 1);
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    uint64_t off;
    g_assert_true(lookup_region(as, 0x800, &off) == r);
    g_assert_true(lookup_region(as, 0x1800, &off) == io);
    g_assert_cmphex(off, ==, 0x800);
    g_assert_true(lookup_region(as, 0x2000, &off) == r);
    g_assert_cmphex(off, ==, 0x2000);
    uint64_t v;
    g_assert_cmpint(mosaic_as_read(as, 0x1008, 4, &v), ==, MOSAIC_MEM_OK);
    g_assert_cmpuint(d.reads, ==, 1);
    g_assert_cmphex(d.last_off, ==, 8);
    g_assert_cmphex(v, ==, (0x1122334455667788ull + 8) & 0xffffffff);
    g_assert_true(d.lock_was_held);
    /* Same priority overlapping is a board bug. */
    MosaicRegion *io2 = mosaic_region_new_mmio("io2", 0x1000, &ops_any, &d);
    g_assert_true(add_fails(root, 0x1800, io2, 1));
    /* Lower priority under RAM is hidden: RAM wins where both are. */
    add(root, 0x1800, io2, -1);
    g_assert_true(lookup_region(as, 0x1900, NULL) == io);
    g_assert_true(lookup_region(as, 0x2100, NULL) == r);
    mosaic_region_del(root, io);
    g_assert_true(lookup_region(as, 0x1900, NULL) == r);
    mosaic_region_del(root, r);
    g_assert_true(lookup_region(as, 0x1900, NULL) == io2);
    g_assert_null(lookup_region(as, 0x1000, NULL));
    mosaic_address_space_free(as);
    mosaic_region_unref(io);
    mosaic_region_unref(io2);
    mosaic_region_unref(r);
    mosaic_region_unref(root);
}

/* mosaic_as_next_section walks the map across holes (accelerators mirroring RAM). */
static void test_next_section(void)
{
    MosaicRegion *root = root_new(), *a = ram("a", 0x2000), *b = ram("b", 0x1000);
    add(root, 0x1000, a, 0);
    add(root, 0x10000, b, 0);
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    MosaicMemSection s;
    g_assert_true(mosaic_as_next_section(as, 0, &s)); /* before the first: the first */
    g_assert_cmphex(s.base, ==, 0x1000);
    g_assert_cmphex(s.size, ==, 0x2000);
    g_assert_true(mosaic_as_next_section(as, 0x2fff, &s)); /* inside: that one */
    g_assert_cmphex(s.base, ==, 0x1000);
    g_assert_true(mosaic_as_next_section(as, 0x3000, &s)); /* in the hole: the next */
    g_assert_cmphex(s.base, ==, 0x10000);
    g_assert_true(s.region == b);
    g_assert_false(mosaic_as_next_section(as, 0x11000, &s)); /* past the last */
    mosaic_address_space_free(as);
    mosaic_region_unref(root);
    mosaic_region_unref(a);
    mosaic_region_unref(b);
}

static void test_alias(void)
{
    MosaicRegion *root = root_new(), *r = ram("ram", 0x4000);
    MosaicRegion *al = mosaic_region_new_alias("alias", r, 0x1000, 0x1000);
    add(root, 0, r, 0);
    add(root, 0x10000, al, 0);
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    uint64_t off;
    g_assert_true(lookup_region(as, 0x10010, &off) == r); /* leaf, not the alias */
    g_assert_cmphex(off, ==, 0x1010);
    g_assert_null(lookup_region(as, 0x11000, NULL));
    g_assert_cmpint(mosaic_as_write(as, 0x10020, 8, 0x0123456789abcdefull), ==, MOSAIC_MEM_OK);
    uint64_t v;
    g_assert_cmpint(mosaic_as_read(as, 0x1020, 8, &v), ==, MOSAIC_MEM_OK);
    g_assert_cmphex(v, ==, 0x0123456789abcdefull);
    MosaicMemSection s;
    g_assert_true(mosaic_as_lookup(as, 0x10000, &s));
    g_assert_cmphex(s.base, ==, 0x10000);
    g_assert_cmphex(s.size, ==, 0x1000);
    g_assert_true(s.host == (uint8_t *)mosaic_region_host_ptr(r) + 0x1000);
    /* An alias must fit in its target. */
    if (g_test_undefined()) {
        g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL, "*");
        g_assert_null(mosaic_region_new_alias("bad", r, 0x3000, 0x2000));
        g_test_assert_expected_messages();
        g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL, "*");
        g_assert_null(mosaic_region_new_alias("wrap", r, UINT64_MAX, 2));
        g_test_assert_expected_messages();
    }
    mosaic_address_space_free(as);
    mosaic_region_unref(al);
    mosaic_region_unref(r);
    mosaic_region_unref(root);
}

static void test_alias_of_container(void)
{
    Dev d = {0};
    MosaicRegion *root = root_new(), *c = mosaic_region_new_container("c", 0x3000);
    MosaicRegion *r = ram("ram", 0x1000), *io = mosaic_region_new_mmio("io", 0x100, &ops_any, &d);
    add(c, 0x1000, r, 0);
    add(c, 0x2000, io, 0);
    MosaicRegion *al = mosaic_region_new_alias("win", c, 0x800, 0x2000);
    add(root, 0x100000, al, 0);
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    uint64_t off;
    g_assert_null(lookup_region(as, 0x100000, NULL));     /* c's hole at 0x800 */
    g_assert_true(lookup_region(as, 0x100800, &off) == r);
    g_assert_cmphex(off, ==, 0);
    g_assert_true(lookup_region(as, 0x1017ff, &off) == r);
    g_assert_cmphex(off, ==, 0xfff);
    g_assert_true(lookup_region(as, 0x101810, &off) == io);
    g_assert_cmphex(off, ==, 0x10);
    g_assert_null(lookup_region(as, 0x101900, NULL));      /* past io, inside window */
    g_assert_null(lookup_region(as, 0x102000, NULL));      /* past the window */
    /* Changing the container behind the alias changes the map. */
    uint64_t gen = mosaic_address_space_generation(as);
    mosaic_region_del(c, io);
    g_assert_cmpuint(mosaic_address_space_generation(as), >, gen);
    g_assert_null(lookup_region(as, 0x101810, NULL));
    /* Cycles are refused: the alias of c into c. */
    MosaicRegion *al2 = mosaic_region_new_alias("loop", c, 0, 0x100);
    g_assert_true(add_fails(c, 0x2800, al2, 0));
    g_assert_true(add_fails(c, 0, c, 5));
    mosaic_address_space_free(as);
    mosaic_region_unref(al2);
    mosaic_region_unref(al);
    mosaic_region_unref(io);
    mosaic_region_unref(r);
    mosaic_region_unref(c);
    mosaic_region_unref(root);
}

static void test_nested_containers(void)
{
    MosaicRegion *root = root_new();
    MosaicRegion *c1 = mosaic_region_new_container("c1", 0x10000);
    MosaicRegion *c2 = mosaic_region_new_container("c2", 0x1000);
    MosaicRegion *r = ram("ram", 0x100), *bg = ram("bg", 0x100000);
    add(c2, 0x100, r, 0);
    add(c1, 0x2000, c2, 0);
    add(root, 0x10000, c1, 1);
    add(root, 0, bg, 0); /* below c1: shows through c1's holes */
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    uint64_t off;
    g_assert_true(lookup_region(as, 0x12100, &off) == r);
    g_assert_cmphex(off, ==, 0);
    g_assert_true(lookup_region(as, 0x121ff, &off) == r);
    g_assert_cmphex(off, ==, 0xff);
    g_assert_true(lookup_region(as, 0x12200, &off) == bg); /* hole of c2 */
    g_assert_cmphex(off, ==, 0x12200);
    g_assert_true(lookup_region(as, 0x120ff, &off) == bg);
    g_assert_cmpint(mosaic_as_write(as, 0x12104, 4, 0xcafe), ==, MOSAIC_MEM_OK);
    g_assert_cmphex(*(uint32_t *)((uint8_t *)mosaic_region_host_ptr(r) + 4), ==, 0xcafe);
    /* the background is split around r: exactly three sections cover 0..0x100000 */
    char *desc = mem_as_describe(as);
    g_test_message("%s", desc);
    g_assert_nonnull(strstr(desc, "0000000000012100-00000000000121ff ram [ram] +0x0"));
    g_assert_nonnull(strstr(desc, "0000000000012200-00000000000fffff bg [ram] +0x12200"));
    g_free(desc);
    /* Refusals: does not fit; already mapped. */
    MosaicRegion *big = ram("big", 0x2000);
    g_assert_true(add_fails(c2, 0, big, 1));
    g_assert_true(add_fails(c1, 0xffffffffffff0000ull, big, 1));
    g_assert_true(add_fails(root, 0x900000, r, 3));
    mosaic_region_unref(big);
    mosaic_address_space_free(as);
    mosaic_region_unref(r);
    mosaic_region_unref(bg);
    mosaic_region_unref(c2);
    mosaic_region_unref(c1);
    mosaic_region_unref(root);
}

static void test_access_rules(void)
{
    Dev d = {0}, u = {0};
    MosaicRegion *root = root_new();
    MosaicRegion *io = mosaic_region_new_mmio("word", 0x100, &ops_word, &d);
    MosaicRegion *iu = mosaic_region_new_mmio("unal", 0x100, &ops_unal, &u);
    add(root, 0x1000, io, 0);
    add(root, 0x2000, iu, 0);
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    uint64_t v = 0;
    g_assert_cmpint(mosaic_as_read(as, 0x1000, 1, &v), ==, MOSAIC_MEM_ERROR);
    g_assert_cmpint(mosaic_as_read(as, 0x1000, 2, &v), ==, MOSAIC_MEM_ERROR);
    g_assert_cmpint(mosaic_as_read(as, 0x1000, 8, &v), ==, MOSAIC_MEM_ERROR);
    g_assert_cmpint(mosaic_as_read(as, 0x1002, 4, &v), ==, MOSAIC_MEM_ERROR);
    g_assert_cmpint(mosaic_as_write(as, 0x1001, 4, 1), ==, MOSAIC_MEM_ERROR);
    g_assert_cmpint(mosaic_as_write(as, 0x1000, 3, 1), ==, MOSAIC_MEM_ERROR);
    g_assert_cmpint(mosaic_as_write(as, 0x10fe, 4, 1), ==, MOSAIC_MEM_ERROR);
    g_assert_cmpuint(d.reads + d.writes, ==, 0); /* refused accesses never reached it */
    g_assert_cmpint(mosaic_as_write(as, 0x1004, 4, 0xabcd), ==, MOSAIC_MEM_OK);
    g_assert_cmpuint(d.writes, ==, 1);
    g_assert_cmphex(d.last_val, ==, 0xabcd);
    g_assert_cmpuint(d.last_size, ==, 4);
    g_assert_cmpint(mosaic_as_read(as, 0x10fc, 4, &v), ==, MOSAIC_MEM_OK);
    g_assert_cmphex(v, ==, (0x1122334455667788ull + 0xfc) & 0xffffffff);

    /* unaligned_ok: unaligned is fine, but sizes and the region's end still hold */
    g_assert_cmpint(mosaic_as_read(as, 0x2003, 4, &v), ==, MOSAIC_MEM_OK);
    g_assert_cmphex(u.last_off, ==, 3);
    g_assert_cmpint(mosaic_as_read(as, 0x2000, 8, &v), ==, MOSAIC_MEM_ERROR);
    g_assert_cmpint(mosaic_as_read(as, 0x20fe, 4, &v), ==, MOSAIC_MEM_ERROR);
    g_assert_cmpuint(u.reads, ==, 1);
    g_assert_cmpuint(u.writes, ==, 0);

    /* Callers that already hold the core lock (main loop callbacks) do not deadlock. */
    mosaic_lock();
    g_assert_cmpint(mosaic_as_write(as, 0x1008, 4, 7), ==, MOSAIC_MEM_OK);
    g_assert_true(mosaic_lock_held());
    mosaic_unlock();
    g_assert_true(d.lock_was_held);
    g_assert_false(mosaic_lock_held());

    /* An MMIO op table from an older plugin (shorter struct) gets zero-filled rules. */
    MosaicMmioOps old = {offsetof(MosaicMmioOps, min_access), dev_read, dev_write, 4, 4, false};
    Dev o = {0};
    MosaicRegion *io_old = mosaic_region_new_mmio("old", 0x10, &old, &o);
    add(root, 0x3000, io_old, 0);
    g_assert_cmpint(mosaic_as_read(as, 0x3000, 1, &v), ==, MOSAIC_MEM_OK); /* 1..8 */
    g_assert_cmpint(mosaic_as_read(as, 0x3001, 2, &v), ==, MOSAIC_MEM_ERROR); /* aligned */
    mosaic_address_space_free(as);
    mosaic_region_unref(io_old);
    mosaic_region_unref(io);
    mosaic_region_unref(iu);
    mosaic_region_unref(root);
}

static void test_unassigned_and_edges(void)
{
    MosaicRegion *root = root_new(), *top = ram("top", 0x1000);
    add(root, UINT64_MAX - 0x1000, top, 0); /* root ends at UINT64_MAX - 1 */
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    uint64_t v;
    g_assert_cmpint(mosaic_as_read(as, 0, 8, &v), ==, MOSAIC_MEM_UNASSIGNED);
    g_assert_cmpint(mosaic_as_read(as, UINT64_MAX, 1, &v), ==, MOSAIC_MEM_UNASSIGNED);
    g_assert_cmpint(mosaic_as_read(as, UINT64_MAX - 1, 1, &v), ==, MOSAIC_MEM_OK);
    g_assert_cmpint(mosaic_as_read(as, UINT64_MAX - 3, 8, &v), ==, MOSAIC_MEM_UNASSIGNED);
    g_assert_cmpint(mosaic_as_write(as, UINT64_MAX - 1, 8, 0), ==, MOSAIC_MEM_UNASSIGNED);
    uint8_t buf[16] = {0};
    g_assert_cmpint(mosaic_as_rw(as, UINT64_MAX - 8, buf, 16, false), ==, MOSAIC_MEM_UNASSIGNED);
    g_assert_cmpint(mosaic_as_rw(as, UINT64_MAX - 8, buf, UINT64_MAX, true), ==,
                    MOSAIC_MEM_UNASSIGNED);
    g_assert_cmpint(mosaic_as_rw(as, 5, buf, 0, true), ==, MOSAIC_MEM_OK);
    mosaic_address_space_free(as);
    mosaic_region_unref(top);
    mosaic_region_unref(root);

    /* A root that reaches the very top of the 64-bit space; rw must not wrap to 0. */
    MosaicRegion *r2 = mosaic_region_new_container("r2", UINT64_MAX);
    MosaicRegion *low = ram("low", 0x1000), *hi = ram("hi", 0x1000);
    add(r2, 0, low, 0);
    add(r2, UINT64_MAX - 0x1000, hi, 0);
    as = mosaic_address_space_new("as2", r2);
    memset(buf, 0xaa, sizeof(buf));
    g_assert_cmpint(mosaic_as_rw(as, UINT64_MAX - 4, buf, 16, true), ==, MOSAIC_MEM_UNASSIGNED);
    g_assert_cmpuint(((uint8_t *)mosaic_region_host_ptr(low))[0], ==, 0);
    g_assert_cmpuint(((uint8_t *)mosaic_region_host_ptr(hi))[0xffc], ==, 0xaa);
    mosaic_address_space_free(as);
    mosaic_region_unref(low);
    mosaic_region_unref(hi);
    mosaic_region_unref(r2);
}

static void test_rom(void)
{
    MosaicError e = MOSAIC_ERROR_INIT;
    MosaicRegion *root = root_new(), *rom = mosaic_region_new_rom("rom", 0x1000, &e);
    MosaicRegion *r = ram("ram", 0x1000);
    add(root, 0x1000, rom, 0);
    add(root, 0x2000, r, 0);
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    uint8_t *h = mosaic_region_host_ptr(rom);
    h[0] = 0x5a;
    uint64_t v;
    g_assert_cmpint(mosaic_as_read(as, 0x1000, 1, &v), ==, MOSAIC_MEM_OK);
    g_assert_cmpuint(v, ==, 0x5a);
    g_assert_cmpint(mosaic_as_write(as, 0x1000, 1, 0), ==, MOSAIC_MEM_ERROR);
    g_assert_cmpuint(h[0], ==, 0x5a);
    MosaicMemSection s;
    g_assert_true(mosaic_as_lookup(as, 0x1000, &s));
    g_assert_true(s.readonly);
    /* DMA write from RAM into ROM fails at the ROM: the RAM part before it is written */
    uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    g_assert_cmpint(mosaic_as_rw(as, 0xffc, buf, 8, true), ==, MOSAIC_MEM_UNASSIGNED);
    g_assert_cmpint(mosaic_as_rw(as, 0x1ffc, buf, 8, true), ==, MOSAIC_MEM_ERROR);
    g_assert_cmpuint(((uint8_t *)mosaic_region_host_ptr(r))[0], ==, 0);
    /* loaders may write ROM */
    g_assert_cmpint(mem_as_load(as, 0x1ffc, buf, 8), ==, MOSAIC_MEM_OK);
    g_assert_cmpuint(h[0xffc], ==, 1);
    g_assert_cmpuint(((uint8_t *)mosaic_region_host_ptr(r))[3], ==, 8);
    mosaic_address_space_free(as);
    mosaic_region_unref(rom);
    mosaic_region_unref(r);
    mosaic_region_unref(root);
}

static void test_dma_across_sections(void)
{
    Dev d = {0};
    MosaicRegion *root = root_new(), *a = ram("a", 0x1000), *b = ram("b", 0x1000);
    MosaicRegion *io = mosaic_region_new_mmio("io", 0x10, &ops_unal, &d);
    add(root, 0, a, 0);
    add(root, 0x1000, b, 0);
    add(root, 0x2000, io, 0);
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    uint8_t buf[0x1000];
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = i * 7;
    g_assert_cmpint(mosaic_as_rw(as, 0x800, buf, 0x1000, true), ==, MOSAIC_MEM_OK);
    g_assert_cmpuint(((uint8_t *)mosaic_region_host_ptr(a))[0xfff], ==, (uint8_t)(0x7ff * 7));
    g_assert_cmpuint(((uint8_t *)mosaic_region_host_ptr(b))[0], ==, (uint8_t)(0x800 * 7));
    uint8_t back[0x1000];
    g_assert_cmpint(mosaic_as_rw(as, 0x800, back, 0x1000, false), ==, MOSAIC_MEM_OK);
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));

    /* RAM then MMIO (1..4 bytes): 6 bytes at 0x1ffe -> 2 into RAM, then 0x2000..0x2003
     * as one aligned 4-byte access */
    uint8_t six[6] = {1, 2, 3, 4, 5, 6};
    g_assert_cmpint(mosaic_as_rw(as, 0x1ffe, six, 6, true), ==, MOSAIC_MEM_OK);
    g_assert_cmpuint(d.writes, ==, 1);
    g_assert_cmpuint(d.sizes[4], ==, 1);
    g_assert_cmphex(d.last_val, ==, 0x06050403);
    /* odd length and offset: 0x2001 (1), 0x2002 (2), 0x2004 (4), 0x2008 (1) */
    memset(d.sizes, 0, sizeof(d.sizes));
    uint8_t eight[8] = {0};
    g_assert_cmpint(mosaic_as_rw(as, 0x2001, eight, 8, true), ==, MOSAIC_MEM_OK);
    g_assert_cmpuint(d.sizes[1], ==, 2);
    g_assert_cmpuint(d.sizes[2], ==, 1);
    g_assert_cmpuint(d.sizes[4], ==, 1);
    g_assert_cmpuint(d.sizes[8], ==, 0);
    /* past the device: unassigned after the device got its part */
    unsigned before = d.writes;
    g_assert_cmpint(mosaic_as_rw(as, 0x200c, eight, 8, true), ==, MOSAIC_MEM_UNASSIGNED);
    g_assert_cmpuint(d.writes, ==, before + 1);
    /* a read straddling two RAM sections through the single-access path */
    uint64_t v;
    g_assert_cmpint(mosaic_as_read(as, 0xffe, 4, &v), ==, MOSAIC_MEM_OK);
    g_assert_cmphex(v, ==, ((uint64_t)buf[0x801] << 24) | ((uint64_t)buf[0x800] << 16) |
                               ((uint64_t)buf[0x7ff] << 8) | buf[0x7fe]);
    /* but one straddling into MMIO is refused */
    g_assert_cmpint(mosaic_as_write(as, 0x1ffe, 4, 0), ==, MOSAIC_MEM_OK); /* RAM->MMIO: split */
    mosaic_address_space_free(as);
    mosaic_region_unref(a);
    mosaic_region_unref(b);
    mosaic_region_unref(io);
    mosaic_region_unref(root);
}

static void test_dirty(void)
{
    MosaicRegion *root = root_new(), *r = ram("ram", 0x10000);
    add(root, 0x100000, r, 0);
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    MosaicMemSection s;
    g_assert_true(mosaic_as_lookup(as, 0x100000, &s));
    g_assert_false(s.dirty_tracking);
    uint64_t gen = mosaic_address_space_generation(as);
    mosaic_region_dirty_enable(r, MOSAIC_DIRTY_DISPLAY, true);
    g_assert_cmpuint(mosaic_address_space_generation(as), >, gen);
    g_assert_true(mosaic_as_lookup(as, 0x100000, &s));
    g_assert_true(s.dirty_tracking);

    g_assert_cmpint(mosaic_as_write(as, 0x103ffe, 4, 1), ==, MOSAIC_MEM_OK); /* pages 3 and 4 */
    g_assert_false(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_DISPLAY, 0, 0x3000));
    g_assert_false(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_MIGRATION, 0, 0x10000));
    g_assert_true(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_DISPLAY, 0x3000, 0x1000));
    g_assert_false(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_DISPLAY, 0x3000, 0x1000));
    g_assert_true(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_DISPLAY, 0x4fff, 1));
    g_assert_false(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_DISPLAY, 0, 0x10000));

    /* second client: independent bitmaps */
    mosaic_region_dirty_enable(r, MOSAIC_DIRTY_MIGRATION, true);
    uint8_t buf[0x2000] = {0};
    g_assert_cmpint(mosaic_as_rw(as, 0x108000, buf, sizeof(buf), true), ==, MOSAIC_MEM_OK);
    g_assert_true(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_MIGRATION, 0x9000, 0x1000));
    g_assert_true(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_DISPLAY, 0x8000, 0x2000));
    g_assert_true(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_MIGRATION, 0x8000, 0x1000));
    g_assert_false(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_MIGRATION, 0, 0x10000));
    /* explicit marking (accelerators writing through host pointers), clipped ranges */
    mosaic_ram_set_dirty(r, 0xf000, UINT64_MAX);
    mosaic_ram_set_dirty(r, 0x20000, 0x1000);
    g_assert_true(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_MIGRATION, 0xf000, UINT64_MAX));
    g_assert_true(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_DISPLAY, 0, 0x10000));
    g_assert_false(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_DISPLAY, 0x10000, 0x10));
    /* off again: no marking, sections stop asking for it */
    mosaic_region_dirty_enable(r, MOSAIC_DIRTY_DISPLAY, false);
    mosaic_region_dirty_enable(r, MOSAIC_DIRTY_MIGRATION, false);
    g_assert_true(mosaic_as_lookup(as, 0x100000, &s));
    g_assert_false(s.dirty_tracking);
    g_assert_cmpint(mosaic_as_write(as, 0x100000, 1, 1), ==, MOSAIC_MEM_OK);
    g_assert_false(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_DISPLAY, 0, 0x10000));
    mosaic_address_space_free(as);
    mosaic_region_unref(r);
    mosaic_region_unref(root);
}

/* Which clients track a section (dirty_clients): an accelerator that is the only one
 * (its CODE client) may write RAM without logging, and must hear (a new generation)
 * when another client joins, even though dirty_tracking was already true. */
static void test_dirty_clients(void)
{
    MosaicRegion *root = root_new(), *r = ram("ram", 0x10000);
    add(root, 0x100000, r, 0);
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
    g_assert_true(mosaic_as_lookup(as, 0x100000, &s));
    g_assert_cmpuint(s.dirty_clients, ==, 0);
    mosaic_region_dirty_enable(r, MOSAIC_DIRTY_CODE, true);
    g_assert_true(mosaic_as_lookup(as, 0x100000, &s));
    g_assert_true(s.dirty_tracking);
    g_assert_cmpuint(s.dirty_clients, ==, 1u << MOSAIC_DIRTY_CODE);
    uint64_t gen = mosaic_address_space_generation(as);
    mosaic_region_dirty_enable(r, MOSAIC_DIRTY_MIGRATION, true);
    g_assert_cmpuint(mosaic_address_space_generation(as), >, gen);
    g_assert_true(mosaic_as_next_section(as, 0, &s));
    g_assert_cmpuint(s.dirty_clients, ==, (1u << MOSAIC_DIRTY_CODE) | (1u << MOSAIC_DIRTY_MIGRATION));
    gen = mosaic_address_space_generation(as);
    mosaic_region_dirty_enable(r, MOSAIC_DIRTY_MIGRATION, false);
    g_assert_cmpuint(mosaic_address_space_generation(as), >, gen);
    g_assert_true(mosaic_as_lookup(as, 0x10ffff, &s));
    g_assert_cmpuint(s.dirty_clients, ==, 1u << MOSAIC_DIRTY_CODE);
    mosaic_address_space_free(as);
    mosaic_region_unref(r);
    mosaic_region_unref(root);
}

typedef struct DirtyJob {
    MosaicAddressSpace *as;
    unsigned first;
} DirtyJob;

static gpointer dirty_writer(gpointer p)
{
    DirtyJob *j = p;
    /* each thread dirties every 4th page, interleaved with the others in one word */
    for (unsigned pg = j->first; pg < 256; pg += 4)
        g_assert_cmpint(mosaic_as_write(j->as, (uint64_t)pg << 12, 8, pg), ==, MOSAIC_MEM_OK);
    return NULL;
}

static void test_dirty_concurrent(void)
{
    MosaicRegion *root = root_new(), *r = ram("ram", 256 << 12);
    add(root, 0, r, 0);
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    mosaic_region_dirty_enable(r, MOSAIC_DIRTY_CODE, true);
    for (int round = 0; round < 20; round++) {
        DirtyJob jobs[4];
        GThread *t[4];
        for (unsigned i = 0; i < 4; i++) {
            jobs[i] = (DirtyJob){as, i};
            t[i] = g_thread_new("w", dirty_writer, &jobs[i]);
        }
        for (unsigned i = 0; i < 4; i++)
            g_thread_join(t[i]);
        for (unsigned pg = 0; pg < 256; pg++)
            g_assert_true(mosaic_ram_test_and_clear_dirty(r, MOSAIC_DIRTY_CODE, (uint64_t)pg << 12, 1));
    }
    mosaic_address_space_free(as);
    mosaic_region_unref(r);
    mosaic_region_unref(root);
}

static void test_generation(void)
{
    MosaicRegion *root = root_new(), *r = ram("ram", 0x1000), *other = ram("other", 0x1000);
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    uint64_t g0 = mosaic_address_space_generation(as);
    add(root, 0, r, 0);
    uint64_t g1 = mosaic_address_space_generation(as);
    g_assert_cmpuint(g1, >, g0);
    /* changes that do not touch this space's map leave its generation alone */
    MosaicRegion *unmapped = mosaic_region_new_container("unmapped", 0x10000);
    add(unmapped, 0, other, 0);
    mosaic_region_dirty_enable(other, MOSAIC_DIRTY_CODE, true);
    g_assert_cmpuint(mosaic_address_space_generation(as), ==, g1);
    mosaic_region_del(root, r);
    g_assert_cmpuint(mosaic_address_space_generation(as), >, g1);
    g_assert_cmpuint(mem_retired_count(as), >=, 2);
    mem_reclaim();
    g_assert_cmpuint(mem_retired_count(as), ==, 0);
    mosaic_address_space_free(as);
    mosaic_region_unref(unmapped);
    mosaic_region_unref(other);
    mosaic_region_unref(r);
    mosaic_region_unref(root);
}

typedef struct Race {
    MosaicAddressSpace *as;
    int stop;
    unsigned long lookups, mmio_seen;
} Race;

static uint64_t race_read(void *opaque, uint64_t off, unsigned size)
{
    return 0xabababab;
}

static MosaicMmioOps race_ops = {sizeof(MosaicMmioOps), race_read, NULL, 4, 4, false};

static gpointer race_reader(gpointer p)
{
    Race *r = p;
    unsigned long n = 0, mmio = 0;
    while (!g_atomic_int_get(&r->stop)) {
        for (uint64_t a = 0x0; a < 0x4000; a += 0x400) {
            MosaicMemSection s;
            g_assert_true(mosaic_as_lookup(r->as, a, &s)); /* always mapped: RAM below */
            g_assert_cmpuint(a - s.base, <, s.size);
            uint64_t v = 0;
            g_assert_cmpint(mosaic_as_read(r->as, a, 4, &v), ==, MOSAIC_MEM_OK);
            g_assert_true(v == 0x01020304 || v == 0xabababab);
            mmio += v == 0xabababab;
            n++;
        }
    }
    __atomic_add_fetch(&r->lookups, n, __ATOMIC_RELAXED);
    __atomic_add_fetch(&r->mmio_seen, mmio, __ATOMIC_RELAXED);
    return NULL;
}

static void test_concurrent_lookup(void)
{
    MosaicRegion *root = root_new(), *r = ram("ram", 0x4000);
    for (unsigned i = 0; i < 0x4000; i += 4)
        *(uint32_t *)((uint8_t *)mosaic_region_host_ptr(r) + i) = 0x01020304;
    add(root, 0, r, 0);
    Race race = {.as = mosaic_address_space_new("as", root)};
    GThread *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = g_thread_new("reader", race_reader, &race);
    uint64_t g0 = mosaic_address_space_generation(race.as);
    for (int i = 0; i < 2000; i++) {
        /* overlays come and go; each one's region dies when the map drops it */
        MosaicRegion *io = mosaic_region_new_mmio("overlay", 0x400 * (1 + i % 8), &race_ops, NULL);
        add(root, 0x400 * (i % 8), io, 1);
        mosaic_region_unref(io);
        if (i % 16 == 0)
            g_usleep(100); /* let readers see this overlay */
        mosaic_region_del(root, io);
    }
    g_atomic_int_set(&race.stop, 1);
    for (int i = 0; i < 3; i++)
        g_thread_join(t[i]);
    g_assert_cmpuint(mosaic_address_space_generation(race.as), ==, g0 + 4000);
    g_test_message("%lu lookups, %lu saw the overlay", race.lookups, race.mmio_seen);
    g_assert_cmpuint(race.lookups, >, 0);
    g_assert_cmpuint(race.mmio_seen, >, 0); /* readers did see new maps */
    mem_reclaim(); /* quiescent now: frees the old tables and the dead overlays */
    mosaic_address_space_free(race.as);
    mosaic_region_unref(r);
    mosaic_region_unref(root);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/ram-basic", test_ram_basic);
    g_test_add_func("/memory/huge-ram-lazy", test_huge_ram_lazy);
    g_test_add_func("/memory/priorities", test_priorities);
    g_test_add_func("/memory/alias", test_alias);
    g_test_add_func("/memory/next-section", test_next_section);
    g_test_add_func("/memory/alias-of-container", test_alias_of_container);
    g_test_add_func("/memory/nested-containers", test_nested_containers);
    g_test_add_func("/memory/access-rules", test_access_rules);
    g_test_add_func("/memory/unassigned-and-edges", test_unassigned_and_edges);
    g_test_add_func("/memory/rom", test_rom);
    g_test_add_func("/memory/dma-across-sections", test_dma_across_sections);
    g_test_add_func("/memory/dirty", test_dirty);
    g_test_add_func("/memory/dirty-clients", test_dirty_clients);
    g_test_add_func("/memory/dirty-concurrent", test_dirty_concurrent);
    g_test_add_func("/memory/generation", test_generation);
    g_test_add_func("/memory/concurrent-lookup", test_concurrent_lookup);
    return g_test_run();
}
