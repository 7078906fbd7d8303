/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The qcow2 header and table parser of plugins/block-qcow2 (pure functions): a valid
 * image, each kind of corruption refused with a message, and random mutations. */
#include <string.h>

#include <glib.h>

#include "../../plugins/block-qcow2/bitmap-dir.c"
#include "../../plugins/block-qcow2/header.c"

#define CS 65536u
#define FILE_SIZE (6 * CS)

/* header at 0, refcount table at 1 cluster, refcount block at 2, L1 at 3, L2 at 4. */
static uint8_t *image(void)
{
    uint8_t *b = g_malloc0(FILE_SIZE);
    q_st32(b, QCOW2_MAGIC);
    q_st32(b + 4, 3);
    q_st32(b + 20, 16);
    q_st64(b + 24, 64u << 20);
    q_st32(b + 36, 1);
    q_st64(b + 40, 3 * CS);
    q_st64(b + 48, 1 * CS);
    q_st32(b + 56, 1);
    q_st32(b + 96, 4);
    q_st32(b + 100, 104);
    /* extensions: backing format "raw", then end */
    q_st32(b + 104, QCOW2_EXT_BACKING_FORMAT);
    q_st32(b + 108, 3);
    memcpy(b + 112, "raw", 3);
    q_st32(b + 120, 0);
    /* backing name */
    q_st64(b + 8, 512);
    q_st32(b + 16, 8);
    memcpy(b + 512, "base.img", 8);
    q_st64(b + CS, 2 * CS);                      /* refcount table -> block */
    q_st64(b + 3 * CS, (1ull << 63) | 4 * CS);   /* L1 -> L2 */
    q_st64(b + 4 * CS, (1ull << 63) | 5 * CS);   /* L2[0] -> data */
    return b;
}

static int parse(uint8_t *b, size_t size, Qcow2Header *h, char *err)
{
    int r = qcow2_parse_header(b, MIN(size, CS), size, h, err, 256);
    if (r == 0)
        r = qcow2_check_l1(h, b + h->l1_table_offset, size, err, 256);
    if (r == 0)
        r = qcow2_check_reftable(h, b + h->refcount_table_offset, size, err, 256);
    return r;
}

static void test_valid(void)
{
    g_autofree uint8_t *b = image();
    Qcow2Header h;
    char err[256] = "";
    g_assert_cmpint(parse(b, FILE_SIZE, &h, err), ==, 0);
    g_assert_cmpstr(h.backing_file, ==, "base.img");
    g_assert_cmpstr(h.backing_format, ==, "raw");
    g_assert_cmpuint(h.cluster_size, ==, CS);
    g_assert_false(h.read_only_reason);
    g_assert_cmpint(qcow2_check_l2_entry(&h, (1ull << 63) | 5 * CS, FILE_SIZE), ==, 0);
    g_assert_cmpint(qcow2_check_l2_entry(&h, (1ull << 63) | 50 * CS, FILE_SIZE), <, 0);
    g_assert_cmpint(qcow2_check_l2_entry(&h, (1ull << 63) | 0, FILE_SIZE), ==, 0);
    g_assert_cmpint(qcow2_check_l2_entry(&h, 5 * CS + 512, FILE_SIZE), <, 0);
}

/* The bitmaps extension (24 bytes) is parsed; a shorter one is corruption. */
static void test_bitmaps_extension(void)
{
    g_autofree uint8_t *b = image();
    Qcow2Header h;
    char err[256] = "";
    /* backing format (16), bitmaps (8 + 24), end */
    q_st32(b + 120, QCOW2_EXT_BITMAPS);
    q_st32(b + 124, 24);
    q_st32(b + 128, 2);
    q_st64(b + 136, 80);
    q_st64(b + 144, 5 * CS);
    q_st32(b + 152, 0);
    g_assert_cmpint(parse(b, FILE_SIZE, &h, err), ==, 0);
    g_assert_true(h.has_bitmaps_ext);
    g_assert_cmpuint(h.nb_bitmaps, ==, 2);
    g_assert_cmpuint(h.bitmap_dir_size, ==, 80);
    g_assert_cmpuint(h.bitmap_dir_offset, ==, 5 * CS);
    g_assert_cmpstr(h.backing_format, ==, "raw");
    q_st32(b + 124, 16);
    g_assert_cmpint(parse(b, FILE_SIZE, &h, err), <, 0);
    g_assert_nonnull(strstr(err, "bitmaps header extension is too short"));
}

typedef struct Bad {
    const char *name;
    unsigned off;
    int width;
    uint64_t value;
    const char *expect;
} Bad;

static const Bad bads[] = {
    {"magic", 0, 4, 0x12345678, "not a qcow2"},
    {"version", 4, 4, 7, "version 7"},
    {"cluster-bits-low", 20, 4, 8, "cluster size"},
    {"cluster-bits-high", 20, 4, 30, "cluster size"},
    {"absurd-size", 24, 8, 1ull << 62, "absurd"},
    {"encrypted", 32, 4, 1, "encrypted"},
    {"l1-small", 36, 4, 0, "too small"},
    {"l1-huge", 36, 4, 0x10000000, "too large"},
    {"l1-misaligned", 40, 8, 3 * CS + 8, "aligned"},
    {"l1-past-end", 40, 8, 1ull << 40, "past the end"},
    {"l1-overlaps-header", 40, 8, 0, "past the end"},
    {"l1-overlaps-rt", 40, 8, 1 * CS, "overlap"},
    {"rt-past-end", 48, 8, 1ull << 40, "refcount table"},
    {"rt-zero-clusters", 56, 4, 0, "refcount table"},
    {"rt-huge", 56, 4, 1u << 20, "refcount table"},
    {"unknown-incompat", 72, 8, 1ull << 20, "unknown incompatible"},
    {"data-file", 72, 8, QCOW2_INCOMPAT_DATA_FILE, "external data file"},
    {"extl2", 72, 8, QCOW2_INCOMPAT_EXTL2, "extended L2"},
    {"refcount-order", 96, 4, 9, "refcount order"},
    {"header-length", 100, 4, 50, "header length"},
    {"backing-size", 16, 4, 5000, "backing file name"},
    {"backing-offset", 8, 8, CS - 2, "backing file name"},
    {"ext-length", 108, 4, 0x7fffffff, "extension"},
    {"l1-entry-past-end", 3 * CS, 8, (1ull << 63) | (1ull << 40), "L1 entry 0"},
    {"l1-entry-is-l1", 3 * CS, 8, 3 * CS, "overlaps"},
    {"rt-entry-is-header", 1 * CS, 8, 0x200, "misaligned"},
    {"snapshots-absurd", 60, 4, 1u << 20, "nb_snapshots"},
};

static void test_bad(gconstpointer data)
{
    const Bad *bad = data;
    g_autofree uint8_t *b = image();
    if (bad->width == 4)
        q_st32(b + bad->off, bad->value);
    else
        q_st64(b + bad->off, bad->value);
    Qcow2Header h;
    char err[256] = "";
    g_assert_cmpint(parse(b, FILE_SIZE, &h, err), <, 0);
    if (!strstr(err, bad->expect))
        g_error("%s: message '%s' lacks '%s'", bad->name, err, bad->expect);
}

static void test_read_only_reasons(void)
{
    g_autofree uint8_t *b = image();
    Qcow2Header h;
    char err[256];
    q_st64(b + 72, QCOW2_INCOMPAT_DIRTY);
    g_assert_cmpint(parse(b, FILE_SIZE, &h, err), ==, 0);
    g_assert_true(h.read_only_reason);
    g_assert_nonnull(strstr(h.why_ro, "dirty"));
    q_st64(b + 72, 0);
    q_st32(b + 60, 1); /* a snapshot */
    q_st64(b + 64, 5 * CS);
    g_assert_cmpint(parse(b, FILE_SIZE, &h, err), ==, 0);
    g_assert_nonnull(strstr(h.why_ro, "snapshot"));
}

static void test_truncated_and_mutated(void)
{
    g_autofree uint8_t *b = image();
    Qcow2Header h;
    char err[256];
    for (size_t n = 0; n < 200; n++)
        parse(b, n, &h, err); /* any prefix: no crash, no read past n */
    GRand *r = g_rand_new_with_seed(42);
    for (int i = 0; i < 20000; i++) {
        g_autofree uint8_t *m = image();
        for (int k = 0; k < 4; k++)
            m[g_rand_int_range(r, 0, 600)] = g_rand_int(r);
        if (g_rand_boolean(r))
            m[3 * CS + g_rand_int_range(r, 0, 8)] = g_rand_int(r);
        if (parse(m, FILE_SIZE, &h, err) == 0) {
            g_assert_cmpuint(h.l1_table_offset + (uint64_t)h.l1_size * 8, <=, FILE_SIZE);
            g_assert_cmpuint(h.cluster_size, >=, 512);
        }
    }
    g_rand_free(r);
}

/* Snapshots: the table offset is checked once there are snapshots. */
static void test_snapshot_offset(void)
{
    g_autofree uint8_t *b = image();
    Qcow2Header h;
    char err[256] = "";
    q_st32(b + 60, 2);
    q_st64(b + 64, 1ull << 40);
    g_assert_cmpint(parse(b, FILE_SIZE, &h, err), <, 0);
    g_assert_nonnull(strstr(err, "snapshots_offset"));
    q_st64(b + 64, 5 * CS + 8);
    g_assert_cmpint(parse(b, FILE_SIZE, &h, err), <, 0);
}

/* ---- the bitmap directory (bitmap-dir.c) ---- */
#define BM_FILE (10 * CS) /* image() plus directory (6), tables (7, 8), bitmap data (9) */

/* Directory entry i at dir + 32 * i: table at `table`, one entry, granularity 2^gbits,
 * name "bI". */
static void bm_entry(uint8_t *dir, unsigned i, uint64_t table, uint32_t size, unsigned gbits)
{
    uint8_t *e = dir + 32 * i;
    memset(e, 0, 32);
    q_st64(e, table);
    q_st32(e + 8, size);
    q_st32(e + 12, 2); /* auto */
    e[16] = 1;
    e[17] = gbits;
    q_st16(e + 18, 2);
    e[24] = 'b';
    e[25] = '0' + i;
}

typedef struct BmImage {
    uint8_t *file;
    Qcow2Header h;
    uint8_t *dir;
} BmImage;

static void bm_image(BmImage *m, unsigned nb)
{
    m->file = g_malloc0(BM_FILE);
    uint8_t *b = image();
    memcpy(m->file, b, FILE_SIZE);
    g_free(b);
    char err[256];
    g_assert_cmpint(parse(m->file, BM_FILE, &m->h, err), ==, 0);
    m->h.nb_bitmaps = nb;
    m->dir = m->file + 6 * CS;
    for (unsigned i = 0; i < nb; i++)
        bm_entry(m->dir, i, (7 + i % 2) * CS, 1, 16);
}

static int bm_parse(BmImage *m, uint64_t dsize, uint64_t max_mem, char *err)
{
    Qcow2Bitmap *bms = NULL;
    int r = qcow2_parse_bitmap_dir(&m->h, m->dir, 6 * CS, dsize, BM_FILE, max_mem, &bms, err, 256);
    if (r == 0) {
        const uint8_t *tables[2] = {m->file + 7 * CS, m->file + 8 * CS};
        g_assert_cmpuint(m->h.nb_bitmaps, <=, 2);
        r = qcow2_check_bitmap_tables(&m->h, bms, tables, 6 * CS, dsize, BM_FILE, err, 256);
    }
    free(bms);
    return r;
}

static void test_bitmap_dir(void)
{
    BmImage m;
    char err[256] = "";
    bm_image(&m, 2);
    g_assert_cmpint(bm_parse(&m, 64, 1u << 20, err), ==, 0);
    /* Data clusters: one each is fine; the same one twice, or the L1 table, is not. */
    q_st64(m.file + 7 * CS, 9 * CS);
    g_assert_cmpint(bm_parse(&m, 64, 1u << 20, err), ==, 0);
    q_st64(m.file + 8 * CS, 9 * CS);
    g_assert_cmpint(bm_parse(&m, 64, 1u << 20, err), <, 0);
    g_assert_nonnull(strstr(err, "overlaps"));
    q_st64(m.file + 8 * CS, 3 * CS);
    g_assert_cmpint(bm_parse(&m, 64, 1u << 20, err), <, 0);
    g_assert_nonnull(strstr(err, "the L1 table"));
    q_st64(m.file + 8 * CS, 9 * CS + 512);
    g_assert_cmpint(bm_parse(&m, 64, 1u << 20, err), <, 0);
    g_assert_nonnull(strstr(err, "misaligned"));
    g_free(m.file);
}

typedef struct BadDir {
    const char *name;
    unsigned entry, off, width;
    uint64_t value;
    uint64_t dsize;
    const char *expect;
} BadDir;

static const BadDir bad_dirs[] = {
    /* The image: entries sharing one table. */
    {"shared-table", 1, 0, 8, 7 * CS, 64, "overlaps a bitmap table"},
    {"table-is-l1", 0, 0, 8, 3 * CS, 64, "overlaps"},
    {"table-is-directory", 0, 0, 8, 6 * CS, 64, "overlaps"},
    {"table-past-end", 0, 0, 8, 1ull << 40, 64, "past the end"},
    {"table-misaligned", 0, 0, 8, 7 * CS + 8, 64, "misaligned"},
    {"table-huge", 0, 8, 4, 0x7fffffff, 64, "past the end"},
    {"table-wrong-size", 0, 8, 4, 2, 64, "the image needs"},
    {"name-empty", 1, 18, 2, 0, 64, "invalid length or name"},
    {"name-too-long", 1, 18, 2, 0xffff, 64, "invalid length or name"},
    {"extra-past-dir", 1, 20, 4, 1u << 30, 64, "invalid length or name"},
    {"dir-short", 0, 0, 0, 0, 40, "past the end of the directory"},
    {"dir-huge", 0, 0, 0, 0, 1ull << 40, "bitmap directory"},
};

static void test_bad_dir(gconstpointer data)
{
    const BadDir *bad = data;
    BmImage m;
    char err[256] = "";
    bm_image(&m, 2);
    uint8_t *e = m.dir + 32 * bad->entry + bad->off;
    if (bad->width == 8)
        q_st64(e, bad->value);
    else if (bad->width == 4)
        q_st32(e, bad->value);
    else if (bad->width == 2)
        q_st16(e, bad->value);
    g_assert_cmpint(bm_parse(&m, bad->dsize, 1u << 20, err), <, 0);
    if (!strstr(err, bad->expect))
        g_error("%s: message '%s' lacks '%s'", bad->name, err, bad->expect);
    g_free(m.file);
}

/* The bitmaps' memory (bits over the virtual size) is bounded before any is allocated:
 * the image made 2 GiB of bitmaps out of 448 KiB. */
static void test_bitmap_memory_budget(void)
{
    BmImage m;
    char err[256] = "";
    bm_image(&m, 2);
    m.h.size = 1ull << 41; /* 2 TiB: a granularity of 512 needs 512 MiB per bitmap */
    bm_entry(m.dir, 0, 7 * CS, 8192, 9);
    bm_entry(m.dir, 1, 8 * CS, 8192, 9);
    g_assert_cmpuint(qcow2_bitmap_memory(&m.h, 9), >=, 512u << 20);
    Qcow2Bitmap *bms = NULL;
    /* (the tables of 8192 entries need a file of 8 + 2 clusters; pass that as its size) */
    g_assert_cmpint(qcow2_parse_bitmap_dir(&m.h, m.dir, 6 * CS, 64, 20 * CS, 256u << 20, &bms,
                                           err, sizeof err), <, 0);
    g_assert_nonnull(strstr(err, "bitmaps-max-memory"));
    g_assert_null(bms);
    g_assert_cmpint(qcow2_parse_bitmap_dir(&m.h, m.dir, 6 * CS, 64, 20 * CS, 2ull << 30, &bms,
                                           err, sizeof err), ==, 0);
    free(bms);
    g_free(m.file);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qcow2/valid", test_valid);
    for (unsigned i = 0; i < G_N_ELEMENTS(bads); i++) {
        g_autofree char *name = g_strdup_printf("/qcow2/bad/%s", bads[i].name);
        g_test_add_data_func(name, &bads[i], test_bad);
    }
    g_test_add_func("/qcow2/read-only-reasons", test_read_only_reasons);
    g_test_add_func("/qcow2/bitmaps-extension", test_bitmaps_extension);
    g_test_add_func("/qcow2/truncated-and-mutated", test_truncated_and_mutated);
    g_test_add_func("/qcow2/snapshot-offset", test_snapshot_offset);
    g_test_add_func("/qcow2/bitmap-dir", test_bitmap_dir);
    for (unsigned i = 0; i < G_N_ELEMENTS(bad_dirs); i++) {
        g_autofree char *name = g_strdup_printf("/qcow2/bad-bitmap-dir/%s", bad_dirs[i].name);
        g_test_add_data_func(name, &bad_dirs[i], test_bad_dir);
    }
    g_test_add_func("/qcow2/bitmap-memory-budget", test_bitmap_memory_budget);
    return g_test_run();
}
