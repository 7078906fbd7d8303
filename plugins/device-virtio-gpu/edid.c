/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The EDID each headless output answers GET_EDID with: EDID 1.4, one detailed timing
 * (the configured mode at 60 Hz, reduced blanking) marked preferred, and a monitor name.
 * Modes wider or taller than 4095 do not fit a detailed timing and are clamped there
 * (display info still reports the full mode). */
#include <string.h>
#include "gpu2d.h"

static void descriptor_text(uint8_t *d, uint8_t tag, const char *text)
{
    memset(d, 0, 18);
    d[3] = tag;
    size_t n = strlen(text);
    memset(d + 5, ' ', 13);
    memcpy(d + 5, text, n);
    if (n < 13)
        d[5 + n] = '\n';
}

void vgpu_edid(uint8_t e[128], uint32_t xres, uint32_t yres, unsigned index)
{
    static const uint8_t header[8] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
    static const uint8_t srgb[10] = {0xee, 0x91, 0xa3, 0x54, 0x4c, 0x99, 0x26, 0x0f, 0x50, 0x54};
    memset(e, 0, 128);
    memcpy(e, header, 8);
    uint16_t mfg = ('M' - '@') << 10 | ('O' - '@') << 5 | ('S' - '@');
    e[8] = mfg >> 8;
    e[9] = mfg & 0xff;
    e[10] = 0x16;          /* product 0x4716 ("G" 16) */
    e[11] = 0x47;
    e[12] = index;         /* serial: the output number */
    e[16] = 1;             /* week */
    e[17] = 2024 - 1990;   /* year */
    e[18] = 1;
    e[19] = 4;
    e[20] = 0xa0;          /* digital, 8 bits per colour */
    uint32_t w = MIN(xres, 4095u), h = MIN(yres, 4095u);
    uint32_t wmm = w * 254 / 960, hmm = h * 254 / 960; /* as at 96 dpi */
    e[21] = MAX(wmm / 10, 1u);
    e[22] = MAX(hmm / 10, 1u);
    e[23] = 120;           /* gamma 2.2 */
    e[24] = 0x06;          /* sRGB default, preferred timing is native */
    memcpy(e + 25, srgb, 10);
    for (int i = 38; i < 54; i++)
        e[i] = 1;          /* no standard timings */
    /* Detailed timing: CVT reduced blanking (160 pixels, 35 lines), 60 Hz. */
    uint32_t hb = 160, vb = 35, hso = 48, hsw = 32, vso = 3, vsw = 5;
    /* 10 kHz units in 16 bits: 655 MHz at most (4095x4095 at 60 Hz needs more). */
    uint32_t clock = (uint32_t)MIN((uint64_t)(w + hb) * (h + vb) * 60 / 10000, 65535u);
    uint8_t *d = e + 54;
    d[0] = clock & 0xff;
    d[1] = clock >> 8;
    d[2] = w & 0xff;
    d[3] = hb & 0xff;
    d[4] = (w >> 8) << 4 | (hb >> 8);
    d[5] = h & 0xff;
    d[6] = vb & 0xff;
    d[7] = (h >> 8) << 4 | (vb >> 8);
    d[8] = hso;
    d[9] = hsw;
    d[10] = vso << 4 | vsw;
    d[11] = 0;
    d[12] = wmm & 0xff;
    d[13] = hmm & 0xff;
    d[14] = (wmm >> 8) << 4 | ((hmm >> 8) & 0xf);
    d[17] = 0x1e;          /* digital separate sync, both positive */
    descriptor_text(e + 72, 0xfc, "Mosaic GPU");
    e[90 + 3] = 0x10;      /* dummy descriptors */
    e[108 + 3] = 0x10;
    uint8_t sum = 0;
    for (int i = 0; i < 127; i++)
        sum += e[i];
    e[127] = (uint8_t)(0x100 - sum);
}
