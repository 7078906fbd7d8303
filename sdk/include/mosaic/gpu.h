/* SPDX-License-Identifier: GPL-2.0-or-later */
/* GPU backends: 3D rendering for a virtual GPU device (virtio-gpu's accel3d), in a
 * plugin of kind gpu (gpu-virgl: virglrenderer, OpenGL through virgl and Vulkan through
 * Venus).  Since ABI 1.1.
 *
 * The device owns the guest-facing protocol: it parses and checks every request, keeps
 * the 2D resources itself, and hands a backend only checked values: resource and
 * context ids, boxes, the guest's command buffers (copied out of guest memory), and host
 * iovecs that lie inside guest RAM for a resource's backing pages.  A backend never sees
 * a guest physical address.  Every op returns a virtio-gpu response code
 * (MOSAIC_GPU_OK or one of MOSAIC_GPU_ERR_*), which the device sends to the guest: a
 * bad request fails that request, nothing more.
 *
 * A device finds its backend with mosaic_gpu_backend_find("virgl"): the core loads the
 * plugin mosaic-gpu-NAME.so (the deployment policy applies) and returns a copy of its
 * ops table, zero-filled to this header's size, so an older plugin's missing trailing
 * ops read as NULL.
 *
 * Threads.  Every op runs on the main loop thread with the core lock held.  Fences: the
 * device calls create_fence after the commands it covers and poll() from a timer while
 * fences are outstanding; the backend reports each retired fence through the
 * fence_done callback given to open, from inside poll() (never from another thread).
 *
 * Lifetime: open (once per device) -> any ops -> close.  A backend may refuse a second
 * open in one process when its library has process-wide state (virglrenderer has):
 * return NULL with an error saying so.
 *
 * Writing a backend out of tree: export a descriptor with
 *   MOSAIC_PLUGIN(.kind = MOSAIC_KIND_GPU, .kind_abi = MOSAIC_GPU_ABI, .name = "foo",
 *                 .ops = &foo_ops, ...)
 * where foo_ops is a MosaicGpuBackendOps with .size = sizeof(MosaicGpuBackendOps) and
 * every op up to and including poll set (checked when the plugin is scanned); the
 * optional ops after it may be NULL.  Build against sdk/include only.
 *
 * Changelog
 *   1.1  first version (kind ABI MOSAIC_GPU_ABI 1); resource_create_blob and
 *        MosaicGpuBlob (blob resources); resource_map and resource_unmap (host-visible
 *        blobs: VIRTIO_GPU_CMD_RESOURCE_MAP_BLOB) with MOSAIC_GPU_MAP_CACHE_*;
 *        create_context_fence and MosaicGpuCallbacks.context_fence_done (fences on a
 *        context's ring, VIRTIO_GPU_FLAG_INFO_RING_IDX), MOSAIC_GPU_MAX_RINGS.
 */
#ifndef MOSAIC_GPU_H
#define MOSAIC_GPU_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <mosaic/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* virtio-gpu response codes (virtio 1.2 §5.7.6.7). */
enum {
    MOSAIC_GPU_OK = 0x1100,
    MOSAIC_GPU_ERR_UNSPEC = 0x1200,
    MOSAIC_GPU_ERR_OUT_OF_MEMORY = 0x1201,
    MOSAIC_GPU_ERR_INVALID_SCANOUT_ID = 0x1202,
    MOSAIC_GPU_ERR_INVALID_RESOURCE_ID = 0x1203,
    MOSAIC_GPU_ERR_INVALID_CONTEXT_ID = 0x1204,
    MOSAIC_GPU_ERR_INVALID_PARAMETER = 0x1205,
};

/* How the host caches a mapped blob (virtio_gpu_resp_map_info.map_info). */
enum {
    MOSAIC_GPU_MAP_CACHE_NONE = 0,
    MOSAIC_GPU_MAP_CACHE_CACHED = 1,
    MOSAIC_GPU_MAP_CACHE_UNCACHED = 2,
    MOSAIC_GPU_MAP_CACHE_WC = 3,
};

/* Capset ids (virtio-gpu): the context types a backend may offer. */
enum {
    MOSAIC_GPU_CAPSET_VIRGL = 1,
    MOSAIC_GPU_CAPSET_VIRGL2 = 2,
    MOSAIC_GPU_CAPSET_VENUS = 4,
};

/* A context has at most this many rings (timelines) for its fences. */
#define MOSAIC_GPU_MAX_RINGS 64

typedef struct MosaicGpuConfig {
    uint32_t size;            /* sizeof(MosaicGpuConfig) */
    bool venus;               /* also offer Venus (Vulkan) contexts */
    const char *where;        /* "gpu0 (vm.ini:7)": for error messages */
} MosaicGpuConfig;

typedef struct MosaicGpuCallbacks {
    uint32_t size;            /* sizeof(MosaicGpuCallbacks) */
    /* Every fence up to and including fence_id has retired (called from poll). */
    void (*fence_done)(void *opaque, uint64_t fence_id);
    /* Every fence of ring `ring_idx` of context `ctx_id` up to and including fence_id
     * has retired (called from poll; only for fences made by create_context_fence).
     * Rings retire independently of each other and of the global timeline. */
    void (*context_fence_done)(void *opaque, uint32_t ctx_id, uint32_t ring_idx,
                               uint64_t fence_id);
} MosaicGpuCallbacks;

/* virtio_gpu_resource_create_3d, fields as the guest sent them (the backend checks
 * target, format and bind against what it supports). */
/* The two requests below go from a device to a backend, maybe built against different
 * minors, so they carry their size (the device sets it): a backend reads a field
 * appended later only when `size` covers it, and refuses (INVALID_PARAMETER) a size
 * below the first layout. */
typedef struct MosaicGpuResource3d {
    uint32_t size;            /* sizeof(MosaicGpuResource3d) */
    uint32_t resource_id, target, format, bind;
    uint32_t width, height, depth, array_size, last_level, nr_samples, flags;
} MosaicGpuResource3d;

typedef struct MosaicGpuBox {
    uint32_t x, y, z, w, h, d;
} MosaicGpuBox;

/* virtio_gpu_transfer_host_3d. */
typedef struct MosaicGpuTransfer {
    uint32_t size;            /* sizeof(MosaicGpuTransfer) */
    uint32_t resource_id, ctx_id;
    uint32_t level, stride, layer_stride;
    MosaicGpuBox box;
    uint64_t offset;          /* into the resource's backing */
} MosaicGpuTransfer;

/* virtio_gpu_resource_create_blob (VIRTIO_GPU_F_RESOURCE_BLOB), checked by the device:
 * blob_mem 1 (guest: the guest's pages are the blob, given as iovecs), 2 (host3d: the
 * context's blob `blob_id`) or 3 (host3d_guest). */
typedef struct MosaicGpuBlob {
    uint32_t resource_id, ctx_id, blob_mem, blob_flags;
    uint64_t blob_id, size;
} MosaicGpuBlob;

typedef struct MosaicGpuBackendOps {
    uint32_t size;            /* sizeof(MosaicGpuBackendOps) */
    /* Starts the renderer.  Failing (no EGL, no render node, a library refusing): NULL
     * and an error that says what to install or change. */
    void *(*open)(const MosaicGpuConfig *cfg, const MosaicGpuCallbacks *cb, void *opaque,
                  MosaicError *err);
    void (*close)(void *be);
    /* Capset `index` (0..): false past the last one. */
    bool (*capset_info)(void *be, uint32_t index, uint32_t *id, uint32_t *max_version,
                        uint32_t *max_size);
    /* Fills at most `size` bytes of capset `id` at `version`; returns the bytes written
     * (0: no such capset). */
    uint32_t (*get_capset)(void *be, uint32_t id, uint32_t version, void *buf, uint32_t size);
    /* capset_id 0: the backend's default context type (virgl). */
    uint32_t (*ctx_create)(void *be, uint32_t ctx_id, uint32_t capset_id, const char *name);
    uint32_t (*ctx_destroy)(void *be, uint32_t ctx_id);
    uint32_t (*ctx_attach_resource)(void *be, uint32_t ctx_id, uint32_t resource_id);
    uint32_t (*ctx_detach_resource)(void *be, uint32_t ctx_id, uint32_t resource_id);
    uint32_t (*resource_create_3d)(void *be, const MosaicGpuResource3d *r);
    uint32_t (*resource_unref)(void *be, uint32_t resource_id);
    /* The iovecs lie in guest RAM and stay valid until detach_backing or unref. */
    uint32_t (*attach_backing)(void *be, uint32_t resource_id, const struct iovec *iov,
                               unsigned n);
    uint32_t (*detach_backing)(void *be, uint32_t resource_id);
    /* to_host: backing -> resource (TRANSFER_TO_HOST_3D), else resource -> backing. */
    uint32_t (*transfer)(void *be, bool to_host, const MosaicGpuTransfer *t);
    /* A command buffer of the context's protocol (`size` bytes, a private copy). */
    uint32_t (*submit)(void *be, uint32_t ctx_id, const void *cmds, uint32_t size);
    uint32_t (*create_fence)(void *be, uint32_t ctx_id, uint32_t ring_idx, uint64_t fence_id);
    /* Retires finished work: fence_done callbacks. */
    void (*poll)(void *be);
    /* Optional: copies the rect of 2D resource `resource_id` (level 0) into `dst` as
     * rows of `stride` bytes, top row first, 4 bytes per pixel in the resource's format:
     * what a display shows of it (screendump).  Returns false when it cannot. */
    bool (*read_pixels)(void *be, uint32_t resource_id, uint32_t x, uint32_t y, uint32_t w,
                        uint32_t h, void *dst, uint32_t stride);
    /* Optional: a blob resource; `iov` (n entries in guest RAM, at least b->size bytes,
     * valid until unref) for the guest-backed kinds, else NULL.  NULL op: the device
     * offers no VIRTIO_GPU_F_RESOURCE_BLOB. */
    uint32_t (*resource_create_blob)(void *be, const MosaicGpuBlob *b, const struct iovec *iov,
                                     unsigned n);
    /* Optional (both or neither): host-visible blobs.  resource_map gives the host
     * memory of a host blob made mappable (blob_flags USE_MAPPABLE; for virgl the
     * context's buffer must also have been made persistent-mappable): *ptr page-aligned,
     * *size bytes (the device maps it into the guest's shared memory window, at most
     * the blob's size), *map_info one of MOSAIC_GPU_MAP_CACHE_*.  The memory stays
     * valid and at that address until resource_unmap, which the device calls only once
     * no vCPU can reach it any more, and always before resource_unref of the resource.
     * An error code for a resource that cannot be mapped (the device answers it).
     * NULL ops: the device has no shared memory window and refuses MAP_BLOB. */
    uint32_t (*resource_map)(void *be, uint32_t resource_id, void **ptr, uint64_t *size,
                             uint32_t *map_info);
    uint32_t (*resource_unmap)(void *be, uint32_t resource_id);
    /* Optional: a fence on ring `ring_idx` (< MOSAIC_GPU_MAX_RINGS) of context `ctx_id`
     * (one the device created), after the commands it covers; reported through
     * callbacks.context_fence_done.  An error code when the context has no such ring
     * (virgl contexts have ring 0 only): the device fails that command.  NULL op: the
     * device puts ring fences on the global timeline (create_fence). */
    uint32_t (*create_context_fence)(void *be, uint32_t ctx_id, uint32_t ring_idx,
                                     uint64_t fence_id);
} MosaicGpuBackendOps;

/* The ops of gpu backend `name` (plugin mosaic-gpu-NAME.so), loaded on first use; a
 * copy the caller frees with mosaic_free.  NULL + err (not installed, refused by the
 * policy, its init failed). */
MOSAIC_API MosaicGpuBackendOps *mosaic_gpu_backend_find(const char *name, MosaicError *err);

#ifdef __cplusplus
}
#endif
#endif
