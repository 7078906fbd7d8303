/* SPDX-License-Identifier: GPL-2.0-or-later */
/* 3D commands of virtio-gpu (virtio 1.2 §5.7.6.8, VIRTIO_GPU_F_VIRGL): contexts, 3D
 * resources, 3D transfers, command submission and capsets, checked here and passed to a
 * gpu backend plugin.  Backing pages become host iovecs inside guest RAM. */
#include <string.h>
#include "vgpu3d.h"

enum {
    CMD_CTX_CREATE = 0x200, CMD_CTX_DESTROY, CMD_CTX_ATTACH_RESOURCE, CMD_CTX_DETACH_RESOURCE,
    CMD_RESOURCE_CREATE_3D, CMD_TRANSFER_TO_HOST_3D, CMD_TRANSFER_FROM_HOST_3D, CMD_SUBMIT_3D,
    CMD_RESOURCE_MAP_BLOB, CMD_RESOURCE_UNMAP_BLOB,
};
enum { BLOB_MEM_GUEST = 1, BLOB_MEM_HOST3D = 2, BLOB_MEM_HOST3D_GUEST = 3 };
enum { BLOB_FLAG_USE_MAPPABLE = 1 };
#define PAGE 4096u

typedef struct V3d V3d;

/* A host blob mapped into the shared memory region.  It outlives the mapping's region
 * in the guest map: the core calls map_release once no vCPU can reach the host memory
 * any more, and only then does the backend unmap it (and unref the resource, when the
 * guest unref'd it meanwhile). */
typedef struct Mapping {
    V3d *v;
    uint32_t id;
    uint64_t offset, len;    /* in the shared memory region */
    MosaicRegion *mr;
    bool unref_pending;      /* the resource went: unref it in the backend on release */
} Mapping;
#define MAX_IOV (2 * MAX_BACKING_ENTRIES) /* an entry may straddle two RAM regions */
#define MAX_SUBMIT (16u << 20)

typedef struct Res3d {
    uint32_t format, width, height;
    uint64_t bytes;          /* counted against the device's max-hostmem */
    bool backed;
    /* A guest-memory blob: its pages (host iovecs in guest RAM) and size; what
     * SET_SCANOUT_BLOB last showed of it (the display reads the pages themselves). */
    bool blob;
    struct iovec *iov;
    unsigned niov;
    uint64_t blob_size;
    uint32_t scan_stride;
    uint64_t scan_offset;
    /* A host blob made with USE_MAPPABLE: MAP_BLOB may put it in the guest's view. */
    bool mappable;
    uint32_t ctx_id;         /* the context a host blob came from */
    Mapping *map;            /* while mapped */
    uint8_t uuid[16];        /* RESOURCE_ASSIGN_UUID (vgpu_uuid_answer) */
    bool has_uuid;
} Res3d;

static void res3d_free(gpointer p)
{
    Res3d *x = p;
    g_free(x->iov);
    g_free(x);
}

struct V3d {
    VGpu *g;
    MosaicAddressSpace *dma;
    MosaicGpuBackendOps *ops;
    void *be;
    GHashTable *res;         /* id -> Res3d* */
    GHashTable *ctxs;        /* id set */
    uint32_t ncapsets;
    VGpuExt ext;
    void (*fence_done)(void *, uint64_t);
    void *opaque;
    MosaicRegion *shm;       /* the shared memory region's container, or NULL */
};

static void map_release(void *opaque)
{
    Mapping *m = opaque;
    m->v->ops->resource_unmap(m->v->be, m->id);
    if (m->unref_pending)
        m->v->ops->resource_unref(m->v->be, m->id);
    g_free(m);
}

/* Takes blob `x` out of the guest's view.  The backend unmaps it when the core says no
 * vCPU can reach it any more: at once on the main loop of a running machine (the core
 * parks the vCPUs for it), a little later when this runs on a vCPU thread (a device
 * reset by a register write).  With `going`, the resource itself goes: returns false
 * when the backend's unref is left to that release. */
static bool unmap_one(V3d *v, Res3d *x, bool going)
{
    Mapping *m = x->map;
    if (!m)
        return true;
    x->map = NULL;
    m->unref_pending = going;
    MosaicRegion *mr = m->mr;
    mosaic_region_del(v->shm, mr);
    mosaic_region_unref(mr); /* m belongs to the release from here on */
    return false;
}

static bool owns(void *o, uint32_t id)
{
    V3d *v = o;
    return g_hash_table_contains(v->res, GUINT_TO_POINTER(id));
}

static Res3d *res_get(V3d *v, uint32_t id)
{
    return id ? g_hash_table_lookup(v->res, GUINT_TO_POINTER(id)) : NULL;
}

static bool ctx_ok(V3d *v, uint32_t id)
{
    return id && g_hash_table_contains(v->ctxs, GUINT_TO_POINTER(id));
}

static uint32_t capset_info(V3d *v, const uint8_t *p, uint8_t *resp, size_t *out)
{
    uint32_t id, ver, size;
    if (!v->ops->capset_info(v->be, rd32(p), &id, &ver, &size))
        return RESP_ERR_INVALID_PARAMETER;
    wr32(resp + HDR_SIZE, id);
    wr32(resp + HDR_SIZE + 4, ver);
    wr32(resp + HDR_SIZE + 8, size);
    *out = HDR_SIZE + 16;
    return RESP_OK_CAPSET_INFO;
}

static uint32_t get_capset(V3d *v, const uint8_t *p, uint8_t *resp, size_t cap, size_t *out)
{
    uint32_t n = v->ops->get_capset(v->be, rd32(p), rd32(p + 4), resp + HDR_SIZE,
                                    (uint32_t)(cap - HDR_SIZE));
    if (!n)
        return RESP_ERR_INVALID_PARAMETER;
    *out = HDR_SIZE + n;
    return RESP_OK_CAPSET;
}

static uint32_t ctx_create(V3d *v, uint32_t ctx, const uint8_t *p)
{
    if (!ctx || ctx_ok(v, ctx))
        return RESP_ERR_INVALID_CONTEXT_ID;
    char name[65] = "";
    memcpy(name, p + 8, MIN(rd32(p), 64u));
    uint32_t r = v->ops->ctx_create(v->be, ctx, rd32(p + 4) & 0xff, name);
    if (r == RESP_OK_NODATA)
        g_hash_table_add(v->ctxs, GUINT_TO_POINTER(ctx));
    return r;
}

static uint32_t ctx_destroy(V3d *v, uint32_t ctx)
{
    if (!ctx_ok(v, ctx))
        return RESP_ERR_INVALID_CONTEXT_ID;
    g_hash_table_remove(v->ctxs, GUINT_TO_POINTER(ctx));
    /* The context's blobs leave the guest's view with it. */
    GHashTableIter it;
    gpointer val;
    g_hash_table_iter_init(&it, v->res);
    while (g_hash_table_iter_next(&it, NULL, &val))
        if (((Res3d *)val)->map && ((Res3d *)val)->ctx_id == ctx)
            unmap_one(v, val, false);
    return v->ops->ctx_destroy(v->be, ctx);
}

static uint32_t ctx_resource(V3d *v, uint32_t ctx, const uint8_t *p, bool attach)
{
    if (!ctx_ok(v, ctx))
        return RESP_ERR_INVALID_CONTEXT_ID;
    uint32_t id = rd32(p);
    if (!res_get(v, id))
        return RESP_ERR_INVALID_RESOURCE_ID;
    return attach ? v->ops->ctx_attach_resource(v->be, ctx, id)
                  : v->ops->ctx_detach_resource(v->be, ctx, id);
}

static uint32_t create_3d(V3d *v, const uint8_t *p)
{
    MosaicGpuResource3d r = {
        .size = sizeof r, .resource_id = rd32(p), .target = rd32(p + 4), .format = rd32(p + 8), .bind = rd32(p + 12),
        .width = rd32(p + 16), .height = rd32(p + 20), .depth = rd32(p + 24),
        .array_size = rd32(p + 28), .last_level = rd32(p + 32), .nr_samples = rd32(p + 36),
        .flags = rd32(p + 40),
    };
    if (!r.resource_id || res_get(v, r.resource_id) || vgpu_resource(v->g, r.resource_id))
        return RESP_ERR_INVALID_RESOURCE_ID;
    if (!r.width || r.width > MAX_DIMENSION || r.height > MAX_DIMENSION || r.depth > 2048 ||
        r.array_size > 2048 || r.last_level > 15 || r.nr_samples > 16)
        return RESP_ERR_INVALID_PARAMETER;
    /* What the host may allocate for it, at most 16 bytes a texel, counted like the 2D
     * resources: the guest cannot make the host allocate without bound. */
    uint64_t bytes = (uint64_t)r.width * MAX(r.height, 1u) * MAX(r.depth, 1u) *
                     MAX(r.array_size, 1u) * 16;
    if (bytes > v->g->hostmem_max - v->g->hostmem)
        return RESP_ERR_OUT_OF_MEMORY;
    uint32_t st = v->ops->resource_create_3d(v->be, &r);
    if (st != RESP_OK_NODATA)
        return st;
    Res3d *x = g_new0(Res3d, 1);
    *x = (Res3d){.format = r.format, .width = r.width, .height = r.height, .bytes = bytes};
    v->g->hostmem += bytes;
    g_hash_table_insert(v->res, GUINT_TO_POINTER(r.resource_id), x);
    return RESP_OK_NODATA;
}

static void unref_one(V3d *v, uint32_t id, Res3d *x)
{
    for (unsigned i = 0; i < MAX_SCANOUTS; i++)
        if (v->g->scanouts[i].resource_id == id)
            v->g->scanouts[i].resource_id = 0;
    if (unmap_one(v, x, true))
        v->ops->resource_unref(v->be, id);
    v->g->hostmem -= x->bytes;
}

static uint32_t unref(V3d *v, const uint8_t *p)
{
    uint32_t id = rd32(p);
    Res3d *x = res_get(v, id);
    if (!x)
        return RESP_ERR_INVALID_RESOURCE_ID;
    unref_one(v, id, x);
    g_hash_table_remove(v->res, GUINT_TO_POINTER(id));
    return RESP_OK_NODATA;
}

/* n guest entries (addr, length, padding) at `e` -> host iovecs, each piece inside one
 * writable RAM section (never MMIO); false on any entry that is not.  *total: bytes. */
static bool entries_to_iov(V3d *v, const uint8_t *e, uint32_t n, struct iovec *iov, unsigned *k,
                           uint64_t *total)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t gpa = rd64(e + 16 * i), len = rd32(e + 8 + 16 * i);
        if (gpa + len < gpa)
            return false;
        sum += len;
        while (len) {
            MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
            if (*k == MAX_IOV || !mosaic_as_lookup(v->dma, gpa, &s) || !s.host || s.readonly)
                return false;
            uint64_t m = MIN(len, s.base + s.size - gpa);
            iov[(*k)++] = (struct iovec){s.host + (gpa - s.base), m};
            gpa += m;
            len -= m;
        }
    }
    if (total)
        *total = sum;
    return true;
}

/* RESOURCE_CREATE_BLOB.  Guest blobs: the entries must cover `size`; host blobs
 * (host3d) take no entries and count against max-hostmem.  A mappable host blob
 * (USE_MAPPABLE) only where MAP_BLOB can map it: a backend that maps and a shared
 * memory region. */
static uint32_t create_blob(V3d *v, uint32_t ctx, const uint8_t *p, size_t body)
{
    MosaicGpuBlob b = {
        .resource_id = rd32(p), .blob_mem = rd32(p + 4), .blob_flags = rd32(p + 8),
        .blob_id = rd64(p + 16), .size = rd64(p + 24), .ctx_id = ctx,
    };
    uint32_t n = rd32(p + 12);
    if (!b.resource_id || res_get(v, b.resource_id) || vgpu_resource(v->g, b.resource_id))
        return RESP_ERR_INVALID_RESOURCE_ID;
    if (ctx && !ctx_ok(v, ctx))
        return RESP_ERR_INVALID_CONTEXT_ID;
    bool guest = b.blob_mem == BLOB_MEM_GUEST || b.blob_mem == BLOB_MEM_HOST3D_GUEST;
    if ((!guest && b.blob_mem != BLOB_MEM_HOST3D) || !b.size || b.blob_flags & ~7u ||
        (b.blob_mem != BLOB_MEM_GUEST && !ctx) || (guest ? !n : n) ||
        n > MAX_BACKING_ENTRIES || (uint64_t)n * 16 > body - 32 ||
        (!guest && b.blob_flags & BLOB_FLAG_USE_MAPPABLE && !(v3d_can_map(v) && v->shm)))
        return RESP_ERR_INVALID_PARAMETER;
    uint64_t bytes = guest ? 0 : b.size;
    if (bytes > v->g->hostmem_max - v->g->hostmem)
        return RESP_ERR_OUT_OF_MEMORY;
    g_autofree struct iovec *iov = guest ? g_new(struct iovec, MAX_IOV) : NULL;
    unsigned k = 0;
    uint64_t total = 0;
    if (guest && !entries_to_iov(v, p + 32, n, iov, &k, &total))
        return RESP_ERR_UNSPEC;
    if (guest && total < b.size)
        return RESP_ERR_INVALID_PARAMETER;
    uint32_t st = v->ops->resource_create_blob(v->be, &b, iov, k);
    if (st != RESP_OK_NODATA)
        return st;
    Res3d *x = g_new0(Res3d, 1);
    *x = (Res3d){.bytes = bytes, .backed = guest, .blob = true, .blob_size = b.size,
                 .mappable = !guest && (b.blob_flags & BLOB_FLAG_USE_MAPPABLE), .ctx_id = ctx};
    if (guest) {
        x->iov = g_memdup2(iov, sizeof *iov * k);
        x->niov = k;
    }
    v->g->hostmem += bytes;
    g_hash_table_insert(v->res, GUINT_TO_POINTER(b.resource_id), x);
    return RESP_OK_NODATA;
}

/* RESOURCE_MAP_BLOB: host blob `id` into the shared memory region at `offset` (page
 * aligned, inside the region, over no other mapping), answered with how the host
 * caches it. */
static uint32_t map_blob(V3d *v, const uint8_t *p, uint8_t *resp, size_t *out)
{
    uint32_t id = rd32(p);
    uint64_t offset = rd64(p + 8);
    if (!v->shm || !v3d_can_map(v))
        return RESP_ERR_UNSPEC;
    Res3d *x = res_get(v, id);
    if (!x)
        return RESP_ERR_INVALID_RESOURCE_ID;
    uint64_t window = mosaic_region_size(v->shm);
    uint64_t len = (x->blob_size + PAGE - 1) & ~(uint64_t)(PAGE - 1);
    if (!x->mappable || x->map || offset % PAGE || offset >= window || len > window - offset)
        return RESP_ERR_INVALID_PARAMETER;
    GHashTableIter it;
    gpointer val;
    g_hash_table_iter_init(&it, v->res);
    while (g_hash_table_iter_next(&it, NULL, &val)) {
        Mapping *o = ((Res3d *)val)->map;
        if (o && offset < o->offset + o->len && o->offset < offset + len)
            return RESP_ERR_INVALID_PARAMETER;
    }
    void *host = NULL;
    uint64_t size = 0;
    uint32_t info = 0;
    uint32_t st = v->ops->resource_map(v->be, id, &host, &size, &info);
    if (st != RESP_OK_NODATA)
        return st;
    Mapping *m = g_new0(Mapping, 1);
    *m = (Mapping){.v = v, .id = id, .offset = offset, .len = len};
    if (size < len || ((uintptr_t)host % PAGE)) {
        /* The guest would see past the host's memory: never. */
        mosaic_log("virtio-gpu", 1, "MAP_BLOB of resource %u: the host maps %" G_GUINT64_FORMAT
                   " bytes at %p, the blob needs %" G_GUINT64_FORMAT " page-aligned", id, size,
                   host, len);
        map_release(m);
        return RESP_ERR_UNSPEC;
    }
    g_autofree char *name = g_strdup_printf("gpu-blob-%u", id);
    MosaicError *err = mosaic_error_new();
    m->mr = mosaic_region_new_ram_ptr(name, host, len, map_release, m, err);
    if (!m->mr) {
        mosaic_log("virtio-gpu", 1, "MAP_BLOB of resource %u: %s", id, mosaic_error_message(err));
        mosaic_error_free(err);
        map_release(m);
        return RESP_ERR_UNSPEC;
    }
    if (!mosaic_region_add(v->shm, offset, m->mr, 0, err)) {
        mosaic_error_free(err);
        mosaic_region_unref(m->mr); /* releases m: the backend unmaps */
        return RESP_ERR_INVALID_PARAMETER;
    }
    mosaic_error_free(err);
    x->map = m;
    wr32(resp + HDR_SIZE, info);
    *out = HDR_SIZE + 8;
    return RESP_OK_MAP_INFO;
}

static uint32_t unmap_blob(V3d *v, const uint8_t *p)
{
    Res3d *x = res_get(v, rd32(p));
    if (!x)
        return RESP_ERR_INVALID_RESOURCE_ID;
    if (!x->map)
        return RESP_ERR_INVALID_PARAMETER;
    unmap_one(v, x, false);
    return RESP_OK_NODATA;
}

/* SET_SCANOUT_BLOB of a guest blob: the output shows `width` x `height` pixels of the
 * blob's pages (plane 0: offset, stride), 4 bytes each.  The layout is checked against
 * the blob's size here; the pixels are read on each flush. */
static uint32_t set_scanout_blob(V3d *v, const uint8_t *p)
{
    Rect rc = {rd32(p), rd32(p + 4), rd32(p + 8), rd32(p + 12)};
    uint32_t sid = rd32(p + 16), id = rd32(p + 20), w = rd32(p + 24), h = rd32(p + 28);
    uint32_t format = rd32(p + 32), stride = rd32(p + 40);
    uint64_t offset = rd32(p + 56);
    if (sid >= v->g->num_scanouts)
        return RESP_ERR_INVALID_SCANOUT_ID;
    Scanout *s = &v->g->scanouts[sid];
    if (!id) {
        s->resource_id = 0;
        return RESP_OK_NODATA;
    }
    Res3d *x = res_get(v, id);
    if (!x || !x->blob || !x->iov)
        return RESP_ERR_INVALID_RESOURCE_ID;
    if ((format != 1 && format != 2) || !w || !h || w > MAX_DIMENSION || h > MAX_DIMENSION ||
        stride < (uint64_t)w * 4 ||
        offset + (uint64_t)(h - 1) * stride + (uint64_t)w * 4 > x->blob_size ||
        !rc.w || !rc.h || (uint64_t)rc.x + rc.w > w || (uint64_t)rc.y + rc.h > h)
        return RESP_ERR_INVALID_PARAMETER;
    x->format = format;
    x->width = w;
    x->height = h;
    x->scan_stride = stride;
    x->scan_offset = offset;
    s->resource_id = id;
    s->r = rc;
    return RESP_OK_NODATA;
}

/* Copies `len` bytes at `off` of the pages out (the layout was checked against them). */
static void iov_read(const struct iovec *iov, unsigned n, uint64_t off, uint8_t *dst, size_t len)
{
    for (unsigned i = 0; i < n && len; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        size_t m = MIN(len, iov[i].iov_len - off);
        memcpy(dst, (uint8_t *)iov[i].iov_base + off, m);
        dst += m;
        len -= m;
        off = 0;
    }
}

/* Guest entries -> host iovecs, each piece inside one RAM section. */
static uint32_t attach(V3d *v, const uint8_t *p, size_t body)
{
    uint32_t id = rd32(p), n = rd32(p + 4);
    Res3d *x = res_get(v, id);
    if (!x)
        return RESP_ERR_INVALID_RESOURCE_ID;
    /* A blob's storage is fixed when it is created: the guest's pages for a guest blob,
     * the host's for a host blob (no pages to swap in under the renderer). */
    if (x->backed || x->blob)
        return RESP_ERR_UNSPEC;
    if (!n || n > MAX_BACKING_ENTRIES || (uint64_t)n * 16 > body - 8)
        return RESP_ERR_INVALID_PARAMETER;
    g_autofree struct iovec *iov = g_new(struct iovec, MAX_IOV);
    unsigned k = 0;
    if (!entries_to_iov(v, p + 8, n, iov, &k, NULL))
        return RESP_ERR_UNSPEC;
    uint32_t st = v->ops->attach_backing(v->be, id, iov, k);
    if (st == RESP_OK_NODATA)
        x->backed = true;
    return st;
}

static uint32_t detach(V3d *v, const uint8_t *p)
{
    Res3d *x = res_get(v, rd32(p));
    if (!x)
        return RESP_ERR_INVALID_RESOURCE_ID;
    /* A guest blob's pages are the resource itself: they stay until unref. */
    if (!x->backed || x->iov)
        return RESP_ERR_UNSPEC;
    x->backed = false;
    return v->ops->detach_backing(v->be, rd32(p));
}

static uint32_t transfer(V3d *v, uint32_t ctx, const uint8_t *p, bool to_host)
{
    MosaicGpuTransfer t = {
        .size = sizeof t, .box = {rd32(p), rd32(p + 4), rd32(p + 8), rd32(p + 12), rd32(p + 16), rd32(p + 20)},
        .offset = rd64(p + 24), .resource_id = rd32(p + 32), .level = rd32(p + 36),
        .stride = rd32(p + 40), .layer_stride = rd32(p + 44), .ctx_id = ctx,
    };
    Res3d *x = res_get(v, t.resource_id);
    if (!x)
        return RESP_ERR_INVALID_RESOURCE_ID;
    if (ctx && !ctx_ok(v, ctx))
        return RESP_ERR_INVALID_CONTEXT_ID;
    /* A guest blob has no host storage to transfer to or from. */
    if (!x->backed || x->iov)
        return RESP_ERR_UNSPEC;
    /* The backend checks the box against the resource and the backing's size. */
    return v->ops->transfer(v->be, to_host, &t);
}

static uint32_t submit(V3d *v, uint32_t ctx, const uint8_t *req, size_t len)
{
    uint32_t size = rd32(req + HDR_SIZE);
    if (!ctx_ok(v, ctx))
        return RESP_ERR_INVALID_CONTEXT_ID;
    if (size > MAX_SUBMIT || size > len - HDR_SIZE - 8)
        return RESP_ERR_INVALID_PARAMETER;
    /* An aligned private copy: the backend parses it as dwords. */
    g_autofree uint32_t *cmds = g_malloc(MAX(size, 4u));
    memcpy(cmds, req + HDR_SIZE + 8, size);
    return v->ops->submit(v->be, ctx, cmds, size);
}

static size_t body_3d(uint32_t type)
{
    switch (type) {
    case CMD_GET_CAPSET_INFO: case CMD_GET_CAPSET: return 8;
    case CMD_CTX_CREATE: return 72;
    case CMD_CTX_DESTROY: return 0;
    case CMD_CTX_ATTACH_RESOURCE: case CMD_CTX_DETACH_RESOURCE: return 8;
    case CMD_RESOURCE_CREATE_3D: return 48;
    case CMD_TRANSFER_TO_HOST_3D: case CMD_TRANSFER_FROM_HOST_3D: return 48;
    case CMD_SUBMIT_3D: return 8;
    case CMD_RESOURCE_CREATE_BLOB: return 32;
    case CMD_SET_SCANOUT_BLOB: return 72;
    case CMD_RESOURCE_UNREF: case CMD_RESOURCE_DETACH_BACKING: return 8;
    case CMD_RESOURCE_ATTACH_BACKING: return 8;
    case CMD_RESOURCE_MAP_BLOB: return 16;
    case CMD_RESOURCE_UNMAP_BLOB: return 8;
    case CMD_RESOURCE_ASSIGN_UUID: return 8;
    default: return SIZE_MAX;
    }
}

static uint32_t command(void *o, uint32_t type, const uint8_t *req, size_t len, uint8_t *resp,
                        size_t cap, size_t *out)
{
    V3d *v = o;
    size_t need = body_3d(type);
    if (need == SIZE_MAX || len < HDR_SIZE || len - HDR_SIZE < need || cap < RESP_MAX)
        return RESP_ERR_UNSPEC;
    uint32_t ctx = rd32(req + 16);
    const uint8_t *p = req + HDR_SIZE;
    switch (type) {
    case CMD_GET_CAPSET_INFO: return capset_info(v, p, resp, out);
    case CMD_GET_CAPSET: return get_capset(v, p, resp, cap, out);
    case CMD_CTX_CREATE: return ctx_create(v, ctx, p);
    case CMD_CTX_DESTROY: return ctx_destroy(v, ctx);
    case CMD_CTX_ATTACH_RESOURCE: return ctx_resource(v, ctx, p, true);
    case CMD_CTX_DETACH_RESOURCE: return ctx_resource(v, ctx, p, false);
    case CMD_RESOURCE_CREATE_3D: return create_3d(v, p);
    case CMD_TRANSFER_TO_HOST_3D: return transfer(v, ctx, p, true);
    case CMD_TRANSFER_FROM_HOST_3D: return transfer(v, ctx, p, false);
    case CMD_SUBMIT_3D: return submit(v, ctx, req, len);
    case CMD_RESOURCE_CREATE_BLOB:
        return v->ops->resource_create_blob ? create_blob(v, ctx, p, len - HDR_SIZE)
                                            : RESP_ERR_UNSPEC;
    case CMD_SET_SCANOUT_BLOB: return set_scanout_blob(v, p);
    case CMD_RESOURCE_UNREF: return unref(v, p);
    case CMD_RESOURCE_ATTACH_BACKING: return attach(v, p, len - HDR_SIZE);
    case CMD_RESOURCE_DETACH_BACKING: return detach(v, p);
    case CMD_RESOURCE_MAP_BLOB: return map_blob(v, p, resp, out);
    case CMD_RESOURCE_UNMAP_BLOB: return unmap_blob(v, p);
    case CMD_RESOURCE_ASSIGN_UUID: {
        Res3d *x = res_get(v, rd32(p));
        if (!x)
            return RESP_ERR_INVALID_RESOURCE_ID;
        *out = vgpu_uuid_answer(x->uuid, &x->has_uuid, resp);
        return RESP_OK_RESOURCE_UUID;
    }
    default: return RESP_ERR_UNSPEC;
    }
}

static bool read_pixels(void *o, uint32_t id, const Rect *r, uint8_t *dst, uint32_t *format)
{
    V3d *v = o;
    Res3d *x = res_get(v, id);
    if (!x || !v->ops->read_pixels || (uint64_t)r->x + r->w > x->width ||
        (uint64_t)r->y + r->h > MAX(x->height, 1u))
        return false;
    /* The display takes 4 bytes a pixel: the eight 32-bit formats, whose virgl codes
     * match virtio-gpu's (B8G8R8A8 1, B8G8R8X8 2, ...). */
    static const uint32_t four_byte[] = {1, 2, 3, 4, 67, 68, 121, 134};
    bool fits = false;
    for (unsigned i = 0; i < G_N_ELEMENTS(four_byte); i++)
        fits |= x->format == four_byte[i];
    if (!fits)
        return false;
    *format = x->format;
    if (x->blob) {
        if (!x->iov || !x->scan_stride)
            return false;
        for (uint32_t y = 0; y < r->h; y++)
            iov_read(x->iov, x->niov,
                     x->scan_offset + (uint64_t)(r->y + y) * x->scan_stride + (uint64_t)r->x * 4,
                     dst + (size_t)y * r->w * 4, (size_t)r->w * 4);
        return true;
    }
    return v->ops->read_pixels(v->be, id, r->x, r->y, r->w, r->h, dst, r->w * 4);
}

static void reset(void *o)
{
    V3d *v = o;
    GHashTableIter it;
    gpointer k, val;
    g_hash_table_iter_init(&it, v->ctxs);
    while (g_hash_table_iter_next(&it, &k, NULL))
        v->ops->ctx_destroy(v->be, GPOINTER_TO_UINT(k));
    g_hash_table_remove_all(v->ctxs);
    g_hash_table_iter_init(&it, v->res);
    while (g_hash_table_iter_next(&it, &k, &val))
        unref_one(v, GPOINTER_TO_UINT(k), val);
    g_hash_table_remove_all(v->res);
}

V3d *v3d_open(VGpu *g, MosaicAddressSpace *dma, const char *name, bool venus, const char *where,
              void (*fence_done)(void *opaque, uint64_t fence_id),
              void (*ring_fence_done)(void *opaque, uint32_t ctx_id, uint32_t ring_idx,
                                      uint64_t fence_id),
              void *opaque, MosaicError *err)
{
    MosaicGpuBackendOps *ops = mosaic_gpu_backend_find(name, err);
    if (!ops)
        return NULL;
    V3d *v = g_new0(V3d, 1);
    v->g = g;
    v->dma = dma;
    v->ops = ops;
    v->fence_done = fence_done;
    v->opaque = opaque;
    MosaicGpuConfig cfg = {.size = sizeof cfg, .venus = venus, .where = where};
    MosaicGpuCallbacks cb = {.size = sizeof cb, .fence_done = fence_done,
                             .context_fence_done = ring_fence_done};
    v->be = ops->open(&cfg, &cb, opaque, err);
    if (!v->be) {
        mosaic_free(ops);
        g_free(v);
        return NULL;
    }
    uint32_t id, ver, size;
    while (v->ops->capset_info(v->be, v->ncapsets, &id, &ver, &size))
        v->ncapsets++;
    v->res = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, res3d_free);
    v->ctxs = g_hash_table_new(g_direct_hash, g_direct_equal);
    v->ext = (VGpuExt){.opaque = v, .owns = owns, .command = command,
                       .read_pixels = read_pixels, .reset = reset};
    return v;
}

void v3d_close(V3d *v)
{
    reset(v);
    v->ops->close(v->be);
    g_hash_table_destroy(v->res);
    g_hash_table_destroy(v->ctxs);
    mosaic_free(v->ops);
    g_free(v);
}

const VGpuExt *v3d_ext(V3d *v) { return &v->ext; }
uint32_t v3d_num_capsets(V3d *v) { return v->ncapsets; }
bool v3d_blobs(V3d *v) { return v->ops->resource_create_blob != NULL; }
bool v3d_can_map(V3d *v)
{
    return v->ops->resource_create_blob && v->ops->resource_map && v->ops->resource_unmap;
}
void v3d_set_shm(V3d *v, MosaicRegion *shm) { v->shm = shm; }

uint32_t v3d_create_fence(V3d *v, uint32_t ctx_id, uint32_t ring_idx, uint64_t fence_id)
{
    /* A fenced 2D command carries whatever ctx_id the guest wrote: a fence on a context
     * that does not exist might never retire, so it goes on the global timeline. */
    if (!ctx_ok(v, ctx_id))
        ctx_id = 0;
    return v->ops->create_fence(v->be, ctx_id, ring_idx, fence_id);
}

uint32_t v3d_create_ring_fence(V3d *v, uint32_t ctx_id, uint32_t ring_idx, uint64_t fence_id)
{
    if (!ctx_ok(v, ctx_id))
        return RESP_ERR_INVALID_CONTEXT_ID;
    if (ring_idx >= MOSAIC_GPU_MAX_RINGS)
        return RESP_ERR_INVALID_PARAMETER;
    return v->ops->create_context_fence(v->be, ctx_id, ring_idx, fence_id);
}

bool v3d_ring_fences(V3d *v) { return v->ops->create_context_fence != NULL; }
bool v3d_ctx_exists(V3d *v, uint32_t ctx_id) { return ctx_ok(v, ctx_id); }

void v3d_poll(V3d *v)
{
    v->ops->poll(v->be);
}
