/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One NBD client: fixed newstyle negotiation and the transmission phase, driven by
 * the main loop (non-blocking socket, fd watches).  Every value the client sends is
 * checked; a malformed request gets an error reply, a broken stream a disconnect. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "nbd.h"
#include "nbd-proto.h"

enum { PH_FLAGS, PH_OPTS, PH_TRANS };
#define MAX_INFLIGHT 64
#define MAX_OUT_BYTES (64u << 20)
#define MAX_INFLIGHT_BYTES (64u << 20) /* read buffers of requests in flight */
#define MAX_EXTENTS 2048
#define MAX_DIRTY_GRANULES 65536u /* bitmap bits looked at one by one per reply */

typedef struct OutBuf {
    guint8 *data;
    gsize len, pos;
} OutBuf;

struct NbdConn {
    NbdServer *srv;
    int fd;
    MosaicFdWatch *watch;
    GByteArray *in;
    gsize rpos;
    GQueue out;
    gsize out_bytes;
    int phase;
    gboolean no_zeroes, structured, meta_alloc, meta_bitmap;
    char *meta_export;   /* the export SET_META_CONTEXT chose contexts for */
    gboolean dead, disc;
    NbdExport *exp;
    guint64 size;
    gboolean writable;
    guint inflight;
    guint64 inflight_bytes;
    int refs;            /* requests in flight + callbacks running */
    gboolean in_parse;
    MosaicTimer *handshake; /* until transmission: the time left to negotiate */
};

typedef struct NbdReq {
    NbdConn *c;
    guint16 flags, type;
    guint64 handle, offset;
    guint32 len;
    guint8 *buf;         /* READ: reply header + data; WRITE: the data */
    gsize hdr;
    struct iovec iov;
    MosaicBlkReq req;
    GArray *ext;         /* BLOCK_STATUS: pairs of guint32 (length, flags) */
    guint64 pos;
} NbdReq;

static void be16(guint8 *p, guint16 v) { p[0] = v >> 8; p[1] = v; }
static void be32(guint8 *p, guint32 v) { be16(p, v >> 16); be16(p + 2, v); }
static void be64(guint8 *p, guint64 v) { be32(p, v >> 32); be32(p + 4, v); }
static guint16 rd16(const guint8 *p) { return (guint16)p[0] << 8 | p[1]; }
static guint32 rd32(const guint8 *p) { return (guint32)rd16(p) << 16 | rd16(p + 2); }
static guint64 rd64(const guint8 *p) { return (guint64)rd32(p) << 32 | rd32(p + 4); }

static void conn_free(NbdConn *c);
static void conn_update_watch(NbdConn *c);
static void conn_parse(NbdConn *c);

NbdExport *nbd_conn_export(NbdConn *c) { return c->exp; }

/* ---- output ---- */

static void conn_flush(NbdConn *c)
{
    while (!c->dead && !g_queue_is_empty(&c->out)) {
        struct iovec iov[16];
        int n = 0;
        for (GList *l = c->out.head; l && n < 16; l = l->next, n++) {
            OutBuf *o = l->data;
            iov[n].iov_base = o->data + o->pos;
            iov[n].iov_len = o->len - o->pos;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n};
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w <= 0) {
            nbd_conn_close(c);
            return;
        }
        c->out_bytes -= w;
        while (w > 0) {
            OutBuf *o = g_queue_peek_head(&c->out);
            gsize k = MIN((gsize)w, o->len - o->pos);
            o->pos += k;
            w -= k;
            if (o->pos == o->len) {
                g_queue_pop_head(&c->out);
                g_free(o->data);
                g_free(o);
            }
        }
    }
    conn_update_watch(c);
}

static void out_take(NbdConn *c, guint8 *data, gsize len)
{
    OutBuf *o = g_new0(OutBuf, 1);
    o->data = data;
    o->len = len;
    g_queue_push_tail(&c->out, o);
    c->out_bytes += len;
}

static void opt_reply(NbdConn *c, guint32 opt, guint32 type, const void *data, guint32 len)
{
    guint8 *b = g_malloc(20 + len);
    be64(b, NBD_REP_MAGIC);
    be32(b + 8, opt);
    be32(b + 12, type);
    be32(b + 16, len);
    if (len)
        memcpy(b + 20, data, len);
    out_take(c, b, 20 + len);
}

/* ---- negotiation ---- */

static guint16 trans_flags(NbdConn *c, NbdExport *e)
{
    guint16 f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA |
                NBD_FLAG_CAN_MULTI_CONN;
    if (!e->writable || mosaic_blk_read_only(e->blk))
        f |= NBD_FLAG_READ_ONLY;
    else
        f |= NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES;
    if (c->structured)
        f |= NBD_FLAG_SEND_DF;
    return f;
}

static void stop_handshake_timer(NbdConn *c)
{
    if (c->handshake)
        mosaic_timer_free(c->handshake);
    c->handshake = NULL;
}

static void handshake_expired(void *opaque)
{
    NbdConn *c = opaque;
    stop_handshake_timer(c);
    g_log(NBD_LOG_DOMAIN, G_LOG_LEVEL_INFO, "NBD client on %s: no export chosen in %u s: "
          "disconnected", c->srv ? c->srv->key : "?", c->srv ? c->srv->handshake_s : 0);
    nbd_conn_close(c);
}

static void enter_transmission(NbdConn *c, NbdExport *e)
{
    stop_handshake_timer(c);
    /* Contexts negotiated for another export (or none) do not apply. */
    if (!c->meta_export || nbd_server_find_export(c->srv, c->meta_export) != e)
        c->meta_alloc = c->meta_bitmap = FALSE;
    c->exp = e;
    e->refs++;
    c->size = mosaic_blk_length(e->blk);
    c->writable = e->writable && !mosaic_blk_read_only(e->blk);
    c->phase = PH_TRANS;
}

static void send_info(NbdConn *c, guint32 opt, NbdExport *e, const guint8 *reqs, guint n)
{
    guint8 b[14];
    be16(b, NBD_INFO_EXPORT);
    be64(b + 2, mosaic_blk_length(e->blk));
    be16(b + 10, trans_flags(c, e));
    opt_reply(c, opt, NBD_REP_INFO, b, 12);
    guint8 bs[14];
    be16(bs, NBD_INFO_BLOCK_SIZE);
    be32(bs + 2, 1);
    be32(bs + 6, 4096);
    be32(bs + 10, NBD_MAX_PAYLOAD);
    opt_reply(c, opt, NBD_REP_INFO, bs, 14);
    gboolean sent_name = FALSE, sent_desc = FALSE;
    for (guint i = 0; i < n; i++) {
        guint16 t = rd16(reqs + 2 * i);
        /* Each once: 2 bytes asking for a 4 KiB name must not buy 4 KiB again. */
        gboolean *sent = t == NBD_INFO_NAME ? &sent_name : t == NBD_INFO_DESCRIPTION ? &sent_desc
                                                                                   : NULL;
        const char *s = t == NBD_INFO_NAME ? e->name : t == NBD_INFO_DESCRIPTION ? e->description : NULL;
        if (!s || *sent)
            continue;
        *sent = TRUE;
        gsize l = strlen(s);
        g_autofree guint8 *p = g_malloc(2 + l);
        be16(p, t);
        memcpy(p + 2, s, l);
        opt_reply(c, opt, NBD_REP_INFO, p, 2 + l);
    }
}

/* "name" of a length-prefixed string at d[*off]; FALSE when it overruns. */
static gboolean take_str(const guint8 *d, guint32 len, guint32 *off, char **out)
{
    if (len - *off < 4)
        return FALSE;
    guint32 l = rd32(d + *off);
    *off += 4;
    if (l > len - *off || l > 4096 || memchr(d + *off, 0, l))
        return FALSE;
    *out = g_strndup((const char *)d + *off, l);
    *off += l;
    return TRUE;
}

static void opt_info_go(NbdConn *c, guint32 opt, const guint8 *d, guint32 len)
{
    guint32 off = 0;
    g_autofree char *name = NULL;
    if (!take_str(d, len, &off, &name) || len - off < 2) {
        opt_reply(c, opt, NBD_REP_ERR_INVALID, NULL, 0);
        return;
    }
    guint n = rd16(d + off);
    off += 2;
    if (len - off != 2 * n) {
        opt_reply(c, opt, NBD_REP_ERR_INVALID, NULL, 0);
        return;
    }
    NbdExport *e = nbd_server_find_export(c->srv, name);
    if (!e) {
        static const char msg[] = "no such export";
        opt_reply(c, opt, NBD_REP_ERR_UNKNOWN, msg, sizeof msg - 1);
        return;
    }
    send_info(c, opt, e, d + off, n);
    opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
    if (opt == NBD_OPT_GO)
        enter_transmission(c, e);
}

static void meta_reply(NbdConn *c, guint32 opt, guint32 id, const char *ctx)
{
    gsize l = strlen(ctx);
    g_autofree guint8 *b = g_malloc(4 + l);
    be32(b, id);
    memcpy(b + 4, ctx, l);
    opt_reply(c, opt, NBD_REP_META_CONTEXT, b, 4 + l);
}

/* LIST: every context matching the queries ("base:", "qemu:", "qemu:dirty-bitmap:" are
 * prefixes; no query lists all); SET: the contexts named exactly. */
static void opt_meta(NbdConn *c, guint32 opt, const guint8 *d, guint32 len)
{
    guint32 off = 0;
    g_autofree char *name = NULL;
    if (opt == NBD_OPT_SET_META_CONTEXT && !c->structured) {
        opt_reply(c, opt, NBD_REP_ERR_INVALID, NULL, 0);
        return;
    }
    if (!take_str(d, len, &off, &name) || len - off < 4) {
        opt_reply(c, opt, NBD_REP_ERR_INVALID, NULL, 0);
        return;
    }
    gboolean list = opt == NBD_OPT_LIST_META_CONTEXT;
    guint32 nq = rd32(d + off);
    off += 4;
    g_autoptr(GPtrArray) qs = g_ptr_array_new_with_free_func(g_free);
    for (guint32 i = 0; i < nq; i++) {
        char *q = NULL;
        if (!take_str(d, len, &off, &q)) {
            opt_reply(c, opt, NBD_REP_ERR_INVALID, NULL, 0);
            return;
        }
        g_ptr_array_add(qs, q);
    }
    if (off != len) {
        opt_reply(c, opt, NBD_REP_ERR_INVALID, NULL, 0);
        return;
    }
    NbdExport *e = nbd_server_find_export(c->srv, name);
    if (!e) {
        opt_reply(c, opt, NBD_REP_ERR_UNKNOWN, NULL, 0);
        return;
    }
    g_autofree char *bctx = e->bitmap ? g_strconcat("qemu:dirty-bitmap:", e->bitmap, NULL)
                                      : NULL;
    gboolean alloc = list && nq == 0, dirty = bctx && list && nq == 0;
    for (guint i = 0; i < qs->len; i++) {
        const char *q = g_ptr_array_index(qs, i);
        if (!strcmp(q, "base:allocation") || (list && !strcmp(q, "base:")))
            alloc = TRUE;
        if (bctx && (!strcmp(q, bctx) ||
                     (list && (!strcmp(q, "qemu:") || !strcmp(q, "qemu:dirty-bitmap:")))))
            dirty = TRUE;
    }
    if (alloc)
        meta_reply(c, opt, NBD_META_BASE_ALLOCATION, "base:allocation");
    if (dirty)
        meta_reply(c, opt, NBD_META_DIRTY_BITMAP, bctx);
    if (!list) {
        c->meta_alloc = alloc;
        c->meta_bitmap = dirty;
        g_free(c->meta_export);
        c->meta_export = g_strdup(name);
    }
    opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
}

static void opt_list(NbdConn *c, guint32 opt, guint32 len)
{
    if (len) {
        opt_reply(c, opt, NBD_REP_ERR_INVALID, NULL, 0);
        return;
    }
    for (guint i = 0; i < c->srv->exports->len; i++) {
        NbdExport *e = g_ptr_array_index(c->srv->exports, i);
        gsize l = strlen(e->name);
        g_autofree guint8 *b = g_malloc(4 + l);
        be32(b, l);
        memcpy(b + 4, e->name, l);
        opt_reply(c, opt, NBD_REP_SERVER, b, 4 + l);
    }
    opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
}

/* One option; FALSE when the connection ends. */
static gboolean handle_option(NbdConn *c, guint32 opt, const guint8 *d, guint32 len)
{
    switch (opt) {
    case NBD_OPT_EXPORT_NAME: {
        g_autofree char *name = g_strndup((const char *)d, len);
        NbdExport *e = nbd_server_find_export(c->srv, name);
        if (!e || strlen(name) != len)
            return FALSE; /* the protocol says: close */
        guint8 b[10 + 124] = {0};
        be64(b, mosaic_blk_length(e->blk));
        be16(b + 8, trans_flags(c, e));
        gsize n = c->no_zeroes ? 10 : sizeof b;
        out_take(c, g_memdup2(b, n), n);
        enter_transmission(c, e);
        return TRUE;
    }
    case NBD_OPT_ABORT:
        opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
        conn_flush(c);
        return FALSE;
    case NBD_OPT_LIST:
        opt_list(c, opt, len);
        return TRUE;
    case NBD_OPT_INFO:
    case NBD_OPT_GO:
        opt_info_go(c, opt, d, len);
        return TRUE;
    case NBD_OPT_STRUCTURED_REPLY:
        if (len) {
            opt_reply(c, opt, NBD_REP_ERR_INVALID, NULL, 0);
        } else {
            c->structured = TRUE;
            opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
        }
        return TRUE;
    case NBD_OPT_LIST_META_CONTEXT:
    case NBD_OPT_SET_META_CONTEXT:
        opt_meta(c, opt, d, len);
        return TRUE;
    case NBD_OPT_STARTTLS:
        opt_reply(c, opt, NBD_REP_ERR_POLICY, NULL, 0);
        return TRUE;
    default:
        opt_reply(c, opt, NBD_REP_ERR_UNSUP, NULL, 0);
        return TRUE;
    }
}

/* ---- transmission ---- */

static guint32 wire_errno(int ret)
{
    switch (-ret) {
    case 0: return 0;
    case EPERM: case EROFS: return NBD_EPERM;
    case ENOMEM: return NBD_ENOMEM;
    case EINVAL: return NBD_EINVAL;
    case ENOSPC: return NBD_ENOSPC;
    case EOVERFLOW: return NBD_EOVERFLOW;
    case ENOTSUP: return NBD_ENOTSUP;
    case ESHUTDOWN: return NBD_ESHUTDOWN;
    default: return NBD_EIO;
    }
}

static void reply_simple_hdr(guint8 *b, guint64 handle, guint32 err)
{
    be32(b, NBD_SIMPLE_REPLY_MAGIC);
    be32(b + 4, err);
    be64(b + 8, handle);
}

static void chunk_hdr(guint8 *b, guint16 flags, guint16 type, guint64 handle, guint32 len)
{
    be32(b, NBD_STRUCTURED_REPLY_MAGIC);
    be16(b + 4, flags);
    be16(b + 6, type);
    be64(b + 8, handle);
    be32(b + 16, len);
}

/* A reply without data, or an error of any request with an optional message for the
 * client's user (structured replies only: simple replies have no room for it). */
static void reply_error_msg(NbdConn *c, guint64 handle, int ret, const char *msg)
{
    guint32 err = wire_errno(ret);
    if (!c->structured) {
        guint8 *b = g_malloc(16);
        reply_simple_hdr(b, handle, err);
        out_take(c, b, 16);
    } else if (!err) {
        guint8 *b = g_malloc(20);
        chunk_hdr(b, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, handle, 0);
        out_take(c, b, 20);
    } else {
        gsize ml = msg ? strlen(msg) : 0;
        guint8 *b = g_malloc(26 + ml);
        chunk_hdr(b, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, handle, 6 + ml);
        be32(b + 20, err);
        be16(b + 24, ml);
        if (ml)
            memcpy(b + 26, msg, ml);
        out_take(c, b, 26 + ml);
    }
}

static void reply_status(NbdConn *c, guint64 handle, int ret)
{
    reply_error_msg(c, handle, ret, NULL);
}

static void conn_unref(NbdConn *c)
{
    if (--c->refs == 0 && c->dead)
        conn_free(c);
}

static void req_finish(NbdReq *r)
{
    NbdConn *c = r->c;
    if (r->type == NBD_CMD_READ && r->hdr)
        c->inflight_bytes -= r->len;
    g_free(r->buf);
    if (r->ext)
        g_array_free(r->ext, TRUE);
    g_free(r);
    c->inflight--;
    if (!c->dead) {
        conn_flush(c);
        if (!c->dead && c->disc && c->inflight == 0)
            nbd_conn_close(c);
        else if (!c->dead && !c->in_parse)
            conn_parse(c); /* input may be waiting for a free slot */
    }
    conn_unref(c);
}

static void read_done(void *opaque, int ret)
{
    NbdReq *r = opaque;
    NbdConn *c = r->c;
    if (!c->dead) {
        if (ret) {
            reply_status(c, r->handle, ret);
        } else {
            if (c->structured) {
                chunk_hdr(r->buf, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, r->handle,
                          8 + r->len);
                be64(r->buf + 20, r->offset);
            } else {
                reply_simple_hdr(r->buf, r->handle, 0);
            }
            out_take(c, r->buf, r->hdr + r->len);
            r->buf = NULL;
        }
    }
    req_finish(r);
}

static void status_done(void *opaque, int ret)
{
    NbdReq *r = opaque;
    if (!r->c->dead)
        reply_status(r->c, r->handle, ret);
    req_finish(r);
}

static void bs_done(void *opaque, int ret);

static void bs_chunk(NbdConn *c, NbdReq *r, guint32 id, GArray *ext, gboolean last)
{
    guint32 plen = 4 + 4 * ext->len;
    guint8 *b = g_malloc(20 + plen);
    chunk_hdr(b, last ? NBD_REPLY_FLAG_DONE : 0, NBD_REPLY_TYPE_BLOCK_STATUS, r->handle, plen);
    be32(b + 20, id);
    for (guint i = 0; i < ext->len; i++)
        be32(b + 24 + 4 * i, g_array_index(ext, guint32, i));
    out_take(c, b, 20 + plen);
}

/* Extents (length, NBD_STATE_DIRTY or 0) of the export's bitmap over the request.
 * Clean runs are skipped a word at a time; dirty granules are looked at one by one, so
 * at most MAX_DIRTY_GRANULES of them per reply: the main loop is not held for a 4 GiB
 * request at 512-byte granularity, and the client asks again from where the reply
 * ended (the NBD spec lets a reply cover less than the request). */
static gboolean bitmap_extents(NbdReq *r, GArray *ext)
{
    MosaicBlkBitmap *bm = nbd_export_bitmap(r->c->exp);
    if (!bm)
        return FALSE; /* removed since the export was made */
    guint64 gran = mosaic_blk_bitmap_granularity(bm), end = r->offset + r->len;
    guint dirty_steps = 0;
    for (guint64 o = r->offset; o < end && dirty_steps < MAX_DIRTY_GRANULES;) {
        guint32 f = mosaic_blk_bitmap_get(bm, o) ? NBD_STATE_DIRTY : 0;
        guint64 next = MIN(o - o % gran + gran, end);
        if (f) {
            dirty_steps++;
        } else {
            gint64 d = mosaic_blk_bitmap_next_dirty(bm, o);
            next = d < 0 || (guint64)d >= end ? end : MAX(next, (guint64)d);
        }
        guint n = ext->len;
        if (n >= 2 && g_array_index(ext, guint32, n - 1) == f) {
            g_array_index(ext, guint32, n - 2) += next - o; /* <= r->len: fits */
        } else {
            if ((r->flags & NBD_CMD_FLAG_REQ_ONE && n) || n / 2 >= MAX_EXTENTS)
                break;
            guint32 l = next - o;
            g_array_append_val(ext, l);
            g_array_append_val(ext, f);
        }
        o = next;
    }
    return TRUE;
}

/* One chunk per negotiated context, the last one ends the reply. */
static void bs_reply(NbdReq *r)
{
    NbdConn *c = r->c;
    g_autoptr(GArray) dirty = NULL;
    if (c->meta_bitmap) {
        dirty = g_array_new(FALSE, FALSE, sizeof(guint32));
        if (!bitmap_extents(r, dirty)) {
            reply_status(c, r->handle, -EIO);
            req_finish(r);
            return;
        }
    }
    if (c->meta_alloc)
        bs_chunk(c, r, NBD_META_BASE_ALLOCATION, r->ext, !dirty);
    if (dirty)
        bs_chunk(c, r, NBD_META_DIRTY_BITMAP, dirty, TRUE);
    req_finish(r);
}

static void bs_next(NbdReq *r)
{
    memset(&r->req, 0, sizeof r->req);
    r->req.size = sizeof r->req;
    r->req.type = MOSAIC_BLK_BLOCK_STATUS;
    r->req.offset = r->pos;
    r->req.bytes = r->offset + r->len - r->pos;
    mosaic_blk_submit(r->c->exp->blk, &r->req, bs_done, r);
}

static void bs_done(void *opaque, int ret)
{
    NbdReq *r = opaque;
    NbdConn *c = r->c;
    if (c->dead) {
        req_finish(r);
        return;
    }
    if (ret == 0 && (r->req.status_bytes == 0 || r->req.status_bytes > r->req.bytes))
        ret = -EIO;
    if (ret) {
        reply_status(c, r->handle, ret);
        req_finish(r);
        return;
    }
    guint32 flags = (r->req.status & MOSAIC_BLK_STATUS_DATA ? 0 : NBD_STATE_HOLE) |
                    (r->req.status & MOSAIC_BLK_STATUS_ZERO ? NBD_STATE_ZERO : 0);
    guint32 n = r->req.status_bytes;
    guint len = r->ext->len;
    if (len >= 2 && g_array_index(r->ext, guint32, len - 1) == flags) {
        g_array_index(r->ext, guint32, len - 2) += n; /* merge equal neighbours */
    } else {
        g_array_append_val(r->ext, n);
        g_array_append_val(r->ext, flags);
    }
    r->pos += n;
    if (r->pos < r->offset + r->len && !(r->flags & NBD_CMD_FLAG_REQ_ONE) &&
        r->ext->len / 2 < MAX_EXTENTS) {
        bs_next(r);
        return;
    }
    bs_reply(r);
}

/* What is wrong with a request before it reaches the node (0: nothing).  The range is
 * checked here against the size the client was told, not left to the block layer: a
 * writable file node grows on a write past its end. */
static int request_error(NbdConn *c, NbdReq *r, const char **why)
{
    guint64 end = r->offset + r->len;
    guint16 known = NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_DF |
                    NBD_CMD_FLAG_REQ_ONE;
    gboolean writes = r->type == NBD_CMD_WRITE || r->type == NBD_CMD_TRIM ||
                      r->type == NBD_CMD_WRITE_ZEROES;
    gboolean ranged = r->type == NBD_CMD_READ || writes || r->type == NBD_CMD_BLOCK_STATUS;
    if (r->flags & ~known) {
        *why = "unknown command flags";
        return -EINVAL;
    }
    if (writes && !c->writable) {
        *why = "the export is read-only";
        return -EPERM;
    }
    if (ranged && (end < r->offset || end > c->size)) {
        *why = "request past the end of the export";
        return writes ? -ENOSPC : -EINVAL;
    }
    if (r->type == NBD_CMD_BLOCK_STATUS && (!c->structured || (!c->meta_alloc && !c->meta_bitmap))) {
        *why = "block status needs structured replies and a metadata context";
        return -EINVAL;
    }
    if (ranged && !r->len) {
        *why = "zero-length request";
        return -EINVAL;
    }
    return 0;
}

/* Checks and starts one request; the payload of a write is at `data`. */
static void handle_request(NbdConn *c, NbdReq *r, const guint8 *data)
{
    c->inflight++;
    c->refs++;
    const char *why = NULL;
    int err = request_error(c, r, &why);
    if (err) {
        reply_error_msg(c, r->handle, err, why);
        req_finish(r);
        return;
    }
    memset(&r->req, 0, sizeof r->req);
    r->req.size = sizeof r->req;
    r->req.offset = r->offset;
    r->req.bytes = r->len;
    switch (r->type) {
    case NBD_CMD_READ:
        r->hdr = c->structured ? 28 : 16;
        c->inflight_bytes += r->len;
        r->buf = g_malloc(r->hdr + r->len);
        r->iov.iov_base = r->buf + r->hdr;
        r->iov.iov_len = r->len;
        r->req.type = MOSAIC_BLK_READ;
        r->req.iov = &r->iov;
        r->req.niov = 1;
        mosaic_blk_submit(c->exp->blk, &r->req, read_done, r);
        return;
    case NBD_CMD_WRITE:
        r->buf = g_memdup2(data, r->len);
        r->iov.iov_base = r->buf;
        r->iov.iov_len = r->len;
        r->req.type = MOSAIC_BLK_WRITE;
        r->req.iov = &r->iov;
        r->req.niov = 1;
        r->req.flags = r->flags & NBD_CMD_FLAG_FUA ? MOSAIC_BLK_FUA : 0;
        break;
    case NBD_CMD_FLUSH:
        r->req.type = MOSAIC_BLK_FLUSH;
        r->req.offset = r->req.bytes = 0;
        break;
    case NBD_CMD_TRIM:
        r->req.type = MOSAIC_BLK_DISCARD;
        break;
    case NBD_CMD_WRITE_ZEROES:
        r->req.type = MOSAIC_BLK_WRITE_ZEROES;
        r->req.flags = (r->flags & NBD_CMD_FLAG_NO_HOLE ? 0 : MOSAIC_BLK_MAY_UNMAP) |
                       (r->flags & NBD_CMD_FLAG_FUA ? MOSAIC_BLK_FUA : 0);
        break;
    case NBD_CMD_BLOCK_STATUS:
        r->ext = g_array_new(FALSE, FALSE, sizeof(guint32));
        r->pos = r->offset;
        if (c->meta_alloc)
            bs_next(r);
        else
            bs_reply(r);
        return;
    default:
        reply_status(c, r->handle, -EINVAL);
        req_finish(r);
        return;
    }
    mosaic_blk_submit(c->exp->blk, &r->req, status_done, r);
}

/* ---- input ---- */

static gsize avail(NbdConn *c) { return c->in->len - c->rpos; }

static void consume(NbdConn *c, gsize n)
{
    c->rpos += n;
    if (c->rpos == c->in->len) {
        g_byte_array_set_size(c->in, 0);
        c->rpos = 0;
    } else if (c->rpos > (1u << 20)) {
        g_byte_array_remove_range(c->in, 0, c->rpos);
        c->rpos = 0;
    }
}

/* Input waits while this holds: output the client does not read, or requests in
 * flight, past their bounds. */
static gboolean busy(NbdConn *c)
{
    if (c->phase != PH_TRANS)
        return c->out_bytes > NBD_MAX_NEGOTIATION_OUT;
    return c->inflight >= MAX_INFLIGHT || c->out_bytes > MAX_OUT_BYTES ||
           c->inflight_bytes > MAX_INFLIGHT_BYTES;
}

/* Input buffered before reading stops: the largest message of the phase (a write
 * with its payload; an option), so a client in negotiation holds little. */
static gsize input_bound(NbdConn *c)
{
    return c->phase == PH_TRANS ? NBD_MAX_PAYLOAD + 64 : NBD_MAX_OPT_LEN + 16;
}

/* Handles every complete message in the input buffer. */
static void conn_parse_inner(NbdConn *c);
static void conn_parse(NbdConn *c)
{
    c->refs++;
    c->in_parse = TRUE;
    conn_parse_inner(c);
    c->in_parse = FALSE;
    if (!c->dead)
        conn_flush(c);
    conn_unref(c);
}

static void conn_parse_inner(NbdConn *c)
{
    while (!c->dead && !c->disc) {
        const guint8 *p = c->in->data + c->rpos;
        if (c->phase == PH_FLAGS) {
            if (avail(c) < 4)
                break;
            guint32 f = rd32(p);
            consume(c, 4);
            if (f & ~(guint32)(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES)) {
                nbd_conn_close(c);
                return;
            }
            c->no_zeroes = !!(f & NBD_FLAG_NO_ZEROES);
            c->phase = PH_OPTS;
        } else if (c->phase == PH_OPTS) {
            if (busy(c) || avail(c) < 16)
                break;
            guint32 len = rd32(p + 12);
            if (rd64(p) != NBD_IHAVEOPT || len > NBD_MAX_OPT_LEN) {
                nbd_conn_close(c);
                return;
            }
            if (avail(c) < 16 + (gsize)len)
                break;
            guint32 opt = rd32(p + 8);
            g_autofree guint8 *d = g_memdup2(p + 16, len);
            consume(c, 16 + len);
            if (!handle_option(c, opt, d, len)) {
                conn_flush(c);
                nbd_conn_close(c);
                return;
            }
        } else {
            if (busy(c) || avail(c) < 28)
                break;
            if (rd32(p) != NBD_REQUEST_MAGIC) {
                nbd_conn_close(c);
                return;
            }
            guint16 type = rd16(p + 6);
            guint32 len = rd32(p + 24);
            gsize need = 28;
            if (type == NBD_CMD_WRITE) {
                if (len > NBD_MAX_PAYLOAD) { /* cannot resynchronise: hang up */
                    nbd_conn_close(c);
                    return;
                }
                need += len;
            }
            if (avail(c) < need)
                break;
            if (type == NBD_CMD_DISC) {
                consume(c, 28);
                c->disc = TRUE;
                if (c->inflight == 0)
                    nbd_conn_close(c);
                return;
            }
            NbdReq *r = g_new0(NbdReq, 1);
            r->c = c;
            r->flags = rd16(p + 4);
            r->type = type;
            r->handle = rd64(p + 8);
            r->offset = rd64(p + 16);
            r->len = len;
            if (type != NBD_CMD_WRITE && len > NBD_MAX_PAYLOAD && type != NBD_CMD_BLOCK_STATUS &&
                type != NBD_CMD_TRIM && type != NBD_CMD_WRITE_ZEROES) {
                consume(c, 28);
                c->inflight++;
                c->refs++;
                reply_error_msg(c, r->handle, -EINVAL, "request longer than the 32 MiB "
                                "maximum block size");
                req_finish(r);
                continue;
            }
            /* The payload stays in the buffer until handle_request copied it. */
            handle_request(c, r, p + 28);
            if (c->dead)
                return;
            consume(c, need);
        }
    }
}

static void conn_io_inner(NbdConn *c, unsigned events);
static void conn_io(void *opaque, int fd, unsigned events)
{
    NbdConn *c = opaque;
    c->refs++;
    conn_io_inner(c, events);
    conn_unref(c);
}

static void conn_io_inner(NbdConn *c, unsigned events)
{
    if (events & MOSAIC_FD_WRITE) {
        conn_flush(c);
        if (c->dead)
            return;
    }
    if (events & (MOSAIC_FD_READ | MOSAIC_FD_HUP)) {
        guint8 tmp[256 * 1024];
        for (int i = 0; i < 64 && !busy(c); i++) {
            ssize_t n = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (n <= 0) {
                nbd_conn_close(c);
                return;
            }
            g_byte_array_append(c->in, tmp, n);
            if (avail(c) > input_bound(c))
                break;
        }
    }
    conn_parse(c); /* also input that waited for the client to read its replies */
}

static void conn_update_watch(NbdConn *c)
{
    if (c->dead || !c->watch)
        return;
    unsigned ev = 0;
    if (!busy(c) && !c->disc && avail(c) <= input_bound(c))
        ev |= MOSAIC_FD_READ;
    if (!g_queue_is_empty(&c->out))
        ev |= MOSAIC_FD_WRITE;
    mosaic_fd_watch_update(c->watch, ev);
}

void nbd_conn_new(NbdServer *srv, int fd)
{
    NbdConn *c = g_new0(NbdConn, 1);
    c->srv = srv;
    c->fd = fd;
    c->in = g_byte_array_new();
    g_queue_init(&c->out);
    g_ptr_array_add(srv->conns, c);
    guint8 *b = g_malloc(18);
    be64(b, NBD_MAGIC);
    be64(b + 8, NBD_IHAVEOPT);
    be16(b + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    out_take(c, b, 18);
    c->watch = mosaic_fd_watch(fd, MOSAIC_FD_READ, conn_io, c);
    if (srv->handshake_s) {
        c->handshake = mosaic_timer_new(MOSAIC_CLOCK_HOST, handshake_expired, c);
        mosaic_timer_mod(c->handshake, mosaic_clock_ns(MOSAIC_CLOCK_HOST) +
                                           (int64_t)srv->handshake_s * 1000000000);
    }
    conn_flush(c);
}

void nbd_conn_close(NbdConn *c)
{
    if (c->dead)
        return;
    c->dead = TRUE;
    stop_handshake_timer(c);
    if (c->watch)
        mosaic_fd_unwatch(c->watch);
    c->watch = NULL;
    shutdown(c->fd, SHUT_RDWR);
    if (c->srv)
        nbd_server_conn_gone(c->srv, c);
    c->srv = NULL;
    if (c->refs == 0)
        conn_free(c);
}

static void conn_free(NbdConn *c)
{
    close(c->fd);
    OutBuf *o;
    while ((o = g_queue_pop_head(&c->out))) {
        g_free(o->data);
        g_free(o);
    }
    g_byte_array_free(c->in, TRUE);
    if (c->exp)
        nbd_export_unref(c->exp);
    g_free(c->meta_export);
    g_free(c);
}
