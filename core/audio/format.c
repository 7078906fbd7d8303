/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sample formats and the checks of a stream's spec. */
#include "audio/audio-internal.h"

static const struct {
    unsigned bytes;
    const char *name; /* GStreamer's raw audio format name */
} formats[MOSAIC_AUDIO_FORMAT_COUNT] = {
    [MOSAIC_AUDIO_S8] = {1, "S8"},        [MOSAIC_AUDIO_U8] = {1, "U8"},
    [MOSAIC_AUDIO_S16] = {2, "S16LE"},    [MOSAIC_AUDIO_U16] = {2, "U16LE"},
    [MOSAIC_AUDIO_S18_3] = {3, "S18LE"},  [MOSAIC_AUDIO_U18_3] = {3, "U18LE"},
    [MOSAIC_AUDIO_S20_3] = {3, "S20LE"},  [MOSAIC_AUDIO_U20_3] = {3, "U20LE"},
    [MOSAIC_AUDIO_S24_3] = {3, "S24LE"},  [MOSAIC_AUDIO_U24_3] = {3, "U24LE"},
    [MOSAIC_AUDIO_S24] = {4, "S24_32LE"}, [MOSAIC_AUDIO_U24] = {4, "U24_32LE"},
    [MOSAIC_AUDIO_S32] = {4, "S32LE"},    [MOSAIC_AUDIO_U32] = {4, "U32LE"},
    [MOSAIC_AUDIO_F32] = {4, "F32LE"},    [MOSAIC_AUDIO_F64] = {8, "F64LE"},
};

MOSAIC_API unsigned mosaic_audio_format_bytes(uint32_t format)
{
    return format < MOSAIC_AUDIO_FORMAT_COUNT ? formats[format].bytes : 0;
}

MOSAIC_API const char *mosaic_audio_format_name(uint32_t format)
{
    return format < MOSAIC_AUDIO_FORMAT_COUNT && formats[format].name ? formats[format].name
                                                                       : "unknown";
}

gboolean audio_spec_check(const MosaicAudioStreamSpec *spec, char **msg)
{
    if (!spec || spec->size < offsetof(MosaicAudioStreamSpec, name) + sizeof(spec->name)) {
        *msg = g_strdup("stream spec too short (a device built against another SDK?)");
        return FALSE;
    }
    if (spec->direction > MOSAIC_AUDIO_INPUT) {
        *msg = g_strdup_printf("direction %u is neither output (0) nor input (1)", spec->direction);
        return FALSE;
    }
    unsigned bytes = mosaic_audio_format_bytes(spec->format);
    if (!bytes) {
        *msg = g_strdup_printf("unknown sample format %u", spec->format);
        return FALSE;
    }
    if (!spec->rate || spec->rate > MOSAIC_AUDIO_MAX_RATE) {
        *msg = g_strdup_printf("rate %u Hz is outside 1..%u", spec->rate, MOSAIC_AUDIO_MAX_RATE);
        return FALSE;
    }
    if (!spec->channels || spec->channels > MOSAIC_AUDIO_MAX_CHANNELS) {
        *msg = g_strdup_printf("%u channels is outside 1..%u", spec->channels,
                               MOSAIC_AUDIO_MAX_CHANNELS);
        return FALSE;
    }
    guint64 frame = (guint64)bytes * spec->channels;
    if (!spec->period_bytes || spec->period_bytes % frame) {
        *msg = g_strdup_printf("period of %u bytes is not a whole number of %" G_GUINT64_FORMAT
                               "-byte frames", spec->period_bytes, frame);
        return FALSE;
    }
    if (spec->buffer_bytes < spec->period_bytes || spec->buffer_bytes % spec->period_bytes ||
        spec->buffer_bytes > MOSAIC_AUDIO_MAX_BUFFER) {
        *msg = g_strdup_printf("buffer of %u bytes is not 1 or more whole periods of %u bytes "
                               "within %u bytes", spec->buffer_bytes, spec->period_bytes,
                               MOSAIC_AUDIO_MAX_BUFFER);
        return FALSE;
    }
    for (unsigned i = 0; i < spec->channels; i++)
        if (spec->positions[i] > MOSAIC_AUDIO_CH_BRC) {
            *msg = g_strdup_printf("channel %u has unknown position %u", i, spec->positions[i]);
            return FALSE;
        }
    return TRUE;
}
