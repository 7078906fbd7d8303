/* SPDX-License-Identifier: GPL-2.0-or-later */
/* RAM over an owner's memory (mosaic_region_new_ram_ptr) added to and removed from a
 * container at run time: lookups find the owner's pointer, removal moves the
 * generation and tells the change hook, and the owner is released only at the
 * quiescent point (mem_reclaim), never while an old table could still lead to it. */
#include <string.h>
#include <sys/mman.h>

#include <glib.h>
#include <mosaic/memory.h>

#include "memory/memory.h"
#include "plugin/error.h"

typedef struct Owner {
    uint8_t *mem;
    size_t len;
    int released;
} Owner;

static void owner_release(void *opaque)
{
    Owner *o = opaque;
    o->released++;
}

typedef struct Hook {
    int calls, foreign;
} Hook;

static void hook(void *opaque, bool retired_foreign)
{
    Hook *h = opaque;
    h->calls++;
    h->foreign += retired_foreign;
}

static Owner *owner_new(size_t len)
{
    Owner *o = g_new0(Owner, 1);
    o->len = len;
    o->mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert(o->mem != MAP_FAILED);
    return o;
}

static void owner_free(Owner *o)
{
    munmap(o->mem, o->len);
    g_free(o);
}

static void test_add_lookup_remove(void)
{
    Hook h = {0};
    mem_set_change_hook(hook, &h);
    MosaicRegion *root = mosaic_region_new_container("root", 1ull << 32);
    MosaicRegion *window = mosaic_region_new_container("shm", 1 << 24);
    MosaicError *err = mosaic_error_new();
    g_assert_true(mosaic_region_add(root, 0x40000000, window, 0, err));
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    Owner *o = owner_new(2 * 4096);
    memset(o->mem, 0x5a, o->len);

    MosaicRegion *blob = mosaic_region_new_ram_ptr("blob", o->mem, o->len, owner_release, o, err);
    g_assert_nonnull(blob);
    uint64_t g0 = mosaic_address_space_generation(as);
    int calls0 = h.calls;
    g_assert_true(mosaic_region_add(window, 0x3000, blob, 0, err));
    g_assert_cmpuint(mosaic_address_space_generation(as), ==, g0 + 1);
    g_assert_cmpint(h.calls, ==, calls0 + 1);
    g_assert_cmpint(h.foreign, ==, 0); /* nothing foreign retired by an add */

    MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
    g_assert_true(mosaic_as_lookup(as, 0x40003000 + 4100, &s));
    g_assert_true(s.host == o->mem);
    g_assert_cmpuint(s.base, ==, 0x40003000);
    g_assert_cmpuint(s.size, ==, 2 * 4096);
    g_assert_true(s.region == blob);
    uint64_t v = 0;
    g_assert_cmpint(mosaic_as_read(as, 0x40003008, 4, &v), ==, MOSAIC_MEM_OK);
    g_assert_cmphex(v, ==, 0x5a5a5a5a);
    g_assert_cmpint(mosaic_as_write(as, 0x40004000, 8, 0x1122334455667788ull), ==, MOSAIC_MEM_OK);
    g_assert_cmphex(o->mem[4096], ==, 0x88); /* writes land in the owner's memory */
    /* Not mapped past its end, nor in the window's holes. */
    g_assert_false(mosaic_as_lookup(as, 0x40005000, &s));
    g_assert_false(mosaic_as_lookup(as, 0x40002fff, &s));

    /* Overlap at the same priority is refused, as for any region. */
    Owner *o2 = owner_new(4096);
    MosaicRegion *b2 = mosaic_region_new_ram_ptr("blob2", o2->mem, 4096, owner_release, o2, err);
    g_assert_false(mosaic_region_add(window, 0x4000, b2, 0, err));
    g_assert_true(mosaic_error_is_set(err));
    mosaic_error_free(err);
    err = mosaic_error_new();
    mosaic_region_unref(b2); /* never mapped: released at once */
    g_assert_cmpint(o2->released, ==, 1);
    owner_free(o2);

    mosaic_region_del(window, blob);
    g_assert_cmpuint(mosaic_address_space_generation(as), ==, g0 + 2);
    g_assert_cmpint(h.calls, ==, calls0 + 2);
    g_assert_cmpint(h.foreign, ==, 1); /* the retired table led to the owner's memory */
    g_assert_false(mosaic_as_lookup(as, 0x40003000, &s));
    g_assert_cmpint(mosaic_as_read(as, 0x40003008, 4, &v), ==, MOSAIC_MEM_UNASSIGNED);
    mosaic_region_unref(blob);
    /* A reader may still hold the old table: the owner keeps its memory. */
    g_assert_cmpint(o->released, ==, 0);
    mem_reclaim();
    g_assert_cmpint(o->released, ==, 1);

    owner_free(o);
    mem_set_change_hook(NULL, NULL);
    mosaic_address_space_free(as);
    mosaic_region_unref(window);
    mosaic_region_unref(root);
    mosaic_error_free(err);
}

static void test_refused(void)
{
    MosaicError *err = mosaic_error_new();
    Owner *o = owner_new(4096);
    g_assert_null(mosaic_region_new_ram_ptr("x", o->mem + 1, 4096, owner_release, o, err));
    g_assert_true(mosaic_error_is_set(err));
    mosaic_error_free(err);
    err = mosaic_error_new();
    g_assert_null(mosaic_region_new_ram_ptr("x", o->mem, 100, owner_release, o, err));
    g_assert_true(mosaic_error_is_set(err));
    mosaic_error_free(err);
    err = mosaic_error_new();
    g_assert_null(mosaic_region_new_ram_ptr("x", o->mem, 4096, NULL, o, err));
    g_assert_null(mosaic_region_new_ram_ptr("x", NULL, 4096, owner_release, o, err));
    g_assert_cmpint(o->released, ==, 0);
    owner_free(o);
    mosaic_error_free(err);
}

/* A map change that leaves nothing foreign behind says so: the machine then has no
 * reason to stop its vCPUs. */
static void test_plain_change_not_foreign(void)
{
    Hook h = {0};
    mem_set_change_hook(hook, &h);
    MosaicRegion *root = mosaic_region_new_container("root", 1ull << 32);
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    MosaicError *err = mosaic_error_new();
    MosaicRegion *ram = mosaic_region_new_ram("ram", 8192, err);
    g_assert_true(mosaic_region_add(root, 0x1000, ram, 0, err));
    mosaic_region_del(root, ram);
    g_assert_cmpint(h.calls, ==, 2);
    g_assert_cmpint(h.foreign, ==, 0);
    mem_set_change_hook(NULL, NULL);
    mosaic_region_unref(ram);
    mosaic_address_space_free(as);
    mosaic_region_unref(root);
    mosaic_error_free(err);
}

/* The owner's release may change the map itself (no memory lock is held then). */
typedef struct Remapper {
    Owner o;
    MosaicRegion *root, *extra;
} Remapper;

static void remap_release(void *opaque)
{
    Remapper *r = opaque;
    r->o.released++;
    MosaicError *err = mosaic_error_new();
    g_assert_true(mosaic_region_add(r->root, 0x100000, r->extra, 0, err));
    mosaic_region_del(r->root, r->extra);
    mosaic_error_free(err);
}

static void test_release_may_change_the_map(void)
{
    MosaicRegion *root = mosaic_region_new_container("root", 1ull << 32);
    MosaicAddressSpace *as = mosaic_address_space_new("as", root);
    MosaicError *err = mosaic_error_new();
    Owner *o = owner_new(4096);
    Remapper r = {.o = *o, .root = root, .extra = mosaic_region_new_ram("extra", 4096, err)};
    MosaicRegion *blob = mosaic_region_new_ram_ptr("blob", o->mem, 4096, remap_release, &r, err);
    g_assert_true(mosaic_region_add(root, 0x1000, blob, 0, err));
    mosaic_region_del(root, blob);
    mosaic_region_unref(blob);
    mem_reclaim(); /* the release runs here and takes the map lock */
    g_assert_cmpint(r.o.released, ==, 1);
    mem_reclaim();
    mosaic_region_unref(r.extra);
    owner_free(o);
    mosaic_address_space_free(as);
    mosaic_region_unref(root);
    mosaic_error_free(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory-foreign/add-lookup-remove", test_add_lookup_remove);
    g_test_add_func("/memory-foreign/refused", test_refused);
    g_test_add_func("/memory-foreign/plain-change-not-foreign", test_plain_change_not_foreign);
    g_test_add_func("/memory-foreign/release-may-change-the-map", test_release_may_change_the_map);
    return g_test_run();
}
