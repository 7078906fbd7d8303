/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the device offers: virtio-snd's format and rate codes, and channel maps in
 * the canonical order (WAV's, GStreamer's), which backends take without reordering. */
#include <string.h>
#include "snd.h"

/* virtio-snd format code -> MosaicAudioFormat (0: not offered: ADPCM, mu/A-law, 20-bit
 * in 4 bytes, DSD, IEC958). */
static const uint8_t formats[] = {
    [3] = MOSAIC_AUDIO_S8,     [4] = MOSAIC_AUDIO_U8,     [5] = MOSAIC_AUDIO_S16,
    [6] = MOSAIC_AUDIO_U16,    [7] = MOSAIC_AUDIO_S18_3,  [8] = MOSAIC_AUDIO_U18_3,
    [9] = MOSAIC_AUDIO_S20_3,  [10] = MOSAIC_AUDIO_U20_3, [11] = MOSAIC_AUDIO_S24_3,
    [12] = MOSAIC_AUDIO_U24_3, [15] = MOSAIC_AUDIO_S24,   [16] = MOSAIC_AUDIO_U24,
    [17] = MOSAIC_AUDIO_S32,   [18] = MOSAIC_AUDIO_U32,   [19] = MOSAIC_AUDIO_F32,
    [20] = MOSAIC_AUDIO_F64,
};

static const uint32_t rates[NUM_RATES] = {5512, 8000, 11025, 16000, 22050, 32000, 44100,
                                          48000, 64000, 88200, 96000, 176400, 192000, 384000};

uint32_t snd_audio_format(uint8_t f)
{
    return f < G_N_ELEMENTS(formats) ? formats[f] : 0;
}

bool snd_format_supported(uint8_t f)
{
    return snd_audio_format(f) != 0;
}

unsigned snd_format_bytes(uint8_t f)
{
    return mosaic_audio_format_bytes(snd_audio_format(f));
}

uint64_t snd_formats_mask(void)
{
    uint64_t m = 0;
    for (unsigned f = 0; f < G_N_ELEMENTS(formats); f++)
        if (formats[f])
            m |= 1ull << f;
    return m;
}

uint32_t snd_rate_hz(uint8_t r)
{
    return r < NUM_RATES ? rates[r] : 0;
}

typedef struct Chmap {
    uint8_t dir, channels;
    uint8_t pos[MAX_CHANNELS];
} Chmap;

static const Chmap chmaps[] = {
    {DIR_OUTPUT, 1, {MOSAIC_AUDIO_CH_MONO}},
    {DIR_OUTPUT, 2, {MOSAIC_AUDIO_CH_FL, MOSAIC_AUDIO_CH_FR}},
    {DIR_OUTPUT, 6, {MOSAIC_AUDIO_CH_FL, MOSAIC_AUDIO_CH_FR, MOSAIC_AUDIO_CH_FC,
                     MOSAIC_AUDIO_CH_LFE, MOSAIC_AUDIO_CH_RL, MOSAIC_AUDIO_CH_RR}},
    {DIR_INPUT, 1, {MOSAIC_AUDIO_CH_MONO}},
    {DIR_INPUT, 2, {MOSAIC_AUDIO_CH_FL, MOSAIC_AUDIO_CH_FR}},
};

unsigned snd_chmap_count(void)
{
    return G_N_ELEMENTS(chmaps);
}

bool snd_chmap_info(unsigned i, uint8_t *o)
{
    memset(o, 0, CHMAP_INFO_SIZE);
    if (i >= G_N_ELEMENTS(chmaps))
        return false;
    o[4] = chmaps[i].dir;
    o[5] = chmaps[i].channels;
    memcpy(o + 6, chmaps[i].pos, chmaps[i].channels);
    return true;
}

const uint8_t *snd_chmap_for(unsigned dir, unsigned channels)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(chmaps); i++)
        if (chmaps[i].dir == dir && chmaps[i].channels == channels)
            return chmaps[i].pos;
    return NULL;
}
