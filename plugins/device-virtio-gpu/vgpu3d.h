/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The 3D half of virtio-gpu: a gpu backend plugin (mosaic/gpu.h) behind the 2D command
 * set, with every guest value checked before the backend sees it. */
#ifndef VIRTIO_GPU_3D_H
#define VIRTIO_GPU_3D_H

#include <mosaic/mosaic.h>
#include "gpu2d.h"

typedef struct V3d V3d;

/* Opens backend `name` for device `g`; fence_done is called (from poll) with each
 * retired global fence id, ring_fence_done with each retired fence of a context's ring.
 * NULL + err with what to install. */
V3d *v3d_open(VGpu *g, MosaicAddressSpace *dma, const char *name, bool venus, const char *where,
              void (*fence_done)(void *opaque, uint64_t fence_id),
              void (*ring_fence_done)(void *opaque, uint32_t ctx_id, uint32_t ring_idx,
                                      uint64_t fence_id),
              void *opaque, MosaicError *err);
void v3d_close(V3d *v);
const VGpuExt *v3d_ext(V3d *v);
uint32_t v3d_num_capsets(V3d *v);
/* The backend makes blob resources: VIRTIO_GPU_F_RESOURCE_BLOB is offered. */
bool v3d_blobs(V3d *v);
/* The backend maps host blobs: the device offers a shared memory region (host-visible
 * memory, VIRTIO_GPU_SHM_ID_HOST_VISIBLE) and answers MAP_BLOB. */
bool v3d_can_map(V3d *v);
/* The shared memory region's container (mosaic_virtio_shm), once the transport exists:
 * MAP_BLOB puts blobs there.  NULL: none, MAP_BLOB fails. */
void v3d_set_shm(V3d *v, MosaicRegion *shm);
uint32_t v3d_create_fence(V3d *v, uint32_t ctx_id, uint32_t ring_idx, uint64_t fence_id);
/* A fence on ring `ring_idx` of context `ctx_id` (VIRTIO_GPU_FLAG_INFO_RING_IDX): an
 * error code for an unknown context, ring_idx >= 64 or a ring the context lacks. */
uint32_t v3d_create_ring_fence(V3d *v, uint32_t ctx_id, uint32_t ring_idx, uint64_t fence_id);
/* The backend fences rings of their own (else ring fences go on the global timeline). */
bool v3d_ring_fences(V3d *v);
bool v3d_ctx_exists(V3d *v, uint32_t ctx_id);
void v3d_poll(V3d *v);

#endif
