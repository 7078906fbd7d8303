/* SPDX-License-Identifier: GPL-2.0-or-later */
/* audio-gst: each guest stream is one GStreamer pipeline.  Output:
 *   appsrc ! audioconvert ! audioresample ! volume ! <out.pipeline>
 * capture:
 *   <in.pipeline> ! audioconvert ! audioresample ! volume ! appsink
 * so any guest format meets any host device, and Mosaic converts nothing itself. */
#include <string.h>
#include "gst-internal.h"

#define DRAIN_WAIT (3 * GST_SECOND) /* at exit, per pipeline still playing out */
/* Pipelines playing out at once: a guest that releases streams in a loop must not
 * accumulate pipelines (and their threads); past this the oldest is cut short. */
#define MAX_DRAINING 4

static const MosaicPropDesc gst_props[] = {
    {.key = "out.pipeline", .type = MOSAIC_PROP_STRING, .defval = "autoaudiosink",
     .help = "where output goes, gst-launch syntax (e.g. pulsesink, "
             "wavenc ! filesink location=out.wav)"},
    {.key = "in.pipeline", .type = MOSAIC_PROP_STRING, .defval = "autoaudiosrc",
     .help = "where capture comes from, gst-launch syntax (e.g. pulsesrc, "
             "filesrc location=in.wav ! decodebin)"},
    {.key = "latency", .type = MOSAIC_PROP_UINT, .defval = "20", .min = 1, .max = 2000,
     .help = "milliseconds of output queued ahead of the sink (appsrc's queue)"},
    {.key = "probe", .type = MOSAIC_PROP_BOOL, .defval = "on",
     .help = "start each pipeline once when the machine starts, so a device that cannot "
             "be opened is reported then (the default in.pipeline is not probed)"},
    {NULL},
};

static bool gst_be_init(MosaicError *err)
{
    g_autoptr(GError) e = NULL;
    if (!gst_init_check(NULL, NULL, &e)) {
        mosaic_error_set(err, "GStreamer does not start: %s", e ? e->message : "unknown");
        return false;
    }
    return true;
}

/* A pipeline of each direction, for 48 kHz stereo S16, brought to PAUSED and dropped. */
static bool probe(GbBackend *be, unsigned dir, MosaicError *err)
{
    GstElement *pipe = gst_be_build(be, dir, err);
    if (!pipe)
        return false;
    GbStream g = {.be = be, .frame_bytes = 4,
                   .spec = {.size = sizeof g.spec, .direction = dir, .format = MOSAIC_AUDIO_S16,
                            .rate = 48000, .channels = 2, .period_bytes = 4096,
                            .buffer_bytes = 16384}};
    g.app = gst_bin_get_by_name(GST_BIN(pipe), dir == MOSAIC_AUDIO_OUTPUT ? "mosaic-src" : "mosaic-sink");
    g_autofree char *what = g_strdup_printf("%s (%s) \"%s\"",
                                            dir == MOSAIC_AUDIO_OUTPUT ? "out.pipeline" : "in.pipeline",
                                            dir == MOSAIC_AUDIO_OUTPUT ? be->out_where : be->in_where,
                                            dir == MOSAIC_AUDIO_OUTPUT ? be->out_desc : be->in_desc);
    g_autoptr(GstCaps) caps = gst_be_caps(&g.spec);
    g_object_set(g.app, "caps", caps, NULL);
    bool ok = gst_be_set_state(pipe, GST_STATE_PAUSED, what, err);
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(g.app);
    gst_object_unref(pipe);
    return ok;
}

static void *gst_be_open(const MosaicProps *props, MosaicError *err)
{
    GbBackend *be = g_new0(GbBackend, 1);
    be->out_desc = g_strdup(mosaic_props_get_str(props, "out.pipeline"));
    be->in_desc = g_strdup(mosaic_props_get_str(props, "in.pipeline"));
    be->out_where = mosaic_props_where(props, "out.pipeline");
    be->in_where = mosaic_props_where(props, "in.pipeline");
    be->latency_ms = mosaic_props_get_uint(props, "latency");
    be->draining = g_ptr_array_new();
    be->closing = g_ptr_array_new();
    bool check = mosaic_props_get_bool(props, "probe");
    GstElement *p;
    /* Both descriptions must parse, whatever the guest will use. */
    for (unsigned dir = 0; dir < 2; dir++) {
        if (!(p = gst_be_build(be, dir, err)))
            goto fail;
        gst_object_unref(p);
    }
    if (check && (!probe(be, MOSAIC_AUDIO_OUTPUT, err) ||
                  (strcmp(be->in_desc, "autoaudiosrc") && !probe(be, MOSAIC_AUDIO_INPUT, err))))
        goto fail;
    return be;
fail:
    g_ptr_array_free(be->draining, TRUE);
    g_ptr_array_free(be->closing, TRUE);
    g_free(be->out_desc);
    g_free(be->in_desc);
    g_free(be);
    return NULL;
}

/* Main loop, once the worker has brought the pipeline to NULL: no thread of it runs. */
static void stream_free(GbStream *g)
{
    gst_worker_detach(g);
    g_ptr_array_remove(g->be->closing, g);
    g_ptr_array_remove(g->be->draining, g);
    if (g->pending)
        gst_sample_unref(g->pending);
    mosaic_bh_free(g->bh);
    gst_object_unref(g->app);
    gst_object_unref(g->volume);
    gst_object_unref(g->pipe);
    g_free(g->what);
    g_free(g);
}

/* A closed stream's pipeline goes to NULL (on its worker); freed when that is done. */
static void stop_for_good(GbStream *g)
{
    if (g->stopping)
        return;
    g->stopping = true;
    g_ptr_array_remove(g->be->draining, g);
    gst_worker_push(g, GB_NULL);
}

static void gst_be_close(void *opaque)
{
    GbBackend *be = opaque;
    /* Output still playing out (a file sink writing its header on EOS) gets its time,
     * bounded; a pipeline stuck in a state change is left to the exit. */
    gint64 until = g_get_monotonic_time() + DRAIN_WAIT / GST_USECOND;
    while (be->closing->len) {
        GbStream *g = g_ptr_array_index(be->closing, 0);
        if (!g->stopping)
            gst_worker_wait_drained(g, until);
        stop_for_good(g);
        if (!gst_worker_wait_nulled(g, MAX(until, g_get_monotonic_time() + G_USEC_PER_SEC))) {
            g_printerr("audio-gst: %s is still changing state at exit; left to it\n", g->what);
            g_ptr_array_remove_index(be->closing, 0);
            continue;
        }
        stream_free(g);
    }
    g_ptr_array_free(be->draining, TRUE);
    g_ptr_array_free(be->closing, TRUE);
    g_free(be->out_desc);
    g_free(be->in_desc);
    g_free(be);
}

static void moved(void *opaque)
{
    GbStream *g = opaque;
    if (!g->s)
        return; /* closed, draining */
    if (g->spec.direction == MOSAIC_AUDIO_OUTPUT)
        gst_out_push(g);
    else
        gst_in_pull(g);
}

/* Main loop: what the worker or the bus found (worker.c). */
static void state_news(void *opaque)
{
    GbStream *g = opaque;
    g_mutex_lock(&g->lock);
    bool nulled = g->nulled, drained = g->drained;
    g_autofree char *error = g_strdup(g->error);
    g_autofree char *failure = g_strdup(g->failure);
    g_mutex_unlock(&g->lock);
    if (nulled) {
        stream_free(g);
        return;
    }
    if (g->closing) {
        if (drained)
            stop_for_good(g);
        return;
    }
    if ((!error && !failure) || g->reported)
        return;
    g->reported = g->failed = true;
    g->running = false;
    /* The element's error may come before the worker knows the state change failed:
     * either way the message names the key and the pipeline. */
    if (failure)
        mosaic_audio_stream_error(g->s, "%s cannot reach %s: %s", g->what, failure,
                                  error ? error : "an element refused without saying why");
    else
        mosaic_audio_stream_error(g->s, "%s: %s", g->what, error);
}

/* Opening a stream waits for nothing: the pipeline is built (parsing is quick) and its
 * way to PAUSED (opening the host device, which may take long or fail) runs on the
 * stream's worker; a failure reaches the device through mosaic_audio_stream_error. */
static void *gst_be_stream_open(void *opaque, MosaicAudioStream *s,
                                const MosaicAudioStreamSpec *spec, MosaicError *err)
{
    GbBackend *be = opaque;
    bool out = spec->direction == MOSAIC_AUDIO_OUTPUT;
    GstElement *pipe = gst_be_build(be, spec->direction, err);
    if (!pipe)
        return NULL;
    GbStream *g = g_new0(GbStream, 1);
    g->be = be;
    g->s = s;
    g->spec = *spec;
    g->frame_bytes = mosaic_audio_format_bytes(spec->format) * spec->channels;
    g->pipe = pipe;
    g->app = gst_bin_get_by_name(GST_BIN(pipe), out ? "mosaic-src" : "mosaic-sink");
    g->volume = gst_bin_get_by_name(GST_BIN(pipe), "mosaic-volume");
    g->what = g_strdup_printf("%s (%s) \"%s\"", out ? "out.pipeline" : "in.pipeline",
                              out ? be->out_where : be->in_where, out ? be->out_desc : be->in_desc);
    g->bh = mosaic_bh_new(moved, g);
    if (out)
        gst_out_attach(g);
    else
        gst_in_attach(g);
    gst_worker_attach(g, state_news);
    gst_worker_push(g, GB_PAUSE);
    return g;
}

static bool gst_be_stream_start(void *st, MosaicError *err)
{
    GbStream *g = st;
    if (g->failed) {
        g_mutex_lock(&g->lock);
        mosaic_error_set(err, "%s failed (prepare the stream again): %s", g->what,
                         g->error ? g->error : "cannot reach a state");
        g_mutex_unlock(&g->lock);
        return false;
    }
    g->running = true;
    gst_worker_push(g, GB_PLAY);
    mosaic_bh_schedule(g->bh);
    return true;
}

static void gst_be_stream_stop(void *st)
{
    GbStream *g = st;
    g->running = false;
    gst_worker_push(g, GB_PAUSE);
}

static void gst_be_stream_close(void *st, bool drain)
{
    GbStream *g = st;
    if (g->pending)
        gst_sample_unref(g->pending);
    g->pending = NULL;
    g_ptr_array_add(g->be->closing, g);
    /* Output is played to its end (a recording gets its last bytes and its header): the
     * pipeline runs on until EOS, collected when the backend closes at the latest.  Its
     * streaming thread may still schedule g->bh: `g` lives until the pipeline stops. */
    if (drain && g->spec.direction == MOSAIC_AUDIO_OUTPUT && !g->failed) {
        g->running = true; /* what is still in the ring goes first (appsrc takes it all) */
        g_atomic_int_set(&g->want, 1);
        gst_out_push(g);
        g->running = false;
        g->s = NULL;
        g->closing = true;
        if (g->be->draining->len >= MAX_DRAINING)
            stop_for_good(g_ptr_array_index(g->be->draining, 0));
        g_ptr_array_add(g->be->draining, g);
        gst_worker_push(g, GB_DRAIN);
        mosaic_bh_schedule(g->state_bh); /* it may have failed already */
    } else {
        g->s = NULL;
        g->closing = true;
        stop_for_good(g);
    }
}

static void gst_be_kick(void *st)
{
    moved(st);
}

static void gst_be_set_volume(void *st, double volume, bool mute)
{
    GbStream *g = st;
    g_object_set(g->volume, "volume", volume, "mute", (gboolean)mute, NULL);
}

static const MosaicAudioBackendOps gst_ops = {
    .size = sizeof(MosaicAudioBackendOps),
    .open = gst_be_open,
    .close = gst_be_close,
    .stream_open = gst_be_stream_open,
    .stream_start = gst_be_stream_start,
    .stream_stop = gst_be_stream_stop,
    .stream_close = gst_be_stream_close,
    .stream_kick = gst_be_kick,
    .stream_set_volume = gst_be_set_volume,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_AUDIO, .kind_abi = MOSAIC_AUDIO_ABI, .name = "gst",
              .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "GStreamer pipelines (appsrc/appsink, audioconvert ! audioresample)",
              .props = gst_props, .init = gst_be_init, .ops = &gst_ops);
