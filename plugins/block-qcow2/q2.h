/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qcow2 driver state (plugins/block-qcow2). */
#ifndef Q2_H
#define Q2_H

#include <pthread.h>
#include <glib.h>
#include <mosaic/mosaic.h>

#include "q2-cache.h"
#include "q2-iov.h"
#include <mosaic/iov.h>
#include "qcow2-format.h"

typedef struct Q2 {
    MosaicBlkChild *file;
    MosaicBlkChild *backing;     /* NULL: unallocated clusters read as zeroes */
    Qcow2Header h;
    bool ro;
    bool broken;                 /* corruption found while running: no more writes */
    uint64_t *l1;                /* host byte order */
    uint64_t *rt;                /* refcount table, host byte order */
    uint32_t rt_n;
    pthread_rwlock_t io_lock;    /* read: data I/O on mapped clusters; write: remapping */
    pthread_mutex_t meta_lock;   /* tables and caches */
    Q2Cache *l2c;                /* L2 tables: host offset -> uint64_t[l2_entries] */
    Q2Cache *rbc;                /* refcount blocks: host offset -> uint16_t[rb_entries] */
    uint8_t *used;               /* bitmap of referenced clusters (writable images) */
    uint64_t used_n;             /* bits */
    uint64_t file_size;
    uint64_t free_hint;          /* cluster index */
    const char *label;
    GArray *bm_clusters;         /* host offsets of the stored bitmaps (freed when rewritten) */
    uint8_t *bm_dir;             /* bitmap directory as found at open (until loaded) */
    Qcow2Bitmap *bms;            /* its entries, checked (until loaded; free()) */
    uint64_t bm_dir_size;
    GByteArray *bm_keep;         /* directory entries Mosaic cannot load, kept as they are */
    bool bm_loaded;              /* the core loaded them: the store may rewrite them */
} Q2;

/* qcow2.c */
int q2_table_load(Q2 *s, Q2Cache *c, uint64_t off, unsigned width, void **table);
int q2_l2_load(Q2 *s, uint64_t l2off, uint64_t **table);
int q2_get_entry(Q2 *s, uint64_t vcluster, uint64_t *entry);
void q2_mark_broken(Q2 *s, const char *what, uint64_t where);

/* q2-alloc.c */
int q2_scan(Q2 *s, char *err, size_t errlen);
int q2_write(Q2 *s, MosaicBlkReq *req);
int q2_zero_or_discard(Q2 *s, MosaicBlkReq *req);
int64_t q2_alloc_run(Q2 *s, uint64_t n);
int q2_set_refcount(Q2 *s, uint64_t cluster, uint16_t val);
bool q2_cluster_used(Q2 *s, uint64_t cluster);

/* q2-bitmaps.c: persistent dirty bitmaps in the bitmaps extension */
int q2_bitmaps_open(Q2 *s, uint64_t max_memory, char *err, size_t errlen);
int q2_bitmaps_load(void *state, MosaicBlkNode *node);
int q2_bitmaps_store(void *state, MosaicBlkNode *node);
int q2_bitmaps_changed(void *state, MosaicBlkNode *node);

/* qcow2.c: child I/O straight from and into a request's iovecs, in pieces */
int q2_child_iov_io(MosaicBlkChild *c, int type, uint64_t coff, const struct iovec *iov,
                    unsigned niov, uint64_t ioff, uint64_t len);

#define Q2_MAX_SLICES 64
/* Guest clusters one allocating write, write-zeroes or discard handles at a time: the
 * bookkeeping of a request is bounded by this, not by the request's size. */
#define Q2_CHUNK_CLUSTERS 8192u

#endif
