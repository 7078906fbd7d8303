/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-gpu (virtio 1.2 §5.7): the wire format, the resources and scanouts, and the
 * control-queue command processor.  This part depends on GLib only: guest memory is
 * reached through the two callbacks of VGpuMem, so the fuzz target (fuzz/) and the unit
 * test drive the very same code the device runs. */
#ifndef VIRTIO_GPU_2D_H
#define VIRTIO_GPU_2D_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

enum {
    CMD_GET_DISPLAY_INFO = 0x0100, CMD_RESOURCE_CREATE_2D, CMD_RESOURCE_UNREF, CMD_SET_SCANOUT,
    CMD_RESOURCE_FLUSH, CMD_TRANSFER_TO_HOST_2D, CMD_RESOURCE_ATTACH_BACKING,
    CMD_RESOURCE_DETACH_BACKING, CMD_GET_CAPSET_INFO, CMD_GET_CAPSET, CMD_GET_EDID,
    CMD_RESOURCE_ASSIGN_UUID, CMD_RESOURCE_CREATE_BLOB, CMD_SET_SCANOUT_BLOB,
    CMD_UPDATE_CURSOR = 0x0300, CMD_MOVE_CURSOR,
    RESP_OK_NODATA = 0x1100, RESP_OK_DISPLAY_INFO, RESP_OK_CAPSET_INFO, RESP_OK_CAPSET,
    RESP_OK_EDID, RESP_OK_RESOURCE_UUID, RESP_OK_MAP_INFO,
    RESP_ERR_UNSPEC = 0x1200, RESP_ERR_OUT_OF_MEMORY, RESP_ERR_INVALID_SCANOUT_ID,
    RESP_ERR_INVALID_RESOURCE_ID, RESP_ERR_INVALID_CONTEXT_ID, RESP_ERR_INVALID_PARAMETER,
};
#define GPU_FLAG_FENCE 1u
#define GPU_FLAG_INFO_RING_IDX 2u /* the fence is on ring hdr.ring_idx of the context */
#define GPU_F_VIRGL 0
#define GPU_F_EDID 1
#define GPU_F_RESOURCE_UUID 2
#define GPU_F_RESOURCE_BLOB 3
#define GPU_F_CONTEXT_INIT 4
#define GPU_SHM_ID_HOST_VISIBLE 1

#define HDR_SIZE 24          /* type, flags, fence_id, ctx_id, ring_idx, padding[3] */
#define MAX_SCANOUTS 16
#define DISPLAY_INFO_SIZE (HDR_SIZE + MAX_SCANOUTS * 24)
#define EDID_RESP_SIZE (HDR_SIZE + 8 + 1024)
#define RESP_MAX (HDR_SIZE + 4096)  /* the largest answer: a capset (virgl2: 1376 bytes) */
#define MAX_BACKING_ENTRIES 16384 /* 64 MiB in 4 KiB pages, what Linux sends at most */
#define MAX_DIMENSION 16384

/* Guest memory, as the device's DMA address space sees it. */
typedef struct VGpuMem {
    void *opaque;
    /* [gpa, gpa+len) is guest RAM (backing pages must be, never MMIO). */
    bool (*is_ram)(void *opaque, uint64_t gpa, uint64_t len);
    /* Copies guest memory out; false when any byte is not readable RAM. */
    bool (*read)(void *opaque, uint64_t gpa, void *buf, size_t len);
} VGpuMem;

typedef struct BackingEntry {
    uint64_t gpa;
    uint64_t start;          /* offset of its first byte in the backing (sorted) */
    uint32_t len;
} BackingEntry;

typedef struct Resource {
    uint32_t id, format, width, height;
    uint32_t stride;         /* width * 4 */
    uint8_t *data;           /* height * stride bytes, host copy of the image */
    BackingEntry *backing;   /* the guest pages, in order */
    uint32_t nbacking;
    uint64_t backing_len;
    uint8_t uuid[16];        /* RESOURCE_ASSIGN_UUID: made on the first, kept after */
    bool has_uuid;
} Resource;

typedef struct Rect {
    uint32_t x, y, w, h;
} Rect;

typedef struct Scanout {
    uint32_t resource_id;    /* 0: disabled */
    Rect r;                  /* the part of the resource shown */
    uint32_t width, height;  /* the output's mode (display info, EDID) */
    /* The headless display: what the output shows, as the last flush left it
     * (width * height B8G8R8X8 pixels, allocated on the first flush). */
    uint8_t *surface;
    uint32_t surface_w, surface_h, surface_format;
    uint64_t flushes;
    bool shown;              /* flushed at least once since set_scanout */
} Scanout;

typedef struct Cursor {
    uint32_t scanout, x, y, resource_id, hot_x, hot_y;
    uint64_t updates, moves;
} Cursor;

typedef struct VGpu VGpu;

/* A 3D backend behind the 2D command set (vgpu3d.c): it answers the commands the 2D set
 * does not know (capsets, contexts, 3D resources, transfers, submissions) and the 2D
 * commands naming a resource it owns. */
typedef struct VGpuExt {
    void *opaque;
    bool (*owns)(void *opaque, uint32_t resource_id);
    /* The whole request (header included, at least HDR_SIZE bytes); returns the status
     * and sets *out when the answer is longer than a header. */
    uint32_t (*command)(void *opaque, uint32_t type, const uint8_t *req, size_t len,
                        uint8_t *resp, size_t cap, size_t *out);
    /* Pixels of an owned resource for a flush (rows of w * 4 bytes), and its format. */
    bool (*read_pixels)(void *opaque, uint32_t resource_id, const Rect *r, uint8_t *dst,
                        uint32_t *format);
    void (*reset)(void *opaque);
} VGpuExt;

struct VGpu {
    VGpuMem mem;
    GHashTable *resources;   /* id -> Resource* */
    uint64_t hostmem;        /* bytes of resource images */
    uint64_t hostmem_max;
    uint32_t num_scanouts;
    Scanout scanouts[MAX_SCANOUTS];
    Cursor cursor;
    bool edid;
    const VGpuExt *ext;      /* NULL: 2D only */
};

Resource *vgpu_resource(VGpu *g, uint32_t id); /* a 2D resource, or NULL */
/* RESOURCE_ASSIGN_UUID's answer from a resource's `uuid` (*has: made here on the first
 * request, a random version-4 UUID, the same on every later one). */
size_t vgpu_uuid_answer(uint8_t uuid[16], bool *has, uint8_t *resp);
#define UUID_RESP_SIZE (HDR_SIZE + 16)

void vgpu_init(VGpu *g, const VGpuMem *mem, uint32_t num_scanouts, uint32_t xres, uint32_t yres,
               uint64_t hostmem_max);
void vgpu_reset(VGpu *g);    /* drops every resource, disables the scanouts */
void vgpu_destroy(VGpu *g);

/* Runs one control or cursor queue request (`req`, `len` bytes) and writes the answer
 * into `resp` (`cap` bytes).  Returns the response length (0 when the request is too
 * short to answer).  Never trusts a byte of the request. */
size_t vgpu_command(VGpu *g, const uint8_t *req, size_t len, uint8_t *resp, size_t cap);

/* edid.c: a 128-byte EDID 1.4 block announcing xres x yres as the preferred mode. */
void vgpu_edid(uint8_t out[128], uint32_t xres, uint32_t yres, unsigned index);

/* Brings output `head`'s surface up to date for a screendump: a 2D scanout that has been
 * flushed is copied from its resource now (the display shows the resource itself, as a
 * real one scanning it out would; flushes copy nothing). */
void vgpu_capture(VGpu *g, unsigned head);

/* png.c: writes scanout `s`'s surface as an 8-bit RGB PNG. */
bool vgpu_screendump(const Scanout *s, const char *file, GError **err);

static inline uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static inline uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static inline void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = v >> (8 * i); }
static inline void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, v >> 32); }

#endif
