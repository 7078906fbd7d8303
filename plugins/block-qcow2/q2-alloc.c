/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qcow2 writes: refcounts, cluster allocation and the ordered metadata updates.
 *
 * Every allocating change is written in this order, with a flush after each step, so
 * a kill at any point leaves at worst leaked clusters (refcount > references), never
 * a reference to a cluster whose refcount or contents are not on disk:
 *   data clusters  ->  refcounts (new data, new L2 tables, new refcount blocks)
 *   ->  L2 tables  ->  L1 entries  ->  (freed clusters) refcount decrements. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "q2.h"

/* ---- the used-cluster bitmap (what the image references, from a scan at open) ---- */

static bool used_get(Q2 *s, uint64_t c)
{
    return c < s->used_n && (s->used[c / 8] >> (c % 8) & 1);
}

static void used_set(Q2 *s, uint64_t c, bool on)
{
    if (c >= s->used_n) {
        uint64_t n = MAX(c + 1, s->used_n * 2);
        s->used = g_realloc(s->used, (n + 7) / 8);
        memset(s->used + (s->used_n + 7) / 8, 0, (n + 7) / 8 - (s->used_n + 7) / 8);
        /* bits between used_n and the byte boundary are already zero */
        s->used_n = n;
    }
    if (on)
        s->used[c / 8] |= 1u << (c % 8);
    else
        s->used[c / 8] &= ~(1u << (c % 8));
}

/* ---- refcounts (16-bit; meta_lock held or single-threaded open) ---- */

/* The refcount block at rbo; valid until the next rb_load. */
static int rb_load(Q2 *s, uint64_t rbo, uint16_t **block)
{
    return q2_table_load(s, s->rbc, rbo, 2, (void **)block);
}

static int rc_get(Q2 *s, uint64_t c, uint32_t *val)
{
    uint64_t i = c / s->h.rb_entries;
    *val = 0;
    if (i >= s->rt_n || !(s->rt[i] & RT_OFFSET_MASK))
        return 0;
    uint16_t *b;
    int ret = rb_load(s, s->rt[i] & RT_OFFSET_MASK, &b);
    if (!ret)
        *val = b[c % s->h.rb_entries];
    return ret;
}

static int64_t alloc_cluster(Q2 *s);
static int rc_set(Q2 *s, uint64_t c, uint16_t val);

/* A new refcount block for table index i. */
static int rb_create(Q2 *s, uint64_t i)
{
    uint64_t cs = s->h.cluster_size;
    int64_t nb = alloc_cluster(s);
    if (nb < 0)
        return (int)nb;
    uint8_t *raw = g_malloc0(cs);
    bool self = (uint64_t)nb / s->h.rb_entries == i;
    if (self)
        q_st16(raw + 2 * ((uint64_t)nb % s->h.rb_entries), 1);
    int ret = mosaic_blk_child_pwrite(s->file, (uint64_t)nb * cs, raw, cs);
    g_free(raw);
    if (!ret && !self)
        ret = rc_set(s, nb, 1);
    if (!ret)
        ret = mosaic_blk_child_flush(s->file);
    if (ret)
        return ret;
    uint8_t e[8];
    q_st64(e, (uint64_t)nb * cs);
    ret = mosaic_blk_child_pwrite(s->file, s->h.refcount_table_offset + 8 * i, e, 8);
    if (!ret)
        ret = mosaic_blk_child_flush(s->file);
    if (!ret)
        s->rt[i] = (uint64_t)nb * cs;
    return ret;
}

/* Sets refcount entries of clusters [a, b) that block `rbo` (index i) covers. */
static int rb_fill(Q2 *s, uint64_t i, uint64_t rbo, uint64_t a, uint64_t b)
{
    uint64_t rbe = s->h.rb_entries, lo = MAX(a, i * rbe), hi = MIN(b, (i + 1) * rbe);
    uint16_t *blk;
    int ret = rb_load(s, rbo, &blk);
    for (uint64_t c = lo; c < hi && !ret; c++) {
        uint8_t v[2];
        q_st16(v, 1);
        ret = mosaic_blk_child_pwrite(s->file, rbo + 2 * (c % rbe), v, 2);
        if (!ret)
            blk[c % rbe] = 1;
    }
    return ret;
}

/* A larger refcount table (and the refcount blocks it needs for itself) at the end of
 * the file: written and flushed, then the header switches to it, then the old table is
 * freed.  A kill in between leaves only unreferenced clusters (leaks at worst). */
static int rt_grow(Q2 *s, uint64_t need)
{
    uint64_t cs = s->h.cluster_size, rbe = s->h.rb_entries;
    uint64_t e = (s->file_size + cs - 1) / cs;
    uint64_t n = MAX(need + 1, (uint64_t)s->rt_n * 2), t = 0, nb = 0, first = 0, last = 0;
    for (int iter = 0; iter < 32; iter++) {
        t = (n * 8 + cs - 1) / cs;
        first = e / rbe;
        last = (e + t + nb - 1) / rbe;
        uint64_t want = 0;
        for (uint64_t i = first; i <= last; i++)
            want += i >= s->rt_n || !(s->rt[i] & RT_OFFSET_MASK);
        uint64_t n2 = MAX(n, last + 1);
        if (want == nb && n2 == n)
            break;
        nb = want;
        n = n2;
    }
    if (t * cs > QCOW2_MAX_REFTABLE_BYTES)
        return -ENOSPC;
    uint64_t entries = t * cs / 8, end = e + t + nb;
    uint64_t *nt = g_new0(uint64_t, entries);
    memcpy(nt, s->rt, (uint64_t)s->rt_n * 8);
    int ret = 0;
    uint64_t bc = e + t;
    uint8_t *zero = g_malloc0(cs);
    for (uint64_t i = first; i <= last && !ret; i++) {
        if (i < s->rt_n && (s->rt[i] & RT_OFFSET_MASK))
            continue;
        nt[i] = bc * cs;
        ret = mosaic_blk_child_pwrite(s->file, bc * cs, zero, cs);
        bc++;
    }
    g_free(zero);
    /* Refcount 1 for the new table and blocks, in whichever block covers them. */
    for (uint64_t i = first; i <= last && !ret; i++)
        ret = rb_fill(s, i, nt[i] & RT_OFFSET_MASK, e, end);
    if (!ret)
        ret = mosaic_blk_child_flush(s->file);
    if (!ret) {
        uint8_t *raw = g_malloc(t * cs);
        for (uint64_t i = 0; i < entries; i++)
            q_st64(raw + 8 * i, nt[i]);
        ret = mosaic_blk_child_pwrite(s->file, e * cs, raw, t * cs);
        g_free(raw);
    }
    if (!ret)
        ret = mosaic_blk_child_flush(s->file);
    if (!ret) {
        uint8_t h[12];
        q_st64(h, e * cs);
        q_st32(h + 8, (uint32_t)t);
        ret = mosaic_blk_child_pwrite(s->file, 48, h, 12);
    }
    if (!ret)
        ret = mosaic_blk_child_flush(s->file);
    if (ret) {
        g_free(nt);
        q2_mark_broken(s, "growing the refcount table failed", e * cs);
        return ret;
    }
    uint64_t old = s->h.refcount_table_offset, old_n = s->h.refcount_table_clusters;
    g_free(s->rt);
    s->rt = nt;
    s->rt_n = (uint32_t)entries;
    s->h.refcount_table_offset = e * cs;
    s->h.refcount_table_clusters = (uint32_t)t;
    for (uint64_t c = e; c < end; c++)
        used_set(s, c, true);
    s->file_size = MAX(s->file_size, end * cs);
    /* The old table is garbage now. */
    for (uint64_t k = 0; k < old_n && !ret; k++) {
        ret = rc_set(s, old / cs + k, 0);
        used_set(s, old / cs + k, false);
    }
    return ret ? ret : mosaic_blk_child_flush(s->file);
}

static int rc_set(Q2 *s, uint64_t c, uint16_t val)
{
    uint64_t i = c / s->h.rb_entries;
    int ret = 0;
    if (i >= s->rt_n && (ret = rt_grow(s, i)))
        return ret;
    if (!(s->rt[i] & RT_OFFSET_MASK) && (ret = rb_create(s, i)))
        return ret;
    uint64_t rbo = s->rt[i] & RT_OFFSET_MASK;
    uint16_t *b;
    if ((ret = rb_load(s, rbo, &b)))
        return ret;
    uint8_t v[2];
    q_st16(v, val);
    ret = mosaic_blk_child_pwrite(s->file, rbo + 2 * (c % s->h.rb_entries), v, 2);
    if (!ret)
        b[c % s->h.rb_entries] = val;
    return ret;
}

/* A cluster with refcount 0 that nothing references; reserved in the bitmap. */
static int64_t alloc_cluster(Q2 *s)
{
    /* Past the refcount table everything is free; rc_set grows the table then. */
    uint64_t limit = (2 * QCOW2_MAX_SIZE) / s->h.cluster_size;
    for (uint64_t c = MAX(s->free_hint, 1); c < limit; c++) {
        uint32_t rc;
        if (used_get(s, c))
            continue;
        if (rc_get(s, c, &rc))
            return -EIO;
        if (rc)
            continue;
        used_set(s, c, true);
        s->free_hint = c + 1;
        uint64_t end = (c + 1) * s->h.cluster_size;
        if (end > s->file_size)
            s->file_size = end;
        return (int64_t)c;
    }
    return -ENOSPC;
}

/* ---- the scan at open (writable images) ---- */

static int mark(Q2 *s, uint64_t off, uint64_t len, const char *what, char *err, size_t errlen)
{
    uint64_t cs = s->h.cluster_size;
    for (uint64_t c = off / cs; c < (off + len + cs - 1) / cs; c++) {
        if (used_get(s, c)) {
            snprintf(err, errlen, "cluster 0x%llx (%s) is referenced twice: the image is corrupt",
                     (unsigned long long)(c * cs), what);
            return -1;
        }
        uint32_t rc;
        if (rc_get(s, c, &rc) || rc == 0) {
            snprintf(err, errlen, "cluster 0x%llx (%s) is in use but its refcount is 0: the "
                     "image is corrupt", (unsigned long long)(c * cs), what);
            return -1;
        }
        used_set(s, c, true);
    }
    return 0;
}

int q2_scan(Q2 *s, char *err, size_t errlen)
{
    uint64_t cs = s->h.cluster_size;
    s->used_n = s->file_size / cs + 1;
    s->used = g_malloc0((s->used_n + 7) / 8);
    if (mark(s, 0, cs, "header", err, errlen) ||
        mark(s, s->h.l1_table_offset, (uint64_t)s->h.l1_size * 8, "L1 table", err, errlen) ||
        mark(s, s->h.refcount_table_offset, (uint64_t)s->h.refcount_table_clusters * cs,
             "refcount table", err, errlen))
        return -1;
    for (uint32_t i = 0; i < s->rt_n; i++)
        if ((s->rt[i] & RT_OFFSET_MASK) &&
            mark(s, s->rt[i] & RT_OFFSET_MASK, cs, "refcount block", err, errlen))
            return -1;
    for (uint32_t i = 0; i < s->h.l1_size; i++) {
        uint64_t l2 = s->l1[i] & L1E_OFFSET_MASK;
        if (!l2)
            continue;
        uint64_t *t;
        if (mark(s, l2, cs, "L2 table", err, errlen))
            return -1;
        if (q2_l2_load(s, l2, &t)) {
            snprintf(err, errlen, "cannot read the L2 table at 0x%llx", (unsigned long long)l2);
            return -1;
        }
        for (uint32_t j = 0; j < s->h.l2_entries; j++) {
            uint64_t e = t[j];
            if (e & QCOW_OFLAG_COMPRESSED) {
                snprintf(err, errlen, "images with compressed clusters are opened read-only");
                return -1;
            }
            if (qcow2_check_l2_entry(&s->h, e, s->file_size) < 0) {
                snprintf(err, errlen, "L2 entry %u of the table at 0x%llx points outside the "
                         "image: the image is corrupt", j, (unsigned long long)l2);
                return -1;
            }
            if ((e & L2E_OFFSET_MASK) && mark(s, e & L2E_OFFSET_MASK, cs, "data", err, errlen))
                return -1;
        }
    }
    /* Unknown autoclear bits are cleared as the spec requires; the bitmaps bit is kept
     * (q2-bitmaps.c maintains the extension). */
    if ((s->h.autoclear_features & ~QCOW2_AUTOCLEAR_BITMAPS) && s->h.version == 3) {
        uint8_t z[8];
        s->h.autoclear_features &= QCOW2_AUTOCLEAR_BITMAPS;
        q_st64(z, s->h.autoclear_features);
        if (mosaic_blk_child_pwrite(s->file, 88, z, 8) || mosaic_blk_child_flush(s->file)) {
            snprintf(err, errlen, "cannot update the header");
            return -1;
        }
    }
    return 0;
}

/* ---- for other metadata (q2-bitmaps.c; meta_lock held or nothing in flight) ---- */

/* n contiguous free clusters (reserved, refcount still 0); first index or -errno. */
int64_t q2_alloc_run(Q2 *s, uint64_t n)
{
    if (n == 1)
        return alloc_cluster(s);
    uint64_t cs = s->h.cluster_size, limit = (2 * QCOW2_MAX_SIZE) / cs;
    uint64_t c = (s->file_size + cs - 1) / cs;
    for (uint64_t k = 0; k < n && c + k < limit;) {
        uint32_t rc;
        if (rc_get(s, c + k, &rc))
            return -EIO;
        if (used_get(s, c + k) || rc) {
            c += k + 1;
            k = 0;
            continue;
        }
        k++;
    }
    if (c + n >= limit)
        return -ENOSPC;
    for (uint64_t k = 0; k < n; k++)
        used_set(s, c + k, true);
    s->file_size = MAX(s->file_size, (c + n) * cs);
    return (int64_t)c;
}

/* Referenced by the header, tables or data (writable images; false otherwise). */
bool q2_cluster_used(Q2 *s, uint64_t cluster)
{
    return used_get(s, cluster);
}

int q2_set_refcount(Q2 *s, uint64_t cluster, uint16_t val)
{
    int ret = rc_set(s, cluster, val);
    if (!ret && !val) {
        used_set(s, cluster, false);
        s->free_hint = MIN(s->free_hint, cluster);
    }
    return ret;
}

/* ---- committing L2/L1 changes ---- */

typedef struct Change {
    uint64_t vc;      /* guest cluster */
    uint64_t entry;   /* new L2 entry */
} Change;

/* The changes (sorted by guest cluster) in the crash-safe order: clusters for new L2
 * tables refcounted and flushed; then each L2 table once: changed in memory and written
 * at once (a new table whole, an existing one over the span of its changes), so a table
 * is dirty in the cache only in between and eviction never loses it; flush; then the L1
 * entries of the new tables.  meta_lock held. */
typedef struct NewL2 {
    uint64_t l1i, off;
} NewL2;

static int commit(Q2 *s, GArray *changes)
{
    uint64_t cs = s->h.cluster_size, per = s->h.l2_entries;
    g_autoptr(GArray) fresh = g_array_new(FALSE, FALSE, sizeof(NewL2));
    int ret = 0;
    for (guint k = 0; k < changes->len && !ret; k++) {
        uint64_t l1i = g_array_index(changes, Change, k).vc / per;
        if ((s->l1[l1i] & L1E_OFFSET_MASK) ||
            (fresh->len && g_array_index(fresh, NewL2, fresh->len - 1).l1i == l1i))
            continue;
        int64_t c = alloc_cluster(s);
        if (c < 0)
            return (int)c;
        NewL2 n = {l1i, (uint64_t)c * cs};
        g_array_append_val(fresh, n);
        ret = rc_set(s, (uint64_t)c, 1);
    }
    if (!ret)
        ret = mosaic_blk_child_flush(s->file);
    uint8_t *raw = ret ? NULL : g_malloc(cs);
    for (guint k = 0, f = 0; k < changes->len && !ret;) {
        uint64_t l1i = g_array_index(changes, Change, k).vc / per, l2, *t;
        guint j = k;
        while (j < changes->len && g_array_index(changes, Change, j).vc / per == l1i)
            j++;
        bool is_new = f < fresh->len && g_array_index(fresh, NewL2, f).l1i == l1i;
        if (is_new) {
            l2 = g_array_index(fresh, NewL2, f++).off;
            t = q2_cache_insert(s->l2c, l2);
            memset(t, 0, cs);
        } else {
            l2 = s->l1[l1i] & L1E_OFFSET_MASK;
            if ((ret = q2_l2_load(s, l2, &t)))
                break;
        }
        q2_cache_set_dirty(s->l2c, l2, true);
        for (guint m = k; m < j; m++) {
            Change *ch = &g_array_index(changes, Change, m);
            t[ch->vc % per] = ch->entry;
        }
        uint64_t lo = is_new ? 0 : g_array_index(changes, Change, k).vc % per;
        uint64_t hi = is_new ? per : g_array_index(changes, Change, j - 1).vc % per + 1;
        for (uint64_t i = lo; i < hi; i++)
            q_st64(raw + 8 * (i - lo), t[i]);
        ret = mosaic_blk_child_pwrite(s->file, l2 + 8 * lo, raw, 8 * (hi - lo));
        if (ret)
            q2_cache_drop(s->l2c, l2); /* memory must not claim what the disk lacks */
        else
            q2_cache_set_dirty(s->l2c, l2, false);
        k = j;
    }
    g_free(raw);
    if (!ret)
        ret = mosaic_blk_child_flush(s->file);
    for (guint f = 0; f < fresh->len && !ret; f++) {
        NewL2 *n = &g_array_index(fresh, NewL2, f);
        uint8_t e[8];
        q_st64(e, n->off | QCOW_OFLAG_COPIED);
        ret = mosaic_blk_child_pwrite(s->file, s->h.l1_table_offset + 8 * n->l1i, e, 8);
        if (!ret)
            s->l1[n->l1i] = n->off | QCOW_OFLAG_COPIED;
    }
    if (!ret && fresh->len)
        ret = mosaic_blk_child_flush(s->file);
    if (ret)
        q2_mark_broken(s, "metadata update failed", 0);
    return ret;
}

/* Decrements (to 0) the refcounts of clusters no longer referenced. meta_lock held. */
static int free_clusters(Q2 *s, GArray *hosts)
{
    int ret = 0;
    for (guint k = 0; k < hosts->len && !ret; k++) {
        uint64_t c = g_array_index(hosts, uint64_t, k) / s->h.cluster_size;
        ret = rc_set(s, c, 0);
        if (!ret) {
            used_set(s, c, false);
            s->free_hint = MIN(s->free_hint, c);
        }
    }
    if (!ret && hosts->len)
        ret = mosaic_blk_child_flush(s->file);
    for (guint k = 0; k < hosts->len && !ret; k++) {
        MosaicBlkReq d = {.size = sizeof d, .type = MOSAIC_BLK_DISCARD,
                          .offset = g_array_index(hosts, uint64_t, k), .bytes = s->h.cluster_size};
        if (d.offset + d.bytes <= mosaic_blk_child_length(s->file))
            mosaic_blk_child_io(s->file, &d); /* best effort: give the space back */
    }
    return ret;
}

/* ---- writes ---- */

static bool is_plain(uint64_t e)
{
    return (e & L2E_OFFSET_MASK) && !(e & (QCOW_OFLAG_ZERO | QCOW_OFLAG_COMPRESSED)) &&
           (e & QCOW_OFLAG_COPIED);
}

static int write_slice(Q2 *s, uint64_t host, const struct iovec *iov, unsigned niov,
                       uint64_t ioff, uint64_t len)
{
    return q2_child_iov_io(s->file, MOSAIC_BLK_WRITE, host, iov, niov, ioff, len);
}

/* The old contents of a guest cluster (for a partial write into a new cluster). */
static int cluster_base(Q2 *s, uint64_t vc, uint64_t e, uint8_t *buf)
{
    uint64_t cs = s->h.cluster_size, off = vc * cs;
    memset(buf, 0, cs);
    if (e & QCOW_OFLAG_ZERO)
        return 0;
    if (e & L2E_OFFSET_MASK)
        return mosaic_blk_child_pread(s->file, e & L2E_OFFSET_MASK, buf, cs);
    if (!s->backing)
        return 0;
    uint64_t blen = mosaic_blk_child_length(s->backing);
    uint64_t n = off >= blen ? 0 : MIN(cs, blen - off);
    return n ? mosaic_blk_child_pread(s->backing, off, buf, n) : 0;
}

/* Refcount 1 for the n consecutive clusters from c (reserved, not yet referenced):
 * one write per refcount block instead of one per cluster.  meta_lock held. */
static int rc_set_run(Q2 *s, uint64_t c, uint64_t n)
{
    uint64_t rbe = s->h.rb_entries, end = c + n;
    int ret = 0;
    while (c < end && !ret) {
        uint64_t i = c / rbe, hi = MIN(end, (i + 1) * rbe);
        /* The first one through rc_set: it grows the table / creates the block if needed
         * (the clusters of the run are reserved, so neither can land on them). */
        if ((ret = rc_set(s, c, 1)) || hi == c + 1) {
            c = hi;
            continue;
        }
        uint64_t rbo = s->rt[i] & RT_OFFSET_MASK, lo = c + 1;
        uint16_t *b;
        if ((ret = rb_load(s, rbo, &b)))
            break;
        uint8_t *raw = g_malloc(2 * (hi - lo));
        for (uint64_t k = lo; k < hi; k++)
            q_st16(raw + 2 * (k - lo), 1);
        ret = mosaic_blk_child_pwrite(s->file, rbo + 2 * (lo % rbe), raw, 2 * (hi - lo));
        g_free(raw);
        for (uint64_t k = lo; k < hi && !ret; k++)
            b[k % rbe] = 1;
        c = hi;
    }
    return ret;
}

/* One piece of a write: [pos, pos+len) of the guest goes to host (in place, or into a
 * cluster nothing references yet); partial: a new cluster needing read-modify-write. */
typedef struct Seg {
    uint64_t pos, len, host, vc, e;
    bool partial;
} Seg;

/* io_lock held for writing (no reader or other writer runs meanwhile).
 * 1. under meta_lock: look up the entries and reserve the new clusters;
 * 2. without meta_lock: the data, straight from the request's iov (runs of host-contiguous
 *    clusters in one write; only partial new clusters go through a scratch buffer).  The
 *    new clusters are reserved in the used bitmap and referenced by nothing yet, and the
 *    write lock keeps every other data access out, so nothing else can touch them;
 * 3. under meta_lock: flush, refcounts, L2, L1 in the crash-safe order (see the top). */
static int write_alloc(Q2 *s, const struct iovec *iov, unsigned niov, uint64_t iov_pos,
                       uint64_t offset, uint64_t bytes)
{
    uint64_t cs = s->h.cluster_size, pos = offset, end = offset + bytes;
    g_autoptr(GArray) changes = g_array_new(FALSE, FALSE, sizeof(Change));
    g_autoptr(GArray) fresh = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(Seg));
    int ret = 0;
    pthread_mutex_lock(&s->meta_lock);
    while (pos < end && !ret) {
        uint64_t vc = pos / cs, in = pos % cs, n = MIN(cs - in, end - pos), e;
        if ((ret = q2_get_entry(s, vc, &e)))
            break;
        Seg sg = {.pos = pos, .len = n, .vc = vc, .e = e};
        if (is_plain(e)) {
            sg.host = (e & L2E_OFFSET_MASK) + in;
        } else {
            sg.partial = in || n < cs;
            bool reuse = (e & QCOW_OFLAG_ZERO) && (e & L2E_OFFSET_MASK) && (e & QCOW_OFLAG_COPIED);
            if (reuse) {
                sg.host = e & L2E_OFFSET_MASK;
            } else {
                int64_t c = alloc_cluster(s);
                if (c < 0) {
                    ret = (int)c;
                    break;
                }
                sg.host = (uint64_t)c * cs;
                g_array_append_val(fresh, sg.host);
            }
            Change ch = {vc, sg.host | QCOW_OFLAG_COPIED};
            g_array_append_val(changes, ch);
        }
        g_array_append_val(segs, sg);
        pos += n;
    }
    pthread_mutex_unlock(&s->meta_lock);
    uint8_t *buf = NULL;
    for (guint k = 0; k < segs->len && !ret;) {
        Seg *sg = &g_array_index(segs, Seg, k);
        if (sg->partial) {
            if (!buf)
                buf = g_malloc(cs);
            ret = cluster_base(s, sg->vc, sg->e, buf);
            if (!ret) {
                mosaic_iov_to_buf(iov, niov, sg->pos - iov_pos, buf + sg->pos % cs, sg->len);
                ret = mosaic_blk_child_pwrite(s->file, sg->host, buf, cs);
            }
            k++;
            continue;
        }
        /* A run of whole or in-place pieces, contiguous in the guest and the file. */
        uint64_t len = sg->len;
        guint j = k + 1;
        for (; j < segs->len; j++) {
            Seg *nx = &g_array_index(segs, Seg, j);
            if (nx->partial || nx->host != sg->host + len || len >= (1ULL << 30))
                break;
            len += nx->len;
        }
        ret = write_slice(s, sg->host, iov, niov, sg->pos - iov_pos, len);
        k = j;
    }
    g_free(buf);
    pthread_mutex_lock(&s->meta_lock);
    if (!ret && changes->len) {
        ret = mosaic_blk_child_flush(s->file); /* data before refcounts */
        for (guint k = 0; k < fresh->len && !ret;) {
            uint64_t c = g_array_index(fresh, uint64_t, k) / cs, n = 1;
            while (k + n < fresh->len && g_array_index(fresh, uint64_t, k + n) / cs == c + n)
                n++;
            ret = rc_set_run(s, c, n);
            k += n;
        }
        if (!ret)
            ret = commit(s, changes);
    }
    pthread_mutex_unlock(&s->meta_lock);
    return ret;
}

int q2_write(Q2 *s, MosaicBlkReq *req)
{
    uint64_t cs = s->h.cluster_size, pos = req->offset, end = req->offset + req->bytes;
    int ret = 0;
    /* Fast path: every cluster already allocated to this image alone. */
    pthread_rwlock_rdlock(&s->io_lock);
    bool plain = true;
    pthread_mutex_lock(&s->meta_lock);
    for (uint64_t p = pos - pos % cs; p < end && plain; p += cs) {
        uint64_t e;
        plain = !q2_get_entry(s, p / cs, &e) && is_plain(e);
    }
    pthread_mutex_unlock(&s->meta_lock);
    if (plain) {
        while (pos < end && !ret) {
            uint64_t e, n = MIN(cs - pos % cs, end - pos);
            pthread_mutex_lock(&s->meta_lock);
            ret = q2_get_entry(s, pos / cs, &e);
            pthread_mutex_unlock(&s->meta_lock);
            if (!ret)
                ret = write_slice(s, (e & L2E_OFFSET_MASK) + pos % cs, req->iov, req->niov,
                                  pos - req->offset, n);
            pos += n;
        }
        pthread_rwlock_unlock(&s->io_lock);
    } else {
        pthread_rwlock_unlock(&s->io_lock);
        /* In chunks: the bookkeeping stays bounded, readers get in between. */
        for (uint64_t p = pos, n; p < end && !ret; p += n) {
            n = MIN(end - p, (uint64_t)Q2_CHUNK_CLUSTERS * cs - p % cs);
            pthread_rwlock_wrlock(&s->io_lock);
            ret = write_alloc(s, req->iov, req->niov, req->offset, p, n);
            pthread_rwlock_unlock(&s->io_lock);
        }
    }
    if (!ret && (req->flags & MOSAIC_BLK_FUA))
        ret = mosaic_blk_child_flush(s->file);
    return ret;
}

/* ---- write-zeroes and discard ---- */

/* The new L2 entries of whole clusters [c0, c1) (at most Q2_CHUNK_CLUSTERS), committed,
 * then the clusters nothing references any more freed.  changes and freed: the caller's
 * arrays, reused from chunk to chunk.  io_lock held for writing. */
static int zero_or_discard_clusters(Q2 *s, bool zero, uint32_t flags, uint64_t c0, uint64_t c1,
                                    GArray *changes, GArray *freed)
{
    int ret = 0;
    g_array_set_size(changes, 0);
    g_array_set_size(freed, 0);
    pthread_mutex_lock(&s->meta_lock);
    for (uint64_t vc = c0; vc < c1 && !ret; vc++) {
        uint64_t e, ne;
        if ((ret = q2_get_entry(s, vc, &e)))
            break;
        uint64_t host = e & L2E_OFFSET_MASK;
        if (!zero)
            ne = 0;
        else if (!(flags & MOSAIC_BLK_MAY_UNMAP) && host && (e & QCOW_OFLAG_COPIED))
            ne = host | QCOW_OFLAG_COPIED | QCOW_OFLAG_ZERO;
        else if (!host && !(e & QCOW_OFLAG_ZERO) && !s->backing)
            ne = e; /* unallocated without a backing file already reads zeroes */
        else
            ne = QCOW_OFLAG_ZERO;
        if (ne == e)
            continue;
        Change ch = {vc, ne};
        g_array_append_val(changes, ch);
        if (host && !(ne & L2E_OFFSET_MASK) && (e & QCOW_OFLAG_COPIED))
            g_array_append_val(freed, host);
    }
    if (!ret && changes->len)
        ret = commit(s, changes);
    if (!ret)
        ret = free_clusters(s, freed); /* after nothing references them any more */
    pthread_mutex_unlock(&s->meta_lock);
    return ret;
}

int q2_zero_or_discard(Q2 *s, MosaicBlkReq *req)
{
    uint64_t cs = s->h.cluster_size, start = req->offset, end = req->offset + req->bytes;
    bool zero = req->type == MOSAIC_BLK_WRITE_ZEROES;
    uint64_t c0 = (start + cs - 1) / cs, c1 = end / cs; /* whole clusters [c0, c1) */
    if (end == s->h.size)
        c1 = (end + cs - 1) / cs; /* the last, partial cluster of the image counts whole */
    int ret = 0;
    if (zero) {
        /* Partial clusters at either end: real zeroes through the write path. */
        uint64_t head_end = MIN(c0 * cs, end), tail = MAX(c1 * cs, start);
        if (c0 >= c1) {
            head_end = end;
            tail = end;
        }
        uint8_t *z = g_malloc0(cs);
        pthread_rwlock_wrlock(&s->io_lock);
        for (uint64_t p = start; p < head_end && !ret; p += MIN(cs - p % cs, head_end - p)) {
            struct iovec iov = {z, MIN(cs - p % cs, head_end - p)};
            ret = write_alloc(s, &iov, 1, p, p, iov.iov_len);
        }
        for (uint64_t p = tail; p < end && !ret; p += MIN(cs - p % cs, end - p)) {
            struct iovec iov = {z, MIN(cs - p % cs, end - p)};
            ret = write_alloc(s, &iov, 1, p, p, iov.iov_len);
        }
        pthread_rwlock_unlock(&s->io_lock);
        g_free(z);
    }
    /* Whole clusters in chunks: bounded bookkeeping, and readers get in between. */
    uint64_t chunk = MIN(c1 - MIN(c0, c1), Q2_CHUNK_CLUSTERS);
    g_autoptr(GArray) changes = g_array_sized_new(FALSE, FALSE, sizeof(Change), chunk);
    g_autoptr(GArray) freed = g_array_sized_new(FALSE, FALSE, sizeof(uint64_t), chunk);
    for (uint64_t c = c0; c < c1 && !ret; c += Q2_CHUNK_CLUSTERS) {
        pthread_rwlock_wrlock(&s->io_lock);
        ret = zero_or_discard_clusters(s, zero, req->flags, c, MIN(c1, c + Q2_CHUNK_CLUSTERS),
                                       changes, freed);
        pthread_rwlock_unlock(&s->io_lock);
    }
    return ret;
}
