/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qcow2 header, header extensions and table checks (pure functions over bytes). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qcow2-format.h"

int qcow2_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static void ro(Qcow2Header *h, const char *why)
{
    if (!h->read_only_reason)
        snprintf(h->why_ro, sizeof h->why_ro, "%s", why);
    h->read_only_reason = true;
}

static bool in_file(uint64_t off, uint64_t len, uint64_t file_size)
{
    return off <= file_size && len <= file_size - off;
}

static int parse_extensions(const uint8_t *buf, size_t len, Qcow2Header *h, char *err,
                            size_t errlen)
{
    uint64_t off = h->header_length;
    uint64_t end = len < h->cluster_size ? len : h->cluster_size;
    if (h->backing_file_offset && h->backing_file_offset < end)
        end = h->backing_file_offset;
    for (int n = 0; n < 4096; n++) {
        if (off + 8 > end)
            return 0; /* no end marker before the limit: treat as the end */
        uint32_t type = q_be32(buf + off), elen = q_be32(buf + off + 4);
        off += 8;
        if (type == QCOW2_EXT_END)
            return 0;
        if (elen > end - off)
            return qcow2_fail(err, errlen, "header extension 0x%08x at byte %llu is longer (%u) than "
                        "the header cluster: the image is corrupt", type,
                        (unsigned long long)off - 8, elen);
        const uint8_t *d = buf + off;
        switch (type) {
        case QCOW2_EXT_BACKING_FORMAT:
            if (elen >= sizeof h->backing_format || memchr(d, 0, elen))
                return qcow2_fail(err, errlen, "backing format name is invalid (length %u)", elen);
            memcpy(h->backing_format, d, elen);
            h->backing_format[elen] = 0;
            break;
        case QCOW2_EXT_BITMAPS:
            /* Checked against the file when the bitmaps are loaded (q2-bitmaps.c). */
            if (elen < 24)
                return qcow2_fail(err, errlen, "bitmaps header extension is too short (%u bytes): "
                            "the image is corrupt", elen);
            h->has_bitmaps_ext = true;
            h->nb_bitmaps = q_be32(d);
            h->bitmap_dir_size = q_be64(d + 8);
            h->bitmap_dir_offset = q_be64(d + 16);
            break;
        case QCOW2_EXT_DATA_FILE:
            return qcow2_fail(err, errlen, "images with an external data file are not supported");
        default:
            break; /* feature table, unknown: not needed */
        }
        off += ((uint64_t)elen + 7) & ~7ULL;
    }
    return qcow2_fail(err, errlen, "too many header extensions: the image is corrupt");
}

int qcow2_parse_header(const uint8_t *buf, size_t len, uint64_t file_size, Qcow2Header *h,
                       char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    if (len < 72 || q_be32(buf) != QCOW2_MAGIC)
        return qcow2_fail(err, errlen, "not a qcow2 image (no QFI\\xfb magic)");
    h->version = q_be32(buf + 4);
    if (h->version != 2 && h->version != 3)
        return qcow2_fail(err, errlen, "qcow2 version %u is not supported (2 and 3 are)", h->version);
    h->backing_file_offset = q_be64(buf + 8);
    h->backing_file_size = q_be32(buf + 16);
    h->cluster_bits = q_be32(buf + 20);
    h->size = q_be64(buf + 24);
    h->crypt_method = q_be32(buf + 32);
    h->l1_size = q_be32(buf + 36);
    h->l1_table_offset = q_be64(buf + 40);
    h->refcount_table_offset = q_be64(buf + 48);
    h->refcount_table_clusters = q_be32(buf + 56);
    h->nb_snapshots = q_be32(buf + 60);
    h->snapshots_offset = q_be64(buf + 64);
    h->refcount_order = 4;
    h->header_length = 72;
    if (h->version == 3) {
        if (len < 104)
            return qcow2_fail(err, errlen, "qcow2 v3 header is truncated (%zu bytes)", len);
        h->incompatible_features = q_be64(buf + 72);
        h->compatible_features = q_be64(buf + 80);
        h->autoclear_features = q_be64(buf + 88);
        h->refcount_order = q_be32(buf + 96);
        h->header_length = q_be32(buf + 100);
        if (h->header_length < 104 || h->header_length > len)
            return qcow2_fail(err, errlen, "qcow2 header length %u is invalid", h->header_length);
    }
    if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
        return qcow2_fail(err, errlen, "cluster size 2^%u is invalid (2^9 to 2^21)", h->cluster_bits);
    h->cluster_size = 1ULL << h->cluster_bits;
    h->l2_entries = (uint32_t)(h->cluster_size / 8);
    if (h->header_length > h->cluster_size)
        return qcow2_fail(err, errlen, "qcow2 header is longer than a cluster");
    if (h->size > QCOW2_MAX_SIZE)
        return qcow2_fail(err, errlen, "virtual size %llu is absurd (limit %llu): the image is corrupt",
                    (unsigned long long)h->size, (unsigned long long)QCOW2_MAX_SIZE);
    if (h->crypt_method)
        return qcow2_fail(err, errlen, "encrypted qcow2 images are not supported");
    uint64_t known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DATA_FILE |
                     QCOW2_INCOMPAT_COMPRESSION | QCOW2_INCOMPAT_EXTL2;
    if (h->incompatible_features & ~known)
        return qcow2_fail(err, errlen, "unknown incompatible qcow2 features 0x%llx",
                    (unsigned long long)(h->incompatible_features & ~known));
    if (h->incompatible_features & QCOW2_INCOMPAT_DATA_FILE)
        return qcow2_fail(err, errlen, "images with an external data file are not supported");
    if (h->incompatible_features & QCOW2_INCOMPAT_EXTL2)
        return qcow2_fail(err, errlen, "images with extended L2 entries are not supported");
    if (h->incompatible_features & QCOW2_INCOMPAT_COMPRESSION) {
        if (h->header_length < 105 || buf[104] != 0)
            return qcow2_fail(err, errlen, "compression type other than zlib is not supported");
    }
    if (h->refcount_order > 6)
        return qcow2_fail(err, errlen, "refcount order %u is invalid (0..6)", h->refcount_order);
    h->rb_entries = (uint32_t)((h->cluster_size * 8) >> h->refcount_order);
    /* L1: enough entries for the size, not absurdly many, inside the file. */
    uint64_t per_l2 = h->cluster_size * h->l2_entries;
    h->l1_needed = (h->size + per_l2 - 1) / per_l2;
    if ((uint64_t)h->l1_size * 8 > QCOW2_MAX_L1_BYTES)
        return qcow2_fail(err, errlen, "L1 table of %u entries is too large: the image is corrupt",
                    h->l1_size);
    if (h->l1_size < h->l1_needed)
        return qcow2_fail(err, errlen, "L1 table (%u entries) is too small for the size (%llu needed)"
                    ": the image is corrupt", h->l1_size, (unsigned long long)h->l1_needed);
    if (h->l1_table_offset & (h->cluster_size - 1))
        return qcow2_fail(err, errlen, "L1 table offset 0x%llx is not cluster aligned: the image is "
                    "corrupt", (unsigned long long)h->l1_table_offset);
    if (h->l1_size && (h->l1_table_offset == 0 ||
                       !in_file(h->l1_table_offset, (uint64_t)h->l1_size * 8, file_size)))
        return qcow2_fail(err, errlen, "L1 table at 0x%llx is past the end of the file (%llu bytes): "
                    "the image is corrupt or truncated", (unsigned long long)h->l1_table_offset,
                    (unsigned long long)file_size);
    /* Refcount table. */
    uint64_t rt_bytes = (uint64_t)h->refcount_table_clusters * h->cluster_size;
    if (h->refcount_table_clusters == 0 || rt_bytes > QCOW2_MAX_REFTABLE_BYTES)
        return qcow2_fail(err, errlen, "refcount table of %u clusters is invalid: the image is corrupt",
                    h->refcount_table_clusters);
    if (h->refcount_table_offset & (h->cluster_size - 1) || h->refcount_table_offset == 0 ||
        !in_file(h->refcount_table_offset, rt_bytes, file_size))
        return qcow2_fail(err, errlen, "refcount table at 0x%llx is misaligned or past the end of the "
                    "file: the image is corrupt", (unsigned long long)h->refcount_table_offset);
    /* Metadata must not overlap. */
    if (q_overlap(0, h->cluster_size, h->l1_table_offset, (uint64_t)h->l1_size * 8) ||
        q_overlap(0, h->cluster_size, h->refcount_table_offset, rt_bytes) ||
        (h->l1_size && q_overlap(h->l1_table_offset, (uint64_t)h->l1_size * 8,
                                 h->refcount_table_offset, rt_bytes)))
        return qcow2_fail(err, errlen, "header, L1 table and refcount table overlap: the image is "
                    "corrupt");
    /* Backing file name. */
    if (h->backing_file_offset) {
        uint64_t lim = len < h->cluster_size ? len : h->cluster_size;
        if (h->backing_file_size == 0 || h->backing_file_size > QCOW2_MAX_BACKING_NAME ||
            h->backing_file_offset > lim || h->backing_file_size > lim - h->backing_file_offset ||
            h->backing_file_offset < h->header_length)
            return qcow2_fail(err, errlen, "backing file name (offset %llu, %u bytes) is invalid: the "
                        "image is corrupt", (unsigned long long)h->backing_file_offset,
                        h->backing_file_size);
        memcpy(h->backing_file, buf + h->backing_file_offset, h->backing_file_size);
        h->backing_file[h->backing_file_size] = 0;
        if (strlen(h->backing_file) != h->backing_file_size)
            return qcow2_fail(err, errlen, "backing file name contains a NUL byte: the image is corrupt");
    }
    /* Snapshots are not read, but a table Mosaic would one day read must be sane now. */
    if (h->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
        return qcow2_fail(err, errlen, "%u internal snapshots (nb_snapshots) is absurd (limit %u): "
                    "the image is corrupt", h->nb_snapshots, QCOW2_MAX_SNAPSHOTS);
    if (h->nb_snapshots && (h->snapshots_offset & (h->cluster_size - 1) ||
                            h->snapshots_offset == 0 || h->snapshots_offset >= file_size))
        return qcow2_fail(err, errlen, "snapshot table offset 0x%llx (snapshots_offset) is misaligned "
                    "or past the end of the file: the image is corrupt",
                    (unsigned long long)h->snapshots_offset);
    if (parse_extensions(buf, len, h, err, errlen) < 0)
        return -1;
    /* What only a read-only open tolerates. */
    if (h->incompatible_features & QCOW2_INCOMPAT_CORRUPT)
        ro(h, "the image is marked corrupt (run qemu-img check -r all)");
    if (h->incompatible_features & QCOW2_INCOMPAT_DIRTY)
        ro(h, "the image is dirty (lazy refcounts; run qemu-img check -r all)");
    if (h->refcount_order != 4)
        ro(h, "only 16-bit refcounts are written (refcount_bits=16)");
    if (h->nb_snapshots)
        ro(h, "images with internal snapshots are opened read-only");
    if (h->version == 2)
        ro(h, "qcow2 version 2 images are opened read-only (qemu-img amend -o compat=1.1)");
    return 0;
}

static int check_table(const Qcow2Header *h, const uint8_t *t, uint32_t n, uint64_t mask,
                       uint64_t file_size, const char *what, char *err, size_t errlen)
{
    uint64_t rt_bytes = (uint64_t)h->refcount_table_clusters * h->cluster_size;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t off = q_be64(t + 8 * (uint64_t)i) & mask;
        if (!off)
            continue;
        if (off & (h->cluster_size - 1) || !in_file(off, h->cluster_size, file_size))
            return qcow2_fail(err, errlen, "%s entry %u points at 0x%llx, misaligned or past the end "
                        "of the file (%llu bytes): the image is corrupt", what, i,
                        (unsigned long long)off, (unsigned long long)file_size);
        if (q_overlap(off, h->cluster_size, 0, h->cluster_size) ||
            q_overlap(off, h->cluster_size, h->l1_table_offset, (uint64_t)h->l1_size * 8) ||
            q_overlap(off, h->cluster_size, h->refcount_table_offset, rt_bytes))
            return qcow2_fail(err, errlen, "%s entry %u (0x%llx) overlaps the header, L1 or refcount "
                        "table: the image is corrupt", what, i, (unsigned long long)off);
    }
    return 0;
}

int qcow2_check_l1(const Qcow2Header *h, const uint8_t *l1, uint64_t file_size, char *err,
                   size_t errlen)
{
    return check_table(h, l1, h->l1_size, L1E_OFFSET_MASK, file_size, "L1", err, errlen);
}

int qcow2_check_reftable(const Qcow2Header *h, const uint8_t *rt, uint64_t file_size,
                         char *err, size_t errlen)
{
    uint32_t n = (uint32_t)((uint64_t)h->refcount_table_clusters * h->cluster_size / 8);
    return check_table(h, rt, n, RT_OFFSET_MASK, file_size, "refcount table", err, errlen);
}

int qcow2_check_l2_entry(const Qcow2Header *h, uint64_t e, uint64_t file_size)
{
    if (e & QCOW_OFLAG_COMPRESSED)
        return 0;
    uint64_t off = e & L2E_OFFSET_MASK;
    if (!off)
        return 0;
    /* A data cluster may end past the end of the file (zero tail not written). */
    if (off & (h->cluster_size - 1) || off >= file_size)
        return -1;
    if (q_overlap(off, h->cluster_size, 0, h->cluster_size))
        return -1;
    return 0;
}
