/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A tiny virtio-gpu driver (virtio-mmio or virtio-pci, polled) for tests/system/test_gpu.py: reads the
 * display info and EDID, sends malformed commands and checks each fails with its error
 * code, then draws a known pattern through the 2D commands (create, attach backing in
 * page-sized pieces, transfer, set scanout, flush) and sets a cursor.  It prints SIG
 * lines, "FAILURES n", then "DRAWN" and waits for the test to take a screendump.
 * Pattern (B8G8R8X8): red = x, green = y, blue = 3x + 5y (each mod 256).
 * The device is found on virtio-mmio or, failing that, on PCI (virtio_xport.c).
 *
 * mosaic.gpubench=N on the command line: a benchmark instead (bench/gpu).  */
#include "harness.h"
#include "virtio_xport.h"
#include "gpu_cmd.h"

#define MAXW 1920
#define MAXH 1080

static uint8_t fb[MAXW * MAXH * 4] __attribute__((aligned(4096)));
static uint8_t cursor_img[64 * 64 * 4] __attribute__((aligned(4096)));
static uint32_t W, H;

static void device_init(void)
{
    check_eq("virtio-gpu found", vx_find(16), 1);
    sig("on-pci", vx_is_pci());
    check_eq("device reset completes", vx_reset(), 1);
    vx_set_status(1 | 2);
    check_eq("EDID offered", vx_device_features(0) & 2, 2);
    check_eq("VERSION_1 offered", vx_device_features(1) & 1, 1);
    vx_driver_features(0, 2);  /* EDID */
    vx_driver_features(1, 1);  /* VERSION_1 */
    vx_set_status(1 | 2 | 8);
    check_eq("FEATURES_OK", vx_status() & 8, 8);
    vq_setup(0);
    vq_setup(1);
    vx_set_status(1 | 2 | 8 | 4);
    sig("num-scanouts", vx_config32(8));
}


static uint32_t transfer(uint32_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint64_t off)
{
    uint8_t *p = hdr(0x105);
    put32(p, x); put32(p + 4, y); put32(p + 8, w); put32(p + 12, h);
    put64(p + 16, off);
    put32(p + 24, id);
    return cmd(56);
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

static void display_info(void)
{
    hdr(0x100);
    check_eq("GET_DISPLAY_INFO", cmd(24), 0x1101);
    W = get32(resp + 24 + 8);
    H = get32(resp + 24 + 12);
    check_eq("scanout 0 enabled", get32(resp + 24 + 16), 1);
    sig("width", W);
    sig("height", H);
    if (W > MAXW || H > MAXH || !W || !H) {
        fail("mode larger than the test's framebuffer");
        test_exit();
    }
}

static void edid(void)
{
    uint8_t *p = hdr(0x10a);
    put32(p, 0);
    check_eq("GET_EDID", cmd(32), 0x1104);
    check_eq("EDID size", get32(resp + 24), 128);
    const uint8_t *e = resp + 32;
    check_eq("EDID header", get32(e) == 0xffffff00 && get32(e + 4) == 0x00ffffff, 1);
    uint8_t sum = 0;
    for (int i = 0; i < 128; i++)
        sum += e[i];
    check_eq("EDID checksum", sum, 0);
    check_eq("EDID width", e[56] | (e[58] >> 4) << 8, W);
    check_eq("EDID height", e[59] | (e[61] >> 4) << 8, H);
    p = hdr(0x10a);
    put32(p, 7);
    check_eq("GET_EDID bad scanout", cmd(32), 0x1202);
}

static void bad_commands(void)
{
    check_eq("transfer, no such resource", transfer(99, 0, 0, 1, 1, 0), 0x1203);
    check_eq("create 65536x65536", create(1, 2, 65536, 65536), 0x1205);
    check_eq("create 16384x16384 (1 GiB > max-hostmem)", create(1, 2, 16384, 16384), 0x1201);
    check_eq("create id 0", create(0, 2, 16, 16), 0x1203);
    check_eq("create bad format", create(1, 77, 16, 16), 0x1205);
    check_eq("create", create(1, 2, W, H), 0x1100);
    check_eq("create again", create(1, 2, W, H), 0x1203);
    check_eq("transfer, no backing", transfer(1, 0, 0, 1, 1, 0), 0x1200);
    uint8_t *p = hdr(0x106);
    put32(p, 1); put32(p + 4, 1);
    put64(p + 8, 0x4000000000ull); put32(p + 16, 4096); /* nothing there */
    check_eq("attach outside RAM", cmd(48), 0x1200);
    p = hdr(0x106);
    put32(p, 1); put32(p + 4, 1);
    put64(p + 8, 0x10001000ull); put32(p + 16, 4096); /* the device's own registers */
    check_eq("attach on MMIO", cmd(48), 0x1200);
    p = hdr(0x106);
    put32(p, 1); put32(p + 4, 1000); /* 1000 entries announced, one sent */
    put64(p + 8, (uint64_t)fb); put32(p + 16, 4096);
    check_eq("attach, entries past the request", cmd(48), 0x1205);
    p = hdr(0x106);
    put32(p, 1); put32(p + 4, 1);
    put64(p + 8, 0xfffffffffffff000ull); put32(p + 16, 0x2000); /* wraps around */
    check_eq("attach wrapping", cmd(48), 0x1200);
    check_eq("attach", attach(1, fb, W * H * 4), 0x1100);
    check_eq("attach twice", attach(1, fb, W * H * 4), 0x1200);
    check_eq("transfer past the right edge", transfer(1, W - 1, 0, 2, 1, 0), 0x1205);
    check_eq("transfer huge rect", transfer(1, 1, 1, 0xffffffff, 0xffffffff, 0), 0x1205);
    check_eq("transfer past the backing", transfer(1, 0, 0, W, 1, (uint64_t)W * H * 4 - 8), 0x1205);
    check_eq("transfer offset wrapping", transfer(1, 0, 0, W, 2, 0xfffffffffffffff0ull), 0x1205);
    check_eq("set_scanout 5", rect_cmd(0x103, 0, 0, W, H, 5, 1), 0x1202);
    check_eq("set_scanout too big", rect_cmd(0x103, 0, 0, W + 1, H, 0, 1), 0x1205);
    check_eq("set_scanout no resource", rect_cmd(0x103, 0, 0, W, H, 0, 42), 0x1203);
    check_eq("flush no resource", rect_cmd(0x104, 0, 0, W, H, 77, 0), 0x1203);
    hdr(0x102);
    check_eq("short request", cmd(8), 0x1200);
    hdr(0x999);
    check_eq("unknown command", cmd(64), 0x1200);
    hdr(0x108);
    check_eq("no capsets without 3D", cmd(32), 0x1200);
    hdr(0x102);
    put32(req + 24, 5);
    check_eq("unref no resource", cmd(32), 0x1203);
}

static void draw(void)
{
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < W; x++) {
            uint8_t *px = fb + (y * W + x) * 4;
            px[0] = (uint8_t)(3 * x + 5 * y); /* B */
            px[1] = (uint8_t)y;               /* G */
            px[2] = (uint8_t)x;               /* R */
            px[3] = 0xff;
        }
    fence();
    check_eq("transfer", transfer(1, 0, 0, W, H, 0), 0x1100);
    check_eq("set_scanout", rect_cmd(0x103, 0, 0, W, H, 0, 1), 0x1100);
    /* flush with a fence: the fence id comes back in the response */
    uint8_t *p = hdr(0x104);
    put32(req + 4, 1);
    put64(req + 8, 0x1234567890ull);
    put32(p, 0); put32(p + 4, 0); put32(p + 8, W); put32(p + 12, H); put32(p + 16, 1);
    check_eq("flush", cmd(48), 0x1100);
    check_eq("fence flag", get32(resp + 4) & 1, 1);
    check_eq("fence id", get32(resp + 8), 0x34567890);
}

static void cursor(void)
{
    for (unsigned i = 0; i < sizeof cursor_img; i++)
        cursor_img[i] = (uint8_t)i;
    check_eq("cursor create", create(2, 1, 64, 64), 0x1100);
    check_eq("cursor attach", attach(2, cursor_img, sizeof cursor_img), 0x1100);
    check_eq("cursor transfer", transfer(2, 0, 0, 64, 64, 0), 0x1100);
    uint8_t *p = hdr(0x300);
    put32(p, 0); put32(p + 4, 10); put32(p + 8, 20); put32(p + 16, 2); put32(p + 20, 3);
    put32(p + 24, 4);
    uint32_t written;
    check_eq("update_cursor", cmd_on(1, 56, &written), 0x1100);
    p = hdr(0x301);
    put32(p, 0); put32(p + 4, 30); put32(p + 8, 40);
    check_eq("move_cursor", cmd_on(1, 56, &written), 0x1100);
    p = hdr(0x300);
    put32(p, 3);
    check_eq("update_cursor bad scanout", cmd_on(1, 56, &written), 0x1202);
    p = hdr(0x300);
    put32(p + 16, 1); /* the W x H framebuffer resource is no cursor */
    check_eq("update_cursor too big", cmd_on(1, 56, &written), W > 256 || H > 256 ? 0x1205 : 0x1100);
}

/* Frames of a full-screen TRANSFER_TO_HOST_2D + RESOURCE_FLUSH, one byte changed per
 * frame (the guest does not redraw: the device path is what is measured). */
static void bench(uint64_t frames)
{
    check_eq("create", create(1, 2, W, H), 0x1100);
    check_eq("attach", attach(1, fb, W * H * 4), 0x1100);
    check_eq("set_scanout", rect_cmd(0x103, 0, 0, W, H, 0, 1), 0x1100);
    uint64_t t0 = *CLINT_MTIME;
    for (uint64_t i = 0; i < frames; i++) {
        fb[(i * 4099) % (W * H * 4)]++;
        if (transfer(1, 0, 0, W, H, 0) != 0x1100 || rect_cmd(0x104, 0, 0, W, H, 1, 0) != 0x1100) {
            fail("frame refused");
            break;
        }
    }
    sig("frames", frames);
    sig("mtime-ticks", *CLINT_MTIME - t0);
    test_exit();
}

void test_main(void)
{
    uint64_t frames = bootarg("mosaic.gpubench=");
    device_init();
    display_info();
    if (frames)
        bench(frames);
    edid();
    bad_commands();
    draw();
    cursor();
    put_str("FAILURES ");
    put_dec(failures);
    put_str("\nDRAWN\n");
    for (;;)
        __asm__ volatile("wfi");
}
