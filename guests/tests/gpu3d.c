/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A tiny virtio-gpu 3D driver (virtio-mmio, polled) for tests/system/test_gpu3d.py:
 * negotiates VIRTIO_GPU_F_VIRGL, lists the capsets, creates a virgl context (and a Venus
 * one with mosaic.gpu3d=1 on the command line), creates a 64x48 render target, submits
 * a virgl command stream that clears it to (1.0, 0.2, 0.0) with a fence, reads it back
 * with TRANSFER_FROM_HOST_3D and checks every pixel, shows it on scanout 0; then sends
 * malformed 3D commands (each must fail with its code) and a garbage command stream in a
 * context of its own, and checks the device still works.  Prints SIG lines,
 * "FAILURES n", "DRAWN", and waits for the test's screendump.
 * The device is found on virtio-mmio or, failing that, on PCI (virtio_xport.c).
 *
 * mosaic.gpublob=1: guest-memory blobs and the blob refusals instead (with
 * mosaic.gpufuzz=N: N random 3D/blob requests after them); mosaic.gpumap=1: host-visible
 * blobs through MAP_BLOB (the device needs `hostmem`).
 * mosaic.gpufence=1: fences on contexts' rings (VIRTIO_GPU_FLAG_INFO_RING_IDX) and
 * RESOURCE_ASSIGN_UUID instead (with mosaic.gpu3d=1 also a Venus context's ring 0).
 * mosaic.gpubench=N on the command line: a benchmark instead (bench/gpu).  */
#include "harness.h"
#include "virtio_xport.h"
#include "gpu_cmd.h"

#define MAXW 1024
#define MAXH 768

static uint8_t fb[64 * 48 * 4] __attribute__((aligned(4096)));
#define W 64
#define H 48

static void device_init(void)
{
    check_eq("virtio-gpu found", vx_find(16), 1);
    sig("on-pci", vx_is_pci());
    check_eq("device reset completes", vx_reset(), 1);
    vx_set_status(1 | 2);
    check_eq("VIRGL offered", vx_device_features(0) & 1, 1);
    check_eq("VERSION_1 offered", vx_device_features(1) & 1, 1);
    check_eq("RESOURCE_UUID offered", vx_device_features(0) & 4, 4);
    vx_driver_features(0, 1 | 4 | 8 | 16);  /* VIRGL, RESOURCE_UUID, RESOURCE_BLOB, CONTEXT_INIT */
    vx_driver_features(1, 1);       /* VERSION_1 */
    vx_set_status(1 | 2 | 8);
    check_eq("FEATURES_OK", vx_status() & 8, 8);
    vq_setup(0);
    vq_setup(1);
    vx_set_status(1 | 2 | 8 | 4);
    sig("num-capsets", vx_config32(12));
}


static uint32_t rect_cmd(uint32_t type, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                         uint32_t a, uint32_t b)
{
    uint8_t *p = hdr(type);
    put32(p, x); put32(p + 4, y); put32(p + 8, w); put32(p + 12, h);
    put32(p + 16, a);
    put32(p + 20, b);
    return cmd(48);
}

static void capsets(void)
{
    unsigned n = vx_config32(12);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *p = hdr(0x108);
        put32(p, i);
        check_eq("GET_CAPSET_INFO", cmd(32), 0x1102);
        uint32_t id = get32(resp + 24), size = get32(resp + 32);
        char name[] = "capset-0-size";
        name[7] = '0' + (id % 10);
        sig(name, size);
        if (id == 2) {
            p = hdr(0x109);
            put32(p, 2); put32(p + 4, 2);
            uint32_t written;
            check_eq("GET_CAPSET virgl2", cmd_on(0, 32, &written), 0x1103);
            check_eq("capset answer length", written, 24 + size);
            check_eq("virgl2 caps max_version", get32(resp + 24), 2);
        }
    }
    uint8_t *p = hdr(0x108);
    put32(p, n);
    check_eq("GET_CAPSET_INFO past the last", cmd(32), 0x1205);
}

static uint32_t ctx_create(uint32_t ctx, uint32_t capset)
{
    uint8_t *p = hdr(0x200);
    put32(req + 16, ctx);
    put32(p, 4); put32(p + 4, capset);
    p[8] = 't'; p[9] = 'e'; p[10] = 's'; p[11] = 't';
    return cmd(24 + 72);
}

static uint32_t create_3d_as(uint32_t id, uint32_t target, uint32_t format, uint32_t bind,
                             uint32_t w, uint32_t h)
{
    uint8_t *p = hdr(0x204);
    put32(p, id); put32(p + 4, target); put32(p + 8, format); put32(p + 12, bind);
    put32(p + 16, w); put32(p + 20, h); put32(p + 24, 1); put32(p + 28, 1);
    return cmd(24 + 48);
}

/* A 2D render target: PIPE_TEXTURE_2D, B8G8R8X8, BIND_RENDER_TARGET. */
static uint32_t create_3d(uint32_t id, uint32_t w, uint32_t h)
{
    return create_3d_as(id, 2, 2, 2, w, h);
}

static uint32_t ctx_res(uint32_t type, uint32_t ctx, uint32_t id)
{
    uint8_t *p = hdr(type);
    put32(req + 16, ctx);
    put32(p, id);
    return cmd(32);
}

/* SUBMIT_3D of n dwords, fenced when fence != 0. */
static uint32_t submit(uint32_t ctx, const uint32_t *dw, unsigned n, uint64_t fence, uint32_t size)
{
    uint8_t *p = hdr(0x207);
    put32(req + 16, ctx);
    if (fence) {
        put32(req + 4, 1);
        put64(req + 8, fence);
    }
    put32(p, size);
    for (unsigned i = 0; i < n; i++)
        put32(p + 8 + 4 * i, dw[i]);
    return cmd(32 + 4 * n);
}

static uint32_t transfer_3d(uint32_t type, uint32_t ctx, uint32_t id)
{
    uint8_t *p = hdr(type);
    put32(req + 16, ctx);
    put32(p, 0); put32(p + 4, 0); put32(p + 8, 0);
    put32(p + 12, W); put32(p + 16, H); put32(p + 20, 1);
    put64(p + 24, 0);
    put32(p + 32, id); put32(p + 36, 0); put32(p + 40, W * 4); put32(p + 44, 0);
    return cmd(24 + 48);
}

#define CMD0(cmd, obj, len) ((cmd) | (obj) << 8 | (uint32_t)(len) << 16)

static void clear_and_read(void)
{
    check_eq("CTX_CREATE virgl", ctx_create(1, 0), 0x1100);
    check_eq("CTX_CREATE same id", ctx_create(1, 0), 0x1204);
    check_eq("RESOURCE_CREATE_3D", create_3d(10, W, H), 0x1100);
    check_eq("attach backing", attach(10, fb, sizeof fb), 0x1100);
    check_eq("CTX_ATTACH_RESOURCE", ctx_res(0x202, 1, 10), 0x1100);
    for (unsigned i = 0; i < sizeof fb; i++)
        fb[i] = 0x5a;
    const uint32_t cs[] = {
        CMD0(1, 8, 5), 1, 10, 2, 0, 0,            /* surface 1 on resource 10, B8G8R8X8 */
        CMD0(5, 0, 3), 1, 0, 1,                   /* framebuffer: cbuf0 = surface 1 */
        CMD0(7, 0, 8), 4,                         /* clear COLOR0 */
        0x3f800000, 0x3e4ccccd, 0, 0x3f800000,    /* r 1.0, g 0.2, b 0.0, a 1.0 */
        0, 0, 0,                                  /* depth (double), stencil */
    };
    check_eq("SUBMIT_3D clear (fenced)", submit(1, cs, sizeof cs / 4, 77, sizeof cs), 0x1100);
    check_eq("fence answered", get32(resp + 4) & 1, 1);
    check_eq("fence id", get32(resp + 8), 77);
    check_eq("TRANSFER_FROM_HOST_3D", transfer_3d(0x206, 1, 10), 0x1100);
    unsigned bad = 0;
    for (unsigned i = 0; i < W * H; i++)
        if (fb[4 * i] != 0x00 || fb[4 * i + 1] != 0x33 || fb[4 * i + 2] != 0xff)
            bad++;
    sig("pixel0", get32(fb) & 0xffffff);
    sig("bad-pixels", bad);
    check_eq("every pixel cleared", bad, 0);
    check_eq("set_scanout 3D", rect_cmd(0x103, 0, 0, W, H, 0, 10), 0x1100);
    check_eq("flush 3D", rect_cmd(0x104, 0, 0, W, H, 10, 0), 0x1100);
}

/* ---- The triangle: a whole virgl pipeline (Gallium state objects, TGSI shaders). ----
 * Wire format: virglrenderer's virgl_protocol.h (commands, object types, state bits). */
enum {
    CCMD_CREATE_OBJECT = 1, CCMD_BIND_OBJECT = 2, CCMD_SET_VIEWPORT_STATE = 4,
    CCMD_SET_FRAMEBUFFER_STATE = 5, CCMD_SET_VERTEX_BUFFERS = 6, CCMD_CLEAR = 7,
    CCMD_DRAW_VBO = 8, CCMD_RESOURCE_INLINE_WRITE = 9, CCMD_BIND_SHADER = 31,
};
enum { OBJ_BLEND = 1, OBJ_RASTERIZER = 2, OBJ_DSA = 3, OBJ_SHADER = 4, OBJ_VERTEX_ELEMENTS = 5 };
#define F_0_75 0x3f400000u
#define F_M0_75 0xbf400000u
#define F_1 0x3f800000u
#define F_0_5 0x3f000000u
#define F_32 0x42000000u
#define F_24 0x41c00000u
#define VBUF 20

static uint32_t cs[1024];
static unsigned ncs;

static void emit(uint32_t d) { cs[ncs++] = d; }

/* TGSI text as the shader object's payload: NUL-terminated, padded to dwords. */
static void emit_shader(uint32_t handle, uint32_t stage, const char *text)
{
    uint32_t len = 0;
    while (text[len])
        len++;
    len++;
    uint32_t dw = (len + 3) / 4;
    emit(CMD0(CCMD_CREATE_OBJECT, OBJ_SHADER, 5 + dw));
    emit(handle); emit(stage);
    emit(len);            /* offlen: the whole text in this one command */
    emit(300);            /* tokens the host may need to hold the translation */
    emit(0);              /* no stream-output */
    for (uint32_t i = 0; i < dw; i++) {
        uint32_t w = 0;
        for (uint32_t b = 0; b < 4; b++)
            if (4 * i + b < len)
                w |= (uint32_t)(uint8_t)text[4 * i + b] << (8 * b);
        emit(w);
    }
}

static const char vs_text[] =
    "VERT\n"
    "DCL IN[0]\n"
    "DCL OUT[0], POSITION\n"
    "  0: MOV OUT[0], IN[0]\n"
    "  1: END\n";
/* The triangle's colour: blue (0, 0, 1, 1). */
static const char fs_text[] =
    "FRAG\n"
    "PROPERTY FS_COLOR0_WRITES_ALL_CBUFS 1\n"
    "DCL OUT[0], COLOR\n"
    "IMM[0] FLT32 { 0.0000, 0.0000, 1.0000, 1.0000 }\n"
    "  0: MOV OUT[0], IMM[0]\n"
    "  1: END\n";

/* The reference, in window pixels of the 64x48 target (row 0 = the resource's first row):
 * vertices (8,6), (56,6), (8,42) — clip space (-0.75,-0.75), (0.75,-0.75), (-0.75,0.75)
 * through the viewport below.  A pixel is judged at its centre: at least one pixel inside
 * every edge it must be the triangle's colour, at least one pixel outside any edge the
 * clear colour; nearer an edge either is right (rasterisation rules may differ there),
 * anything else is wrong.  Returns 1 inside, 0 outside, -1 on an edge. */
static int tri_ref(unsigned x, unsigned y)
{
    int X = 2 * (int)x + 1, Y = 2 * (int)y + 1;                  /* doubled centre */
    int left = X - 16, top = Y - 12;                              /* 2 * distance */
    int hyp = 288 - 3 * (X - 16) - 4 * (Y - 12);                  /* 10 * distance */
    if (left >= 2 && top >= 2 && hyp >= 10)
        return 1;
    if (left <= -2 || top <= -2 || hyp <= -10)
        return 0;
    return -1;
}

static void draw_triangle(void)
{
    check_eq("RESOURCE_CREATE_3D vertex buffer", create_3d_as(VBUF, 0 /* PIPE_BUFFER */,
             64 /* R8_UNORM */, 1u << 4 /* BIND_VERTEX_BUFFER */, 48, 1), 0x1100);
    check_eq("CTX_ATTACH_RESOURCE vertex buffer", ctx_res(0x202, 1, VBUF), 0x1100);
    ncs = 0;
    /* Three vertices, x y z w. */
    static const uint32_t verts[12] = {F_M0_75, F_M0_75, 0, F_1, F_0_75, F_M0_75, 0, F_1,
                                       F_M0_75, F_0_75, 0, F_1};
    emit(CMD0(CCMD_RESOURCE_INLINE_WRITE, 0, 11 + 12));
    emit(VBUF); emit(0); emit(0); emit(0); emit(0);     /* level, usage, strides */
    emit(0); emit(0); emit(0); emit(48); emit(1); emit(1);  /* box */
    for (unsigned i = 0; i < 12; i++)
        emit(verts[i]);
    emit_shader(2, 0 /* vertex */, vs_text);
    emit_shader(3, 1 /* fragment */, fs_text);
    emit(CMD0(CCMD_BIND_SHADER, 0, 2)); emit(2); emit(0);
    emit(CMD0(CCMD_BIND_SHADER, 0, 2)); emit(3); emit(1);
    /* Vertex elements: one float4 at offset 0 of buffer 0. */
    emit(CMD0(CCMD_CREATE_OBJECT, OBJ_VERTEX_ELEMENTS, 5));
    emit(4); emit(0); emit(0); emit(0); emit(31 /* R32G32B32A32_FLOAT */);
    emit(CMD0(CCMD_BIND_OBJECT, OBJ_VERTEX_ELEMENTS, 1)); emit(4);
    emit(CMD0(CCMD_SET_VERTEX_BUFFERS, 0, 3)); emit(16); emit(0); emit(VBUF);
    /* Blend off, colour mask RGBA on render target 0. */
    emit(CMD0(CCMD_CREATE_OBJECT, OBJ_BLEND, 11));
    emit(5); emit(0); emit(0);
    emit(0xfu << 27);
    for (unsigned i = 1; i < 8; i++)
        emit(0);
    emit(CMD0(CCMD_BIND_OBJECT, OBJ_BLEND, 1)); emit(5);
    /* Rasterizer: fill, no culling, depth clip, half-pixel centres; line width 1. */
    emit(CMD0(CCMD_CREATE_OBJECT, OBJ_RASTERIZER, 9));
    emit(6); emit(1u << 1 | 1u << 29); emit(F_1); emit(0); emit(0); emit(F_1);
    emit(0); emit(0); emit(0);
    emit(CMD0(CCMD_BIND_OBJECT, OBJ_RASTERIZER, 1)); emit(6);
    /* Depth, stencil and alpha tests off. */
    emit(CMD0(CCMD_CREATE_OBJECT, OBJ_DSA, 5));
    emit(7); emit(0); emit(0); emit(0); emit(0);
    emit(CMD0(CCMD_BIND_OBJECT, OBJ_DSA, 1)); emit(7);
    emit(CMD0(CCMD_SET_FRAMEBUFFER_STATE, 0, 3)); emit(1); emit(0); emit(1);
    /* Viewport 64x48: scale (32, 24, 0.5), translate (32, 24, 0.5). */
    emit(CMD0(CCMD_SET_VIEWPORT_STATE, 0, 7)); emit(0);
    emit(F_32); emit(F_24); emit(F_0_5); emit(F_32); emit(F_24); emit(F_0_5);
    emit(CMD0(CCMD_CLEAR, 0, 8)); emit(4);
    emit(0x3f800000); emit(0x3e4ccccd); emit(0); emit(0x3f800000);
    emit(0); emit(0); emit(0);
    /* DRAW_VBO: start 0, count 3, PIPE_PRIM_TRIANGLES, not indexed, 1 instance. */
    emit(CMD0(CCMD_DRAW_VBO, 0, 12));
    emit(0); emit(3); emit(4); emit(0); emit(1); emit(0); emit(0); emit(0); emit(0);
    emit(0); emit(2); emit(0);
    for (unsigned i = 0; i < sizeof fb; i++)
        fb[i] = 0x5a;
    check_eq("SUBMIT_3D triangle (fenced)", submit(1, cs, ncs, 78, 4 * ncs), 0x1100);
    check_eq("triangle fence answered", get32(resp + 4) & 1, 1);
    check_eq("TRANSFER_FROM_HOST_3D triangle", transfer_3d(0x206, 1, 10), 0x1100);
    unsigned inside = 0, outside = 0, edge = 0, bad = 0;
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++) {
            const uint8_t *px = fb + 4 * (y * W + x);
            int blue = px[0] == 0xff && px[1] == 0 && px[2] == 0;
            int clear = px[0] == 0 && px[1] == 0x33 && px[2] == 0xff;
            int want = tri_ref(x, y);
            if (want == 1 ? !blue : want == 0 ? !clear : !(blue || clear))
                bad++;
            inside += blue;
            outside += clear;
            edge += want == -1;
        }
    sig("tri-inside", inside);
    sig("tri-outside", outside);
    sig("tri-edge", edge);
    sig("tri-bad", bad);
    check_eq("triangle pixels match the reference", bad, 0);
    check_eq("set_scanout triangle", rect_cmd(0x103, 0, 0, W, H, 0, 10), 0x1100);
    check_eq("flush triangle", rect_cmd(0x104, 0, 0, W, H, 10, 0), 0x1100);
}

static void bad_3d(void)
{
    const uint32_t nop[] = {0};
    check_eq("submit, no such context", submit(99, nop, 1, 0, 4), 0x1204);
    check_eq("submit, size past the request", submit(1, nop, 1, 0, 0x100000), 0x1205);
    check_eq("create_3d 100000 wide", create_3d(11, 100000, 4), 0x1205);
    check_eq("create_3d 16384x16384 (past max-hostmem)", create_3d(11, 16384, 16384), 0x1201);
    check_eq("create_3d id in use", create_3d(10, 4, 4), 0x1203);
    check_eq("transfer_3d no resource", transfer_3d(0x205, 1, 55), 0x1203);
    check_eq("transfer_3d no context", transfer_3d(0x205, 42, 10), 0x1204);
    check_eq("ctx attach no resource", ctx_res(0x202, 1, 55), 0x1203);
    check_eq("ctx destroy no context", ctx_res(0x201, 42, 0), 0x1204);
    check_eq("create_3d small", create_3d(12, 4, 4), 0x1100);
    check_eq("transfer_3d no backing", transfer_3d(0x205, 1, 12), 0x1200);
    check_eq("2D create on a 3D id", create(12, 2, 4, 4), 0x1203);
    /* Garbage in a context of its own: whatever it answers, the device stays usable. */
    check_eq("CTX_CREATE 3", ctx_create(3, 0), 0x1100);
    static uint32_t junk[256];
    uint32_t x = 12345;
    for (unsigned i = 0; i < 256; i++) {
        x = x * 1103515245 + 12345;
        junk[i] = x;
    }
    junk[0] = CMD0(1, 8, 5); /* a surface on a resource that is not there */
    junk[1] = 1; junk[2] = 999; junk[3] = 2; junk[4] = 0; junk[5] = 0;
    uint32_t st = submit(3, junk, 256, 0, sizeof junk);
    sig("garbage-submit", st);
    check_eq("ctx destroy 3", ctx_res(0x201, 3, 0), 0x1100);
    check_eq("unref 12", ctx_res(0x102, 0, 12), 0x1100);
    check_eq("unref 12 again", ctx_res(0x102, 0, 12), 0x1203);
    check_eq("still works: read back", transfer_3d(0x206, 1, 10), 0x1100);
}

/* ---- Guest-memory blobs (VIRTIO_GPU_F_RESOURCE_BLOB, mosaic.gpublob=1) ----
 * A 64x48 B8G8R8X8 picture in guest pages becomes blob 30 (blob_mem GUEST) of context
 * 1, shown with SET_SCANOUT_BLOB at stride 320 bytes, offset 64 (a padded layout) and
 * flushed: the test's screendump must show the pattern.  Then the refusals. */
#define BLOB_STRIDE 320
#define BLOB_OFFSET 64
static uint8_t blob[BLOB_OFFSET + BLOB_STRIDE * H] __attribute__((aligned(4096)));

static uint64_t blob_id_arg; /* the blob_id create_blob sends (host blobs) */

static uint32_t create_blob(uint32_t id, uint32_t ctx, uint32_t mem, uint32_t flags,
                            const uint8_t *base, uint32_t len, uint64_t size)
{
    uint8_t *p = hdr(0x10c);
    put32(req + 16, ctx);
    uint32_t n = 0;
    for (uint32_t off = 0; base && off < len; off += 4096, n++) {
        put64(p + 32 + 16 * n, (uint64_t)base + off);
        put32(p + 40 + 16 * n, len - off < 4096 ? len - off : 4096);
        put32(p + 44 + 16 * n, 0);
    }
    put32(p, id); put32(p + 4, mem); put32(p + 8, flags); put32(p + 12, n);
    put64(p + 16, blob_id_arg); put64(p + 24, size);
    return cmd(24 + 32 + 16 * n);
}

static uint32_t scanout_blob(uint32_t id, uint32_t w, uint32_t h, uint32_t stride, uint32_t offset)
{
    uint8_t *p = hdr(0x10d);
    put32(p, 0); put32(p + 4, 0); put32(p + 8, w); put32(p + 12, h);
    put32(p + 16, 0); put32(p + 20, id); put32(p + 24, w); put32(p + 28, h);
    put32(p + 32, 2 /* B8G8R8X8 */);
    put32(p + 40, stride); put32(p + 56, offset);
    return cmd(24 + 72);
}

/* The pattern the test checks: r = 4x, g = 5y, b = x ^ y. */
static void blob_test(void)
{
    check_eq("RESOURCE_BLOB offered", vx_device_features(0) >> 3 & 1, 1);
    check_eq("CTX_CREATE for blobs", ctx_create(1, 0), 0x1100);
    for (unsigned i = 0; i < sizeof blob; i++)
        blob[i] = 0xa5;
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++) {
            uint8_t *px = blob + BLOB_OFFSET + y * BLOB_STRIDE + 4 * x;
            px[0] = (uint8_t)(x ^ y); px[1] = (uint8_t)(5 * y); px[2] = (uint8_t)(4 * x);
            px[3] = 0;
        }
    check_eq("RESOURCE_CREATE_BLOB guest", create_blob(30, 1, 1, 2 /* SHAREABLE */, blob,
             sizeof blob, sizeof blob), 0x1100);
    check_eq("CTX_ATTACH_RESOURCE blob", ctx_res(0x202, 1, 30), 0x1100);
    check_eq("SET_SCANOUT_BLOB", scanout_blob(30, W, H, BLOB_STRIDE, BLOB_OFFSET), 0x1100);
    check_eq("flush blob", rect_cmd(0x104, 0, 0, W, H, 30, 0), 0x1100);
    /* Refusals: each fails with its code and changes nothing. */
    check_eq("blob id in use", create_blob(30, 1, 1, 0, blob, 4096, 4096), 0x1203);
    check_eq("blob larger than its pages", create_blob(31, 1, 1, 0, blob, 4096, 8192), 0x1205);
    check_eq("blob without pages", create_blob(31, 1, 1, 0, 0, 0, 4096), 0x1205);
    check_eq("blob in MMIO", create_blob(31, 1, 1, 0, (const uint8_t *)0x10001000ul, 4096,
             4096), 0x1200);
    check_eq("blob_mem 9", create_blob(31, 1, 9, 0, blob, 4096, 4096), 0x1205);
    check_eq("blob size 0", create_blob(31, 1, 1, 0, blob, 4096, 0), 0x1205);
    check_eq("blob in no context", create_blob(31, 7, 1, 0, blob, 4096, 4096), 0x1204);
    check_eq("host blob, no such blob_id", create_blob(31, 1, 2, 0, 0, 0, 4096), 0x1205);
    check_eq("host blob, mappable (no MAP_BLOB)", create_blob(31, 1, 2, 1, 0, 0, 4096), 0x1205);
    /* A host blob: the context's stream makes a 4 KiB pipe buffer with blob id 5
     * (VIRGL_CCMD_PIPE_RESOURCE_CREATE), RESOURCE_CREATE_BLOB claims it.  Its storage is
     * the host's: no pages can be attached to it, nothing transferred. */
    static const uint32_t pipe_buf[12] = {48 | 11u << 16, 0 /* buffer */, 64 /* R8 */,
                                          1u << 4 /* vertex buffer */, 4096, 1, 1, 1, 0, 0,
                                          0, 5};
    check_eq("PIPE_RESOURCE_CREATE blob id 5", submit(1, pipe_buf, 12, 0, sizeof pipe_buf),
             0x1100);
    blob_id_arg = 5;
    check_eq("RESOURCE_CREATE_BLOB host3d", create_blob(33, 1, 2, 0, 0, 0, 4096), 0x1100);
    blob_id_arg = 0;
    check_eq("attach pages to a host blob", attach(33, fb, 4096), 0x1200);
    check_eq("transfer on a host blob", transfer_3d(0x205, 1, 33), 0x1200);
    check_eq("unref host blob", ctx_res(0x102, 0, 33), 0x1100);
    check_eq("scanout past the blob", scanout_blob(30, W, H + 1, BLOB_STRIDE, BLOB_OFFSET),
             0x1205);
    check_eq("scanout stride too small", scanout_blob(30, W, H, W * 4 - 4, 0), 0x1205);
    check_eq("scanout of no blob", scanout_blob(77, W, H, BLOB_STRIDE, 0), 0x1203);
    check_eq("transfer on a guest blob", transfer_3d(0x205, 1, 30), 0x1200);
    check_eq("detach a guest blob's pages", ctx_res(0x107, 0, 30), 0x1200);
    check_eq("attach pages to a guest blob", attach(30, fb, 4096), 0x1200);
    check_eq("blob small", create_blob(32, 0, 1, 0, blob, 4096, 4096), 0x1100);
    check_eq("unref blob small", ctx_res(0x102, 0, 32), 0x1100);
    check_eq("unref blob small again", ctx_res(0x102, 0, 32), 0x1203);
    check_eq("flush blob again", rect_cmd(0x104, 0, 0, W, H, 30, 0), 0x1100);
}

/* ---- Host-visible blobs (MAP_BLOB, mosaic.gpumap=1, the device's hostmem set) ----
 * The context's stream makes 4 KiB pipe buffers with blob ids (PIPE_RESOURCE_CREATE,
 * persistent-mappable unless said otherwise); RESOURCE_CREATE_BLOB (host3d,
 * USE_MAPPABLE) makes them resources, MAP_BLOB puts one at an offset of the shared
 * memory region.  The guest writes a pattern through its window, reads it back there,
 * and through the host: a copy into a plain buffer transferred into guest pages.  Then
 * the refusals, and after UNMAP_BLOB, unref, context destroy and device reset the
 * window faults (a load access fault: nothing reaches the host's memory). */
static uint64_t shm_base, shm_len;

static uint32_t pipe_buffer(uint32_t ctx, uint32_t blob_id, uint32_t flags)
{
    uint32_t cs_buf[12] = {48 | 11u << 16, 0 /* buffer */, 64 /* R8 */, 1u << 4 /* vertex */,
                           4096, 1, 1, 1, 0, 0, flags, blob_id};
    return submit(ctx, cs_buf, 12, 0, sizeof cs_buf);
}

static uint32_t map_blob(uint32_t id, uint64_t offset, uint32_t *map_info)
{
    uint8_t *p = hdr(0x208);
    put32(p, id);
    put64(p + 8, offset);
    uint32_t written = 0;
    uint32_t st = cmd_on(0, 24 + 16, &written);
    if (map_info)
        *map_info = written >= 32 ? get32(resp + 24) : 0xffffffffu;
    return st;
}

static uint32_t unmap_blob(uint32_t id)
{
    uint8_t *p = hdr(0x209);
    put32(p, id);
    return cmd(24 + 8);
}

/* A mappable host blob `id` of context `ctx` from a new pipe buffer with `blob_id`. */
static uint32_t mappable_blob(uint32_t id, uint32_t ctx, uint32_t blob_id, uint32_t pipe_flags,
                              uint32_t blob_flags)
{
    if (pipe_buffer(ctx, blob_id, pipe_flags) != 0x1100)
        return 0;
    blob_id_arg = blob_id;
    uint32_t st = create_blob(id, ctx, 2 /* host3d */, blob_flags, 0, 0, 4096);
    blob_id_arg = 0;
    if (st == 0x1100)
        ctx_res(0x202, ctx, id);
    return st;
}

/* Whether a load from `addr` faults (load access fault, cause 5). */
static int load_faults(uint64_t addr)
{
    uint64_t before = trap_count;
    trap_hook = record_and_skip;
    __asm__ volatile("" ::: "memory"); /* the hook is in place before the access */
    (void)*(volatile uint32_t *)addr;
    __asm__ volatile("" ::: "memory");
    trap_hook = 0;
    return trap_count == before + 1 && last_cause == 5 && last_tval == addr;
}

static int store_faults(uint64_t addr)
{
    uint64_t before = trap_count;
    trap_hook = record_and_skip;
    __asm__ volatile("" ::: "memory");
    *(volatile uint32_t *)addr = 0xdeadbeef;
    __asm__ volatile("" ::: "memory");
    trap_hook = 0;
    return trap_count == before + 1 && last_cause == 7 && last_tval == addr;
}

static uint8_t readback[4096] __attribute__((aligned(4096)));

/* Code in the window: `li a0, 42; ret`.  An instruction fetch fault returns to the
 * caller (ra) with a0 = 0. */
static volatile uint64_t exec_faults, exec_cause;
static int exec_fault_hook(TrapFrame *f, uint64_t mcause, uint64_t mtval)
{
    exec_faults++;
    exec_cause = mcause;
    f->x[10] = 0;
    f->mepc = f->x[1];
    return 1;
}

static uint64_t call_window(uint64_t addr)
{
    __asm__ volatile("fence.i" ::: "memory");
    trap_hook = exec_fault_hook;
    __asm__ volatile("" ::: "memory");
    uint64_t r = ((uint64_t (*)(void))addr)();
    __asm__ volatile("" ::: "memory");
    trap_hook = 0;
    return r;
}

static void map_test(void)
{
    check_eq("shared memory region 1", vx_shm(1, &shm_base, &shm_len), 1);
    sig("shm-len", shm_len);
    check_eq("no shared memory region 2", vx_shm(2, &(uint64_t){0}, &(uint64_t){0}), 0);
    check_eq("CTX_CREATE for maps", ctx_create(1, 0), 0x1100);
    check_eq("mappable blob 40", mappable_blob(40, 1, 7, 2 /* MAP_PERSISTENT */, 1), 0x1100);
    check_eq("window faults before the map", load_faults(shm_base + 0x2000), 1);
    uint32_t info = 0;
    check_eq("MAP_BLOB 40 at 0x2000", map_blob(40, 0x2000, &info), 0x1106);
    sig("map-info", info);
    volatile uint8_t *w = (volatile uint8_t *)(shm_base + 0x2000);
    for (unsigned i = 0; i < 4096; i++)
        w[i] = (uint8_t)(i * 7 + 1);
    unsigned bad = 0;
    for (unsigned i = 0; i < 4096; i++)
        bad += w[i] != (uint8_t)(i * 7 + 1);
    check_eq("pattern read back through the window", bad, 0);
    /* Through the host: copy the mapped buffer into a plain one, transfer that out. */
    check_eq("plain buffer 41", create_3d_as(41, 0, 64, 1u << 4, 4096, 1), 0x1100);
    check_eq("attach 41", attach(41, readback, sizeof readback), 0x1100);
    check_eq("CTX_ATTACH 41", ctx_res(0x202, 1, 41), 0x1100);
    static const uint32_t copy[14] = {17 | 13u << 16, 41, 0, 0, 0, 0, 40, 0, 0, 0, 0,
                                      4096, 1, 1};
    check_eq("RESOURCE_COPY_REGION 40 -> 41", submit(1, copy, 14, 0, sizeof copy), 0x1100);
    uint8_t *p = hdr(0x206);
    put32(req + 16, 1);
    put32(p + 12, 4096); put32(p + 16, 1); put32(p + 20, 1);
    put32(p + 32, 41);
    check_eq("TRANSFER_FROM_HOST_3D 41", cmd(24 + 48), 0x1100);
    bad = 0;
    for (unsigned i = 0; i < 4096; i++)
        bad += readback[i] != (uint8_t)(i * 7 + 1);
    check_eq("pattern read back through the host", bad, 0);
    /* Code run from the window (translated from the blob's memory by TCG). */
    volatile uint32_t *code = (volatile uint32_t *)(shm_base + 0x2800);
    code[0] = 0x02a00513; /* li a0, 42 */
    code[1] = 0x00008067; /* ret */
    check_eq("code in the window runs", call_window((uint64_t)code), 42);

    /* Refusals. */
    check_eq("map outside the region", map_blob(40, shm_len, 0), 0x1205);
    check_eq("map across the region's end", map_blob(40, shm_len - 0x800, 0), 0x1205);
    check_eq("map unaligned", map_blob(40, 0x100, 0), 0x1205);
    check_eq("map twice", map_blob(40, 0x4000, 0), 0x1205);
    check_eq("mappable blob 42", mappable_blob(42, 1, 8, 2, 1), 0x1100);
    check_eq("map over another mapping", map_blob(42, 0x2000, 0), 0x1205);
    check_eq("map next to it", map_blob(42, 0x3000, 0), 0x1106);
    check_eq("unmap 42", unmap_blob(42), 0x1100);
    check_eq("unmap 42 again", unmap_blob(42), 0x1205);
    check_eq("unmap of no resource", unmap_blob(99), 0x1203);
    check_eq("map of no resource", map_blob(99, 0, 0), 0x1203);
    check_eq("host blob 43, not USE_MAPPABLE", mappable_blob(43, 1, 9, 2, 0), 0x1100);
    check_eq("map of a blob made without USE_MAPPABLE", map_blob(43, 0, 0), 0x1205);
    check_eq("host blob 44, buffer not persistent", mappable_blob(44, 1, 10, 0, 1), 0x1100);
    check_eq("map of a buffer the host cannot map", map_blob(44, 0, 0), 0x1205);
    check_eq("map of a 3D resource", map_blob(41, 0, 0), 0x1205);
    check_eq("window still there", w[5], (uint8_t)(5 * 7 + 1));

    check_eq("UNMAP_BLOB 40", unmap_blob(40), 0x1100);
    check_eq("load after unmap faults", load_faults(shm_base + 0x2000), 1);
    check_eq("store after unmap faults", store_faults(shm_base + 0x2ffc), 1);
    /* FENCE.I after the blob's memory went (TCG must have dropped its code page), and
     * the fetch faults. */
    check_eq("code in the window after unmap", call_window(shm_base + 0x2800), 0);
    check_eq("instruction access fault", exec_faults == 1 && exec_cause == 1, 1);
    /* Unref while mapped; then context destroy while mapped. */
    check_eq("map 40 again at 0", map_blob(40, 0, 0), 0x1106);
    check_eq("window at 0", ((volatile uint8_t *)shm_base)[5], (uint8_t)(5 * 7 + 1));
    check_eq("unref 40 while mapped", ctx_res(0x102, 0, 40), 0x1100);
    check_eq("load after unref faults", load_faults(shm_base), 1);
    check_eq("map 42 at 0x1000", map_blob(42, 0x1000, 0), 0x1106);
    (void)((volatile uint8_t *)shm_base)[0x1000];
    check_eq("CTX_DESTROY with a mapped blob", ctx_res(0x201, 1, 0), 0x1100);
    check_eq("load after context destroy faults", load_faults(shm_base + 0x1000), 1);
    check_eq("unmap after context destroy", unmap_blob(42), 0x1205);
    /* Device reset (a register write, on this vCPU) with a blob mapped. */
    check_eq("CTX_CREATE 2", ctx_create(2, 0), 0x1100);
    check_eq("mappable blob 45", mappable_blob(45, 2, 11, 2, 1), 0x1100);
    check_eq("map 45", map_blob(45, 0x8000, 0), 0x1106);
    ((volatile uint8_t *)shm_base)[0x8000] = 1;
    device_init();
    check_eq("load after device reset faults", load_faults(shm_base + 0x8000), 1);
    check_eq("CTX_CREATE after reset", ctx_create(2, 0), 0x1100);
    check_eq("mappable blob 45 after reset", mappable_blob(45, 2, 11, 2, 1), 0x1100);
    check_eq("map 45 after reset", map_blob(45, 0x8000, 0), 0x1106);
    check_eq("write after remap", (((volatile uint8_t *)shm_base)[0x8000] = 9), 9);
    check_eq("unmap 45 after reset", unmap_blob(45), 0x1100);
}

/* ---- Random 3D and blob requests (mosaic.gpufuzz=N, after the blob test) ----
 * N requests of the blob, scanout, transfer, attach/detach, context-resource and map
 * types with random fields and lengths; guest addresses in them point into `scratch`,
 * at MMIO, past RAM or anywhere (the device may write only where a request says, so
 * the program's own memory is never named).  Whatever each answers, the device must
 * stay usable: the run ends with checks that it still works. */
static uint8_t scratch[3 * 4096] __attribute__((aligned(4096)));
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static uint64_t rnd_addr(void)
{
    switch (rnd() % 4) {
    case 0: return 0x10001000ul + (rnd() % 0x8000);          /* MMIO */
    case 1: return 0xfffffffffffff000ull + (rnd() % 0x1000); /* wraps */
    case 2: return 0x200000000ull + rnd() % 0x100000;        /* past RAM */
    default: return (uint64_t)scratch + rnd() % sizeof scratch;
    }
}

static uint32_t rnd_small(void)
{
    static const uint32_t v[] = {0, 1, 2, 3, 4, 48, 64, 256, 4096, 8192, 12288, 0xffffffffu,
                                 0x80000000u, 16384, 16385};
    return rnd() % 3 ? v[rnd() % (sizeof v / sizeof v[0])] : (uint32_t)rnd();
}

/* Page entries into scratch at `p`: 1..3 pages, returns how many. */
static unsigned scratch_entries(uint8_t *p)
{
    unsigned n = 1 + rnd() % 3;
    for (unsigned e = 0; e < n; e++) {
        put64(p + 16 * e, (uint64_t)scratch + 4096 * e);
        put32(p + 8 + 16 * e, 4096);
    }
    return n;
}

/* A well-formed request of `type` (which may still be refused: ids in use or missing),
 * into req; returns its length. */
static uint32_t valid_request(uint32_t type)
{
    uint8_t *p = hdr(type);
    uint32_t id = 28 + rnd() % 6, w = 1 + rnd() % W, h = 1 + rnd() % H, n;
    put32(req + 16, 1);
    switch (type) {
    case 0x10c:
        n = scratch_entries(p + 32);
        put32(p, id); put32(p + 4, 1); put32(p + 8, rnd() % 3); put32(p + 12, n);
        put64(p + 24, 1 + rnd() % (4096 * n));
        return 24 + 32 + 16 * n;
    case 0x10d:
        put32(p + 8, w); put32(p + 12, h); put32(p + 20, id); put32(p + 24, w);
        put32(p + 28, h); put32(p + 32, 2); put32(p + 40, 4 * w + rnd() % 64);
        put32(p + 56, rnd() % 64);
        return 24 + 72;
    case 0x103: case 0x104:
        put32(p + 8, w); put32(p + 12, h);
        put32(p + (type == 0x103 ? 20 : 16), id);
        return 48;
    case 0x204:
        put32(p, id); put32(p + 4, 2); put32(p + 8, 2); put32(p + 12, 2);
        put32(p + 16, w); put32(p + 20, h); put32(p + 24, 1); put32(p + 28, 1);
        return 72;
    case 0x106:
        n = scratch_entries(p + 8);
        put32(p, id); put32(p + 4, n);
        return 24 + 8 + 16 * n;
    case 0x205: case 0x206:
        put32(p + 12, w); put32(p + 16, h); put32(p + 20, 1);
        put32(p + 32, id); put32(p + 40, 4 * w);
        return 72;
    default: /* 0x202, 0x203, 0x102, 0x107, 0x208, 0x209 */
        put32(p, id);
        return 32;
    }
}

static void fuzz_requests(uint64_t n)
{
    static const uint32_t types[] = {0x10c, 0x10d, 0x104, 0x103, 0x205, 0x206, 0x202, 0x203,
                                     0x102, 0x107, 0x106, 0x208, 0x209, 0x204};
    unsigned answered = 0, ok = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t type = types[rnd() % (sizeof types / sizeof types[0])];
        uint32_t len = valid_request(type);
        /* Half of them mutated: 1..3 fields, an entry's address, the length. */
        if (rnd() % 2) {
            for (unsigned k = 1 + rnd() % 3; k; k--)
                put32(req + 16 + 4 * (rnd() % 36), rnd_small());
            if (rnd() % 4 == 0 && (type == 0x10c || type == 0x106))
                put64(req + 24 + (type == 0x10c ? 32 : 8), rnd_addr());
            if (rnd() % 8 == 0)
                len = 24 + (uint32_t)(rnd() % 160);
        }
        uint32_t st = cmd(len);
        answered += st != 0xeeeeeeee;
        ok += st == 0x1100;
    }
    sig("fuzz-requests", n);
    sig("fuzz-answered", answered);
    sig("fuzz-ok", ok);
    check_eq("every random request answered", answered, n);
    /* Still usable: a new resource, and the render target reads back through a new
     * context (virglrenderer refuses further work in a context that saw an error). */
    check_eq("after fuzz: RESOURCE_CREATE_3D", create_3d(40, 4, 4), 0x1100);
    check_eq("after fuzz: CTX_CREATE", ctx_create(3, 0), 0x1100);
    check_eq("after fuzz: CTX_ATTACH_RESOURCE", ctx_res(0x202, 3, 10), 0x1100);
    check_eq("after fuzz: read back", transfer_3d(0x206, 3, 10), 0x1100);
}

/* SUBMIT_3D of an empty command buffer, fenced on ring `ring` of context `ctx`. */
static uint32_t submit_ring(uint32_t ctx, uint32_t ring, uint64_t fence)
{
    uint8_t *p = hdr(0x207);
    put32(req + 4, 1 | 2);          /* FENCE, INFO_RING_IDX */
    put64(req + 8, fence);
    put32(req + 16, ctx);
    req[20] = (uint8_t)ring;
    put32(p, 0);
    return cmd(32);
}

static uint32_t assign_uuid(uint32_t id, uint8_t out[16])
{
    uint8_t *p = hdr(0x10b);
    put32(p, id);
    uint32_t st = cmd(32);
    for (unsigned i = 0; i < 16; i++)
        out[i] = resp[24 + i];
    return st;
}

static int same16(const uint8_t *a, const uint8_t *b)
{
    for (unsigned i = 0; i < 16; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static void fence_uuid_test(void)
{
    /* Two virgl contexts: ring 0 of each is a timeline of its own (virgl has no more). */
    check_eq("CTX_CREATE 1", ctx_create(1, 0), 0x1100);
    check_eq("CTX_CREATE 2", ctx_create(2, 0), 0x1100);
    for (uint64_t i = 0; i < 4; i++) {
        check_eq("ring fence ctx 1", submit_ring(1, 0, 500 + i), 0x1100);
        check_eq("ctx 1 answer: FENCE|INFO_RING_IDX", get32(resp + 4) & 3, 3);
        check_eq("ctx 1 answer: fence id", get32(resp + 8), 500 + i);
        check_eq("ring fence ctx 2", submit_ring(2, 0, 900 + i), 0x1100);
        check_eq("ctx 2 answer: fence id", get32(resp + 8), 900 + i);
        check_eq("ctx 2 answer: ring_idx", resp[20], 0);
    }
    /* The global timeline still works beside them. */
    static const uint32_t none[1];
    check_eq("global fence", submit(1, none, 0, 77, 0), 0x1100);
    check_eq("global fence id", get32(resp + 8), 77);
    check_eq("ring_idx 64 refused", submit_ring(1, 64, 600), 0x1205);
    check_eq("ring_idx 255 refused", submit_ring(1, 255, 601), 0x1205);
    check_eq("ring of no context refused", submit_ring(9, 0, 602), 0x1204);
    check_eq("ring a virgl context lacks refused", submit_ring(1, 1, 603), 0x1205);
    check_eq("ring fence after refusals", submit_ring(1, 0, 700), 0x1100);
    if (bootarg("mosaic.gpu3d=") == 1) { /* a Venus context's ring 0 too */
        check_eq("CTX_CREATE venus", ctx_create(3, 4), 0x1100);
        check_eq("ring fence venus ctx", submit_ring(3, 0, 800), 0x1100);
        check_eq("venus answer: fence id", get32(resp + 8), 800);
        sig("venus-ring-fence", 1);
    }
    sig("ring-fences", 1);

    uint8_t a[16], a2[16], b[16], c[16], c2[16];
    check_eq("RESOURCE_CREATE_3D 10", create_3d(10, W, H), 0x1100);
    check_eq("RESOURCE_CREATE_3D 11", create_3d(11, W, H), 0x1100);
    check_eq("ASSIGN_UUID 10", assign_uuid(10, a), 0x1105);
    check_eq("ASSIGN_UUID 11", assign_uuid(11, b), 0x1105);
    check_eq("ASSIGN_UUID 10 again", assign_uuid(10, a2), 0x1105);
    check_eq("same resource, same UUID", same16(a, a2), 1);
    check_eq("two resources, two UUIDs", same16(a, b), 0);
    check_eq("UUID version 4", a[6] >> 4, 4);
    check_eq("2D RESOURCE_CREATE", create(20, 2, 16, 16), 0x1100);
    check_eq("ASSIGN_UUID 2D", assign_uuid(20, c), 0x1105);
    check_eq("ASSIGN_UUID 2D again", assign_uuid(20, c2), 0x1105);
    check_eq("2D: same UUID", same16(c, c2), 1);
    check_eq("2D and 3D UUIDs differ", same16(a, c), 0);
    check_eq("ASSIGN_UUID unknown resource", assign_uuid(99, c), 0x1203);
    check_eq("ASSIGN_UUID resource 0", assign_uuid(0, c), 0x1203);
    sig("uuids", 1);
}

void test_main(void)
{
    device_init();
    if (bootarg("mosaic.gpufence=")) {
        fence_uuid_test();
        put_str("FAILURES ");
        put_dec(failures);
        put_str("\nDRAWN\n");
        for (;;)
            __asm__ volatile("wfi");
    }
    if (bootarg("mosaic.gpumap=")) {
        map_test();
        put_str("FAILURES ");
        put_dec(failures);
        put_str("\nDRAWN\n");
        for (;;)
            __asm__ volatile("wfi");
    }
    if (bootarg("mosaic.gpublob=")) {
        blob_test();
        uint64_t n = bootarg("mosaic.gpufuzz=");
        if (n) {
            check_eq("RESOURCE_CREATE_3D for fuzz", create_3d(10, W, H), 0x1100);
            check_eq("attach backing for fuzz", attach(10, fb, sizeof fb), 0x1100);
            check_eq("CTX_ATTACH_RESOURCE for fuzz", ctx_res(0x202, 1, 10), 0x1100);
            fuzz_requests(n);
        }
        put_str("FAILURES ");
        put_dec(failures);
        put_str("\nDRAWN\n");
        for (;;)
            __asm__ volatile("wfi");
    }
    capsets();
    if (bootarg("mosaic.gpu3d=") == 1) { /* riscv-virt `append`: also a Venus context */
        uint32_t st = ctx_create(2, 4);
        sig("venus-ctx", st);
        check_eq("CTX_CREATE venus", st, 0x1100);
    }
    clear_and_read();
    uint64_t n = bootarg("mosaic.gpubench=");
    if (n) {
        /* Benchmark: fenced submissions of the clear, each waited for; with
         * mosaic.gpudraw=1 each also draws the triangle (the pipeline set up once). */
        static const uint32_t cs_clear[] = {CMD0(7, 0, 8), 4, 0x3f800000, 0x3e4ccccd, 0,
                                            0x3f800000, 0, 0, 0};
        static const uint32_t cs_draw[] = {CMD0(7, 0, 8), 4, 0x3f800000, 0x3e4ccccd, 0,
                                           0x3f800000, 0, 0, 0,
                                           CMD0(8, 0, 12), 0, 3, 4, 0, 1, 0, 0, 0, 0, 0, 2, 0};
        int draw = bootarg("mosaic.gpudraw=") != 0;
        if (draw)
            draw_triangle();
        const uint32_t *cs = draw ? cs_draw : cs_clear;
        uint32_t bytes = draw ? sizeof cs_draw : sizeof cs_clear;
        uint64_t t0 = *CLINT_MTIME;
        for (uint64_t i = 0; i < n; i++)
            if (submit(1, cs, bytes / 4, 1000 + i, bytes) != 0x1100) {
                fail("submission refused");
                break;
            }
        sig("submissions", n);
        sig("mtime-ticks", *CLINT_MTIME - t0);
        test_exit();
    }
    draw_triangle();
    bad_3d();
    put_str("FAILURES ");
    put_dec(failures);
    put_str("\nDRAWN\n");
    for (;;)
        __asm__ volatile("wfi");
}
