/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nbd: a protocol driver whose data lives on a remote NBD server (libnbd client).
 *
 *   [blockdev remote]
 *   driver = nbd
 *   uri = nbd://127.0.0.1:10809/export       (or nbd+unix:///export?socket=/path)
 *
 * Requests run blocking on the core's worker threads (io()).  A libnbd handle runs one
 * synchronous command at a time, so the node keeps a small pool of connections: one,
 * or up to `connections` when the server says several connections see the same data
 * (NBD_FLAG_CAN_MULTI_CONN).  A worker borrows a connection for one request.
 *
 * A server that goes away never crashes the emulator: every request on a dead
 * connection fails with -EIO, and the first failure is logged naming the URI. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <glib.h>
#include <libnbd.h>

#include <mosaic/block.h>

#define MAX_CONNECTIONS 16
/* Below every server's maximum payload (qemu-nbd and nbdkit take 32 MiB). */
#define MAX_REQUEST (32u << 20)
#define MAX_STATUS (1u << 30)

typedef struct Nbd {
    char *uri;
    GAsyncQueue *free;       /* struct nbd_handle * not in use */
    struct nbd_handle *h[MAX_CONNECTIONS];
    unsigned n;
    bool can_flush, can_fua, can_trim, can_zero, meta;
    uint64_t max_req;
    gint lost;               /* the server went away: logged once */
} Nbd;

static const MosaicPropDesc nbd_props[] = {
    {.key = "uri", .type = MOSAIC_PROP_STRING, .flags = MOSAIC_PROP_REQUIRED,
     .help = "NBD URI: nbd://HOST[:PORT]/EXPORT or nbd+unix:///EXPORT?socket=PATH"},
    {.key = "read-only", .type = MOSAIC_PROP_BOOL, .defval = "off", .help = "refuse writes"},
    {.key = "connections", .type = MOSAIC_PROP_UINT, .defval = "4", .min = 1,
     .max = MAX_CONNECTIONS, .help = "connections used in parallel when the server allows "
     "several (multi-conn); 1 otherwise"},
    {NULL},
};

static struct nbd_handle *nbd_connect(const char *uri, bool meta, char **why)
{
    struct nbd_handle *h = nbd_create();
    if (!h) {
        *why = g_strdup(nbd_get_error());
        return NULL;
    }
    /* Block status: ask for allocation info; a server without it still connects. */
    if ((meta && nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) < 0) ||
        nbd_connect_uri(h, uri) < 0) {
        *why = g_strdup(nbd_get_error());
        nbd_close(h);
        return NULL;
    }
    return h;
}

static void nbd_free(Nbd *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        nbd_shutdown(s->h[i], 0);
        nbd_close(s->h[i]);
    }
    if (s->free)
        g_async_queue_unref(s->free);
    g_free(s->uri);
    g_free(s);
}

static void *nbd_open(MosaicBlkNode *node, const MosaicProps *props, MosaicError *err)
{
    Nbd *s = g_new0(Nbd, 1);
    s->uri = g_strdup(mosaic_props_get_str(props, "uri"));
    char *why = NULL;
    s->h[0] = nbd_connect(s->uri, true, &why);
    if (!s->h[0]) {
        mosaic_error_set(err, "%s: cannot connect to NBD server %s: %s (is the server running "
                         "and the export name right?)", mosaic_props_where(props, "uri"),
                         s->uri, why);
        g_free(why);
        nbd_free(s);
        return NULL;
    }
    s->n = 1;
    struct nbd_handle *h = s->h[0];
    int64_t size = nbd_get_size(h);
    if (size < 0) {
        mosaic_error_set(err, "%s: NBD server %s: %s", mosaic_props_where(props, "uri"), s->uri,
                         nbd_get_error());
        nbd_free(s);
        return NULL;
    }
    bool ro = mosaic_props_get_bool(props, "read-only") || nbd_is_read_only(h) == 1;
    s->can_flush = nbd_can_flush(h) == 1;
    s->can_fua = nbd_can_fua(h) == 1;
    s->can_trim = nbd_can_trim(h) == 1;
    s->can_zero = nbd_can_zero(h) == 1;
    s->meta = nbd_can_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) == 1;
    int64_t max = nbd_get_block_size(h, LIBNBD_SIZE_MAXIMUM);
    s->max_req = max > 0 && (uint64_t)max < MAX_REQUEST ? (uint64_t)max : MAX_REQUEST;
    unsigned want = nbd_can_multi_conn(h) == 1 ? (unsigned)mosaic_props_get_uint(props, "connections") : 1;
    for (unsigned i = 1; i < want; i++) {
        s->h[i] = nbd_connect(s->uri, s->meta, &why);
        if (!s->h[i]) { /* fewer connections still work */
            mosaic_log("block", 1, "nbd %s: extra connection refused: %s", s->uri, why);
            g_free(why);
            break;
        }
        s->n++;
    }
    s->free = g_async_queue_new();
    for (unsigned i = 0; i < s->n; i++)
        g_async_queue_push(s->free, s->h[i]);
    mosaic_blk_node_set_length(node, (uint64_t)size);
    mosaic_blk_node_set_read_only(node, ro);
    return s;
}

static void nbd_close_node(void *state)
{
    Nbd *s = state;
    for (unsigned i = 0; i < s->n; i++)
        if (s->can_flush && !nbd_aio_is_dead(s->h[i]) && !nbd_aio_is_closed(s->h[i]))
            nbd_flush(s->h[i], 0);
    nbd_free(s);
}

/* -errno of a failed libnbd call: the server's error for a live connection, -EIO when
 * the connection is gone (logged once, naming the server). */
static int failed(Nbd *s, struct nbd_handle *h, const char *op)
{
    int e = nbd_get_errno();
    if (nbd_aio_is_dead(h) || nbd_aio_is_closed(h) || e == 0 || e == ENOTCONN ||
        e == ECONNRESET || e == EPIPE || e == ESHUTDOWN) {
        if (g_atomic_int_compare_and_exchange(&s->lost, 0, 1))
            mosaic_log("block", 0, "nbd %s: the server is gone (%s: %s); requests fail with "
                       "EIO", s->uri, op, nbd_get_error());
        return -EIO;
    }
    return -e;
}

typedef struct Extent {
    uint64_t len;
    uint32_t flags;
    bool got;
} Extent;

static int extent_cb(void *opaque, const char *context, uint64_t offset, uint32_t *entries,
                     size_t nr, int *error)
{
    Extent *x = opaque;
    if (!x->got && nr >= 2 && !strcmp(context, LIBNBD_CONTEXT_BASE_ALLOCATION)) {
        x->len = entries[0];
        x->flags = entries[1];
        x->got = true;
    }
    return 0;
}

static int block_status(Nbd *s, struct nbd_handle *h, MosaicBlkReq *req)
{
    uint64_t n = MIN(req->bytes, (uint64_t)MAX_STATUS);
    if (!s->meta) {
        req->status = MOSAIC_BLK_STATUS_DATA | MOSAIC_BLK_STATUS_ALLOCATED;
        req->status_bytes = req->bytes;
        return 0;
    }
    Extent x = {0};
    if (nbd_block_status(h, n, req->offset,
                         (nbd_extent_callback){.callback = extent_cb, .user_data = &x},
                         LIBNBD_CMD_FLAG_REQ_ONE) < 0)
        return failed(s, h, "block-status");
    if (!x.got || !x.len) {
        req->status = MOSAIC_BLK_STATUS_DATA | MOSAIC_BLK_STATUS_ALLOCATED;
        req->status_bytes = req->bytes;
        return 0;
    }
    req->status = MOSAIC_BLK_STATUS_ALLOCATED |
                  ((x.flags & LIBNBD_STATE_HOLE) ? 0 : MOSAIC_BLK_STATUS_DATA) |
                  ((x.flags & LIBNBD_STATE_ZERO) ? MOSAIC_BLK_STATUS_ZERO : 0);
    req->status_bytes = MIN(x.len, req->bytes);
    return 0;
}

/* Read or write every iov segment, in pieces the server takes. */
static int rw(Nbd *s, struct nbd_handle *h, MosaicBlkReq *req)
{
    bool wr = req->type == MOSAIC_BLK_WRITE;
    uint32_t fua = wr && (req->flags & MOSAIC_BLK_FUA) && s->can_fua ? LIBNBD_CMD_FLAG_FUA : 0;
    uint64_t off = req->offset;
    for (unsigned i = 0; i < req->niov; i++) {
        char *p = req->iov[i].iov_base;
        for (size_t done = 0; done < req->iov[i].iov_len;) {
            size_t n = MIN(req->iov[i].iov_len - done, s->max_req);
            int r = wr ? nbd_pwrite(h, p + done, n, off, fua) : nbd_pread(h, p + done, n, off, 0);
            if (r < 0)
                return failed(s, h, wr ? "write" : "read");
            done += n;
            off += n;
        }
    }
    if (wr && (req->flags & MOSAIC_BLK_FUA) && !s->can_fua && s->can_flush &&
        nbd_flush(h, 0) < 0)
        return failed(s, h, "flush");
    return 0;
}

static int write_zeroes(Nbd *s, struct nbd_handle *h, MosaicBlkReq *req)
{
    uint32_t fl = (req->flags & MOSAIC_BLK_MAY_UNMAP) ? 0 : LIBNBD_CMD_FLAG_NO_HOLE;
    if (req->flags & MOSAIC_BLK_FUA && s->can_fua)
        fl |= LIBNBD_CMD_FLAG_FUA;
    static const char zeroes[1 << 16];
    for (uint64_t done = 0; done < req->bytes;) {
        uint64_t n = MIN(req->bytes - done, s->can_zero ? (uint64_t)MAX_STATUS : sizeof zeroes);
        int r = s->can_zero ? nbd_zero(h, n, req->offset + done, fl)
                            : nbd_pwrite(h, zeroes, n, req->offset + done, 0);
        if (r < 0)
            return failed(s, h, "write-zeroes");
        done += n;
    }
    return 0;
}

static int run(Nbd *s, struct nbd_handle *h, MosaicBlkReq *req)
{
    switch (req->type) {
    case MOSAIC_BLK_READ:
    case MOSAIC_BLK_WRITE:
        return rw(s, h, req);
    case MOSAIC_BLK_FLUSH:
        return !s->can_flush || nbd_flush(h, 0) == 0 ? 0 : failed(s, h, "flush");
    case MOSAIC_BLK_DISCARD:
        /* Advisory: a server without trim keeps the data, which discard allows. */
        for (uint64_t done = 0; s->can_trim && done < req->bytes;) {
            uint64_t n = MIN(req->bytes - done, (uint64_t)MAX_STATUS);
            if (nbd_trim(h, n, req->offset + done, 0) < 0)
                return failed(s, h, "discard");
            done += n;
        }
        return 0;
    case MOSAIC_BLK_WRITE_ZEROES:
        return write_zeroes(s, h, req);
    case MOSAIC_BLK_BLOCK_STATUS:
        return block_status(s, h, req);
    }
    return -ENOTSUP;
}

static int nbd_io(void *state, MosaicBlkReq *req)
{
    Nbd *s = state;
    struct nbd_handle *h = g_async_queue_pop(s->free);
    int ret = nbd_aio_is_ready(h) || nbd_aio_is_processing(h) ? run(s, h, req) : failed(s, h, "request");
    g_async_queue_push(s->free, h);
    return ret;
}

static const char *const nbd_schemes[] = {"nbd", "nbd+unix", "nbds", "nbds+unix", NULL};

static const MosaicBlkDriverOps nbd_ops = {
    .size = sizeof(MosaicBlkDriverOps),
    .open = nbd_open,
    .close = nbd_close_node,
    .io = nbd_io,
    .uri_schemes = nbd_schemes,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_BLOCK, .kind_abi = MOSAIC_BLOCK_ABI, .name = "nbd",
              .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "NBD client (protocol driver, libnbd): a disk on a remote NBD "
                             "server, nbd:// or nbd+unix:// URI",
              .props = nbd_props, .ops = &nbd_ops);
