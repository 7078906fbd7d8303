/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Persistent dirty bitmaps in the qcow2 bitmaps extension (QEMU docs/interop/qcow2.txt,
 * "Bitmaps extension"), so qemu-img and QEMU see the same bitmaps as Mosaic.
 *
 *   header extension 0x23852875: nb_bitmaps, bitmap_directory_size/offset; autoclear
 *   bit 0 says it is consistent.  Directory entries: bitmap_table_offset/size, flags
 *   (in_use, auto), type 1, granularity_bits, name.  Bitmap tables: 8-byte entries
 *   pointing to clusters of bits (0: all zeroes, 1: all ones).
 *
 * Open for writing: the bitmaps are loaded and marked in_use in place, so a kill leaves
 * them in_use and the next open loads them inconsistent.  A bitmap added or removed
 * while running: the directory is rewritten at once, every entry in_use with a table of
 * zeroes (q2_bitmaps_changed), so a kill leaves a new bitmap inconsistent, not missing.
 * Clean close: every persistent
 * bitmap is written to new clusters (data, tables, directory; refcounted), then the
 * header switches to them (one cluster write), then the old clusters are freed: a kill
 * in between leaves only leaked clusters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosaic/bitmap.h>

#include "q2.h"

#define BME_IN_USE 1u
#define BME_AUTO 2u
#define BME_TYPE_DIRTY 1
#define BME_MAX_BITMAPS QCOW2_MAX_BITMAPS
#define BME_MAX_NAME QCOW2_MAX_BITMAP_NAME
#define BME_MAX_PHYS QCOW2_MAX_BITMAP_DATA

static void note(Q2 *s, uint64_t off, uint64_t bytes)
{
    uint64_t cs = s->h.cluster_size;
    for (uint64_t c = off / cs; c < (off + bytes + cs - 1) / cs; c++) {
        uint64_t o = c * cs;
        g_array_append_val(s->bm_clusters, o);
    }
}

static uint64_t table_entries(Q2 *s, unsigned gbits)
{
    return qcow2_bitmap_table_entries(&s->h, gbits);
}

/* Inside the file, aligned, and not data or metadata the image references (so that a
 * corrupt directory can never make the store free those). */
static bool cluster_ok(Q2 *s, uint64_t off, uint64_t bytes)
{
    uint64_t fs = mosaic_blk_child_length(s->file), cs = s->h.cluster_size;
    if (!off || (off & (cs - 1)) || off > fs || bytes > fs - off)
        return false;
    for (uint64_t c = off / cs; c < (off + bytes + cs - 1) / cs; c++)
        if (q2_cluster_used(s, c))
            return false;
    return true;
}

/* An entry Mosaic cannot load (unknown type, extra data, granularity above 2^30) is kept
 * as it is, clusters and all, and written back at close; marked in use when it records
 * writes (auto), since Mosaic wrote the image without recording them. */
static void keep(Q2 *s, const uint8_t *e, uint64_t elen, const char *name)
{
    mosaic_log("qcow2", 0, "%s: bitmap '%s' (type %u, granularity 2^%u, %u bytes of extra "
               "data) is not supported by Mosaic: kept in the image unchanged", s->label, name,
               e[16], e[17], q_be32(e + 20));
    if (!s->bm_keep)
        s->bm_keep = g_byte_array_new();
    uint8_t *copy = g_memdup2(e, elen);
    if (q_be32(copy + 12) & BME_AUTO)
        q_st32(copy + 12, q_be32(copy + 12) | BME_IN_USE);
    g_byte_array_append(s->bm_keep, copy, elen);
    g_free(copy);
}

/* Sets the bits of one cluster of bitmap data (bit i: granule `first + i`), in runs. */
static void set_runs(MosaicBlkBitmap *bm, const uint8_t *data, uint64_t nbytes, uint64_t first,
                     uint64_t gran, uint64_t size)
{
    uint64_t run = 0, start = 0;
    for (uint64_t bit = 0; bit <= nbytes * 8; bit++) {
        bool on = bit < nbytes * 8 && (data[bit / 8] >> (bit % 8) & 1);
        if (on && !run)
            start = bit;
        if (on) {
            run++;
            continue;
        }
        if (run) {
            uint64_t off = (first + start) * gran;
            if (off < size)
                mosaic_blk_bitmap_set(bm, off, MIN(run * gran, size - off));
            run = 0;
        }
        if (bit % 64 == 0 && bit + 64 <= nbytes * 8) { /* skip zero words at once */
            uint64_t w;
            memcpy(&w, data + bit / 8, 8);
            if (!w)
                bit += 63;
        }
    }
}

/* One checked directory entry (qcow2_parse_bitmap_dir): its bits go straight into a new
 * bitmap of the node, one cluster at a time (nothing the size of the bitmap is copied). */
static void load_one(Q2 *s, MosaicBlkNode *node, const Qcow2Bitmap *b, const char *name)
{
    uint64_t cs = s->h.cluster_size, gran = 1ULL << b->gbits, tbytes = (uint64_t)b->table_size * 8;
    uint8_t *table = g_malloc(tbytes);
    bool bad = mosaic_blk_child_pread(s->file, b->table_offset, table, tbytes) != 0 ||
               !cluster_ok(s, b->table_offset, tbytes);
    for (uint32_t j = 0; j < b->table_size && !bad; j++) {
        uint64_t off = q_be64(table + 8 * (uint64_t)j) & QCOW2_BME_OFFSET_MASK;
        bad = off && !cluster_ok(s, off, cs); /* data or metadata of the image */
    }
    if (bad)
        mosaic_log("qcow2", 0, "%s: bitmap '%s': its table cannot be read or points at the "
                   "image's own clusters: loaded inconsistent", s->label, name);
    MosaicBlkBitmap *bm = mosaic_blk_bitmap_load(node, name, gran, b->flags & BME_AUTO,
                                                 bad || (b->flags & BME_IN_USE));
    uint8_t *data = g_malloc(cs);
    if (!bad)
        note(s, b->table_offset, tbytes);
    for (uint32_t j = 0; j < b->table_size && !bad && bm; j++) {
        uint64_t te = q_be64(table + 8 * (uint64_t)j), off = te & QCOW2_BME_OFFSET_MASK;
        uint64_t first = (uint64_t)j * cs * 8;
        if (!off) {
            if (te & 1 && first * gran < s->h.size)
                mosaic_blk_bitmap_set(bm, first * gran, MIN(cs * 8 * gran, s->h.size - first * gran));
            continue;
        }
        if (mosaic_blk_child_pread(s->file, off, data, cs)) {
            /* Bits missing would make a backup miss writes: everything counts as dirty. */
            mosaic_log("qcow2", 0, "%s: bitmap '%s': its data cannot be read: every granule "
                       "counts as changed", s->label, name);
            mosaic_blk_bitmap_set(bm, 0, s->h.size);
            break;
        }
        note(s, off, cs);
        set_runs(bm, data, cs, first, gran, s->h.size);
    }
    g_free(data);
    g_free(table);
}

/* At open: the directory and tables are read and checked (bitmap-dir.c) before anything
 * the bitmaps need is allocated; a corrupt or too large set of bitmaps refuses the open.
 * When writable, every bitmap is marked in use on disk at once, so that a kill, or a
 * node the core never asks to load (hot-added), leaves them in use: inconsistent. */
int q2_bitmaps_open(Q2 *s, uint64_t max_memory, char *err, size_t errlen)
{
    s->bm_clusters = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    if (!s->h.has_bitmaps_ext || !s->h.nb_bitmaps)
        return 0;
    if (!(s->h.autoclear_features & QCOW2_AUTOCLEAR_BITMAPS)) {
        mosaic_log("qcow2", 0, "%s: the bitmaps extension was left inconsistent by a program "
                   "that does not know it: its bitmaps are ignored", s->label);
        return 0;
    }
    uint64_t dsize = s->h.bitmap_dir_size, doff = s->h.bitmap_dir_offset;
    uint64_t fsize = mosaic_blk_child_length(s->file);
    if (qcow2_check_bitmap_dir_location(&s->h, doff, dsize, fsize, err, errlen) < 0)
        return -1;
    uint8_t *dir = g_malloc(dsize);
    int ret = mosaic_blk_child_pread(s->file, doff, dir, dsize);
    if (ret) {
        snprintf(err, errlen, "cannot read the bitmap directory: %s", g_strerror(-ret));
        g_free(dir);
        return -1;
    }
    Qcow2Bitmap *bms;
    if (qcow2_parse_bitmap_dir(&s->h, dir, doff, dsize, fsize, max_memory, &bms, err,
                               errlen) < 0) {
        g_free(dir);
        return -1;
    }
    /* The tables: inside the file and not overlapping, so together no larger than it. */
    uint8_t **tables = g_new0(uint8_t *, s->h.nb_bitmaps);
    for (uint32_t i = 0; i < s->h.nb_bitmaps && !ret; i++) {
        tables[i] = g_malloc((uint64_t)bms[i].table_size * 8);
        ret = mosaic_blk_child_pread(s->file, bms[i].table_offset, tables[i],
                                     (uint64_t)bms[i].table_size * 8);
    }
    if (ret)
        snprintf(err, errlen, "cannot read a bitmap table: %s", g_strerror(-ret));
    else
        ret = qcow2_check_bitmap_tables(&s->h, bms, (const uint8_t *const *)tables, doff, dsize,
                                        fsize, err, errlen);
    for (uint32_t i = 0; i < s->h.nb_bitmaps; i++)
        g_free(tables[i]);
    g_free(tables);
    if (ret) {
        free(bms);
        g_free(dir);
        return -1;
    }
    s->bms = bms;
    s->bm_dir = dir;
    s->bm_dir_size = dsize;
    if (s->ro)
        return 0;
    uint8_t *marked = g_memdup2(dir, dsize);
    for (uint32_t i = 0; i < s->h.nb_bitmaps; i++) {
        uint8_t *e = marked + bms[i].entry_off;
        q_st32(e + 12, q_be32(e + 12) | BME_IN_USE);
    }
    if (mosaic_blk_child_pwrite(s->file, doff, marked, dsize) || mosaic_blk_child_flush(s->file))
        mosaic_log("qcow2", 0, "%s: cannot mark the bitmaps in use", s->label);
    g_free(marked);
    return 0;
}

int q2_bitmaps_load(void *state, MosaicBlkNode *node)
{
    Q2 *s = state;
    uint8_t *dir = s->bm_dir;
    s->bm_loaded = true;
    if (!dir)
        return 0;
    note(s, s->h.bitmap_dir_offset, s->bm_dir_size);
    bool any_in_use = false;
    for (uint32_t i = 0; i < s->h.nb_bitmaps; i++) {
        const Qcow2Bitmap *b = &s->bms[i];
        uint8_t *e = dir + b->entry_off;
        char name[BME_MAX_NAME + 1];
        memcpy(name, e + 24 + b->extra, b->name_len);
        name[b->name_len] = 0;
        if (b->loadable)
            load_one(s, node, b, name);
        else
            keep(s, e, b->entry_len, name);
        any_in_use |= b->flags & BME_IN_USE;
    }
    if (any_in_use)
        mosaic_log("qcow2", 0, "%s: bitmaps were in use by a program that did not shut down "
                   "cleanly: they are inconsistent (the next backup must be full)", s->label);
    g_free(s->bm_dir);
    s->bm_dir = NULL;
    free(s->bms);
    s->bms = NULL;
    return 0;
}

/* Header cluster with the bitmaps extension (nb == 0: without) and the autoclear bit. */
static int write_header(Q2 *s, uint32_t nb, uint64_t dsize, uint64_t doff)
{
    uint64_t cs = s->h.cluster_size, bfo = s->h.backing_file_offset;
    uint8_t *old = g_malloc0(cs), *nw = g_malloc0(cs);
    int ret = mosaic_blk_child_pread(s->file, 0, old, MIN(cs, mosaic_blk_child_length(s->file)));
    uint32_t hl = s->h.header_length;
    uint64_t end = bfo && bfo < cs ? bfo : cs, off = hl, pos = hl;
    memcpy(nw, old, hl);
    while (!ret && off + 8 <= end) {
        uint32_t type = q_be32(old + off), len = q_be32(old + off + 4);
        if (type == QCOW2_EXT_END)
            break;
        uint64_t n = MIN(8 + (((uint64_t)len + 7) & ~7ULL), end - off);
        if (type != QCOW2_EXT_BITMAPS) {
            if (pos + n > cs)
                ret = -ENOSPC;
            else
                memcpy(nw + pos, old + off, n);
            pos += n;
        }
        off += n;
    }
    if (!ret && nb) {
        if (pos + 32 > cs) {
            ret = -ENOSPC;
        } else {
            q_st32(nw + pos, QCOW2_EXT_BITMAPS);
            q_st32(nw + pos + 4, 24);
            q_st32(nw + pos + 8, nb);
            q_st64(nw + pos + 16, dsize);
            q_st64(nw + pos + 24, doff);
            pos += 32;
        }
    }
    pos += 8; /* end of extensions */
    if (!ret && bfo) {
        if (pos + s->h.backing_file_size > cs) {
            ret = -ENOSPC;
        } else {
            memmove(nw + pos, old + bfo, s->h.backing_file_size);
            q_st64(nw + 8, pos);
        }
    }
    uint64_t ac = nb ? s->h.autoclear_features | QCOW2_AUTOCLEAR_BITMAPS
                     : s->h.autoclear_features & ~QCOW2_AUTOCLEAR_BITMAPS;
    q_st64(nw + 88, ac);
    if (!ret)
        ret = mosaic_blk_child_pwrite(s->file, 0, nw, cs);
    if (!ret)
        ret = mosaic_blk_child_flush(s->file);
    if (!ret) {
        s->h.autoclear_features = ac;
        if (bfo)
            s->h.backing_file_offset = pos;
        s->h.has_bitmaps_ext = nb != 0;
        s->h.nb_bitmaps = nb;
        s->h.bitmap_dir_size = dsize;
        s->h.bitmap_dir_offset = doff;
    }
    g_free(old);
    g_free(nw);
    return ret;
}

/* New refcounted clusters holding buf (n clusters, contiguous); offset or -errno. */
static int64_t put(Q2 *s, const uint8_t *buf, uint64_t bytes, GArray *fresh)
{
    uint64_t cs = s->h.cluster_size, n = (bytes + cs - 1) / cs;
    int64_t c = q2_alloc_run(s, n);
    if (c < 0)
        return c;
    uint8_t *pad = g_malloc0(n * cs);
    memcpy(pad, buf, bytes);
    int ret = mosaic_blk_child_pwrite(s->file, (uint64_t)c * cs, pad, n * cs);
    g_free(pad);
    for (uint64_t k = 0; k < n && !ret; k++) {
        ret = q2_set_refcount(s, (uint64_t)c + k, 1);
        uint64_t o = ((uint64_t)c + k) * cs;
        g_array_append_val(fresh, o);
    }
    return ret ? ret : (int64_t)((uint64_t)c * cs);
}

static bool all_zero(const uint8_t *p, uint64_t n)
{
    return !n || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

/* One bitmap's data clusters and table; the directory entry appended to dir.  in_use:
 * only recorded (flag in_use, a table of zeroes, no data): its bits come at close. */
static int store_one(Q2 *s, MosaicBlkBitmap *bm, bool in_use, GByteArray *dir, GArray *fresh)
{
    uint64_t cs = s->h.cluster_size, g = mosaic_blk_bitmap_granularity(bm);
    unsigned gbits = (unsigned)__builtin_ctzll(g);
    uint64_t n = table_entries(s, gbits);
    const char *name = mosaic_blk_bitmap_name(bm);
    size_t nlen = strlen(name);
    if (nlen > BME_MAX_NAME || !n || n * cs > BME_MAX_PHYS ||
        mosaic_blk_bitmap_data_size(bm) > n * cs)
        return 1; /* not storable: skipped with a message by the caller */
    uint8_t *data = g_malloc0(n * cs);
    uint8_t *table = g_malloc0(n * 8);
    if (!in_use)
        mosaic_blk_bitmap_export(bm, data);
    int ret = 0;
    for (uint64_t j = 0; j < n && !ret; j++) {
        if (all_zero(data + j * cs, cs))
            continue;
        int64_t off = put(s, data + j * cs, cs, fresh);
        if (off < 0)
            ret = (int)off;
        else
            q_st64(table + 8 * j, (uint64_t)off);
    }
    int64_t toff = ret ? 0 : put(s, table, n * 8, fresh);
    if (toff < 0)
        ret = (int)toff;
    g_free(data);
    g_free(table);
    if (ret)
        return ret;
    uint8_t e[24] = {0};
    q_st64(e, (uint64_t)toff);
    q_st32(e + 8, (uint32_t)n);
    /* An inconsistent bitmap stays in use: it must not be trusted at the next open. */
    q_st32(e + 12, (mosaic_blk_bitmap_recording(bm) ? BME_AUTO : 0) |
                   (in_use || mosaic_blk_bitmap_inconsistent(bm) ? BME_IN_USE : 0));
    e[16] = BME_TYPE_DIRTY;
    e[17] = (uint8_t)gbits;
    q_st16(e + 18, (uint16_t)nlen);
    g_byte_array_append(dir, e, sizeof e);
    g_byte_array_append(dir, (const guint8 *)name, nlen);
    static const uint8_t zero[8];
    g_byte_array_append(dir, zero, (8 - dir->len % 8) % 8);
    return 0;
}

/* Writes the directory of the node's persistent bitmaps (and the kept entries) to new
 * clusters, switches the header to it, frees the old clusters.  in_use: the entries are
 * only recorded, marked in use (store_one). */
static int store(Q2 *s, MosaicBlkNode *node, bool in_use)
{
    if (s->ro) {
        if (mosaic_blk_bitmap_persistent_at(node, 0) && !s->h.has_bitmaps_ext)
            mosaic_log("qcow2", 0, "%s: the image is read-only: its persistent bitmaps are not "
                       "stored", s->label);
        return 0;
    }
    if (!mosaic_blk_bitmap_persistent_at(node, 0) && !s->h.has_bitmaps_ext)
        return 0; /* never had bitmaps: leave the image alone */
    if (!s->bm_loaded)
        return 0; /* never loaded: they stay in use (inconsistent), never dropped */
    if (s->broken)
        return -EIO;
    g_autoptr(GByteArray) dir = g_byte_array_new();
    g_autoptr(GArray) fresh = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    uint32_t nb = 0;
    int ret = 0;
    pthread_mutex_lock(&s->meta_lock);
    for (unsigned i = 0; !ret; i++) {
        MosaicBlkBitmap *bm = mosaic_blk_bitmap_persistent_at(node, i);
        if (!bm)
            break;
        ret = nb < BME_MAX_BITMAPS ? store_one(s, bm, in_use, dir, fresh) : 1;
        if (ret == 1) {
            mosaic_log("qcow2", 0, "%s: bitmap '%s' cannot be stored in a qcow2 image (name "
                       "too long or too many bitmaps): dropped", s->label,
                       mosaic_blk_bitmap_name(bm));
            ret = 0;
            continue;
        }
        nb += !ret;
    }
    for (uint64_t pos = 0; !ret && s->bm_keep && pos + 24 <= s->bm_keep->len;) {
        const uint8_t *e = s->bm_keep->data + pos;
        uint64_t elen = (24 + (uint64_t)q_be32(e + 20) + q_be16(e + 18) + 7) & ~7ULL;
        char name[BME_MAX_NAME + 1];
        memcpy(name, e + 24 + q_be32(e + 20), q_be16(e + 18));
        name[q_be16(e + 18)] = 0;
        /* A bitmap of that name was added meanwhile: it wins (names are unique). */
        bool taken = false;
        for (unsigned i = 0; !taken && mosaic_blk_bitmap_persistent_at(node, i); i++)
            taken = !strcmp(mosaic_blk_bitmap_name(mosaic_blk_bitmap_persistent_at(node, i)), name);
        if (!taken && nb < BME_MAX_BITMAPS) {
            g_byte_array_append(dir, e, elen);
            nb++;
        }
        pos += elen;
    }
    int64_t doff = 0;
    if (!ret && nb) {
        doff = put(s, dir->data, dir->len, fresh);
        ret = doff < 0 ? (int)doff : 0;
    }
    if (!ret)
        ret = mosaic_blk_child_flush(s->file); /* everything before the header points at it */
    if (!ret)
        ret = write_header(s, nb, nb ? dir->len : 0, nb ? (uint64_t)doff : 0);
    GArray *drop = ret ? fresh : s->bm_clusters; /* failure: the new clusters go */
    for (guint k = 0; k < drop->len; k++)
        q2_set_refcount(s, g_array_index(drop, uint64_t, k) / s->h.cluster_size, 0);
    mosaic_blk_child_flush(s->file);
    g_array_set_size(drop, 0);
    if (!ret)
        g_array_append_vals(s->bm_clusters, fresh->data, fresh->len);
    pthread_mutex_unlock(&s->meta_lock);
    return ret;
}

int q2_bitmaps_store(void *state, MosaicBlkNode *node)
{
    return store(state, node, false);
}

/* A bitmap added or removed while running: the image lists exactly the node's
 * persistent bitmaps from now on, all in use, so a kill leaves a new one inconsistent
 * (not missing) and a removed one gone. */
int q2_bitmaps_changed(void *state, MosaicBlkNode *node)
{
    return store(state, node, true);
}
