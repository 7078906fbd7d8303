/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target for virtio-gpu's 3D and blob command decoding (vgpu3d.c behind gpu2d.c):
 * CTX_CREATE/DESTROY/ATTACH/DETACH, RESOURCE_CREATE_3D, TRANSFER_*_3D, SUBMIT_3D,
 * RESOURCE_CREATE_BLOB, SET_SCANOUT_BLOB, MAP/UNMAP_BLOB, capsets, and the 2D commands on
 * 3D resources (unref, backing, flush).  Input format as fuzz-gpu-cmd.c: requests, each
 * a 16-bit little-endian length and that many bytes, run in order on one device.
 *
 * Guest memory is a fake address space: 1 MiB of RAM at 0x80000000, a ROM page at
 * 0x20000000 and MMIO (no host pointer) at 0x10000000.  The backend is a checking one:
 * it keeps its own record of what the device created and aborts when the device hands
 * it anything the device should have refused (an unknown or destroyed context or
 * resource, a backing piece outside the RAM, a blob smaller than its pages, a pixel
 * rect outside the resource, an oversized submission, a map of a resource that is not
 * a mappable host blob, an unref or second map of a mapped one).  The shared memory
 * window is a fake container of 64 KiB that aborts on overlapping or out-of-range
 * mappings, and releases a mapping (the backend's unmap) when its last reference goes,
 * as the core does on the main loop.  It touches every byte it is
 * given, so ASan sees any pointer outside guest RAM.  virglrenderer itself is not in
 * this loop: its own parsing is its project's to fuzz.
 *
 * libFuzzer: fuzz/build.sh.  -DFUZZ_STANDALONE: N random request sequences from a seed
 * (tests/system/test_gpu_fuzz.py):  fuzz-gpu-3d-standalone ITERATIONS SEED */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mosaic/gpu.h>
#include <mosaic/memory.h>
#include "../gpu2d.h"
#include "../vgpu3d.h"
#include "fuzz-common.h"
#define ROM_BASE 0x20000000ull
#define MMIO_BASE 0x10000000ull

static uint8_t *ram, rom[4096];
static unsigned long outcomes[2];
static unsigned long by_type[0x300][2]; /* requests 0x100..0x2ff: ok, error */

/* ---- the fake address space and SDK calls vgpu3d.c makes ---- */

bool mosaic_as_lookup(MosaicAddressSpace *as, uint64_t addr, MosaicMemSection *out)
{
    if (addr - RAM_BASE < RAM_SIZE)
        *out = (MosaicMemSection){.base = RAM_BASE, .size = RAM_SIZE, .host = ram};
    else if (addr - ROM_BASE < sizeof rom)
        *out = (MosaicMemSection){.base = ROM_BASE, .size = sizeof rom, .host = rom,
                                  .readonly = true};
    else if (addr - MMIO_BASE < 0x9000)
        *out = (MosaicMemSection){.base = MMIO_BASE, .size = 0x9000};
    else
        return false;
    return true;
}

void mosaic_free(void *p) { free(p); }

void mosaic_error_set(MosaicError *err, const char *fmt, ...) { abort(); }
MosaicError *mosaic_error_new(void) { return (MosaicError *)malloc(1); }
void mosaic_error_free(MosaicError *err) { free(err); }
const char *mosaic_error_message(const MosaicError *err) { return "fake"; }
void mosaic_log(const char *domain, int level, const char *fmt, ...) {}

/* ---- the fake shared memory window: RAM-over-host-pointer regions in a container ---- */

#define SHM_SIZE 0x10000u
struct MosaicRegion {
    int refs;
    bool in_window;
    uint64_t addr, size;
    uint8_t *host;
    void (*release)(void *);
    void *opaque;
};
static MosaicRegion shm = {.refs = 1, .size = SHM_SIZE};
static GPtrArray *mapped; /* MosaicRegion* in the window */
static unsigned live_regions;

static void bug(const char *what);

MosaicRegion *mosaic_region_new_ram_ptr(const char *name, void *host, uint64_t size,
                                        void (*release)(void *), void *opaque, MosaicError *err)
{
    if (!host || (uintptr_t)host % 4096 || !size || size % 4096 || !release)
        bug("a bad host mapping");
    MosaicRegion *r = calloc(1, sizeof *r);
    *r = (MosaicRegion){.refs = 1, .size = size, .host = host, .release = release, .opaque = opaque};
    volatile uint8_t sink = 0;
    for (uint64_t k = 0; k < size; k += 1024) /* ASan: all of it is the backend's */
        sink ^= r->host[k];
    live_regions++;
    return r;
}

bool mosaic_region_add(MosaicRegion *c, uint64_t addr, MosaicRegion *sub, int prio, MosaicError *e)
{
    if (c != &shm || sub->in_window || addr % 4096 || addr >= SHM_SIZE || sub->size > SHM_SIZE - addr)
        bug("a mapping outside the window");
    for (guint i = 0; i < mapped->len; i++) {
        MosaicRegion *o = g_ptr_array_index(mapped, i);
        if (addr < o->addr + o->size && o->addr < addr + sub->size)
            bug("overlapping mappings");
    }
    sub->in_window = true;
    sub->addr = addr;
    sub->refs++;
    g_ptr_array_add(mapped, sub);
    return true;
}

void mosaic_region_unref(MosaicRegion *r)
{
    if (r && --r->refs == 0) {
        live_regions--;
        r->release(r->opaque); /* no vCPU here: released at once */
        free(r);
    }
}

void mosaic_region_del(MosaicRegion *c, MosaicRegion *sub)
{
    if (c != &shm || !g_ptr_array_remove(mapped, sub))
        bug("an unmap of what is not mapped");
    sub->in_window = false;
    mosaic_region_unref(sub);
}

uint64_t mosaic_region_size(const MosaicRegion *r) { return r->size; }

/* ---- the checking backend ---- */

typedef struct Rec {
    bool live, backed, blob, mappable;
    uint32_t width, height;
    uint8_t *map;            /* while mapped: 8 KiB the "GPU" owns */
} Rec;
static GHashTable *ctxs;                /* the backend's own record */
static GHashTable *recs;                /* id -> Rec* */

static void bug(const char *what)
{
    fprintf(stderr, "device passed the backend %s\n", what);
    abort();
}

static Rec *rec(uint32_t id)
{
    Rec *r = g_hash_table_lookup(recs, GUINT_TO_POINTER(id));
    if (!r)
        bug("an unknown resource");
    return r;
}

/* Every byte of the pieces must be inside writable fake RAM; reading them all lets ASan
 * check the pointers too. */
static uint64_t touch_iov(const struct iovec *iov, unsigned n)
{
    uint64_t sum = 0;
    volatile uint8_t sink = 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *b = iov[i].iov_base;
        if (b < ram || b + iov[i].iov_len > ram + RAM_SIZE || b + iov[i].iov_len < b)
            bug("a backing piece outside guest RAM");
        for (size_t k = 0; k < iov[i].iov_len; k += 509)
            sink ^= b[k];
        if (iov[i].iov_len)
            sink ^= b[iov[i].iov_len - 1];
        sum += iov[i].iov_len;
    }
    return sum;
}

static void *be_open(const MosaicGpuConfig *c, const MosaicGpuCallbacks *cb, void *o,
                     MosaicError *e)
{
    ctxs = g_hash_table_new(g_direct_hash, g_direct_equal);
    recs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    return ctxs;
}

static void be_close(void *be)
{
    if (g_hash_table_size(ctxs) || g_hash_table_size(recs))
        bug("nothing at close: contexts or resources left over");
    g_hash_table_destroy(ctxs);
    g_hash_table_destroy(recs);
}

static bool be_capset_info(void *be, uint32_t i, uint32_t *id, uint32_t *ver, uint32_t *size)
{
    if (i > 1)
        return false;
    *id = i + 1, *ver = i + 1, *size = i ? 1376 : 308;
    return true;
}

static uint32_t be_get_capset(void *be, uint32_t id, uint32_t ver, void *buf, uint32_t size)
{
    uint32_t n = id == 1 ? 308 : id == 2 ? 1376 : 0;
    n = MIN(n, size);
    memset(buf, 0x5a, n);
    return n;
}

static uint32_t be_ctx_create(void *be, uint32_t ctx, uint32_t capset, const char *name)
{
    if (!ctx || g_hash_table_contains(ctxs, GUINT_TO_POINTER(ctx)))
        bug("CTX_CREATE of a bad id");
    if (strlen(name) > 64)
        bug("a context name longer than 64");
    if (capset > 2)
        return MOSAIC_GPU_ERR_INVALID_PARAMETER;
    g_hash_table_add(ctxs, GUINT_TO_POINTER(ctx));
    return MOSAIC_GPU_OK;
}

static void need_ctx(uint32_t ctx)
{
    if (!g_hash_table_contains(ctxs, GUINT_TO_POINTER(ctx)))
        bug("an unknown context");
}

static uint32_t be_ctx_destroy(void *be, uint32_t ctx)
{
    need_ctx(ctx);
    g_hash_table_remove(ctxs, GUINT_TO_POINTER(ctx));
    return MOSAIC_GPU_OK;
}

static uint32_t be_ctx_res(void *be, uint32_t ctx, uint32_t id)
{
    need_ctx(ctx);
    rec(id);
    return MOSAIC_GPU_OK;
}

static uint32_t be_create_3d(void *be, const MosaicGpuResource3d *r)
{
    if (g_hash_table_contains(recs, GUINT_TO_POINTER(r->resource_id)) || !r->resource_id)
        bug("RESOURCE_CREATE_3D of a bad id");
    if (r->format > 200)
        return MOSAIC_GPU_ERR_INVALID_PARAMETER; /* what virglrenderer does with bad formats */
    Rec *x = g_new0(Rec, 1);
    *x = (Rec){.live = true, .width = r->width, .height = MAX(r->height, 1u)};
    g_hash_table_insert(recs, GUINT_TO_POINTER(r->resource_id), x);
    return MOSAIC_GPU_OK;
}

static uint32_t be_unref(void *be, uint32_t id)
{
    if (rec(id)->map)
        bug("an unref of a mapped resource before its unmap");
    g_hash_table_remove(recs, GUINT_TO_POINTER(id));
    return MOSAIC_GPU_OK;
}

static uint32_t be_attach(void *be, uint32_t id, const struct iovec *iov, unsigned n)
{
    Rec *x = rec(id);
    if (x->backed || x->blob)
        bug("a second backing");
    touch_iov(iov, n);
    x->backed = true;
    return MOSAIC_GPU_OK;
}

static uint32_t be_detach(void *be, uint32_t id)
{
    Rec *x = rec(id);
    if (!x->backed || x->blob)
        bug("DETACH of an unbacked resource or a blob");
    x->backed = false;
    return MOSAIC_GPU_OK;
}

static uint32_t be_transfer(void *be, bool to_host, const MosaicGpuTransfer *t)
{
    Rec *x = rec(t->resource_id);
    if (!x->backed || x->blob)
        bug("a transfer without backing");
    if (t->ctx_id)
        need_ctx(t->ctx_id);
    /* The backend checks the box (virglrenderer does): the device need not. */
    return (uint64_t)t->box.x + t->box.w <= x->width ? MOSAIC_GPU_OK
                                                      : MOSAIC_GPU_ERR_INVALID_PARAMETER;
}

static uint32_t be_submit(void *be, uint32_t ctx, const void *cmds, uint32_t size)
{
    need_ctx(ctx);
    if (size > (16u << 20))
        bug("an oversized submission");
    volatile uint32_t sink = 0;
    for (uint32_t i = 0; i + 4 <= size; i += 4)
        sink ^= ((const uint32_t *)cmds)[i / 4];
    return size % 8 ? MOSAIC_GPU_ERR_INVALID_PARAMETER : MOSAIC_GPU_OK;
}

static uint32_t be_fence(void *be, uint32_t ctx, uint32_t ring, uint64_t id)
{
    if (ctx)
        need_ctx(ctx);
    return MOSAIC_GPU_OK;
}

/* Ring fences reach the backend only for a context it has and a ring below 64. */
static uint32_t be_ring_fence(void *be, uint32_t ctx, uint32_t ring, uint64_t id)
{
    need_ctx(ctx);
    if (ring >= MOSAIC_GPU_MAX_RINGS)
        bug("a fence on a ring >= 64");
    return ring ? MOSAIC_GPU_ERR_INVALID_PARAMETER : MOSAIC_GPU_OK;
}

static void be_poll(void *be) {}

static bool be_read_pixels(void *be, uint32_t id, uint32_t x, uint32_t y, uint32_t w,
                           uint32_t h, void *dst, uint32_t stride)
{
    Rec *r = rec(id);
    if (r->blob || (uint64_t)x + w > r->width || (uint64_t)y + h > r->height || stride < w * 4)
        bug("a pixel rect outside the resource");
    for (uint32_t row = 0; row < h; row++)
        memset((uint8_t *)dst + (size_t)row * stride, 0x33, (size_t)w * 4);
    return true;
}

static uint32_t be_create_blob(void *be, const MosaicGpuBlob *b, const struct iovec *iov,
                               unsigned n)
{
    if (!b->resource_id || g_hash_table_contains(recs, GUINT_TO_POINTER(b->resource_id)))
        bug("RESOURCE_CREATE_BLOB of a bad id");
    if (b->ctx_id)
        need_ctx(b->ctx_id);
    if (b->blob_mem < 1 || b->blob_mem > 3)
        bug("an unknown blob_mem");
    if (iov ? touch_iov(iov, n) < b->size : b->blob_mem != 2)
        bug("a guest blob with fewer pages than its size, or a host blob with pages");
    if (b->blob_id > 1000)
        return MOSAIC_GPU_ERR_INVALID_PARAMETER; /* no such blob in the context */
    Rec *x = g_new0(Rec, 1);
    *x = (Rec){.live = true, .blob = true, .mappable = b->blob_mem == 2 && (b->blob_flags & 1)};
    g_hash_table_insert(recs, GUINT_TO_POINTER(b->resource_id), x);
    return MOSAIC_GPU_OK;
}

/* Odd blob ids stand for buffers the host cannot map (not made persistent). */
static uint32_t be_map(void *be, uint32_t id, void **ptr, uint64_t *size, uint32_t *info)
{
    Rec *x = rec(id);
    if (!x->mappable || x->map)
        bug("a map of a resource that is not a mappable host blob, or mapped already");
    if (id % 2)
        return MOSAIC_GPU_ERR_INVALID_PARAMETER;
    x->map = aligned_alloc(4096, 8192);
    memset(x->map, 0x77, 8192);
    *ptr = x->map;
    *size = 8192;
    *info = MOSAIC_GPU_MAP_CACHE_CACHED;
    return MOSAIC_GPU_OK;
}

static uint32_t be_unmap(void *be, uint32_t id)
{
    Rec *x = rec(id);
    if (!x->map)
        bug("an unmap of a resource that is not mapped");
    free(x->map); /* ASan: any later use of the pointer is caught */
    x->map = NULL;
    return MOSAIC_GPU_OK;
}

static const MosaicGpuBackendOps checking_ops = {
    .size = sizeof(MosaicGpuBackendOps), .open = be_open, .close = be_close,
    .capset_info = be_capset_info, .get_capset = be_get_capset, .ctx_create = be_ctx_create,
    .ctx_destroy = be_ctx_destroy, .ctx_attach_resource = be_ctx_res,
    .ctx_detach_resource = be_ctx_res, .resource_create_3d = be_create_3d,
    .resource_unref = be_unref, .attach_backing = be_attach, .detach_backing = be_detach,
    .transfer = be_transfer, .submit = be_submit, .create_fence = be_fence, .poll = be_poll,
    .read_pixels = be_read_pixels, .resource_create_blob = be_create_blob,
    .resource_map = be_map, .resource_unmap = be_unmap, .create_context_fence = be_ring_fence,
};

MosaicGpuBackendOps *mosaic_gpu_backend_find(const char *name, MosaicError *err)
{
    MosaicGpuBackendOps *o = malloc(sizeof *o);
    *o = checking_ops;
    return o;
}

static void fence_done(void *o, uint64_t id) {}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ram = fuzz_ram();
    VGpu g;
    VGpuMem mem = {0};
    vgpu_init(&g, &mem, 2, 64, 48, 64u << 20);
    V3d *v = v3d_open(&g, NULL, "checking", false, "fuzz", fence_done, NULL, NULL, NULL);
    g.ext = v3d_ext(v);
    if (!mapped)
        mapped = g_ptr_array_new();
    v3d_set_shm(v, &shm);
    static uint8_t resp[RESP_MAX + 64];
    size_t pos = 0, n;
    uint8_t *req;
    while ((req = fuzz_next_request(data, size, &pos, &n))) {
        memset(resp, 0xa5, sizeof resp);
        size_t out = vgpu_command(&g, req, n, resp, RESP_MAX);
        /* What gpu.c does with a fenced request (ring fences checked there first). */
        if (n >= HDR_SIZE && rd32(req + 4) & GPU_FLAG_FENCE) {
            if (rd32(req + 4) & GPU_FLAG_INFO_RING_IDX)
                v3d_create_ring_fence(v, rd32(req + 16), req[20], rd64(req + 8));
            else
                v3d_create_fence(v, rd32(req + 16), req[20], rd64(req + 8));
        }
        uint32_t type = n >= 4 ? rd32(req) : 0;
        free(req);
        if (out > RESP_MAX || resp[RESP_MAX] != 0xa5)
            abort(); /* wrote past the response buffer */
        if (out) {
            bool err = rd32(resp) >= RESP_ERR_UNSPEC;
            outcomes[err]++;
            if (type < G_N_ELEMENTS(by_type))
                by_type[type][err]++;
        }
        vgpu_capture(&g, 0); /* what a screendump reads */
    }
    g.ext = NULL;
    v3d_close(v);
    vgpu_destroy(&g);
    if (mapped->len || live_regions)
        bug("mappings left after close");
    return 0;
}

#ifdef FUZZ_STANDALONE
static uint32_t setup_id; /* the setup requests' resource id, else 0 */
static uint32_t id(void) { return setup_id ? setup_id : next() % 8 ? 1 + next() % 3 : field(); }

static bool hostile; /* this request's pages may be anywhere */

static uint64_t gpa(void)
{
    if (!hostile)
        return RAM_BASE + (next() % RAM_SIZE & ~0xfffu) % (RAM_SIZE - 65536);
    switch (next() % 6) {
    case 0: case 1: return RAM_BASE + (next() % RAM_SIZE & ~0xfffu);
    case 2: return RAM_BASE + next() % (RAM_SIZE + 8192);
    case 3: return ROM_BASE + next() % 8192;
    case 4: return MMIO_BASE + next() % 0x9000;
    default: return (uint64_t)next() << 32 | next();
    }
}

/* One request at p + 2 (its length in p[0..1]). */
static size_t one(uint8_t *p, uint32_t want)
{
    static const uint32_t types[] = {0x200, 0x201, 0x202, 0x203, 0x204, 0x204, 0x205, 0x206, 0x102, 0x106,
                                     0x207, 0x207, 0x208, 0x208, 0x208, 0x209, 0x209, 0x10c,
                                     0x10c, 0x10c, 0x10d, 0x102,
                                     0x104, 0x106, 0x107, 0x108, 0x109, 0x103, 0x20a, 0x10b};
    uint32_t type = want ? want : types[next() % G_N_ELEMENTS(types)];
    uint8_t *b = p + 2 + HDR_SIZE;
    size_t body = 4 * (next() % 20);
    memset(p, 0, 2 + HDR_SIZE + 8 + 16 * 64 + 256);
    wr32(p + 2, type);
    /* FENCE now and then, with INFO_RING_IDX half of those times. */
    wr32(p + 6, !setup_id && next() % 3 == 0 ? 1 | (next() % 2) << 1 : 0);
    wr64(p + 10, next());
    wr32(p + 18, setup_id || next() % 4 ? 1 : next() % 2 ? 2 : next() % 2 ? 0 : field());
    p[22] = (uint8_t)(next() % 4 ? next() % 3 : next());
    for (unsigned i = 0; i < 18; i++)
        wr32(b + 4 * i, field());
    switch (type) {
    case 0x200:
        wr32(b, next() % 4 ? next() % 65 : field());
        wr32(b + 4, next() % 4 ? next() % 3 : field());
        body = next() % 8 ? 72 : body;
        break;
    case 0x202: case 0x203: case 0x102: case 0x107: case 0x209: case 0x10b:
        wr32(b, id());
        body = next() % 8 ? 8 : body;
        break;
    case 0x204:
        wr32(b, id());
        wr32(b + 8, next() % 4 ? 1 + next() % 4 : field());
        wr32(b + 16, next() % 4 ? 1 + next() % 64 : field());
        wr32(b + 20, next() % 4 ? next() % 49 : field());
        for (unsigned k = 24; k < 44; k += 4)
            wr32(b + k, next() % 16 ? next() % 2 : field());
        body = next() % 8 ? 48 : body;
        break;
    case 0x205: case 0x206:
        wr32(b + 32, next() % 2 ? 1 : id()); /* the setup's backed resource */
        for (unsigned k = 0; k < 24; k += 4)
            wr32(b + k, next() % 4 ? next() % 65 : field());
        body = next() % 8 ? 48 : body;
        break;
    case 0x207: {
        uint32_t n = next() % 8 ? 4 * (next() % 64) : field();
        wr32(b, n);
        for (unsigned k = 8; k < 8 + 256; k += 4)
            wr32(b + k, next());
        body = next() % 8 ? 8 + MIN(n, 256u) : body;
        break;
    }
    case 0x208:
        wr32(b, id());
        wr64(b + 8, next() % 4 ? 4096 * (uint64_t)(next() % 20) :
                    next() % 2 ? next() % 8192 : (uint64_t)field() << 32 | field());
        body = next() % 8 ? 16 : body;
        break;
    case 0x10c: case 0x106: {
        bool blob = type == 0x10c;
        hostile = !setup_id && next() % 4 == 0;
        unsigned sent = next() % 4 ? 1 + next() % 8 : next() % 65;
        uint32_t nent = next() % 5 ? sent : field();
        wr32(b, id());
        if (blob) {
            wr32(b + 4, next() % 5 ? 1 + next() % 3 : field()); /* blob_mem */
            wr32(b + 8, next() % 3 ? next() % 8 : field()); /* flags (1: USE_MAPPABLE) */
            wr32(b + 12, nent);
            wr64(b + 16, next() % 3 ? next() % 4 : field());
            wr64(b + 24, next() % 4 ? 1 + next() % (sent * 4096 + 1)
                                    : (uint64_t)field() << 32 | field());
        } else {
            wr32(b + 4, nent);
        }
        if (blob && next() % 3 == 0) {
            /* A mappable host blob (even ids map, odd ones the host refuses). */
            sent = 0;
            wr32(b + 4, 2);
            wr32(b + 8, 1);
            wr32(b + 12, 0);
            wr64(b + 24, 4096 * (1 + next() % 3));
        }
        uint8_t *e = b + (blob ? 32 : 8);
        for (unsigned i = 0; i < sent; i++) {
            wr64(e + 16 * i, gpa());
            wr32(e + 8 + 16 * i, next() % 3 ? 4096 : field());
        }
        body = (size_t)(e - b) + 16 * sent - (next() % 6 ? 0 : next() % 16);
        break;
    }
    case 0x10d:
        wr32(b, next() % 2), wr32(b + 4, next() % 2);
        wr32(b + 8, 1 + next() % 8), wr32(b + 12, 1 + next() % 8);
        wr32(b + 16, next() % 4 ? next() % 2 : field());
        wr32(b + 20, next() % 6 ? id() : 0);
        wr32(b + 24, next() % 4 ? 1 + next() % 16 : field());
        wr32(b + 28, next() % 4 ? 1 + next() % 16 : field());
        wr32(b + 32, next() % 4 ? 1 + next() % 2 : field());
        wr32(b + 40, next() % 4 ? 64 * (next() % 3) : field());
        wr32(b + 56, next() % 4 ? next() % 64 : field());
        body = next() % 8 ? 72 : body;
        break;
    case 0x103: /* SET_SCANOUT (2D) of a 3D resource */
        wr32(b, 0), wr32(b + 4, 0), wr32(b + 8, 1 + next() % 16), wr32(b + 12, 1 + next() % 16);
        wr32(b + 16, next() % 2), wr32(b + 20, id());
        body = 24;
        break;
    case 0x104: /* RESOURCE_FLUSH */
        wr32(b, 0), wr32(b + 4, 0), wr32(b + 8, 1 + next() % 16), wr32(b + 12, 1 + next() % 16);
        wr32(b + 16, id());
        body = 24;
        break;
    case 0x108: case 0x109:
        wr32(b, next() % 3);
        wr32(b + 4, next() % 3);
        body = 8;
        break;
    }
    size_t len = HDR_SIZE + body;
    p[0] = (uint8_t)len;
    p[1] = (uint8_t)(len >> 8);
    return 2 + len;
}

int main(int argc, char **argv)
{
    unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;
    rng = (argc > 2 ? strtoull(argv[2], NULL, 0) : 1) * 0x9e3779b97f4a7c15ull | 1;
    static uint8_t buf[66 * (2 + HDR_SIZE + 8 + 16 * 64 + 256)];
    for (unsigned long i = 0; i < iters; i++) {
        size_t size = 0;
        unsigned cmds = 1 + next() % 60;
        /* Mostly a context, a 3D resource and its backing first: later requests use them. */
        static const uint32_t setup[] = {0x200, 0x204, 0x106, 0x204, 0x10c};
        for (unsigned c = 0; c < G_N_ELEMENTS(setup) && next() % 8; c++) {
            setup_id = 1 + c / 3;
            size += one(buf + size, setup[c]);
        }
        setup_id = 0;
        for (unsigned c = 0; c < cmds; c++)
            size += one(buf + size, 0);
        if (next() % 16 == 0) /* raw noise now and then */
            for (size_t k = 0; k < size; k++)
                if (next() % 64 == 0)
                    buf[k] = (uint8_t)next();
        LLVMFuzzerTestOneInput(buf, size);
    }
    printf("%lu inputs, %lu ok, %lu errors\n", iters, outcomes[0], outcomes[1]);
    for (unsigned t = 0x100; t < G_N_ELEMENTS(by_type); t++)
        if (by_type[t][0] || by_type[t][1])
            printf("type 0x%x: %lu ok, %lu errors\n", t, by_type[t][0], by_type[t][1]);
    return 0;
}
#endif
