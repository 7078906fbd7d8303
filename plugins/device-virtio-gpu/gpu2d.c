/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The 2D command set of virtio-gpu: resources with guest backing pages, transfers into
 * the host image, scanouts, flushes into the headless display, the cursor, display
 * info, EDID.  Every field of a request is checked before it is used; a bad request
 * fails with the spec's error code and changes nothing. */
#include <string.h>
#include "gpu2d.h"

/* The pixel formats virtio-gpu defines: all 32 bits per pixel. */
static bool format_ok(uint32_t f)
{
    switch (f) {
    case 1: case 2: case 3: case 4: case 67: case 68: case 121: case 134:
        return true;
    default:
        return false;
    }
}

static void resource_free(gpointer p)
{
    Resource *r = p;
    g_free(r->data);
    g_free(r->backing);
    g_free(r);
}

void vgpu_init(VGpu *g, const VGpuMem *mem, uint32_t num_scanouts, uint32_t xres, uint32_t yres,
               uint64_t hostmem_max)
{
    memset(g, 0, sizeof *g);
    g->mem = *mem;
    g->resources = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, resource_free);
    g->num_scanouts = CLAMP(num_scanouts, 1, MAX_SCANOUTS);
    g->hostmem_max = hostmem_max;
    g->edid = true;
    for (unsigned i = 0; i < g->num_scanouts; i++) {
        g->scanouts[i].width = xres;
        g->scanouts[i].height = yres;
    }
}

static void scanouts_off(VGpu *g)
{
    for (unsigned i = 0; i < MAX_SCANOUTS; i++) {
        g->scanouts[i].resource_id = 0;
        memset(&g->scanouts[i].r, 0, sizeof(Rect));
    }
    memset(&g->cursor, 0, sizeof g->cursor);
}

void vgpu_reset(VGpu *g)
{
    if (g->ext)
        g->ext->reset(g->ext->opaque);
    g_hash_table_remove_all(g->resources);
    g->hostmem = 0;
    scanouts_off(g);
}

void vgpu_destroy(VGpu *g)
{
    g_hash_table_destroy(g->resources);
    for (unsigned i = 0; i < MAX_SCANOUTS; i++)
        g_free(g->scanouts[i].surface);
}

static Resource *lookup(VGpu *g, uint32_t id)
{
    return id ? g_hash_table_lookup(g->resources, GUINT_TO_POINTER(id)) : NULL;
}

size_t vgpu_uuid_answer(uint8_t uuid[16], bool *has, uint8_t *resp)
{
    if (!*has) {
        /* Unique enough to tell resources apart across guests sharing them (GLib's
         * generator is seeded from the system's random source). */
        for (unsigned i = 0; i < 16; i += 4)
            wr32(uuid + i, g_random_int());
        uuid[6] = (uuid[6] & 0x0f) | 0x40;
        uuid[8] = (uuid[8] & 0x3f) | 0x80;
        *has = true;
    }
    memcpy(resp + HDR_SIZE, uuid, 16);
    return UUID_RESP_SIZE;
}

Resource *vgpu_resource(VGpu *g, uint32_t id)
{
    return lookup(g, id);
}

/* The resource belongs to the 3D backend. */
static bool ext_owns(VGpu *g, uint32_t id)
{
    return g->ext && id && g->ext->owns(g->ext->opaque, id);
}

static void get_rect(const uint8_t *p, Rect *r)
{
    r->x = rd32(p);
    r->y = rd32(p + 4);
    r->w = rd32(p + 8);
    r->h = rd32(p + 12);
}

/* The rect lies inside the resource (64-bit sums: no wrap-around). */
static bool rect_inside(const Rect *r, const Resource *res)
{
    return (uint64_t)r->x + r->w <= res->width && (uint64_t)r->y + r->h <= res->height;
}

static uint32_t display_info(VGpu *g, uint8_t *resp)
{
    for (unsigned i = 0; i < g->num_scanouts; i++) {
        uint8_t *p = resp + HDR_SIZE + i * 24;
        wr32(p + 8, g->scanouts[i].width);
        wr32(p + 12, g->scanouts[i].height);
        wr32(p + 16, 1); /* enabled: the headless output is always connected */
    }
    return RESP_OK_DISPLAY_INFO;
}

static uint32_t create_2d(VGpu *g, const uint8_t *p)
{
    uint32_t id = rd32(p), format = rd32(p + 4), w = rd32(p + 8), h = rd32(p + 12);
    if (!id || lookup(g, id) || ext_owns(g, id))
        return RESP_ERR_INVALID_RESOURCE_ID;
    if (!format_ok(format) || !w || !h || w > MAX_DIMENSION || h > MAX_DIMENSION)
        return RESP_ERR_INVALID_PARAMETER;
    uint64_t bytes = (uint64_t)w * h * 4;
    if (bytes > g->hostmem_max - g->hostmem)
        return RESP_ERR_OUT_OF_MEMORY;
    uint8_t *data = g_try_malloc0(bytes);
    if (!data)
        return RESP_ERR_OUT_OF_MEMORY;
    Resource *r = g_new0(Resource, 1);
    *r = (Resource){.id = id, .format = format, .width = w, .height = h, .stride = w * 4,
                    .data = data};
    g->hostmem += bytes;
    g_hash_table_insert(g->resources, GUINT_TO_POINTER(id), r);
    return RESP_OK_NODATA;
}

static uint32_t unref(VGpu *g, const uint8_t *p)
{
    Resource *r = lookup(g, rd32(p));
    if (!r)
        return RESP_ERR_INVALID_RESOURCE_ID;
    for (unsigned i = 0; i < MAX_SCANOUTS; i++)
        if (g->scanouts[i].resource_id == r->id)
            g->scanouts[i].resource_id = 0;
    if (g->cursor.resource_id == r->id)
        g->cursor.resource_id = 0;
    g->hostmem -= (uint64_t)r->stride * r->height;
    g_hash_table_remove(g->resources, GUINT_TO_POINTER(r->id));
    return RESP_OK_NODATA;
}

static uint32_t attach_backing(VGpu *g, const uint8_t *p, size_t body)
{
    Resource *r = lookup(g, rd32(p));
    uint32_t n = rd32(p + 4);
    if (!r)
        return RESP_ERR_INVALID_RESOURCE_ID;
    if (r->backing)
        return RESP_ERR_UNSPEC; /* detach first */
    if (!n || n > MAX_BACKING_ENTRIES || (uint64_t)n * 16 > body - 8)
        return RESP_ERR_INVALID_PARAMETER;
    BackingEntry *e = g_new(BackingEntry, n);
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *q = p + 8 + 16 * i;
        e[i].gpa = rd64(q);
        e[i].len = rd32(q + 8);
        if (e[i].gpa + e[i].len < e[i].gpa ||
            !g->mem.is_ram(g->mem.opaque, e[i].gpa, e[i].len)) {
            g_free(e);
            return RESP_ERR_UNSPEC;
        }
        e[i].start = total;
        total += e[i].len;
    }
    r->backing = e;
    r->nbacking = n;
    r->backing_len = total;
    return RESP_OK_NODATA;
}

static uint32_t detach_backing(VGpu *g, const uint8_t *p)
{
    Resource *r = lookup(g, rd32(p));
    if (!r)
        return RESP_ERR_INVALID_RESOURCE_ID;
    if (!r->backing)
        return RESP_ERR_UNSPEC;
    g_clear_pointer(&r->backing, g_free);
    r->nbacking = 0;
    r->backing_len = 0;
    return RESP_OK_NODATA;
}

/* Reads backing bytes [off, off+len) of r into dst: false when the range leaves the
 * backing or guest memory refuses a read. */
static bool backing_read(VGpu *g, const Resource *r, uint64_t off, uint8_t *dst, uint64_t len)
{
    if (off > r->backing_len || len > r->backing_len - off)
        return false;
    /* The last entry starting at or before off (binary search: a 1080p frame is 2025
     * pages, read row by row). */
    uint32_t lo = 0, hi = r->nbacking;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->backing[mid].start <= off)
            lo = mid;
        else
            hi = mid;
    }
    off -= r->backing[lo].start;
    for (uint32_t i = lo; i < r->nbacking && len; i++) {
        const BackingEntry *e = &r->backing[i];
        if (off >= e->len) { /* zero-length entries */
            off -= e->len;
            continue;
        }
        uint64_t n = MIN(len, e->len - off);
        if (!g->mem.read(g->mem.opaque, e->gpa + off, dst, n))
            return false;
        dst += n;
        len -= n;
        off = 0;
    }
    return len == 0;
}

static uint32_t transfer_to_host_2d(VGpu *g, const uint8_t *p)
{
    Rect rc;
    get_rect(p, &rc);
    uint64_t offset = rd64(p + 16);
    Resource *r = lookup(g, rd32(p + 24));
    if (!r)
        return RESP_ERR_INVALID_RESOURCE_ID;
    if (!r->backing)
        return RESP_ERR_UNSPEC;
    if (!rect_inside(&rc, r))
        return RESP_ERR_INVALID_PARAMETER;
    /* Row h of the rect comes from offset + h * stride in the backing (the guest's
     * linear image has the resource's stride), as Linux's driver lays it out. */
    for (uint32_t h = 0; h < rc.h; h++) {
        uint64_t src = offset + (uint64_t)h * r->stride;
        uint8_t *dst = r->data + (uint64_t)(rc.y + h) * r->stride + (uint64_t)rc.x * 4;
        if (src < offset || !backing_read(g, r, src, dst, (uint64_t)rc.w * 4))
            return RESP_ERR_INVALID_PARAMETER;
    }
    return RESP_OK_NODATA;
}

static uint32_t set_scanout(VGpu *g, const uint8_t *p)
{
    Rect rc;
    get_rect(p, &rc);
    uint32_t sid = rd32(p + 16), rid = rd32(p + 20);
    if (sid >= g->num_scanouts)
        return RESP_ERR_INVALID_SCANOUT_ID;
    Scanout *s = &g->scanouts[sid];
    if (!rid) { /* disable */
        s->resource_id = 0;
        return RESP_OK_NODATA;
    }
    Resource *r = lookup(g, rid);
    if (!r && ext_owns(g, rid)) {
        if (!rc.w || !rc.h || rc.w > MAX_DIMENSION || rc.h > MAX_DIMENSION)
            return RESP_ERR_INVALID_PARAMETER;
        s->resource_id = rid;
        s->r = rc;
        return RESP_OK_NODATA;
    }
    if (!r)
        return RESP_ERR_INVALID_RESOURCE_ID;
    if (!rc.w || !rc.h || !rect_inside(&rc, r))
        return RESP_ERR_INVALID_PARAMETER;
    if (s->resource_id != rid)
        s->shown = false;
    s->resource_id = rid;
    s->r = rc;
    return RESP_OK_NODATA;
}

/* The headless display shows the resource itself: a flush only marks the output live
 * (vgpu_capture copies on demand), so a 1080p frame costs one copy (the transfer). */
static void present(Scanout *s)
{
    s->shown = true;
    s->flushes++;
}

static void surface_fit(Scanout *s)
{
    if (!s->surface || s->surface_w != s->r.w || s->surface_h != s->r.h) {
        g_free(s->surface);
        s->surface = g_malloc0((size_t)s->r.w * s->r.h * 4);
        s->surface_w = s->r.w;
        s->surface_h = s->r.h;
    }
}

void vgpu_capture(VGpu *g, unsigned head)
{
    Scanout *s = &g->scanouts[head];
    Resource *r = lookup(g, s->resource_id);
    if (!r || !s->shown || !rect_inside(&s->r, r))
        return;
    surface_fit(s);
    s->surface_format = r->format;
    for (uint32_t y = 0; y < s->r.h; y++)
        memcpy(s->surface + (size_t)y * s->surface_w * 4,
               r->data + (size_t)(s->r.y + y) * r->stride + (size_t)s->r.x * 4, (size_t)s->r.w * 4);
}

/* A flush of a 3D resource: the backend reads the scanout's rect back into the
 * output's surface (the whole rect: 3D rendering gives no finer damage here). */
static uint32_t flush_3d(VGpu *g, uint32_t rid)
{
    for (unsigned i = 0; i < g->num_scanouts; i++) {
        Scanout *s = &g->scanouts[i];
        if (s->resource_id != rid)
            continue;
        surface_fit(s);
        if (!g->ext->read_pixels(g->ext->opaque, rid, &s->r, s->surface, &s->surface_format))
            return RESP_ERR_INVALID_PARAMETER;
        s->flushes++;
    }
    return RESP_OK_NODATA;
}

static uint32_t flush(VGpu *g, const uint8_t *p)
{
    Rect rc;
    get_rect(p, &rc);
    Resource *r = lookup(g, rd32(p + 16));
    if (!r && ext_owns(g, rd32(p + 16)))
        return flush_3d(g, rd32(p + 16));
    if (!r)
        return RESP_ERR_INVALID_RESOURCE_ID;
    if (!rect_inside(&rc, r))
        return RESP_ERR_INVALID_PARAMETER;
    for (unsigned i = 0; i < g->num_scanouts; i++)
        if (g->scanouts[i].resource_id == r->id)
            present(&g->scanouts[i]);
    return RESP_OK_NODATA;
}

static uint32_t get_edid(VGpu *g, const uint8_t *p, uint8_t *resp)
{
    uint32_t sid = rd32(p);
    if (!g->edid)
        return RESP_ERR_UNSPEC;
    if (sid >= g->num_scanouts)
        return RESP_ERR_INVALID_SCANOUT_ID;
    wr32(resp + HDR_SIZE, 128);
    vgpu_edid(resp + HDR_SIZE + 8, g->scanouts[sid].width, g->scanouts[sid].height, sid);
    return RESP_OK_EDID;
}

/* Cursor queue: update_cursor and move_cursor share one layout
 * (pos{scanout, x, y, pad}, resource_id, hot_x, hot_y, pad). */
static uint32_t cursor(VGpu *g, uint32_t type, const uint8_t *p)
{
    uint32_t sid = rd32(p), rid = rd32(p + 16);
    if (sid >= g->num_scanouts)
        return RESP_ERR_INVALID_SCANOUT_ID;
    Cursor *c = &g->cursor;
    if (type == CMD_UPDATE_CURSOR) {
        Resource *r = rid ? lookup(g, rid) : NULL;
        if (rid && !r)
            return RESP_ERR_INVALID_RESOURCE_ID;
        if (r && (r->width > 256 || r->height > 256))
            return RESP_ERR_INVALID_PARAMETER; /* cursors are 64x64 in practice */
        c->resource_id = rid;
        c->hot_x = rd32(p + 20);
        c->hot_y = rd32(p + 24);
        c->updates++;
    } else {
        c->moves++;
    }
    c->scanout = sid;
    c->x = rd32(p + 4);
    c->y = rd32(p + 8);
    return RESP_OK_NODATA;
}

/* Bytes after the header each command needs. */
static size_t body_size(uint32_t type)
{
    switch (type) {
    case CMD_GET_DISPLAY_INFO: return 0;
    case CMD_RESOURCE_CREATE_2D: return 16;
    case CMD_RESOURCE_UNREF: case CMD_RESOURCE_DETACH_BACKING: return 8;
    case CMD_SET_SCANOUT: return 24;
    case CMD_RESOURCE_FLUSH: return 24;
    case CMD_TRANSFER_TO_HOST_2D: return 32;
    case CMD_RESOURCE_ATTACH_BACKING: return 8;
    case CMD_GET_CAPSET_INFO: case CMD_GET_CAPSET: case CMD_GET_EDID: return 8;
    case CMD_RESOURCE_ASSIGN_UUID: return 8;
    case CMD_UPDATE_CURSOR: case CMD_MOVE_CURSOR: return 32;
    default: return SIZE_MAX;
    }
}

size_t vgpu_command(VGpu *g, const uint8_t *req, size_t len, uint8_t *resp, size_t cap)
{
    if (cap < HDR_SIZE)
        return 0;
    uint32_t type = len >= 4 ? rd32(req) : 0;
    size_t need = body_size(type);
    bool to_ext = false;
    if (g->ext && len >= HDR_SIZE + 4) {
        uint32_t id = rd32(req + HDR_SIZE);
        to_ext = type == CMD_GET_CAPSET_INFO || type == CMD_GET_CAPSET ||
                 type == CMD_RESOURCE_CREATE_BLOB || type == CMD_SET_SCANOUT_BLOB ||
                 (type >= 0x200 && type < 0x300) ||
                 ((type == CMD_RESOURCE_UNREF || type == CMD_RESOURCE_ATTACH_BACKING ||
                   type == CMD_RESOURCE_ASSIGN_UUID ||
                   type == CMD_RESOURCE_DETACH_BACKING) && ext_owns(g, id));
    }
    uint32_t status;
    size_t out = HDR_SIZE;
    memset(resp, 0, MIN(cap, (size_t)EDID_RESP_SIZE));
    if (to_ext) {
        memset(resp, 0, MIN(cap, (size_t)RESP_MAX));
        status = g->ext->command(g->ext->opaque, type, req, len, resp, cap, &out);
        if (status >= RESP_ERR_UNSPEC)
            out = HDR_SIZE;
    } else if (len < HDR_SIZE || need == SIZE_MAX || len - HDR_SIZE < need) {
        status = RESP_ERR_UNSPEC;
    } else {
        const uint8_t *p = req + HDR_SIZE;
        switch (type) {
        case CMD_GET_DISPLAY_INFO:
            if (cap < DISPLAY_INFO_SIZE) {
                status = RESP_ERR_UNSPEC;
                break;
            }
            status = display_info(g, resp);
            out = DISPLAY_INFO_SIZE;
            break;
        case CMD_RESOURCE_CREATE_2D: status = create_2d(g, p); break;
        case CMD_RESOURCE_UNREF: status = unref(g, p); break;
        case CMD_SET_SCANOUT: status = set_scanout(g, p); break;
        case CMD_RESOURCE_FLUSH: status = flush(g, p); break;
        case CMD_TRANSFER_TO_HOST_2D: status = transfer_to_host_2d(g, p); break;
        case CMD_RESOURCE_ATTACH_BACKING: status = attach_backing(g, p, len - HDR_SIZE); break;
        case CMD_RESOURCE_DETACH_BACKING: status = detach_backing(g, p); break;
        case CMD_GET_EDID:
            if (cap < EDID_RESP_SIZE) {
                status = RESP_ERR_UNSPEC;
                break;
            }
            status = get_edid(g, p, resp);
            out = status == RESP_OK_EDID ? EDID_RESP_SIZE : HDR_SIZE;
            break;
        case CMD_UPDATE_CURSOR: case CMD_MOVE_CURSOR: status = cursor(g, type, p); break;
        case CMD_RESOURCE_ASSIGN_UUID: {
            Resource *r = lookup(g, rd32(p));
            if (!r || cap < UUID_RESP_SIZE) {
                status = RESP_ERR_INVALID_RESOURCE_ID;
                break;
            }
            out = vgpu_uuid_answer(r->uuid, &r->has_uuid, resp);
            status = RESP_OK_RESOURCE_UUID;
            break;
        }
        default: status = RESP_ERR_UNSPEC; break; /* no 3D backend: no capsets */
        }
    }
    wr32(resp, status);
    if (len >= HDR_SIZE && (rd32(req + 4) & GPU_FLAG_FENCE)) {
        /* 2D commands complete before the response: the fence is signalled with it. */
        wr32(resp + 4, rd32(req + 4) & (GPU_FLAG_FENCE | GPU_FLAG_INFO_RING_IDX));
        wr64(resp + 8, rd64(req + 8));
        wr32(resp + 16, rd32(req + 16));
        if (rd32(req + 4) & GPU_FLAG_INFO_RING_IDX)
            resp[20] = req[20];
    }
    return out;
}
