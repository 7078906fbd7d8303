/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the qcow2 header, header extension and table parser
 * (plugins/block-qcow2/header.c) and the bitmap directory and table checks
 * (bitmap-dir.c), fed whole (small) image files.  What the checks accept must keep the
 * promises the driver relies on: everything inside the file, nothing overlapping, the
 * bitmaps' memory within the budget. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2-format.h"

#define BUDGET (64u << 20)

static int overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* The bitmaps extension, as the driver reads it at open. */
static void bitmaps(const Qcow2Header *h, const uint8_t *data, size_t size)
{
    char err[256];
    uint64_t doff = h->bitmap_dir_offset, dsize = h->bitmap_dir_size, cs = h->cluster_size;
    if (!h->has_bitmaps_ext ||
        qcow2_check_bitmap_dir_location(h, doff, dsize, size, err, sizeof err) < 0)
        return;
    if (doff + dsize > size)
        abort(); /* the location check let a directory past the end through */
    Qcow2Bitmap *bms;
    if (qcow2_parse_bitmap_dir(h, data + doff, doff, dsize, size, BUDGET, &bms, err,
                               sizeof err) < 0)
        return;
    uint64_t memory = 0;
    const uint8_t **tables = calloc(h->nb_bitmaps, sizeof *tables);
    for (uint32_t i = 0; i < h->nb_bitmaps; i++) {
        uint64_t t = bms[i].table_offset, tl = (uint64_t)bms[i].table_size * 8;
        if (t + tl > size || t % cs || bms[i].entry_off + bms[i].entry_len > dsize)
            abort();
        if (overlap(t, tl, doff, dsize) || overlap(t, tl, 0, cs))
            abort(); /* a table over the directory or the header was accepted */
        for (uint32_t j = 0; j < i && j < 64; j++)
            if (overlap(t, tl, bms[j].table_offset, (uint64_t)bms[j].table_size * 8))
                abort(); /* two tables sharing clusters were accepted */
        if (bms[i].loadable)
            memory += qcow2_bitmap_memory(h, bms[i].gbits);
        tables[i] = data + t;
    }
    if (memory > BUDGET)
        abort();
    if (qcow2_check_bitmap_tables(h, bms, tables, doff, dsize, size, err, sizeof err) == 0) {
        for (uint32_t i = 0; i < h->nb_bitmaps && i < 4; i++)
            for (uint32_t j = 0; j < bms[i].table_size && j < 256; j++) {
                uint64_t off = q_be64(tables[i] + 8 * (uint64_t)j) & QCOW2_BME_OFFSET_MASK;
                if (off && (off + cs > size || off % cs || overlap(off, cs, doff, dsize)))
                    abort(); /* bitmap data outside the file or over the directory */
            }
    }
    free(tables);
    free(bms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Qcow2Header h;
    char err[256];
    size_t hlen = size < (1u << QCOW2_MAX_CLUSTER_BITS) ? size : (1u << QCOW2_MAX_CLUSTER_BITS);
    if (qcow2_parse_header(data, hlen, size, &h, err, sizeof err) < 0)
        return 0;
    /* The parser promised the tables are inside the file. */
    if (h.l1_size && h.l1_table_offset + (uint64_t)h.l1_size * 8 > size)
        abort();
    uint64_t rt_bytes = (uint64_t)h.refcount_table_clusters * h.cluster_size;
    if (h.refcount_table_offset + rt_bytes > size)
        abort();
    bitmaps(&h, data, size);
    if (qcow2_check_reftable(&h, data + h.refcount_table_offset, size, err, sizeof err) < 0)
        return 0;
    if (h.l1_size && qcow2_check_l1(&h, data + h.l1_table_offset, size, err, sizeof err) < 0)
        return 0;
    for (uint32_t i = 0; i < h.l1_size; i++) {
        uint64_t l2 = q_be64(data + h.l1_table_offset + 8 * (uint64_t)i) & L1E_OFFSET_MASK;
        if (!l2)
            continue;
        if (l2 + h.cluster_size > size)
            abort(); /* check_l1 let a table past the end through */
        for (uint32_t j = 0; j < h.l2_entries; j++) {
            uint64_t e = q_be64(data + l2 + 8 * (uint64_t)j);
            if (qcow2_check_l2_entry(&h, e, size) == 0 && !(e & QCOW_OFLAG_COMPRESSED) &&
                (e & L2E_OFFSET_MASK) >= size)
                abort();
        }
    }
    return 0;
}
