/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-gpu's command processor (plugins/device-virtio-gpu/gpu2d.c) on fake guest RAM:
 * the layouts a transfer reads (offset, stride, backing in pieces), the host-memory
 * account across create/unref, the limits at their edges, the EDID of several modes,
 * and what a screendump captures. */
#include <string.h>
#include <glib.h>
#include "../../plugins/device-virtio-gpu/gpu2d.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (4u << 20)
static uint8_t *ram;

static bool is_ram(void *o, uint64_t gpa, uint64_t len)
{
    return gpa >= RAM_BASE && len <= RAM_SIZE && gpa - RAM_BASE <= RAM_SIZE - len;
}

static bool rd(void *o, uint64_t gpa, void *buf, size_t len)
{
    if (!is_ram(o, gpa, len))
        return false;
    memcpy(buf, ram + (gpa - RAM_BASE), len);
    return true;
}

static uint8_t req[65536], resp[RESP_MAX];

static uint32_t run(VGpu *g, uint32_t type, size_t body_len, const uint32_t *body, unsigned n)
{
    memset(req, 0, 24 + body_len);
    wr32(req, type);
    for (unsigned i = 0; i < n; i++)
        wr32(req + 24 + 4 * i, body[i]);
    g_assert_cmpuint(vgpu_command(g, req, 24 + body_len, resp, sizeof resp), >=, 24);
    return rd32(resp);
}

static void setup(VGpu *g, uint64_t hostmem)
{
    VGpuMem mem = {.is_ram = is_ram, .read = rd};
    vgpu_init(g, &mem, 2, 640, 480, hostmem);
}

/* Backing of `len` bytes at RAM_BASE + off in pieces of `piece` bytes. */
static uint32_t attach(VGpu *g, uint32_t id, uint64_t off, uint32_t len, uint32_t piece)
{
    memset(req, 0, 32);
    wr32(req, CMD_RESOURCE_ATTACH_BACKING);
    uint32_t n = 0;
    for (uint32_t o = 0; o < len; o += piece, n++) {
        wr64(req + 32 + 16 * n, RAM_BASE + off + o);
        wr32(req + 40 + 16 * n, MIN(piece, len - o));
        wr32(req + 44 + 16 * n, 0);
    }
    wr32(req + 24, id);
    wr32(req + 28, n);
    vgpu_command(g, req, 32 + 16 * n, resp, sizeof resp);
    return rd32(resp);
}

static void test_transfer_layout(void)
{
    VGpu g;
    setup(&g, 64 << 20);
    for (unsigned i = 0; i < RAM_SIZE; i++)
        ram[i] = (uint8_t)(i * 7 + i / 251);
    uint32_t create[] = {5, 2, 100, 30};
    g_assert_cmphex(run(&g, CMD_RESOURCE_CREATE_2D, 16, create, 4), ==, RESP_OK_NODATA);
    /* pieces of 333 bytes: rows straddle entries everywhere */
    g_assert_cmphex(attach(&g, 5, 4096, 100 * 30 * 4, 333), ==, RESP_OK_NODATA);
    /* rect (10, 3) 20x5 from offset = its place in a linear image of stride 400 */
    uint32_t t[] = {10, 3, 20, 5, 3 * 400 + 10 * 4, 0, 5, 0};
    g_assert_cmphex(run(&g, CMD_TRANSFER_TO_HOST_2D, 32, t, 8), ==, RESP_OK_NODATA);
    Resource *r = vgpu_resource(&g, 5);
    for (uint32_t y = 0; y < 30; y++)
        for (uint32_t x = 0; x < 100; x++) {
            bool in = x >= 10 && x < 30 && y >= 3 && y < 8;
            for (int b = 0; b < 4; b++) {
                uint8_t want = in ? ram[4096 + y * 400 + x * 4 + b] : 0;
                g_assert_cmpuint(r->data[y * 400 + x * 4 + b], ==, want);
            }
        }
    /* the last byte of the backing is reachable, one past it is not */
    uint32_t last[] = {99, 29, 1, 1, 29 * 400 + 99 * 4, 0, 5, 0};
    g_assert_cmphex(run(&g, CMD_TRANSFER_TO_HOST_2D, 32, last, 8), ==, RESP_OK_NODATA);
    uint32_t past[] = {99, 29, 1, 1, 29 * 400 + 99 * 4 + 1, 0, 5, 0};
    g_assert_cmphex(run(&g, CMD_TRANSFER_TO_HOST_2D, 32, past, 8), ==, RESP_ERR_INVALID_PARAMETER);
    vgpu_destroy(&g);
}

static void test_hostmem_account(void)
{
    VGpu g;
    setup(&g, 1 << 20); /* room for exactly 256x256x4 + 256x768x4 */
    for (int round = 0; round < 3; round++) {
        uint32_t a[] = {1, 1, 256, 256}, b[] = {2, 1, 256, 768}, c[] = {3, 1, 1, 1};
        g_assert_cmphex(run(&g, CMD_RESOURCE_CREATE_2D, 16, a, 4), ==, RESP_OK_NODATA);
        g_assert_cmphex(run(&g, CMD_RESOURCE_CREATE_2D, 16, b, 4), ==, RESP_OK_NODATA);
        g_assert_cmphex(run(&g, CMD_RESOURCE_CREATE_2D, 16, c, 4), ==, RESP_ERR_OUT_OF_MEMORY);
        uint32_t u1[] = {1, 0}, u2[] = {2, 0};
        g_assert_cmphex(run(&g, CMD_RESOURCE_UNREF, 8, u1, 2), ==, RESP_OK_NODATA);
        g_assert_cmphex(run(&g, CMD_RESOURCE_UNREF, 8, u2, 2), ==, RESP_OK_NODATA);
        g_assert_cmpuint(g.hostmem, ==, 0);
    }
    uint32_t wide[] = {4, 1, MAX_DIMENSION + 1, 1}, edge[] = {4, 1, 256, 1};
    g_assert_cmphex(run(&g, CMD_RESOURCE_CREATE_2D, 16, wide, 4), ==, RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(run(&g, CMD_RESOURCE_CREATE_2D, 16, edge, 4), ==, RESP_OK_NODATA);
    vgpu_reset(&g);
    g_assert_cmpuint(g.hostmem, ==, 0);
    vgpu_destroy(&g);
}

static void test_attach_edges(void)
{
    VGpu g;
    setup(&g, 64 << 20);
    uint32_t create[] = {1, 2, 16, 16};
    g_assert_cmphex(run(&g, CMD_RESOURCE_CREATE_2D, 16, create, 4), ==, RESP_OK_NODATA);
    /* the last page of RAM is backing; one byte more is not */
    memset(req, 0, 64);
    wr32(req, CMD_RESOURCE_ATTACH_BACKING);
    wr32(req + 24, 1);
    wr32(req + 28, 1);
    wr64(req + 32, RAM_BASE + RAM_SIZE - 4096);
    wr32(req + 40, 4097);
    vgpu_command(&g, req, 48, resp, sizeof resp);
    g_assert_cmphex(rd32(resp), ==, RESP_ERR_UNSPEC);
    wr32(req + 40, 4096);
    /* the entry list one byte short of the request */
    vgpu_command(&g, req, 47, resp, sizeof resp);
    g_assert_cmphex(rd32(resp), ==, RESP_ERR_INVALID_PARAMETER);
    vgpu_command(&g, req, 48, resp, sizeof resp);
    g_assert_cmphex(rd32(resp), ==, RESP_OK_NODATA);
    vgpu_destroy(&g);
}

static void test_edid(void)
{
    static const uint32_t modes[][2] = {{640, 480}, {1024, 768}, {1920, 1080}, {3840, 2160},
                                        {16, 16}, {16384, 16384}};
    for (unsigned i = 0; i < G_N_ELEMENTS(modes); i++) {
        uint8_t e[128];
        vgpu_edid(e, modes[i][0], modes[i][1], i);
        uint8_t sum = 0;
        for (int k = 0; k < 128; k++)
            sum += e[k];
        g_assert_cmpuint(sum, ==, 0);
        g_assert_cmpuint(rd32(e), ==, 0xffffff00);
        g_assert_cmpuint(e[56] | (e[58] >> 4) << 8, ==, MIN(modes[i][0], 4095u));
        g_assert_cmpuint(e[59] | (e[61] >> 4) << 8, ==, MIN(modes[i][1], 4095u));
        g_assert_true(memcmp(e + 77, "Mosaic GPU", 10) == 0);
        uint32_t clock = e[54] | e[55] << 8, w = MIN(modes[i][0], 4095u), h = MIN(modes[i][1], 4095u);
        g_assert_cmpuint(clock, ==, MIN((uint64_t)(w + 160) * (h + 35) * 60 / 10000, 65535u));
    }
}

static void test_capture(void)
{
    VGpu g;
    setup(&g, 64 << 20);
    for (unsigned i = 0; i < 64 * 64 * 4; i++)
        ram[i] = (uint8_t)i;
    uint32_t create[] = {1, 2, 64, 64};
    g_assert_cmphex(run(&g, CMD_RESOURCE_CREATE_2D, 16, create, 4), ==, RESP_OK_NODATA);
    g_assert_cmphex(attach(&g, 1, 0, 64 * 64 * 4, 4096), ==, RESP_OK_NODATA);
    uint32_t t[] = {0, 0, 64, 64, 0, 0, 1, 0};
    g_assert_cmphex(run(&g, CMD_TRANSFER_TO_HOST_2D, 32, t, 8), ==, RESP_OK_NODATA);
    uint32_t so[] = {8, 4, 32, 16, 1, 1}; /* scanout 1 shows a 32x16 window at (8, 4) */
    g_assert_cmphex(run(&g, CMD_SET_SCANOUT, 24, so, 6), ==, RESP_OK_NODATA);
    vgpu_capture(&g, 1);
    g_assert_null(g.scanouts[1].surface); /* nothing shown before a flush */
    uint32_t fl[] = {0, 0, 64, 64, 1, 0};
    g_assert_cmphex(run(&g, CMD_RESOURCE_FLUSH, 24, fl, 6), ==, RESP_OK_NODATA);
    vgpu_capture(&g, 1);
    Scanout *s = &g.scanouts[1];
    g_assert_cmpuint(s->surface_w, ==, 32);
    g_assert_cmpuint(s->surface_h, ==, 16);
    for (uint32_t y = 0; y < 16; y++)
        g_assert_true(memcmp(s->surface + y * 32 * 4, ram + (4 + y) * 256 + 8 * 4, 32 * 4) == 0);
    vgpu_destroy(&g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ram = g_malloc0(RAM_SIZE);
    g_test_add_func("/virtio-gpu/transfer-layout", test_transfer_layout);
    g_test_add_func("/virtio-gpu/hostmem-account", test_hostmem_account);
    g_test_add_func("/virtio-gpu/attach-edges", test_attach_edges);
    g_test_add_func("/virtio-gpu/edid", test_edid);
    g_test_add_func("/virtio-gpu/capture", test_capture);
    int r = g_test_run();
    g_free(ram);
    return r;
}
