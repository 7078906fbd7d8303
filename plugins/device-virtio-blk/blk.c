/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-blk (virtio 1.2 §5.2): a device plugin on virtio-mmio or PCI whose requests go to a
 * block node.  Guest requests are checked; a bad one fails alone (IOERR/UNSUPP). */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <mosaic/mosaic.h>
#include <mosaic/iov.h>

#define SECTOR 512
#define QUEUE_MAX 256
enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_DISCARD = 11, T_WRITE_ZEROES = 13 };
enum { S_OK = 0, S_IOERR = 1, S_UNSUPP = 2 };
enum { F_SIZE_MAX = 1, F_SEG_MAX = 2, F_RO = 5, F_BLK_SIZE = 6, F_FLUSH = 9, F_DISCARD = 13, F_WRITE_ZEROES = 14 };
#define CONFIG_SIZE 60
#define MAX_DZ_SECTORS (1u << 22) /* 2 GiB per discard/write-zeroes request */
/* Largest data segment and most data segments of a read or write (size_max, seg_max):
 * what a request may carry is bounded, whatever the guest puts in its descriptors. */
#define SIZE_MAX_BYTES (1u << 20)
#define SEG_MAX (QUEUE_MAX - 2)

typedef struct VBlk {
    MosaicVirtio *v;
    MosaicBlk *blk;
    MosaicBH *bh;
    bool ro;
    char serial[21];
    unsigned gen;          /* bumped on reset: late completions are dropped */
    unsigned inflight;
} VBlk;

typedef struct VBReq {
    VBlk *d;
    MosaicVirtqElem *e;
    MosaicBlkReq req;
    struct iovec *iov;
    uint8_t *status;
    uint32_t written;
    unsigned gen;
} VBReq;

static const MosaicPropDesc vblk_props[] = {
    {.key = "drive", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED,
     .help = "the block node the disk reads and writes"},
    {.key = "serial", .type = MOSAIC_PROP_STRING, .defval = "",
     .help = "serial number the guest sees (GET_ID, up to 20 bytes)"},
    {.key = "read-only", .type = MOSAIC_PROP_BOOL, .defval = "off",
     .help = "the guest cannot write"},
    {NULL},
};

static void vblk_config(void *opaque, uint8_t *c)
{
    VBlk *d = opaque;
    guint64 cap = GUINT64_TO_LE(mosaic_blk_length(d->blk) / SECTOR);
    guint32 v;
    memcpy(c, &cap, 8);
    v = GUINT32_TO_LE(SIZE_MAX_BYTES); memcpy(c + 8, &v, 4);     /* size_max */
    v = GUINT32_TO_LE(SEG_MAX); memcpy(c + 12, &v, 4);            /* seg_max */
    v = GUINT32_TO_LE(SECTOR); memcpy(c + 20, &v, 4);            /* blk_size */
    v = GUINT32_TO_LE(MAX_DZ_SECTORS); memcpy(c + 36, &v, 4);    /* max_discard_sectors */
    v = GUINT32_TO_LE(1); memcpy(c + 40, &v, 4);                 /* max_discard_seg */
    v = GUINT32_TO_LE(8); memcpy(c + 44, &v, 4);                 /* discard_sector_alignment */
    v = GUINT32_TO_LE(MAX_DZ_SECTORS); memcpy(c + 48, &v, 4);    /* max_write_zeroes_sectors */
    v = GUINT32_TO_LE(1); memcpy(c + 52, &v, 4);                 /* max_write_zeroes_seg */
    c[56] = 1;                                                   /* write_zeroes_may_unmap */
}

static void req_finish(VBReq *r, uint8_t status)
{
    VBlk *d = r->d;
    if (r->gen == d->gen) {
        *r->status = status;
        MosaicVirtQueue *q = mosaic_virtio_queue(d->v, 0);
        mosaic_virtq_push(q, r->e, r->written + 1);
        mosaic_virtq_notify(q);
    } else {
        mosaic_virtq_push(mosaic_virtio_queue(d->v, 0), r->e, 0); /* frees; ring is gone */
    }
    d->inflight--;
    g_free(r->iov);
    g_free(r);
}

static void req_done(void *opaque, int ret)
{
    VBReq *r = opaque;
    if (ret)
        r->written = 0;
    req_finish(r, ret == 0 ? S_OK : ret == -ENOTSUP ? S_UNSUPP : S_IOERR);
}

/* The iovecs of [off, off+len) of an element's buffers (never more entries than it has). */
static struct iovec *slice(const struct iovec *iov, unsigned n, uint64_t off, uint64_t len,
                           unsigned *count)
{
    struct iovec *out = g_new(struct iovec, n + 1);
    *count = mosaic_iov_slice(iov, n, off, len, out, n + 1);
    return out;
}

/* Within what the device advertised (seg_max, size_max); a driver that honours the
 * features never sends more. */
static bool segments_ok(const struct iovec *iov, unsigned n)
{
    if (n > SEG_MAX)
        return false;
    for (unsigned i = 0; i < n; i++)
        if (iov[i].iov_len > SIZE_MAX_BYTES)
            return false;
    return true;
}

static bool in_range(VBlk *d, uint64_t sector, uint64_t bytes)
{
    uint64_t cap = mosaic_blk_length(d->blk);
    return sector <= cap / SECTOR && bytes <= cap - sector * SECTOR;
}

static void handle(VBlk *d, MosaicVirtqElem *e)
{
    VBReq *r = g_new0(VBReq, 1);
    r->d = d;
    r->e = e;
    r->gen = d->gen;
    d->inflight++;
    uint8_t hdr[16];
    /* Needs a header and a status byte; without them there is no way to answer. */
    if (e->out_len < 16 || e->in_len < 1) {
        static uint8_t sink;
        r->status = &sink;
        req_finish(r, S_IOERR);
        return;
    }
    for (unsigned i = e->in_num; i-- > 0;)
        if (e->in[i].iov_len) {
            r->status = (uint8_t *)e->in[i].iov_base + e->in[i].iov_len - 1;
            break;
        }
    mosaic_iov_to_buf(e->out, e->out_num, 0, hdr, 16);
    guint32 type;
    guint64 sector;
    memcpy(&type, hdr, 4);
    memcpy(&sector, hdr + 8, 8);
    type = GUINT32_FROM_LE(type);
    sector = GUINT64_FROM_LE(sector);
    r->req.size = sizeof r->req;
    unsigned niov;
    switch (type) {
    case T_IN:
    case T_OUT: {
        bool w = type == T_OUT;
        uint64_t len = w ? e->out_len - 16 : e->in_len - 1;
        if ((w && d->ro) || len % SECTOR || !in_range(d, sector, len) || sector > (UINT64_MAX >> 9)) {
            req_finish(r, S_IOERR);
            return;
        }
        r->iov = w ? slice(e->out, e->out_num, 16, len, &niov) : slice(e->in, e->in_num, 0, len, &niov);
        if (!segments_ok(r->iov, niov)) {
            req_finish(r, S_IOERR);
            return;
        }
        r->req.type = w ? MOSAIC_BLK_WRITE : MOSAIC_BLK_READ;
        r->req.offset = sector * SECTOR;
        r->req.bytes = len;
        r->req.iov = r->iov;
        r->req.niov = niov;
        r->written = w ? 0 : len;
        break;
    }
    case T_FLUSH:
        r->req.type = MOSAIC_BLK_FLUSH;
        break;
    case T_GET_ID: {
        uint64_t n = MIN(e->in_len - 1, 20);
        mosaic_iov_from_buf(e->in, e->in_num, 0, d->serial, n);
        r->written = n;
        req_finish(r, S_OK);
        return;
    }
    case T_DISCARD:
    case T_WRITE_ZEROES: {
        uint8_t seg[16];
        if (e->out_len != 32) { /* exactly one segment (max_*_seg = 1) */
            req_finish(r, S_UNSUPP);
            return;
        }
        mosaic_iov_to_buf(e->out, e->out_num, 16, seg, 16);
        guint64 s;
        guint32 num, flags;
        memcpy(&s, seg, 8);
        memcpy(&num, seg + 8, 4);
        memcpy(&flags, seg + 12, 4);
        s = GUINT64_FROM_LE(s);
        num = GUINT32_FROM_LE(num);
        flags = GUINT32_FROM_LE(flags);
        if (flags & ~1u || (type == T_DISCARD && flags)) {
            req_finish(r, S_UNSUPP);
            return;
        }
        if (d->ro || num > MAX_DZ_SECTORS || s > (UINT64_MAX >> 9) ||
            !in_range(d, s, (uint64_t)num * SECTOR)) {
            req_finish(r, S_IOERR);
            return;
        }
        r->req.type = type == T_DISCARD ? MOSAIC_BLK_DISCARD : MOSAIC_BLK_WRITE_ZEROES;
        r->req.offset = s * SECTOR;
        r->req.bytes = (uint64_t)num * SECTOR;
        r->req.flags = flags & 1 ? MOSAIC_BLK_MAY_UNMAP : 0;
        break;
    }
    default:
        req_finish(r, S_UNSUPP);
        return;
    }
    mosaic_blk_submit(d->blk, &r->req, req_done, r);
}

static void vblk_bh(void *opaque)
{
    VBlk *d = opaque;
    MosaicVirtQueue *q = mosaic_virtio_queue(d->v, 0);
    MosaicVirtqElem *e;
    while ((e = mosaic_virtq_pop(q)))
        handle(d, e);
}

static void vblk_notify(void *opaque, unsigned queue)
{
    mosaic_bh_schedule(((VBlk *)opaque)->bh); /* vCPU thread: the work runs on the loop */
}

static void vblk_reset(void *opaque)
{
    ((VBlk *)opaque)->gen++;
}

static void *vblk_realize(MosaicDevice *dev, const MosaicProps *props, const MosaicBusSlot *slot,
                          MosaicError *err)
{
    VBlk *d = g_new0(VBlk, 1);
    d->ro = mosaic_props_get_bool(props, "read-only");
    d->blk = mosaic_blk_attach(dev ? mosaic_device_machine(dev) : NULL,
                               mosaic_props_get_str(props, "drive"), !d->ro, err);
    if (!d->blk) {
        g_free(d);
        return NULL;
    }
    d->ro = mosaic_blk_read_only(d->blk);
    g_strlcpy(d->serial, mosaic_props_get_str(props, "serial"), sizeof d->serial);
    MosaicVirtioDeviceOps ops = {
        .size = sizeof ops,
        .device_id = 2,
        .features = 1ULL << F_SIZE_MAX | 1ULL << F_SEG_MAX | 1ULL << F_BLK_SIZE | 1ULL << F_FLUSH |
                    (d->ro ? 1ULL << F_RO : 1ULL << F_DISCARD | 1ULL << F_WRITE_ZEROES),
        .num_queues = 1,
        .queue_max = QUEUE_MAX,
        .config_size = CONFIG_SIZE,
        .config_read = vblk_config,
        .queue_notify = vblk_notify,
        .reset = vblk_reset,
    };
    d->v = mosaic_virtio_new(slot, &ops, d, err);
    if (!d->v) {
        mosaic_blk_detach(d->blk);
        g_free(d);
        return NULL;
    }
    d->bh = mosaic_bh_new(vblk_bh, d);
    return d;
}

static void vblk_unrealize(void *state)
{
    VBlk *d = state;
    mosaic_blk_detach(d->blk); /* drains: nothing completes after this */
    mosaic_bh_free(d->bh);
    mosaic_virtio_free(d->v);
    g_free(d);
}

static void vblk_system_reset(void *state)
{
    VBlk *d = state;
    /* The board resets the transport; late completions of the old run are dropped. */
    d->gen++;
}

static const MosaicDeviceOps vblk_ops = {
    .size = sizeof(MosaicDeviceOps),
    .bus = "virtio-mmio|pci", /* virtio-mmio unless the machine file names a PCI bus */
    .realize = vblk_realize,
    .unrealize = vblk_unrealize,
    .reset = vblk_system_reset,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI,
              .name = "virtio-blk", .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "virtio block device on virtio-mmio or PCI (read, write, flush, discard, "
                             "write-zeroes, get-id)",
              .props = vblk_props, .ops = &vblk_ops);
