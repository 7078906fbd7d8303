/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qcow2 format driver: opening (header, L1, refcount table, backing chain), reads and
 * block status.  Writes and allocation are in q2-alloc.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "q2.h"

static const MosaicPropDesc q2_props[] = {
    {.key = "file", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED,
     .help = "the node holding the image (usually driver = file)"},
    {.key = "read-only", .type = MOSAIC_PROP_BOOL, .defval = "off", .help = "refuse writes"},
    {.key = "backing", .type = MOSAIC_PROP_ENUM, .choices = "auto|none", .defval = "auto",
     .help = "auto: open the backing file named in the image; none: no backing file"},
    {.key = "backing-format", .type = MOSAIC_PROP_STRING,
     .help = "format of the backing file when the image does not record it (never guessed; "
             "qemu-img rebase -u -F FORMAT records it)"},
    {.key = "l2-cache-size", .type = MOSAIC_PROP_SIZE, .defval = "32M",
     .help = "memory for cached L2 tables (at least two tables are kept; 32M covers 256G "
             "of a disk with 64K clusters)"},
    {.key = "bitmaps-max-memory", .type = MOSAIC_PROP_SIZE, .defval = "256M",
     .help = "memory the image's persistent dirty bitmaps may take; an image whose bitmaps "
             "need more is refused"},
    {.key = "refcount-cache-size", .type = MOSAIC_PROP_SIZE, .defval = "1M",
     .help = "memory for cached refcount blocks (at least two blocks are kept)"},
    {NULL},
};

/* Child I/O on a byte range of the request's iov: pieces of at most Q2_MAX_SLICES
 * iovecs, straight from and into the request's buffers, so however fragmented or large
 * the request, nothing is allocated for it. */
int q2_child_iov_io(MosaicBlkChild *c, int type, uint64_t coff, const struct iovec *iov,
                    unsigned niov, uint64_t ioff, uint64_t len)
{
    int ret = 0;
    while (len && !ret) {
        struct iovec sl[Q2_MAX_SLICES];
        uint64_t got;
        unsigned k = q2_iov_slice(iov, niov, ioff, len, sl, Q2_MAX_SLICES, &got);
        if (!k)
            return -EINVAL; /* the iov is shorter than the request says */
        MosaicBlkReq r = {.size = sizeof r, .type = type, .offset = coff, .bytes = got,
                          .iov = sl, .niov = k};
        ret = mosaic_blk_child_io(c, &r);
        coff += got;
        ioff += got;
        len -= got;
    }
    return ret;
}

/* ---- tables ---- */

void q2_mark_broken(Q2 *s, const char *what, uint64_t where)
{
    if (!s->broken)
        mosaic_log("qcow2", 0, "%s: %s at 0x%llx: the image is corrupt; no more writes "
                   "(run qemu-img check)", s->label, what, (unsigned long long)where);
    s->broken = true;
}

/* A metadata table of `width`-byte big-endian entries, from cache c or the file, in
 * host order.  Valid until the next load from the same cache.  meta_lock held. */
int q2_table_load(Q2 *s, Q2Cache *c, uint64_t off, unsigned width, void **table)
{
    void *t = q2_cache_lookup(c, off);
    if (!t) {
        t = q2_cache_insert(c, off);
        int ret = mosaic_blk_child_pread(s->file, off, t, s->h.cluster_size);
        if (ret) {
            q2_cache_drop(c, off);
            return ret;
        }
        uint64_t n = s->h.cluster_size / width;
        for (uint64_t i = 0; i < n; i++) {
            if (width == 8)
                ((uint64_t *)t)[i] = GUINT64_FROM_BE(((uint64_t *)t)[i]);
            else
                ((uint16_t *)t)[i] = GUINT16_FROM_BE(((uint16_t *)t)[i]);
        }
    }
    *table = t;
    return 0;
}

int q2_l2_load(Q2 *s, uint64_t l2off, uint64_t **table)
{
    return q2_table_load(s, s->l2c, l2off, 8, (void **)table);
}

/* meta_lock held. */
int q2_get_entry(Q2 *s, uint64_t vcluster, uint64_t *entry)
{
    uint64_t l1i = vcluster / s->h.l2_entries;
    if (l1i >= s->h.l1_size)
        return -EIO;
    uint64_t l2off = s->l1[l1i] & L1E_OFFSET_MASK;
    if (!l2off) {
        *entry = 0;
        return 0;
    }
    uint64_t *t;
    int ret = q2_l2_load(s, l2off, &t);
    if (ret)
        return ret;
    uint64_t e = t[vcluster % s->h.l2_entries];
    if (qcow2_check_l2_entry(&s->h, e, s->file_size) < 0) {
        q2_mark_broken(s, "L2 entry points outside the image", l2off);
        return -EIO;
    }
    *entry = e;
    return 0;
}

/* ---- reads ---- */

static int read_backing(Q2 *s, uint64_t off, const struct iovec *iov, unsigned niov,
                        uint64_t ioff, uint64_t len)
{
    if (!s->backing) {
        mosaic_iov_memset(iov, niov, ioff, 0, len);
        return 0;
    }
    uint64_t blen = mosaic_blk_child_length(s->backing);
    uint64_t n = off >= blen ? 0 : MIN(len, blen - off);
    if (n < len)
        mosaic_iov_memset(iov, niov, ioff + n, 0, len - n);
    return n ? q2_child_iov_io(s->backing, MOSAIC_BLK_READ, off, iov, niov, ioff, n) : 0;
}

/* A compressed cluster (raw deflate, as QEMU writes it) into [ioff, ioff+len) of iov. */
static int read_compressed(Q2 *s, uint64_t e, uint64_t in_cluster, const struct iovec *iov,
                           unsigned niov, uint64_t ioff, uint64_t len)
{
    uint64_t cs = s->h.cluster_size;
    unsigned x = 62 - (s->h.cluster_bits - 8);
    uint64_t off = e & ((1ULL << x) - 1);
    uint64_t sectors = ((e >> x) & ((1ULL << (s->h.cluster_bits - 8)) - 1)) + 1;
    uint64_t csize = sectors * 512 - (off & 511);
    uint64_t flen = mosaic_blk_child_length(s->file);
    if (off >= flen || off < cs)
        return -EIO;
    csize = MIN(csize, flen - off);
    uint8_t *in = g_malloc(csize), *out = g_malloc(cs);
    int ret = mosaic_blk_child_pread(s->file, off, in, csize);
    if (!ret) {
        z_stream z = {0};
        z.next_in = in;
        z.avail_in = csize;
        z.next_out = out;
        z.avail_out = cs;
        if (inflateInit2(&z, -12) != Z_OK) {
            ret = -ENOMEM;
        } else {
            int zr = inflate(&z, Z_FINISH);
            /* QEMU accepts a stream that filled the cluster even without its end marker. */
            if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR) || z.avail_out != 0)
                ret = -EIO;
            inflateEnd(&z);
        }
    }
    if (!ret)
        mosaic_iov_from_buf(iov, niov, ioff, out + in_cluster, len);
    g_free(in);
    g_free(out);
    return ret;
}

static int q2_read(Q2 *s, MosaicBlkReq *req)
{
    uint64_t cs = s->h.cluster_size, pos = req->offset, end = req->offset + req->bytes;
    int ret = 0;
    pthread_rwlock_rdlock(&s->io_lock);
    while (pos < end && !ret) {
        /* A run of clusters of one kind (normal ones host-contiguous). */
        uint64_t e, first = 0;
        pthread_mutex_lock(&s->meta_lock);
        ret = q2_get_entry(s, pos / cs, &e);
        uint64_t run = MIN(cs - pos % cs, end - pos);
        int kind = e & QCOW_OFLAG_COMPRESSED ? 3 : (e & QCOW_OFLAG_ZERO) ? 2
                   : (e & L2E_OFFSET_MASK) ? 1 : 0;
        first = e & L2E_OFFSET_MASK;
        while (!ret && pos + run < end && kind != 3) {
            uint64_t e2;
            if (q2_get_entry(s, (pos + run) / cs, &e2))
                break;
            int k2 = e2 & QCOW_OFLAG_COMPRESSED ? 3 : (e2 & QCOW_OFLAG_ZERO) ? 2
                     : (e2 & L2E_OFFSET_MASK) ? 1 : 0;
            if (k2 != kind || (kind == 1 && (e2 & L2E_OFFSET_MASK) != first + (pos + run) / cs * cs - pos / cs * cs))
                break;
            run += MIN(cs, end - pos - run);
        }
        pthread_mutex_unlock(&s->meta_lock);
        if (ret)
            break;
        uint64_t ioff = pos - req->offset;
        switch (kind) {
        case 0:
            ret = read_backing(s, pos, req->iov, req->niov, ioff, run);
            break;
        case 1:
            ret = q2_child_iov_io(s->file, MOSAIC_BLK_READ, first + pos % cs, req->iov, req->niov,
                               ioff, run);
            break;
        case 2:
            mosaic_iov_memset(req->iov, req->niov, ioff, 0, run);
            break;
        default: {
            uint64_t e3;
            pthread_mutex_lock(&s->meta_lock);
            ret = q2_get_entry(s, pos / cs, &e3);
            pthread_mutex_unlock(&s->meta_lock);
            if (!ret)
                ret = read_compressed(s, e3, pos % cs, req->iov, req->niov, ioff, run);
            break;
        }
        }
        pos += run;
    }
    pthread_rwlock_unlock(&s->io_lock);
    return ret;
}

static int q2_status(Q2 *s, MosaicBlkReq *req)
{
    uint64_t cs = s->h.cluster_size, pos = req->offset, end = req->offset + req->bytes;
    uint64_t e;
    pthread_mutex_lock(&s->meta_lock);
    int ret = q2_get_entry(s, pos / cs, &e);
    int kind = e & QCOW_OFLAG_ZERO ? 2 : (e & L2E_OFFSET_MASK) || (e & QCOW_OFLAG_COMPRESSED) ? 1 : 0;
    uint64_t run = MIN(cs - pos % cs, end - pos);
    while (!ret && pos + run < end && run < (1ULL << 30)) {
        uint64_t e2;
        if (q2_get_entry(s, (pos + run) / cs, &e2))
            break;
        int k2 = e2 & QCOW_OFLAG_ZERO ? 2 : (e2 & L2E_OFFSET_MASK) || (e2 & QCOW_OFLAG_COMPRESSED) ? 1 : 0;
        if (k2 != kind)
            break;
        run += MIN(cs, end - pos - run);
    }
    pthread_mutex_unlock(&s->meta_lock);
    if (ret)
        return ret;
    req->status_bytes = run;
    if (kind == 1) {
        req->status = MOSAIC_BLK_STATUS_DATA | MOSAIC_BLK_STATUS_ALLOCATED;
    } else if (kind == 2) {
        req->status = MOSAIC_BLK_STATUS_ZERO | MOSAIC_BLK_STATUS_ALLOCATED;
    } else if (!s->backing || pos >= mosaic_blk_child_length(s->backing)) {
        req->status = MOSAIC_BLK_STATUS_ZERO;
    } else {
        MosaicBlkReq b = {.size = sizeof b, .type = MOSAIC_BLK_BLOCK_STATUS, .offset = pos,
                          .bytes = MIN(run, mosaic_blk_child_length(s->backing) - pos)};
        ret = mosaic_blk_child_io(s->backing, &b);
        if (ret)
            return ret;
        req->status = b.status & ~MOSAIC_BLK_STATUS_ALLOCATED;
        req->status_bytes = b.status_bytes;
    }
    return 0;
}

static int q2_io(void *state, MosaicBlkReq *req)
{
    Q2 *s = state;
    switch (req->type) {
    case MOSAIC_BLK_READ:
        return q2_read(s, req);
    case MOSAIC_BLK_WRITE:
        return s->ro ? -EPERM : s->broken ? -EIO : q2_write(s, req);
    case MOSAIC_BLK_FLUSH:
        return s->ro ? 0 : mosaic_blk_child_flush(s->file);
    case MOSAIC_BLK_DISCARD:
    case MOSAIC_BLK_WRITE_ZEROES:
        return s->ro ? -EPERM : s->broken ? -EIO : q2_zero_or_discard(s, req);
    case MOSAIC_BLK_BLOCK_STATUS:
        return q2_status(s, req);
    }
    return -ENOTSUP;
}

/* ---- open / close ---- */

static void q2_free(Q2 *s)
{
    q2_cache_free(s->l2c);
    q2_cache_free(s->rbc);
    pthread_rwlock_destroy(&s->io_lock);
    pthread_mutex_destroy(&s->meta_lock);
    g_free(s->l1);
    g_free(s->rt);
    g_free(s->used);
    if (s->bm_clusters)
        g_array_free(s->bm_clusters, TRUE);
    g_free(s->bm_dir);
    free(s->bms);
    if (s->bm_keep)
        g_byte_array_free(s->bm_keep, TRUE);
    g_free(s);
}

static uint64_t *read_table(MosaicBlkChild *c, uint64_t off, uint64_t n, int *ret)
{
    uint8_t *raw = g_malloc(n * 8 + 1);
    *ret = n ? mosaic_blk_child_pread(c, off, raw, n * 8) : 0;
    if (*ret) {
        g_free(raw);
        return NULL;
    }
    return (uint64_t *)raw;
}

/* What names the image in messages: the file node's filename when it has one. */
static const char *image_name(MosaicBlkNode *node, const MosaicProps *props)
{
    const char *file = mosaic_props_get_str(props, "file");
    const MosaicProps *fp = mosaic_blk_node_config(node, "blockdev", file);
    return fp && mosaic_props_has(fp, "filename") ? mosaic_props_get_str(fp, "filename") : file;
}

static void *q2_open(MosaicBlkNode *node, const MosaicProps *props, MosaicError *err)
{
    bool ro = mosaic_props_get_bool(props, "read-only");
    const char *where = mosaic_props_where(props, "file");
    MosaicBlkChild *file = mosaic_blk_open_child(node, props, "file", !ro, err);
    if (!file)
        return NULL;
    ro = ro || mosaic_blk_child_read_only(file);
    Q2 *s = g_new0(Q2, 1);
    s->file = file;
    s->ro = ro;
    s->label = mosaic_blk_node_label(node);
    s->file_size = mosaic_blk_child_length(file);
    pthread_rwlock_init(&s->io_lock, NULL);
    pthread_mutex_init(&s->meta_lock, NULL);
    char msg[300];
    size_t hlen = MIN(s->file_size, 1u << QCOW2_MAX_CLUSTER_BITS);
    uint8_t *hbuf = g_malloc(hlen + 1);
    int ret = hlen ? mosaic_blk_child_pread(file, 0, hbuf, hlen) : -EINVAL;
    if (ret || qcow2_parse_header(hbuf, hlen, s->file_size, &s->h, msg, sizeof msg) < 0) {
        mosaic_error_set(err, "%s: %s: %s", where, image_name(node, props),
                         ret ? g_strerror(-ret) : msg);
        g_free(hbuf);
        q2_free(s);
        return NULL;
    }
    g_free(hbuf);
    s->l2c = q2_cache_new(mosaic_props_get_uint(props, "l2-cache-size"), s->h.cluster_size);
    s->rbc = q2_cache_new(mosaic_props_get_uint(props, "refcount-cache-size"), s->h.cluster_size);
    if (s->h.read_only_reason && !ro) {
        mosaic_error_set(err, "%s: cannot open the image for writing: %s (or set read-only = on)",
                         where, s->h.why_ro);
        q2_free(s);
        return NULL;
    }
    s->l1 = read_table(file, s->h.l1_table_offset, s->h.l1_size, &ret);
    s->rt_n = (uint32_t)((uint64_t)s->h.refcount_table_clusters * s->h.cluster_size / 8);
    if (!ret)
        s->rt = read_table(file, s->h.refcount_table_offset, s->rt_n, &ret);
    if (ret || qcow2_check_l1(&s->h, (uint8_t *)s->l1, s->file_size, msg, sizeof msg) < 0 ||
        qcow2_check_reftable(&s->h, (uint8_t *)s->rt, s->file_size, msg, sizeof msg) < 0) {
        mosaic_error_set(err, "%s: %s: %s", where, image_name(node, props),
                         ret ? g_strerror(-ret) : msg);
        q2_free(s);
        return NULL;
    }
    for (uint32_t i = 0; i < s->h.l1_size; i++)
        s->l1[i] = q_be64((uint8_t *)&s->l1[i]);
    for (uint32_t i = 0; i < s->rt_n; i++)
        s->rt[i] = q_be64((uint8_t *)&s->rt[i]);
    if (!ro && q2_scan(s, msg, sizeof msg) < 0) {
        mosaic_error_set(err, "%s: cannot open the image for writing: %s (run qemu-img check "
                         "-r all, or set read-only = on)", where, msg);
        q2_free(s);
        return NULL;
    }
    if (s->h.backing_file[0] && strcmp(mosaic_props_get_str(props, "backing"), "none")) {
        const char *bf = mosaic_props_has(props, "backing-format")
                             ? mosaic_props_get_str(props, "backing-format") : "";
        s->backing = mosaic_blk_open_image(node, s->h.backing_file,
                                           *bf ? bf : s->h.backing_format, err);
        if (!s->backing) {
            q2_free(s);
            return NULL;
        }
    }
    /* Persistent bitmaps: checked, and in use from now on (q2-bitmaps.c). */
    if (q2_bitmaps_open(s, mosaic_props_get_uint(props, "bitmaps-max-memory"), msg,
                        sizeof msg) < 0) {
        mosaic_error_set(err, "%s: %s: %s", where, image_name(node, props), msg);
        q2_free(s);
        return NULL;
    }
    mosaic_blk_node_set_length(node, s->h.size);
    mosaic_blk_node_set_read_only(node, ro);
    return s;
}

static void q2_close(void *state)
{
    Q2 *s = state;
    if (!s->ro)
        mosaic_blk_child_flush(s->file);
    q2_free(s);
}

/* The magic and a version this driver reads. */
static bool q2_probe(const uint8_t *buf, size_t len)
{
    return len >= 8 && !memcmp(buf, "QFI\xfb", 4) &&
           (q_be32(buf + 4) == 2 || q_be32(buf + 4) == 3);
}

static const MosaicBlkDriverOps q2_ops = {
    .size = sizeof(MosaicBlkDriverOps),
    .open = q2_open,
    .close = q2_close,
    .io = q2_io,
    .bitmaps_load = q2_bitmaps_load,
    .bitmaps_store = q2_bitmaps_store,
    .bitmaps_changed = q2_bitmaps_changed,
    .probe = q2_probe,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_BLOCK, .kind_abi = MOSAIC_BLOCK_ABI, .name = "qcow2",
              .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "qcow2 image format (v3 read/write, v2 read): allocation, zero "
                             "clusters, discard, backing chains",
              .props = q2_props, .ops = &q2_ops);
