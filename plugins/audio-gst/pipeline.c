/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Building and starting pipelines: the guest's format meets the host's through
 * audioconvert ! audioresample, and every failure names the key and the element. */
#include <string.h>
#include "gst-internal.h"

#define SRC_NAME "mosaic-src"
#define SINK_NAME "mosaic-sink"

/* virtio-snd / MosaicAudioChannel positions -> GStreamer's. */
static GstAudioChannelPosition position(unsigned p)
{
    static const GstAudioChannelPosition map[] = {
        [MOSAIC_AUDIO_CH_MONO] = GST_AUDIO_CHANNEL_POSITION_MONO,
        [MOSAIC_AUDIO_CH_FL] = GST_AUDIO_CHANNEL_POSITION_FRONT_LEFT,
        [MOSAIC_AUDIO_CH_FR] = GST_AUDIO_CHANNEL_POSITION_FRONT_RIGHT,
        [MOSAIC_AUDIO_CH_RL] = GST_AUDIO_CHANNEL_POSITION_REAR_LEFT,
        [MOSAIC_AUDIO_CH_RR] = GST_AUDIO_CHANNEL_POSITION_REAR_RIGHT,
        [MOSAIC_AUDIO_CH_FC] = GST_AUDIO_CHANNEL_POSITION_FRONT_CENTER,
        [MOSAIC_AUDIO_CH_LFE] = GST_AUDIO_CHANNEL_POSITION_LFE1,
        [MOSAIC_AUDIO_CH_SL] = GST_AUDIO_CHANNEL_POSITION_SIDE_LEFT,
        [MOSAIC_AUDIO_CH_SR] = GST_AUDIO_CHANNEL_POSITION_SIDE_RIGHT,
        [MOSAIC_AUDIO_CH_RC] = GST_AUDIO_CHANNEL_POSITION_REAR_CENTER,
        [MOSAIC_AUDIO_CH_FLC] = GST_AUDIO_CHANNEL_POSITION_FRONT_LEFT_OF_CENTER,
        [MOSAIC_AUDIO_CH_FRC] = GST_AUDIO_CHANNEL_POSITION_FRONT_RIGHT_OF_CENTER,
        [MOSAIC_AUDIO_CH_FLW] = GST_AUDIO_CHANNEL_POSITION_WIDE_LEFT,
        [MOSAIC_AUDIO_CH_FRW] = GST_AUDIO_CHANNEL_POSITION_WIDE_RIGHT,
        [MOSAIC_AUDIO_CH_TC] = GST_AUDIO_CHANNEL_POSITION_TOP_CENTER,
        [MOSAIC_AUDIO_CH_TFL] = GST_AUDIO_CHANNEL_POSITION_TOP_FRONT_LEFT,
        [MOSAIC_AUDIO_CH_TFR] = GST_AUDIO_CHANNEL_POSITION_TOP_FRONT_RIGHT,
        [MOSAIC_AUDIO_CH_TFC] = GST_AUDIO_CHANNEL_POSITION_TOP_FRONT_CENTER,
        [MOSAIC_AUDIO_CH_TRL] = GST_AUDIO_CHANNEL_POSITION_TOP_REAR_LEFT,
        [MOSAIC_AUDIO_CH_TRR] = GST_AUDIO_CHANNEL_POSITION_TOP_REAR_RIGHT,
        [MOSAIC_AUDIO_CH_TRC] = GST_AUDIO_CHANNEL_POSITION_TOP_REAR_CENTER,
        [MOSAIC_AUDIO_CH_TSL] = GST_AUDIO_CHANNEL_POSITION_TOP_SIDE_LEFT,
        [MOSAIC_AUDIO_CH_TSR] = GST_AUDIO_CHANNEL_POSITION_TOP_SIDE_RIGHT,
        [MOSAIC_AUDIO_CH_RLFE] = GST_AUDIO_CHANNEL_POSITION_LFE2,
        [MOSAIC_AUDIO_CH_BC] = GST_AUDIO_CHANNEL_POSITION_BOTTOM_FRONT_CENTER,
        [MOSAIC_AUDIO_CH_BLC] = GST_AUDIO_CHANNEL_POSITION_BOTTOM_FRONT_LEFT,
        [MOSAIC_AUDIO_CH_BRC] = GST_AUDIO_CHANNEL_POSITION_BOTTOM_FRONT_RIGHT,
    };
    if (p < G_N_ELEMENTS(map) && (map[p] || p == MOSAIC_AUDIO_CH_FL))
        return map[p];
    return GST_AUDIO_CHANNEL_POSITION_INVALID;
}

GstCaps *gst_be_caps(const MosaicAudioStreamSpec *spec)
{
    GstAudioFormat fmt = gst_audio_format_from_string(mosaic_audio_format_name(spec->format));
    GstAudioChannelPosition pos[64];
    guint64 mask = 0;
    bool given = false;
    for (unsigned i = 0; i < spec->channels; i++)
        given |= spec->positions[i] != 0;
    bool ok = given;
    for (unsigned i = 0; given && i < spec->channels; i++) {
        pos[i] = position(spec->positions[i]);
        ok &= pos[i] != GST_AUDIO_CHANNEL_POSITION_INVALID;
    }
    /* A map GStreamer cannot express (or none given): its default layout for the count. */
    if (!ok || (spec->channels > 1 && !gst_audio_channel_positions_to_mask(pos, spec->channels,
                                                                             FALSE, &mask))) {
        mask = gst_audio_channel_get_fallback_mask(spec->channels);
        if (spec->channels == 1)
            pos[0] = GST_AUDIO_CHANNEL_POSITION_MONO;
        else if (!gst_audio_channel_positions_from_mask(spec->channels, mask, pos))
            for (unsigned i = 0; i < spec->channels; i++)
                pos[i] = GST_AUDIO_CHANNEL_POSITION_NONE;
    }
    GstAudioInfo info;
    gst_audio_info_init(&info);
    gst_audio_info_set_format(&info, fmt, spec->rate, spec->channels, pos);
    return gst_audio_info_to_caps(&info);
}

GstElement *gst_be_build(GbBackend *be, unsigned direction, MosaicError *err)
{
    bool out = direction == MOSAIC_AUDIO_OUTPUT;
    const char *desc = out ? be->out_desc : be->in_desc;
    g_autofree char *full =
        out ? g_strdup_printf("appsrc name=" SRC_NAME " ! audioconvert ! audioresample ! "
                              "volume name=mosaic-volume ! %s", desc)
            : g_strdup_printf("%s ! audioconvert ! audioresample ! volume name=mosaic-volume ! "
                              "appsink name=" SINK_NAME, desc);
    g_autoptr(GError) gerr = NULL;
    GstParseContext *ctx = gst_parse_context_new();
    GstElement *pipe = gst_parse_launch_full(full, ctx, GST_PARSE_FLAG_FATAL_ERRORS, &gerr);
    if (!pipe || gerr) {
        g_auto(GStrv) missing = gst_parse_context_get_missing_elements(ctx);
        mosaic_error_set(err, "%s (%s) \"%s\" does not work: %s%s%s",
                         out ? "out.pipeline" : "in.pipeline", out ? be->out_where : be->in_where,
                         desc, gerr ? gerr->message : "not a pipeline",
                         missing && missing[0] ? "; missing element: " : "",
                         missing && missing[0] ? missing[0] : "");
        gst_parse_context_free(ctx);
        if (pipe)
            gst_object_unref(pipe);
        return NULL;
    }
    gst_parse_context_free(ctx);
    return pipe;
}

/* The first error message of the pipeline's bus, as "element 'NAME': TEXT". */
static char *bus_error(GstElement *pipe, GstClockTime wait)
{
    g_autoptr(GstBus) bus = gst_element_get_bus(pipe);
    g_autoptr(GstMessage) m = gst_bus_timed_pop_filtered(bus, wait, GST_MESSAGE_ERROR);
    if (!m)
        return NULL;
    g_autoptr(GError) e = NULL;
    g_autofree char *dbg = NULL;
    gst_message_parse_error(m, &e, &dbg);
    return g_strdup_printf("element '%s': %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(m)), e->message);
}

bool gst_be_set_state(GstElement *pipe, GstState state, const char *what, MosaicError *err)
{
    GstStateChangeReturn r = gst_element_set_state(pipe, state);
    if (r == GST_STATE_CHANGE_ASYNC) /* a sink prerolling, or the error still on its way */
        r = gst_element_get_state(pipe, NULL, NULL, 200 * GST_MSECOND);
    if (r != GST_STATE_CHANGE_FAILURE) {
        g_autofree char *late = bus_error(pipe, 0);
        if (!late)
            return true;
        mosaic_error_set(err, "%s cannot start: %s", what, late);
        return false;
    }
    g_autofree char *why = bus_error(pipe, GST_SECOND);
    mosaic_error_set(err, "%s cannot reach %s: %s", what, gst_element_state_get_name(state),
                     why ? why : "an element refused without saying why");
    return false;
}
