/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The bitmap directory of a qcow2 image and its bitmap tables, checked before anything
 * is allocated for them (pure functions over bytes, fuzzed with the header parser):
 * every entry inside the directory, every table where the image needs it and of the size
 * it needs, nothing overlapping anything else, and the memory the bitmaps would take
 * within a budget.  A crafted directory whose entries share one table used to cost
 * gigabytes and a minute to open. */
#include <stdlib.h>
#include <string.h>

#include "qcow2-format.h"

uint64_t qcow2_bitmap_table_entries(const Qcow2Header *h, unsigned gbits)
{
    uint64_t bits = (h->size + (1ULL << gbits) - 1) >> gbits;
    return (bits + h->cluster_size * 8 - 1) / (h->cluster_size * 8);
}

uint64_t qcow2_bitmap_memory(const Qcow2Header *h, unsigned gbits)
{
    return ((h->size + (1ULL << gbits) - 1) >> gbits) / 8 + 8;
}

/* A region of the file that one thing owns. */
typedef struct Range {
    uint64_t off, len;
    const char *what;
    uint32_t index; /* which bitmap (for tables and data) */
} Range;

static int range_cmp(const void *a, const void *b)
{
    const Range *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static uint64_t round_up(uint64_t v, uint64_t cs)
{
    return (v + cs - 1) & ~(cs - 1);
}

/* Sorted, then neighbours compared: one overlap is enough to refuse. */
static int check_ranges(Range *r, size_t n, char *err, size_t errlen)
{
    qsort(r, n, sizeof *r, range_cmp);
    for (size_t i = 1; i < n; i++)
        if (r[i - 1].off + r[i - 1].len > r[i].off)
            return qcow2_fail(err, errlen, "%s (bitmap %u, at 0x%llx) overlaps %s (bitmap %u, at "
                        "0x%llx): the image is corrupt (run qemu-img check -r all)",
                        r[i].what, r[i].index, (unsigned long long)r[i].off, r[i - 1].what,
                        r[i - 1].index, (unsigned long long)r[i - 1].off);
    return 0;
}

static size_t base_ranges(const Qcow2Header *h, uint64_t dir_off, uint64_t dir_size, Range *r)
{
    uint64_t cs = h->cluster_size;
    size_t n = 0;
    r[n++] = (Range){0, cs, "the header", 0};
    if (h->l1_size)
        r[n++] = (Range){h->l1_table_offset, round_up((uint64_t)h->l1_size * 8, cs), "the L1 table", 0};
    r[n++] = (Range){h->refcount_table_offset, (uint64_t)h->refcount_table_clusters * cs,
                     "the refcount table", 0};
    r[n++] = (Range){dir_off, round_up(dir_size, cs), "the bitmap directory", 0};
    return n;
}

int qcow2_check_bitmap_dir_location(const Qcow2Header *h, uint64_t dir_off, uint64_t dir_size,
                                    uint64_t file_size, char *err, size_t errlen)
{
    if (h->nb_bitmaps == 0 || h->nb_bitmaps > QCOW2_MAX_BITMAPS ||
        dir_size > QCOW2_MAX_BITMAP_DIR || dir_size < 24 || dir_off == 0 ||
        dir_off % h->cluster_size || dir_off > file_size || dir_size > file_size - dir_off)
        return qcow2_fail(err, errlen, "the bitmap directory (offset 0x%llx, %llu bytes, %u bitmaps) "
                    "is invalid or past the end of the file: the image is corrupt",
                    (unsigned long long)dir_off, (unsigned long long)dir_size, h->nb_bitmaps);
    return 0;
}

int qcow2_parse_bitmap_dir(const Qcow2Header *h, const uint8_t *dir, uint64_t dir_off,
                           uint64_t dir_size, uint64_t file_size, uint64_t max_memory,
                           Qcow2Bitmap **out, char *err, size_t errlen)
{
    uint64_t cs = h->cluster_size, pos = 0, memory = 0;
    *out = NULL;
    if (qcow2_check_bitmap_dir_location(h, dir_off, dir_size, file_size, err, errlen) < 0)
        return -1;
    Qcow2Bitmap *bms = calloc(h->nb_bitmaps, sizeof *bms);
    Range *r = calloc(h->nb_bitmaps + 4, sizeof *r);
    size_t nr = base_ranges(h, dir_off, dir_size, r);
    int ret = 0;
    for (uint32_t i = 0; i < h->nb_bitmaps && !ret; i++) {
        Qcow2Bitmap *b = &bms[i];
        if (pos + 24 > dir_size) {
            ret = qcow2_fail(err, errlen, "bitmap directory entry %u is past the end of the directory "
                       "(%llu bytes): the image is corrupt", i, (unsigned long long)dir_size);
            break;
        }
        const uint8_t *e = dir + pos;
        b->table_offset = q_be64(e);
        b->table_size = q_be32(e + 8);
        b->flags = q_be32(e + 12);
        b->type = e[16];
        b->gbits = e[17];
        b->name_len = q_be16(e + 18);
        b->extra = q_be32(e + 20);
        b->entry_off = pos;
        b->entry_len = (24 + (uint64_t)b->extra + b->name_len + 7) & ~7ULL;
        if (b->entry_len > dir_size - pos || b->name_len == 0 ||
            b->name_len > QCOW2_MAX_BITMAP_NAME) {
            ret = qcow2_fail(err, errlen, "bitmap directory entry %u (at byte %llu of the directory) "
                       "has an invalid length or name: the image is corrupt", i,
                       (unsigned long long)pos);
            break;
        }
        b->loadable = b->type == 1 && b->gbits >= 9 && b->gbits <= 30 && !b->extra;
        uint64_t tbytes = (uint64_t)b->table_size * 8;
        if (!b->table_offset || b->table_offset % cs || b->table_offset > file_size ||
            tbytes > file_size - b->table_offset || b->table_size == 0) {
            ret = qcow2_fail(err, errlen, "bitmap %u: its table (offset 0x%llx, %u entries) is "
                       "misaligned or past the end of the file: the image is corrupt", i,
                       (unsigned long long)b->table_offset, b->table_size);
            break;
        }
        if (b->loadable && (b->table_size != qcow2_bitmap_table_entries(h, b->gbits) ||
                            (uint64_t)b->table_size * cs > QCOW2_MAX_BITMAP_DATA)) {
            ret = qcow2_fail(err, errlen, "bitmap %u: its table has %u entries, the image needs "
                       "%llu (granularity 2^%u): the image is corrupt", i, b->table_size,
                       (unsigned long long)qcow2_bitmap_table_entries(h, b->gbits), b->gbits);
            break;
        }
        if (b->loadable) {
            memory += qcow2_bitmap_memory(h, b->gbits);
            if (memory > max_memory) {
                ret = qcow2_fail(err, errlen, "bitmap %u (granularity 2^%u over %llu bytes) takes the "
                           "memory of the image's bitmaps past %llu MiB: remove bitmaps "
                           "(qemu-img bitmap --remove) or raise bitmaps-max-memory", i,
                           b->gbits, (unsigned long long)h->size,
                           (unsigned long long)(max_memory >> 20));
                break;
            }
        }
        r[nr++] = (Range){b->table_offset, round_up(tbytes, cs), "a bitmap table", i};
        pos += b->entry_len;
    }
    if (!ret)
        ret = check_ranges(r, nr, err, errlen);
    free(r);
    if (ret) {
        free(bms);
        return -1;
    }
    *out = bms;
    return 0;
}

int qcow2_check_bitmap_tables(const Qcow2Header *h, const Qcow2Bitmap *bms,
                              const uint8_t *const *tables, uint64_t dir_off, uint64_t dir_size,
                              uint64_t file_size, char *err, size_t errlen)
{
    uint64_t cs = h->cluster_size, n = 4;
    for (uint32_t i = 0; i < h->nb_bitmaps; i++)
        n += 1 + bms[i].table_size;
    Range *r = calloc(n, sizeof *r);
    size_t nr = base_ranges(h, dir_off, dir_size, r);
    int ret = 0;
    for (uint32_t i = 0; i < h->nb_bitmaps && !ret; i++) {
        const Qcow2Bitmap *b = &bms[i];
        r[nr++] = (Range){b->table_offset, round_up((uint64_t)b->table_size * 8, cs),
                          "a bitmap table", i};
        for (uint32_t j = 0; j < b->table_size && !ret; j++) {
            uint64_t te = q_be64(tables[i] + 8 * (uint64_t)j), off = te & QCOW2_BME_OFFSET_MASK;
            if (!off)
                continue;
            if (off % cs || off > file_size || cs > file_size - off)
                ret = qcow2_fail(err, errlen, "bitmap %u: entry %u of its table points at 0x%llx, "
                           "misaligned or past the end of the file: the image is corrupt", i, j,
                           (unsigned long long)off);
            else
                r[nr++] = (Range){off, cs, "bitmap data", i};
        }
    }
    if (!ret)
        ret = check_ranges(r, nr, err, errlen);
    free(r);
    return ret;
}
