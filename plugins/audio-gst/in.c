/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Capture: samples from appsink go into the ring as long as it has room; appsink holds
 * at most a few buffers, so a file source waits for the guest (sample-exact) and a live
 * source overruns at the source, as on real hardware. */
#include <string.h>
#include "gst-internal.h"

static GstFlowReturn new_sample(GstAppSink *sink, gpointer opaque)
{
    mosaic_bh_schedule(((GbStream *)opaque)->bh);
    return GST_FLOW_OK;
}

static void eos(GstAppSink *sink, gpointer opaque)
{
    GbStream *g = opaque;
    g_atomic_int_set(&g->eos, 1);
    mosaic_bh_schedule(g->bh);
}

void gst_in_attach(GbStream *g)
{
    GstAppSinkCallbacks cb = {.eos = eos, .new_sample = new_sample};
    g_autoptr(GstCaps) caps = gst_be_caps(&g->spec);
    g_object_set(g->app, "caps", caps, "max-buffers", 4, "drop", FALSE, "sync", FALSE,
                 "emit-signals", FALSE, NULL);
    gst_app_sink_set_callbacks(GST_APP_SINK(g->app), &cb, g, NULL);
}

/* Main loop: fill the ring from pending and new samples; after the source ended, with
 * silence, so a guest reading on never waits for data that will not come. */
void gst_in_pull(GbStream *g)
{
    while (g->running && mosaic_audio_stream_space(g->s) >= g->frame_bytes) {
        if (!g->pending) {
            g->pending = gst_app_sink_try_pull_sample(GST_APP_SINK(g->app), 0);
            g->pending_off = 0;
        }
        if (!g->pending) {
            if (!g_atomic_int_get(&g->eos))
                return;
            size_t n = mosaic_audio_stream_space(g->s);
            n -= n % g->frame_bytes;
            g_autofree uint8_t *zero = g_malloc0(n);
            mosaic_audio_stream_put(g->s, zero, n);
            return;
        }
        GstBuffer *buf = gst_sample_get_buffer(g->pending);
        GstMapInfo map;
        if (!buf || !gst_buffer_map(buf, &map, GST_MAP_READ)) {
            g_clear_pointer(&g->pending, gst_sample_unref);
            continue;
        }
        size_t left = map.size - MIN(map.size, g->pending_off);
        size_t n = mosaic_audio_stream_put(g->s, map.data + g->pending_off, left);
        gst_buffer_unmap(buf, &map);
        g->pending_off += n;
        if (n < left)
            return; /* the ring is full: the guest reads first */
        g_clear_pointer(&g->pending, gst_sample_unref);
    }
}
