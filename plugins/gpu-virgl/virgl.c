/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mosaic-gpu-virgl.so: the gpu backend (mosaic/gpu.h) on virglrenderer.
 *
 * virglrenderer runs headless on EGL with VIRGL_RENDERER_USE_SURFACELESS (plain EGL and
 * GLX need a display); with no GPU Mesa picks llvmpipe (GL 4.5 core / GLES 3.2 here).
 * A DRM render node found through libdrm is used when there is one (EGL on GBM).
 * Fences are retired by virgl_renderer_poll(), which the device calls from a timer
 * (no THREAD_SYNC: every callback arrives on the main loop thread).
 *
 * Venus (Vulkan contexts, capset 4) is offered when asked for.  virglrenderer moves
 * Venus into a render server process with VIRGL_RENDERER_RENDER_SERVER, which needs
 * /usr/libexec/virgl_render_server: Debian 12 does not ship it, and Venus contexts then
 * fail to create; without the server binary Venus runs in process. */
#define VIRGL_RENDERER_UNSTABLE_APIS
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <virglrenderer.h>
#include <mosaic/gpu.h>
#include "egl-probe.h"
#include "render-node.h"

#define LOG "gpu-virgl"

/* virglrenderer.h declares struct virgl_box without its fields; it is six uint32_t
 * (x, y, z, w, h, d), the layout of MosaicGpuBox. */
#define BOX(b) ((struct virgl_box *)(void *)(b))
G_STATIC_ASSERT(sizeof(MosaicGpuBox) == 24);

#define RENDER_SERVER_PATH "/usr/libexec/virgl_render_server"

typedef struct Virgl {
    MosaicGpuCallbacks cb;
    void *opaque;
    uint32_t capsets[3];
    unsigned ncapsets;
    GQueue fences;        /* uint64_t* fence ids created, oldest first */
    int drm_fd;           /* the render node for virglrenderer's GBM path, or -1 */
} Virgl;

/* virglrenderer's state is process-wide: one backend instance at a time. */
static Virgl *the;

/* virglrenderer reports the 32-bit fence ids of virgl_renderer_create_fence in order:
 * the device's 64-bit ids are matched by their low half, oldest first. */
static void write_fence(void *cookie, uint32_t fence)
{
    Virgl *v = cookie;
    uint64_t *id;
    while ((id = g_queue_pop_head(&v->fences))) {
        bool last = (uint32_t)*id == fence;
        uint64_t done = *id;
        g_free(id);
        if (last) {
            v->cb.fence_done(v->opaque, done);
            return;
        }
    }
}

/* A context's ring fence (virgl_renderer_context_create_fence) retired: fences made
 * MERGEABLE, so it stands for every earlier one of that ring. */
static void write_context_fence(void *cookie, uint32_t ctx_id, uint32_t ring_idx,
                                uint64_t fence_id)
{
    Virgl *v = cookie;
    if (v->cb.context_fence_done)
        v->cb.context_fence_done(v->opaque, ctx_id, ring_idx, fence_id);
}

/* virglrenderer takes ownership of the fd it is given (once, at init). */
static int get_drm_fd(void *cookie)
{
    Virgl *v = cookie;
    int fd = v->drm_fd;
    v->drm_fd = -1;
    return fd;
}

/* Version 3 brings write_context_fence (0.10.4); get_server_fd stays NULL: the render
 * server, when present, is started by virglrenderer itself. */
static struct virgl_renderer_callbacks callbacks = {
    .version = 3,
    .write_fence = write_fence,
    .get_drm_fd = get_drm_fd,
    .write_context_fence = write_context_fence,
};

static void *vg_open(const MosaicGpuConfig *cfg, const MosaicGpuCallbacks *cb, void *opaque,
                     MosaicError *err)
{
    if (the) {
        mosaic_error_set(err, "virglrenderer keeps process-wide state: only one 3D-accelerated "
                         "GPU per machine (set accel3d = none on the others)");
        return NULL;
    }
    char why[160], renderer[128];
    if (!egl_probe(why, sizeof why, renderer, sizeof renderer)) {
        mosaic_error_set(err, "virglrenderer could not start headless: %s; it needs Mesa's EGL "
                         "and a GL driver (apt install libegl-mesa0 libgl1-mesa-dri; llvmpipe "
                         "serves when there is no GPU)", why);
        return NULL;
    }
    Virgl *v = g_new0(Virgl, 1);
    memcpy(&v->cb, cb, MIN(cb->size, sizeof v->cb));
    v->opaque = opaque;
    g_queue_init(&v->fences);
    /* A render node (a GPU) when libdrm finds one: virglrenderer's EGL then runs on GBM
     * over it.  Without one, EGL's surfaceless platform, where Mesa draws with llvmpipe
     * on the CPU. */
    char node[64] = "", no_node[160];
    v->drm_fd = render_node_open(node, sizeof node, no_node, sizeof no_node);
    int flags = VIRGL_RENDERER_USE_EGL;
    if (v->drm_fd >= 0) {
        mosaic_log(LOG, 2, "%s: rendering on DRM render node %s", cfg->where, node);
    } else {
        flags |= VIRGL_RENDERER_USE_SURFACELESS;
        mosaic_log(LOG, 2, "%s: no DRM render node (%s): EGL surfaceless, renderer %s",
                   cfg->where, no_node, renderer);
    }
    if (cfg->venus) {
        flags |= VIRGL_RENDERER_VENUS;
        if (g_file_test(RENDER_SERVER_PATH, G_FILE_TEST_IS_EXECUTABLE))
            flags |= VIRGL_RENDERER_RENDER_SERVER;
    }
    /* The cookie must not be NULL: virglrenderer refuses to start without one. */
    int r = virgl_renderer_init(v, flags, &callbacks);
    if (r && !(flags & VIRGL_RENDERER_USE_SURFACELESS)) {
        /* The render node's GBM/EGL did not start (a driver Mesa lacks, permissions):
         * the surfaceless platform, probed above, still can. */
        mosaic_log(LOG, 1, "%s: virglrenderer could not start on %s (error %d): EGL "
                   "surfaceless instead, renderer %s", cfg->where, node, r, renderer);
        if (v->drm_fd >= 0)
            close(v->drm_fd);
        v->drm_fd = -1;
        r = virgl_renderer_init(v, flags | VIRGL_RENDERER_USE_SURFACELESS, &callbacks);
    }
    if (r) {
        mosaic_error_set(err, "virglrenderer could not start headless on EGL (error %d): "
                         "it needs Mesa's EGL and a GL driver (apt install libegl-mesa0 "
                         "libgl1-mesa-dri; llvmpipe serves when there is no GPU)%s",
                         r,
                         cfg->venus ? "; Venus also needs a Vulkan driver "
                                      "(mesa-vulkan-drivers)" : "");
        if (v->drm_fd >= 0)
            close(v->drm_fd);
        g_free(v);
        return NULL;
    }
    static const uint32_t ids[] = {MOSAIC_GPU_CAPSET_VIRGL, MOSAIC_GPU_CAPSET_VIRGL2,
                                   MOSAIC_GPU_CAPSET_VENUS};
    for (unsigned i = 0; i < G_N_ELEMENTS(ids); i++) {
        uint32_t ver = 0, size = 0;
        if (ids[i] == MOSAIC_GPU_CAPSET_VENUS && !cfg->venus)
            continue;
        virgl_renderer_get_cap_set(ids[i], &ver, &size);
        if (size)
            v->capsets[v->ncapsets++] = ids[i];
    }
    the = v;
    return v;
}

static void vg_close(void *be)
{
    Virgl *v = be;
    virgl_renderer_cleanup(v);
    g_queue_clear_full(&v->fences, g_free);
    g_free(v);
    the = NULL;
}

static bool vg_capset_info(void *be, uint32_t index, uint32_t *id, uint32_t *max_version,
                           uint32_t *max_size)
{
    Virgl *v = be;
    if (index >= v->ncapsets)
        return false;
    *id = v->capsets[index];
    virgl_renderer_get_cap_set(*id, max_version, max_size);
    return true;
}

static uint32_t vg_get_capset(void *be, uint32_t id, uint32_t version, void *buf, uint32_t size)
{
    Virgl *v = be;
    bool offered = false;
    for (unsigned i = 0; i < v->ncapsets; i++)
        offered |= v->capsets[i] == id;
    uint32_t max_ver = 0, max_size = 0;
    if (offered)
        virgl_renderer_get_cap_set(id, &max_ver, &max_size);
    if (!max_size || version > max_ver)
        return 0;
    /* fill_caps writes the whole set: into a buffer of its size, then what fits. */
    g_autofree uint8_t *tmp = g_malloc0(max_size);
    virgl_renderer_fill_caps(id, version, tmp);
    uint32_t n = MIN(size, max_size);
    memcpy(buf, tmp, n);
    return n;
}

static uint32_t vg_ctx_create(void *be, uint32_t ctx_id, uint32_t capset_id, const char *name)
{
    Virgl *v = be;
    int r;
    if (!capset_id) {
        r = virgl_renderer_context_create(ctx_id, strlen(name), name);
    } else {
        bool offered = false;
        for (unsigned i = 0; i < v->ncapsets; i++)
            offered |= v->capsets[i] == capset_id;
        if (!offered)
            return MOSAIC_GPU_ERR_INVALID_PARAMETER;
        r = virgl_renderer_context_create_with_flags(
            ctx_id, capset_id & VIRGL_RENDERER_CONTEXT_FLAG_CAPSET_ID_MASK, strlen(name), name);
    }
    return r ? MOSAIC_GPU_ERR_INVALID_CONTEXT_ID : MOSAIC_GPU_OK;
}

static uint32_t vg_ctx_destroy(void *be, uint32_t ctx_id)
{
    virgl_renderer_context_destroy(ctx_id);
    return MOSAIC_GPU_OK;
}

static uint32_t vg_ctx_attach(void *be, uint32_t ctx_id, uint32_t res)
{
    virgl_renderer_ctx_attach_resource(ctx_id, res);
    return MOSAIC_GPU_OK;
}

static uint32_t vg_ctx_detach(void *be, uint32_t ctx_id, uint32_t res)
{
    virgl_renderer_ctx_detach_resource(ctx_id, res);
    return MOSAIC_GPU_OK;
}

/* The first layouts (ABI 1.1) of the requests a device hands over (gpu.h). */
#define RESOURCE3D_MIN_SIZE (offsetof(MosaicGpuResource3d, flags) + sizeof(uint32_t))
#define TRANSFER_MIN_SIZE (offsetof(MosaicGpuTransfer, offset) + sizeof(uint64_t))

static uint32_t vg_resource_create_3d(void *be, const MosaicGpuResource3d *r)
{
    if (r->size < RESOURCE3D_MIN_SIZE)
        return MOSAIC_GPU_ERR_INVALID_PARAMETER;
    struct virgl_renderer_resource_create_args a = {
        .handle = r->resource_id, .target = r->target, .format = r->format, .bind = r->bind,
        .width = r->width, .height = r->height, .depth = r->depth, .array_size = r->array_size,
        .last_level = r->last_level, .nr_samples = r->nr_samples, .flags = r->flags,
    };
    int e = virgl_renderer_resource_create(&a, NULL, 0);
    return e == ENOMEM ? MOSAIC_GPU_ERR_OUT_OF_MEMORY :
           e ? MOSAIC_GPU_ERR_INVALID_PARAMETER : MOSAIC_GPU_OK;
}

/* virglrenderer keeps the iovec array it was given: ours, freed when it gives it back. */
static void drop_iov(uint32_t res)
{
    struct iovec *iov = NULL;
    int n = 0;
    virgl_renderer_resource_detach_iov(res, &iov, &n);
    g_free(iov);
}

static uint32_t vg_resource_unref(void *be, uint32_t res)
{
    drop_iov(res);
    virgl_renderer_resource_unref(res);
    return MOSAIC_GPU_OK;
}

static uint32_t vg_attach_backing(void *be, uint32_t res, const struct iovec *iov, unsigned n)
{
    struct iovec *copy = g_memdup2(iov, sizeof *iov * n);
    if (virgl_renderer_resource_attach_iov(res, copy, n)) {
        g_free(copy);
        return MOSAIC_GPU_ERR_UNSPEC;
    }
    return MOSAIC_GPU_OK;
}

static uint32_t vg_detach_backing(void *be, uint32_t res)
{
    drop_iov(res);
    return MOSAIC_GPU_OK;
}

static uint32_t vg_transfer(void *be, bool to_host, const MosaicGpuTransfer *t)
{
    if (t->size < TRANSFER_MIN_SIZE)
        return MOSAIC_GPU_ERR_INVALID_PARAMETER;
    MosaicGpuBox box = t->box;
    int e = to_host ? virgl_renderer_transfer_write_iov(t->resource_id, t->ctx_id, t->level,
                                                        t->stride, t->layer_stride, BOX(&box),
                                                        t->offset, NULL, 0)
                    : virgl_renderer_transfer_read_iov(t->resource_id, t->ctx_id, t->level,
                                                       t->stride, t->layer_stride, BOX(&box),
                                                       t->offset, NULL, 0);
    return e ? MOSAIC_GPU_ERR_INVALID_PARAMETER : MOSAIC_GPU_OK;
}

static uint32_t vg_submit(void *be, uint32_t ctx_id, const void *cmds, uint32_t size)
{
    if (size % 4)
        return MOSAIC_GPU_ERR_INVALID_PARAMETER;
    /* The command buffer is the device's private copy: virglrenderer may parse it in
     * place. */
    int e = virgl_renderer_submit_cmd((void *)cmds, ctx_id, size / 4);
    return e ? MOSAIC_GPU_ERR_INVALID_PARAMETER : MOSAIC_GPU_OK;
}

static uint32_t vg_create_fence(void *be, uint32_t ctx_id, uint32_t ring_idx, uint64_t id)
{
    Virgl *v = be;
    g_queue_push_tail(&v->fences, g_memdup2(&id, sizeof id));
    virgl_renderer_create_fence((int)(uint32_t)id, ctx_id);
    return MOSAIC_GPU_OK;
}

/* virglrenderer refuses (-EINVAL) a ring its context type lacks: a virgl context has
 * ring 0 only, Venus one per queue the guest made. */
static uint32_t vg_create_context_fence(void *be, uint32_t ctx_id, uint32_t ring_idx,
                                        uint64_t id)
{
    int e = virgl_renderer_context_create_fence(ctx_id, VIRGL_RENDERER_FENCE_FLAG_MERGEABLE,
                                                ring_idx, id);
    return e ? MOSAIC_GPU_ERR_INVALID_PARAMETER : MOSAIC_GPU_OK;
}

static void vg_poll(void *be)
{
    virgl_renderer_poll();
}

static bool vg_read_pixels(void *be, uint32_t res, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                           void *dst, uint32_t stride)
{
    MosaicGpuBox box = {x, y, 0, w, h, 1};
    struct iovec iov = {dst, (size_t)stride * h};
    return virgl_renderer_transfer_read_iov(res, 0, 0, stride, 0, BOX(&box), 0, &iov, 1) == 0;
}

/* virglrenderer 0.10.4 offers guest-memory blobs to any context and host blobs to the
 * contexts that made them (blob_id from the context's own commands). */
static uint32_t vg_resource_create_blob(void *be, const MosaicGpuBlob *b, const struct iovec *iov,
                                        unsigned n)
{
    struct iovec *copy = n ? g_memdup2(iov, sizeof *iov * n) : NULL;
    struct virgl_renderer_resource_create_blob_args a = {
        .res_handle = b->resource_id, .ctx_id = b->ctx_id, .blob_mem = b->blob_mem,
        .blob_flags = b->blob_flags, .blob_id = b->blob_id, .size = b->size,
        .iovecs = copy, .num_iovs = n,
    };
    int e = virgl_renderer_resource_create_blob(&a);
    if (e) {
        g_free(copy);
        return e == -ENOMEM || e == ENOMEM ? MOSAIC_GPU_ERR_OUT_OF_MEMORY
                                           : MOSAIC_GPU_ERR_INVALID_PARAMETER;
    }
    return MOSAIC_GPU_OK;
}

/* Host blobs whose context buffer was made with VIRGL_RESOURCE_FLAG_MAP_PERSISTENT
 * map (0.10.4 on llvmpipe: page-aligned; tests/hostblob-probe.c); others fail with
 * EINVAL, which the guest gets as INVALID_PARAMETER. */
static uint32_t vg_resource_map(void *be, uint32_t res, void **ptr, uint64_t *size,
                                uint32_t *map_info)
{
    void *p = NULL;
    uint64_t n = 0;
    uint32_t info = 0;
    if (virgl_renderer_resource_map(res, &p, &n) || !p || !n)
        return MOSAIC_GPU_ERR_INVALID_PARAMETER;
    if ((uintptr_t)p & 4095) {
        mosaic_log(LOG, 1, "resource %u maps at %p (%" G_GUINT64_FORMAT " bytes): not page-"
                   "aligned, the guest cannot see it", res, p, n);
        virgl_renderer_resource_unmap(res);
        return MOSAIC_GPU_ERR_UNSPEC;
    }
    /* 0.10.4 knows no cache type for a GL buffer mapped persistently (-EINVAL): GL
     * maps it into ordinary cached host memory (llvmpipe: the buffer itself). */
    if (virgl_renderer_resource_get_map_info(res, &info) ||
        !(info & VIRGL_RENDERER_MAP_CACHE_MASK))
        info = VIRGL_RENDERER_MAP_CACHE_CACHED;
    *ptr = p;
    *size = n;
    *map_info = info & VIRGL_RENDERER_MAP_CACHE_MASK;
    return MOSAIC_GPU_OK;
}

static uint32_t vg_resource_unmap(void *be, uint32_t res)
{
    return virgl_renderer_resource_unmap(res) ? MOSAIC_GPU_ERR_INVALID_PARAMETER : MOSAIC_GPU_OK;
}

static const MosaicGpuBackendOps virgl_ops = {
    .size = sizeof(MosaicGpuBackendOps),
    .open = vg_open,
    .close = vg_close,
    .capset_info = vg_capset_info,
    .get_capset = vg_get_capset,
    .ctx_create = vg_ctx_create,
    .ctx_destroy = vg_ctx_destroy,
    .ctx_attach_resource = vg_ctx_attach,
    .ctx_detach_resource = vg_ctx_detach,
    .resource_create_3d = vg_resource_create_3d,
    .resource_unref = vg_resource_unref,
    .attach_backing = vg_attach_backing,
    .detach_backing = vg_detach_backing,
    .transfer = vg_transfer,
    .submit = vg_submit,
    .create_fence = vg_create_fence,
    .poll = vg_poll,
    .read_pixels = vg_read_pixels,
    .resource_create_blob = vg_resource_create_blob,
    .resource_map = vg_resource_map,
    .resource_unmap = vg_resource_unmap,
    .create_context_fence = vg_create_context_fence,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_GPU, .kind_abi = MOSAIC_GPU_ABI, .name = "virgl",
              .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "3D for virtio-gpu through virglrenderer (OpenGL via virgl, "
                             "Vulkan via Venus), headless on EGL",
              .ops = &virgl_ops);
