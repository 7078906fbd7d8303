/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Output: the ring's bytes go into appsrc when appsrc asks for them (need-data, from its
 * streaming thread, after the sink consumed its queue at the pace of its clock), so the
 * guest's buffers complete in the sink's time. */
#include "gst-internal.h"

static void need_data(GstAppSrc *src, guint length, gpointer opaque)
{
    GbStream *g = opaque;
    g_atomic_int_set(&g->want, 1);
    mosaic_bh_schedule(g->bh);
}

static void enough_data(GstAppSrc *src, gpointer opaque)
{
    g_atomic_int_set(&((GbStream *)opaque)->want, 0);
}

void gst_out_attach(GbStream *g)
{
    GstAppSrcCallbacks cb = {.need_data = need_data, .enough_data = enough_data};
    uint64_t byte_rate = (uint64_t)g->frame_bytes * g->spec.rate;
    uint64_t queue = MAX(byte_rate * g->be->latency_ms / 1000, g->spec.period_bytes);
    g_autoptr(GstCaps) caps = gst_be_caps(&g->spec);
    g_object_set(g->app, "caps", caps, "format", GST_FORMAT_TIME, "max-bytes", (guint64)queue,
                 "min-percent", 50, "block", FALSE, "emit-signals", FALSE, NULL);
    gst_app_src_set_callbacks(GST_APP_SRC(g->app), &cb, g, NULL);
}

/* Main loop: as much of the ring as appsrc wants, timestamped by frame count. */
void gst_out_push(GbStream *g)
{
    while (g->running && g_atomic_int_get(&g->want)) {
        size_t avail = mosaic_audio_stream_available(g->s);
        size_t n = MIN(avail, g->spec.period_bytes);
        n -= n % g->frame_bytes;
        if (!n)
            return;
        GstBuffer *buf = gst_buffer_new_allocate(NULL, n, NULL);
        GstMapInfo map;
        gst_buffer_map(buf, &map, GST_MAP_WRITE);
        mosaic_audio_stream_take(g->s, map.data, n);
        gst_buffer_unmap(buf, &map);
        uint64_t frames = n / g->frame_bytes;
        GST_BUFFER_PTS(buf) = gst_util_uint64_scale(g->frames, GST_SECOND, g->spec.rate);
        GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(g->frames + frames, GST_SECOND,
                                                         g->spec.rate) - GST_BUFFER_PTS(buf);
        g->frames += frames;
        if (gst_app_src_push_buffer(GST_APP_SRC(g->app), buf) != GST_FLOW_OK)
            return; /* flushing or stopped: the bus tells why */
    }
}
