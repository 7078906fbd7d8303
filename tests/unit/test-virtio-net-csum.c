/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-net's partial checksum completion (plugins/device-virtio-net/csum.c): a guest
 * that offloads checksums sends frames whose TCP/UDP checksum field holds only the
 * pseudo-header sum; the device finishes them when the backend cannot.  Checked against
 * a full checksum computed here the long way, and against headers that point outside
 * the frame. */
#include <string.h>
#include <glib.h>
#include "../../plugins/device-virtio-net/vnet.h"

#define H MOSAIC_NET_HDR_LEN

static uint32_t add16(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sum += i & 1 ? p[i] : (uint32_t)p[i] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

/* An Ethernet + IPv4 + UDP frame with `len` payload bytes, header first. */
static size_t udp_frame(uint8_t *f, size_t len, bool partial)
{
    memset(f, 0, H + 14 + 20 + 8 + len);
    uint8_t *eth = f + H, *ip = eth + 14, *udp = ip + 20;
    eth[12] = 0x08;
    ip[0] = 0x45;
    ip[3] = 20 + 8 + len;
    ip[8] = 64;
    ip[9] = 17;
    memcpy(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
    udp[0] = 0x30, udp[1] = 0x39, udp[2] = 0x1b, udp[3] = 0x58;
    udp[5] = 8 + len;
    for (size_t i = 0; i < len; i++)
        udp[8 + i] = i * 7 + 3;
    /* pseudo-header: addresses, protocol, UDP length */
    uint32_t ph = add16(0, ip + 12, 8) + 17 + 8 + len;
    if (partial) {
        f[0] = HDR_F_NEEDS_CSUM;
        uint16_t start = 14 + 20, off = 6;
        memcpy(f + 6, &start, 2);
        memcpy(f + 8, &off, 2);
        uint16_t seed = fold(ph);
        udp[6] = seed >> 8, udp[7] = seed & 0xff;
    } else {
        uint16_t c = ~fold(add16(ph, udp, 8 + len)) & 0xffff;
        udp[6] = c >> 8, udp[7] = c & 0xff;
    }
    return H + 14 + 20 + 8 + len;
}

static void test_finishes_like_a_full_checksum(void)
{
    for (size_t len = 0; len < 64; len++) { /* odd and even lengths */
        uint8_t a[256], b[256];
        size_t n = udp_frame(a, len, true);
        udp_frame(b, len, false);
        g_assert_true(csum_finish(a, n));
        g_assert_cmpuint(a[0] & HDR_F_NEEDS_CSUM, ==, 0);
        g_assert_cmpmem(a + H, n - H, b + H, n - H);
    }
}

static void test_header_outside_frame_refused(void)
{
    uint8_t f[256];
    size_t n = udp_frame(f, 10, true);
    uint16_t bad[] = {n - H, n - H - 1, 0xffff};
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        udp_frame(f, 10, true);
        memcpy(f + 6, &bad[i], 2); /* csum_start */
        g_assert_false(csum_finish(f, n));
    }
    udp_frame(f, 10, true);
    uint16_t off = 0xfff0;
    memcpy(f + 8, &off, 2); /* csum_offset */
    g_assert_false(csum_finish(f, n));
}

static void test_no_flag_untouched(void)
{
    uint8_t f[256], g[256];
    size_t n = udp_frame(f, 5, false);
    memcpy(g, f, n);
    g_assert_true(csum_finish(f, n));
    g_assert_cmpmem(f, n, g, n);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-net/csum/finishes", test_finishes_like_a_full_checksum);
    g_test_add_func("/virtio-net/csum/outside", test_header_outside_frame_refused);
    g_test_add_func("/virtio-net/csum/no-flag", test_no_flag_untouched);
    return g_test_run();
}
