/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qcow2 on-disk format (docs/interop/qcow2.txt of QEMU) and the parser of its header
 * and tables.  The parser works on bytes in memory and checks every value against
 * the file size, so it can be fuzzed without I/O (fuzz/qcow2/). */
#ifndef QCOW2_FORMAT_H
#define QCOW2_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_SIZE (1ULL << 50)          /* 1 PiB: larger is refused as absurd */
#define QCOW2_MAX_L1_BYTES (32u << 20)       /* as QEMU */
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)  /* as QEMU */
#define QCOW2_MAX_BACKING_NAME 1023
#define QCOW2_MAX_SNAPSHOTS 65536u                 /* as QEMU */

#define L1E_OFFSET_MASK 0x00fffffffffffe00ULL
#define L2E_OFFSET_MASK 0x00fffffffffffe00ULL
#define RT_OFFSET_MASK 0xfffffffffffffe00ULL
#define QCOW_OFLAG_COPIED (1ULL << 63)
#define QCOW_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW_OFLAG_ZERO 1ULL

/* Incompatible feature bits. */
#define QCOW2_INCOMPAT_DIRTY (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ULL << 4)

/* Autoclear feature bits. */
#define QCOW2_AUTOCLEAR_BITMAPS (1ULL << 0) /* the bitmaps extension is consistent */

/* Header extension types. */
#define QCOW2_EXT_END 0
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857u
#define QCOW2_EXT_BITMAPS 0x23852875u
#define QCOW2_EXT_DATA_FILE 0x44415441u

typedef struct Qcow2Header {
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t cluster_bits;
    uint64_t size;
    uint32_t crypt_method;
    uint32_t l1_size;
    uint64_t l1_table_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint32_t refcount_order;
    uint32_t header_length;
    /* From the header extensions and the backing name. */
    char backing_file[QCOW2_MAX_BACKING_NAME + 1];
    char backing_format[32];
    bool has_bitmaps_ext;      /* bitmaps extension (QCOW2_EXT_BITMAPS) present */
    uint32_t nb_bitmaps;
    uint64_t bitmap_dir_size;
    uint64_t bitmap_dir_offset;
    /* Derived. */
    uint64_t cluster_size;
    uint32_t l2_entries;       /* entries per L2 table */
    uint64_t l1_needed;        /* L1 entries the size needs */
    uint32_t rb_entries;       /* refcounts per refcount block */
    bool read_only_reason;     /* something only read-only opening tolerates */
    char why_ro[160];
} Qcow2Header;

/* Big-endian helpers. */
static inline uint16_t q_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t q_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t q_be64(const uint8_t *p) { return (uint64_t)q_be32(p) << 32 | q_be32(p + 4); }
static inline void q_st32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
static inline void q_st64(uint8_t *p, uint64_t v) { q_st32(p, v >> 32); q_st32(p + 4, v); }
static inline void q_st16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }

/* Formats "what is wrong" into err; returns -1 (for `return qcow2_fail(...)`). */
int qcow2_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses and checks the header and its extensions from the first `len` bytes of the
 * file (len >= the first cluster, or the whole file when it is shorter).  Returns 0,
 * or -1 with a message in err ("what is wrong, and what to do"). */
int qcow2_parse_header(const uint8_t *buf, size_t len, uint64_t file_size, Qcow2Header *h,
                       char *err, size_t errlen);

/* Checks an L1 table (big-endian entries as on disk): every L2 offset cluster-aligned,
 * inside the file and not overlapping the header, L1 or refcount table. */
int qcow2_check_l1(const Qcow2Header *h, const uint8_t *l1, uint64_t file_size, char *err,
                   size_t errlen);
/* Checks a refcount table the same way. */
int qcow2_check_reftable(const Qcow2Header *h, const uint8_t *rt, uint64_t file_size,
                         char *err, size_t errlen);
/* Checks one L2 entry; 0 when usable. */
int qcow2_check_l2_entry(const Qcow2Header *h, uint64_t entry, uint64_t file_size);
/* ---- the bitmaps extension's directory and tables (bitmap-dir.c) ---- */
#define QCOW2_MAX_BITMAPS 65535u
#define QCOW2_MAX_BITMAP_DIR (64u << 20)
#define QCOW2_MAX_BITMAP_NAME 1023u
#define QCOW2_MAX_BITMAP_DATA (512u << 20) /* bytes of bits per bitmap, as QEMU */
#define QCOW2_BME_OFFSET_MASK 0x00fffffffffffe00ULL

typedef struct Qcow2Bitmap {
    uint64_t table_offset;
    uint32_t table_size;     /* entries */
    uint32_t flags;
    uint8_t type, gbits;
    uint16_t name_len;
    uint32_t extra;          /* bytes of extra data before the name */
    uint64_t entry_off, entry_len; /* the entry's place in the directory */
    int loadable;            /* a dirty bitmap Mosaic can load (else kept as it is) */
} Qcow2Bitmap;

/* Bits over the virtual size at granularity 2^gbits: table entries, bytes of memory. */
uint64_t qcow2_bitmap_table_entries(const Qcow2Header *h, unsigned gbits);
uint64_t qcow2_bitmap_memory(const Qcow2Header *h, unsigned gbits);
/* The directory (h->nb_bitmaps entries in dir[0, dir_size), read from dir_off): each entry
 * and table checked, nothing overlapping (header, L1, refcount table, directory, tables),
 * and the loadable bitmaps' memory at most max_memory.  0 and *out (free()), or -1. */
int qcow2_parse_bitmap_dir(const Qcow2Header *h, const uint8_t *dir, uint64_t dir_off,
                           uint64_t dir_size, uint64_t file_size, uint64_t max_memory,
                           Qcow2Bitmap **out, char *err, size_t errlen);
/* Where the directory is: bounded and inside the file (before reading it). */
int qcow2_check_bitmap_dir_location(const Qcow2Header *h, uint64_t dir_off, uint64_t dir_size,
                                    uint64_t file_size, char *err, size_t errlen);
/* The tables' contents (tables[i]: bms[i].table_size big-endian entries): every data
 * cluster inside the file and owned by nothing else. */
int qcow2_check_bitmap_tables(const Qcow2Header *h, const Qcow2Bitmap *bms,
                              const uint8_t *const *tables, uint64_t dir_off, uint64_t dir_size,
                              uint64_t file_size, char *err, size_t errlen);

/* Whether [a, a+alen) and [b, b+blen) overlap. */
static inline bool q_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

#endif
