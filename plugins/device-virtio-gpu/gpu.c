/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-gpu on virtio-mmio or virtio-pci (mosaic-device-virtio-gpu.so): the 2D command
 * set with a headless display per output, EDID, and the `screendump` monitor command.  3D goes
 * through a gpu backend plugin (accel3d, see sdk/include/mosaic/gpu.h); without one the
 * device offers 2D only. */
#include <string.h>
#include <glib.h>
#include <mosaic/mosaic.h>
#include "gpu2d.h"
#include "vgpu3d.h"

enum { Q_CONTROL = 0, Q_CURSOR = 1, NUM_QUEUES = 2 };
#define QUEUE_MAX 256
#define MAX_REQUEST (HDR_SIZE + 8 + 16 * MAX_BACKING_ENTRIES)

typedef struct VGpuDev {
    VGpu g;
    MosaicVirtio *v;
    MosaicBH *bh;
    MosaicAddressSpace *dma;
    char *label;
    uint8_t *req;            /* MAX_REQUEST bytes */
    uint8_t resp[RESP_MAX];
    V3d *v3d;                /* accel3d: the backend, NULL for 2D only */
    GQueue fenced;           /* Fenced*: answers held until their fence retires */
    MosaicTimer *poll;       /* polls the backend while fences are outstanding */
    bool reset_pending;      /* a reset waits for the bottom half (see gpu_reset) */
} VGpuDev;

/* A fenced 3D-device request: answered when the backend retires its fence. */
typedef struct Fenced {
    MosaicVirtqElem *e;
    unsigned qi;
    uint64_t fence_id;
    bool on_ring;            /* a context's ring (ctx_id, ring_idx), else the global one */
    uint32_t ctx_id, ring_idx;
    size_t len;
    uint8_t resp[HDR_SIZE];
} Fenced;

#define POLL_NS 1000000 /* 1 ms */

/* The realized devices, for screendump (main loop thread only). */
static GList *devices;

static const MosaicPropDesc gpu_props[] = {
    {.key = "xres", .type = MOSAIC_PROP_UINT, .defval = "1024", .min = 16, .max = MAX_DIMENSION,
     .help = "width of each output's mode (display info, EDID)"},
    {.key = "yres", .type = MOSAIC_PROP_UINT, .defval = "768", .min = 16, .max = MAX_DIMENSION,
     .help = "height of each output's mode"},
    {.key = "max-outputs", .type = MOSAIC_PROP_UINT, .defval = "1", .min = 1, .max = MAX_SCANOUTS,
     .help = "number of outputs (scanouts)"},
    {.key = "max-hostmem", .type = MOSAIC_PROP_SIZE, .defval = "256M", .min = 1 << 20,
     .max = 1ull << 34, .help = "bytes of host memory the guest's resources may take together"},
    {.key = "hostmem", .type = MOSAIC_PROP_SIZE, .defval = "0", .max = 1ull << 36,
     .help = "size of the host-visible memory window where MAP_BLOB puts host blobs (a power "
             "of two of at least 4K; 0: none): a 64-bit prefetchable BAR on PCI, at "
             "hostmem-base on virtio-mmio; needs accel3d"},
    {.key = "hostmem-base", .type = MOSAIC_PROP_UINT, .defval = "0",
     .help = "virtio-mmio only: guest-physical address of the hostmem window (free in the "
             "board's map; 0: no window on virtio-mmio)"},
    {.key = "edid", .type = MOSAIC_PROP_BOOL, .defval = "on",
     .help = "offer VIRTIO_GPU_F_EDID and answer GET_EDID"},
    {.key = "accel3d", .type = MOSAIC_PROP_ENUM, .defval = "none", .choices = "none|virgl|venus",
     .help = "3D: virgl (OpenGL through virglrenderer, plugin gpu-virgl), venus (virgl and "
             "Vulkan contexts), none (2D only)"},
    {NULL},
};

static bool dma_is_ram(void *opaque, uint64_t gpa, uint64_t len)
{
    VGpuDev *d = opaque;
    while (len) {
        MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
        if (!mosaic_as_lookup(d->dma, gpa, &s) || !s.host || s.readonly)
            return false;
        uint64_t n = MIN(len, s.base + s.size - gpa);
        gpa += n;
        len -= n;
    }
    return true;
}

static bool dma_read(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    VGpuDev *d = opaque;
    uint8_t *out = buf;
    while (len) {
        MosaicMemSection s = MOSAIC_MEM_SECTION_INIT;
        if (!mosaic_as_lookup(d->dma, gpa, &s) || !s.host)
            return false;
        uint64_t n = MIN(len, s.base + s.size - gpa);
        memcpy(out, s.host + (gpa - s.base), n);
        out += n;
        gpa += n;
        len -= n;
    }
    return true;
}

static void gpu_config(void *opaque, uint8_t *c)
{
    VGpuDev *d = opaque;
    memset(c, 0, 16);             /* events_read, events_clear: no display events yet */
    wr32(c + 8, d->g.num_scanouts);
    wr32(c + 12, d->v3d ? v3d_num_capsets(d->v3d) : 0);
}

/* The answer to a ring-fenced request refused before it ran: the header with `status`. */
static size_t ring_refused(VGpuDev *d, uint32_t status)
{
    memset(d->resp, 0, HDR_SIZE);
    wr32(d->resp, status);
    return HDR_SIZE;
}

static void process(VGpuDev *d, unsigned qi)
{
    MosaicVirtQueue *q = mosaic_virtio_queue(d->v, qi);
    MosaicVirtqElem *e;
    bool any = false;
    while ((e = mosaic_virtq_pop(q))) {
        /* Longer requests than the largest valid one are cut there: the command then
         * fails its own length check. */
        size_t len = mosaic_iov_to_buf(e->out, e->out_num, 0, d->req, MAX_REQUEST);
        uint32_t flags = len >= HDR_SIZE ? rd32(d->req + 4) : 0;
        uint32_t ctx = len >= HDR_SIZE ? rd32(d->req + 16) : 0;
        uint32_t ring_idx = len >= HDR_SIZE ? d->req[20] : 0;
        bool ring = d->v3d && (flags & GPU_FLAG_FENCE) && (flags & GPU_FLAG_INFO_RING_IDX);
        size_t n;
        if (ring && (ring_idx >= MOSAIC_GPU_MAX_RINGS || !v3d_ctx_exists(d->v3d, ctx)))
            /* A fence on no ring that can exist: the command is not run. */
            n = ring_refused(d, ring_idx >= MOSAIC_GPU_MAX_RINGS ? RESP_ERR_INVALID_PARAMETER
                                                                 : RESP_ERR_INVALID_CONTEXT_ID);
        else
            n = vgpu_command(&d->g, d->req, len, d->resp, sizeof d->resp);
        if (d->v3d && n == HDR_SIZE && (rd32(d->resp + 4) & GPU_FLAG_FENCE) &&
            rd32(d->resp) < RESP_ERR_UNSPEC) {
            /* 3D work completes asynchronously: the answer waits for the fence, on the
             * context's ring when the backend keeps rings (else the global timeline,
             * which retires after everything before it anyway). */
            bool own = ring && v3d_ring_fences(d->v3d);
            uint64_t id = rd64(d->resp + 8);
            uint32_t st = own ? v3d_create_ring_fence(d->v3d, ctx, ring_idx, id)
                              : v3d_create_fence(d->v3d, ctx, ring_idx, id);
            if (st == RESP_OK_NODATA) {
                Fenced *f = g_new0(Fenced, 1);
                *f = (Fenced){.e = e, .qi = qi, .fence_id = id, .on_ring = own,
                              .ctx_id = ctx, .ring_idx = ring_idx, .len = n};
                memcpy(f->resp, d->resp, HDR_SIZE);
                g_queue_push_tail(&d->fenced, f);
                mosaic_timer_mod(d->poll, mosaic_clock_ns(MOSAIC_CLOCK_HOST) + POLL_NS);
                continue;
            }
            wr32(d->resp, st); /* the context has no such ring: that command fails */
        }
        size_t w = mosaic_iov_from_buf(e->in, e->in_num, 0, d->resp, MIN(n, e->in_len));
        mosaic_virtq_push(q, e, (uint32_t)w);
        any = true;
    }
    if (any)
        mosaic_virtq_notify(q);
}

static void answer(VGpuDev *d, Fenced *f)
{
    MosaicVirtQueue *q = mosaic_virtio_queue(d->v, f->qi);
    size_t w = mosaic_iov_from_buf(f->e->in, f->e->in_num, 0, f->resp, MIN(f->len, f->e->in_len));
    mosaic_virtq_push(q, f->e, (uint32_t)w);
    mosaic_virtq_notify(q);
    g_free(f);
}

/* Answers the held requests of one timeline (the global one, or ring `ring_idx` of
 * context `ctx`) whose fences are at most fence_id, in the order they came. */
static void retire(VGpuDev *d, bool on_ring, uint32_t ctx, uint32_t ring_idx, uint64_t fence_id)
{
    GList *l = d->fenced.head;
    while (l) {
        GList *next = l->next;
        Fenced *f = l->data;
        if (f->on_ring == on_ring && (!on_ring || (f->ctx_id == ctx && f->ring_idx == ring_idx)) &&
            f->fence_id <= fence_id) {
            g_queue_delete_link(&d->fenced, l);
            answer(d, f);
        }
        l = next;
    }
}

/* Backend callback (from poll): every global fence up to fence_id retired. */
static void fence_done(void *opaque, uint64_t fence_id)
{
    retire(opaque, false, 0, 0, fence_id);
}

/* Backend callback (from poll): ring `ring_idx` of context ctx_id retired up to
 * fence_id; the other rings are not waited for. */
static void ring_fence_done(void *opaque, uint32_t ctx_id, uint32_t ring_idx, uint64_t fence_id)
{
    retire(opaque, true, ctx_id, ring_idx, fence_id);
}

static void poll_fences(void *opaque)
{
    VGpuDev *d = opaque;
    v3d_poll(d->v3d);
    if (!g_queue_is_empty(&d->fenced))
        mosaic_timer_mod(d->poll, mosaic_clock_ns(MOSAIC_CLOCK_HOST) + POLL_NS);
}

/* The rings are gone (reset): held answers are dropped with them. */
static void drop_fenced(VGpuDev *d)
{
    Fenced *f;
    while ((f = g_queue_pop_head(&d->fenced))) {
        mosaic_virtq_push(mosaic_virtio_queue(d->v, f->qi), f->e, 0);
        g_free(f);
    }
}

static void gpu_bh(void *opaque)
{
    VGpuDev *d = opaque;
    if (d->reset_pending) {
        d->reset_pending = false;
        vgpu_reset(&d->g);
        mosaic_virtio_reset_done(d->v);
    }
    process(d, Q_CONTROL);
    process(d, Q_CURSOR);
    /* Most work has finished by now (llvmpipe renders on submission): retire it at
     * once rather than a timer tick later; the timer covers the rest. */
    if (d->v3d && !g_queue_is_empty(&d->fenced))
        poll_fences(d);
}

static void gpu_notify(void *opaque, unsigned queue)
{
    mosaic_bh_schedule(((VGpuDev *)opaque)->bh); /* vCPU thread: the work runs on the loop */
}

/* The driver resets the device with a register write, on a vCPU thread; the backend
 * must not be called there (virglrenderer's EGL context is current on the main loop
 * thread and cannot be made current on another), and mapped blobs leave the guest's
 * view on the main loop.  So the resources go in the bottom half, which runs before
 * it takes any request of the driver's next life. */
static void gpu_reset(void *opaque)
{
    VGpuDev *d = opaque;
    drop_fenced(d);
    d->reset_pending = true;
    mosaic_virtio_reset_defer(d->v); /* the driver sees status 0 once the resources went */
    mosaic_bh_schedule(d->bh);
}

static void *gpu_realize(MosaicDevice *dev, const MosaicProps *props, const MosaicBusSlot *slot,
                         MosaicError *err)
{
    VGpuDev *d = g_new0(VGpuDev, 1);
    d->label = g_strdup(dev ? mosaic_device_label(dev) : "gpu");
    d->dma = slot->dma;
    VGpuMem mem = {.opaque = d, .is_ram = dma_is_ram, .read = dma_read};
    vgpu_init(&d->g, &mem, mosaic_props_get_uint(props, "max-outputs"),
              mosaic_props_get_uint(props, "xres"), mosaic_props_get_uint(props, "yres"),
              mosaic_props_get_uint(props, "max-hostmem"));
    d->g.edid = mosaic_props_get_bool(props, "edid");
    d->req = g_malloc(MAX_REQUEST);
    g_queue_init(&d->fenced);
    const char *accel = mosaic_props_get_str(props, "accel3d");
    if (strcmp(accel, "none")) {
        bool venus = !strcmp(accel, "venus");
        g_autofree char *where = g_strdup_printf("accel3d = %s (%s)", accel,
                                                 mosaic_props_where(props, "accel3d"));
        d->v3d = v3d_open(&d->g, d->dma, "virgl", venus, where, fence_done,
                          ring_fence_done, d, err);
        if (!d->v3d) {
            mosaic_error_prefix(err, "%s: ", where);
            vgpu_destroy(&d->g);
            g_free(d->req);
            g_free(d->label);
            g_free(d);
            return NULL;
        }
        d->g.ext = v3d_ext(d->v3d);
        d->poll = mosaic_timer_new(MOSAIC_CLOCK_HOST, poll_fences, d);
    }
    uint64_t hostmem = mosaic_props_get_uint(props, "hostmem");
    if (hostmem && !(d->v3d && v3d_can_map(d->v3d))) {
        mosaic_error_set(err, "%s: hostmem = %" G_GUINT64_FORMAT " needs accel3d with a "
                         "backend that maps host blobs (accel3d = virgl)",
                         mosaic_props_where(props, "hostmem"), hostmem);
        goto fail;
    }
    bool on_pci = slot->bus && !strcmp(slot->bus, "pci");
    if (hostmem && !on_pci && !mosaic_props_get_uint(props, "hostmem-base")) {
        mosaic_error_set(err, "%s: hostmem on virtio-mmio needs hostmem-base (a free "
                         "guest-physical address for the window, e.g. 0x100000000)",
                         mosaic_props_where(props, "hostmem"));
        goto fail;
    }
    d->bh = mosaic_bh_new(gpu_bh, d);
    MosaicVirtioDeviceOps ops = {
        .size = sizeof ops,
        .device_id = 16,
        .features = (d->g.edid ? 1ull << GPU_F_EDID : 0) | 1ull << GPU_F_RESOURCE_UUID |
                    (d->v3d ? 1ull << GPU_F_VIRGL | 1ull << GPU_F_CONTEXT_INIT : 0) |
                    (d->v3d && v3d_blobs(d->v3d) ? 1ull << GPU_F_RESOURCE_BLOB : 0),
        .num_queues = NUM_QUEUES,
        .queue_max = QUEUE_MAX,
        .config_size = 16,
        .config_read = gpu_config,
        .queue_notify = gpu_notify,
        .reset = gpu_reset,
        .shm_id = GPU_SHM_ID_HOST_VISIBLE,
        .shm_size = hostmem,
        .shm_base = on_pci ? 0 : mosaic_props_get_uint(props, "hostmem-base"),
    };
    d->v = mosaic_virtio_new(slot, &ops, d, err);
    if (!d->v) {
        mosaic_error_prefix(err, "%s: ", d->label);
        goto fail;
    }
    if (d->v3d)
        v3d_set_shm(d->v3d, mosaic_virtio_shm(d->v));
    devices = g_list_append(devices, d);
    return d;
fail:
    if (d->bh)
        mosaic_bh_free(d->bh);
    if (d->v3d) {
        mosaic_timer_free(d->poll);
        v3d_close(d->v3d);
    }
    vgpu_destroy(&d->g);
    g_free(d->req);
    g_free(d->label);
    g_free(d);
    return NULL;
}

static void gpu_unrealize(void *state)
{
    VGpuDev *d = state;
    devices = g_list_remove(devices, d);
    mosaic_bh_free(d->bh);
    drop_fenced(d);
    if (d->v3d) {
        mosaic_timer_free(d->poll);
        vgpu_reset(&d->g);
        d->g.ext = NULL;
        v3d_close(d->v3d);
    }
    mosaic_virtio_free(d->v);
    vgpu_destroy(&d->g);
    g_free(d->req);
    g_free(d->label);
    g_free(d);
}

static bool cmd_screendump(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    const char *file = mosaic_args_get_str(a, "filename");
    const char *want = mosaic_args_has(a, "device") ? mosaic_args_get_str(a, "device") : NULL;
    int64_t head = mosaic_args_has(a, "head") ? mosaic_args_get_int(a, "head") : 0;
    if (mosaic_args_has(a, "format") && strcmp(mosaic_args_get_str(a, "format"), "png")) {
        mosaic_error_set(err, "screendump: format '%s' is not supported (png is)",
                         mosaic_args_get_str(a, "format"));
        return false;
    }
    if (!*file) {
        mosaic_error_set(err, "Parameter 'filename' is empty: name the PNG file to write");
        return false;
    }
    VGpuDev *d = NULL;
    for (GList *l = devices; l && !d; l = l->next)
        if (!want || !strcmp(((VGpuDev *)l->data)->label, want))
            d = l->data;
    if (!d) {
        mosaic_error_set_class(err, MOSAIC_ERRCLASS_NOT_FOUND, want ?
                               "no virtio-gpu device '%s' in this machine" :
                               "no virtio-gpu device in this machine%s", want ? want : "");
        return false;
    }
    if (head < 0 || head >= d->g.num_scanouts) {
        mosaic_error_set(err, "device '%s' has no output %" G_GINT64_FORMAT " (it has %u)",
                         d->label, head, d->g.num_scanouts);
        return false;
    }
    vgpu_capture(&d->g, head);
    const Scanout *s = &d->g.scanouts[head];
    if (!s->surface) {
        mosaic_error_set_class(err, MOSAIC_ERRCLASS_BAD_STATE, "output %" G_GINT64_FORMAT
                               " of '%s' has shown nothing yet (no flush)", head, d->label);
        return false;
    }
    g_autoptr(GError) ge = NULL;
    if (!vgpu_screendump(s, file, &ge)) {
        mosaic_error_set(err, "screendump: %s", ge->message);
        return false;
    }
    return true;
}

static const MosaicArgDesc screendump_args[] = {
    {"filename", MOSAIC_ARG_STR, false, "PNG file to write"},
    {"device", MOSAIC_ARG_STR, true, "label of the virtio-gpu device (default: the first)"},
    {"head", MOSAIC_ARG_INT, true, "output number (default 0)"},
    {"format", MOSAIC_ARG_STR, true, "image format: png (the only one)"},
    {NULL},
};

static const MosaicCommandDesc gpu_commands[] = {
    {.size = sizeof(MosaicCommandDesc), .name = "screendump",
     .help = "Write what a virtio-gpu output shows (as of its last flush) to a PNG file.",
     .args = screendump_args, .returns = "an empty object", .handler = cmd_screendump,
     .arg_size = sizeof(MosaicArgDesc)},
    {0},
};

static const MosaicDeviceOps gpu_ops = {
    .size = sizeof(MosaicDeviceOps),
    .bus = "virtio-mmio|pci", /* virtio-mmio unless the machine file names a PCI bus */
    .realize = gpu_realize,
    .unrealize = gpu_unrealize,
    .reset = gpu_reset,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI, .name = "virtio-gpu",
              .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "virtio GPU on virtio-mmio or virtio-pci: 2D resources, scanouts, cursor and "
                             "EDID with headless outputs; screendump to PNG",
              .props = gpu_props, .ops = &gpu_ops, .commands = gpu_commands);
