/* SPDX-License-Identifier: GPL-2.0-or-later */
/* audio-pulse: guest streams as PulseAudio streams.  libpulse runs on its own thread
 * (pa_threaded_mainloop); its callbacks only schedule a bottom half, and the data moves
 * on the main loop with the mainloop lock taken, so the core lock and the pulse lock
 * are always taken in that order. */
#include <string.h>

#include <glib.h>
#include <pulse/pulseaudio.h>
#include <mosaic/mosaic.h>

#define CONNECT_WAIT_US (5 * G_USEC_PER_SEC)
/* Streams playing out at once: a guest that releases streams in a loop must not
 * accumulate them; past this the oldest is cut short. */
#define MAX_DRAINING 4

typedef struct PulseBe {
    pa_threaded_mainloop *ml;
    pa_context *ctx;
    char *server, *sink, *source;
    uint64_t latency_ms;
    GPtrArray *draining; /* PulseStream* playing out their last bytes */
} PulseBe;

typedef struct PulseStream {
    PulseBe *be;
    MosaicAudioStream *s; /* NULL once closed (draining) */
    MosaicAudioStreamSpec spec;
    pa_stream *ps;
    MosaicBH *bh;
    unsigned frame_bytes;
    size_t peek_off;      /* capture: bytes of the peeked fragment already in the ring */
    gint drained;         /* atomic */
    bool running;
} PulseStream;

static const MosaicPropDesc pulse_props[] = {
    {.key = "server", .type = MOSAIC_PROP_STRING, .defval = "",
     .help = "PulseAudio server (unix:PATH, tcp:HOST); empty: the default"},
    {.key = "sink", .type = MOSAIC_PROP_STRING, .defval = "",
     .help = "sink for output; empty: the server's default"},
    {.key = "source", .type = MOSAIC_PROP_STRING, .defval = "",
     .help = "source for capture; empty: the server's default"},
    {.key = "latency", .type = MOSAIC_PROP_UINT, .defval = "20", .min = 1, .max = 2000,
     .help = "milliseconds of output the server keeps queued"},
    {NULL},
};

static void signal_ml(void *unused, void *opaque)
{
    pa_threaded_mainloop_signal(((PulseBe *)opaque)->ml, 0);
}

/* Mainloop lock held: waits for a state change, FALSE once `until` has passed (a server
 * that stops answering must not hold the main loop for ever). */
static bool wait_until(PulseBe *be, gint64 until)
{
    if (g_get_monotonic_time() >= until)
        return false;
    pa_threaded_mainloop_unlock(be->ml);
    g_usleep(2000);
    pa_threaded_mainloop_lock(be->ml);
    return true;
}

static void ctx_state(pa_context *c, void *opaque)
{
    signal_ml(NULL, opaque);
}

static void be_free(PulseBe *be)
{
    if (be->ml)
        pa_threaded_mainloop_stop(be->ml);
    if (be->ctx) {
        pa_context_disconnect(be->ctx);
        pa_context_unref(be->ctx);
    }
    if (be->ml)
        pa_threaded_mainloop_free(be->ml);
    g_ptr_array_free(be->draining, TRUE);
    g_free(be->server);
    g_free(be->sink);
    g_free(be->source);
    g_free(be);
}

static char *opt(const MosaicProps *p, const char *key)
{
    const char *v = mosaic_props_get_str(p, key);
    return v && *v ? g_strdup(v) : NULL;
}

static void *pulse_open(const MosaicProps *props, MosaicError *err)
{
    PulseBe *be = g_new0(PulseBe, 1);
    be->server = opt(props, "server");
    be->sink = opt(props, "sink");
    be->source = opt(props, "source");
    be->latency_ms = mosaic_props_get_uint(props, "latency");
    be->draining = g_ptr_array_new();
    be->ml = pa_threaded_mainloop_new();
    be->ctx = be->ml ? pa_context_new(pa_threaded_mainloop_get_api(be->ml), "Mosaic") : NULL;
    if (!be->ctx) {
        mosaic_error_set(err, "libpulse cannot create a context");
        be_free(be);
        return NULL;
    }
    pa_context_set_state_callback(be->ctx, ctx_state, be);
    const char *name = be->server ? be->server : "(default)";
    if (pa_context_connect(be->ctx, be->server, PA_CONTEXT_NOAUTOSPAWN, NULL) < 0) {
        mosaic_error_set(err, "cannot connect to PulseAudio server %s: %s", name,
                         pa_strerror(pa_context_errno(be->ctx)));
        be_free(be);
        return NULL;
    }
    pa_threaded_mainloop_lock(be->ml);
    pa_threaded_mainloop_start(be->ml);
    pa_context_state_t st;
    gint64 until = g_get_monotonic_time() + CONNECT_WAIT_US;
    while ((st = pa_context_get_state(be->ctx)) != PA_CONTEXT_READY && PA_CONTEXT_IS_GOOD(st) &&
           wait_until(be, until))
        ;
    int e = pa_context_errno(be->ctx);
    pa_threaded_mainloop_unlock(be->ml);
    if (st != PA_CONTEXT_READY) {
        mosaic_error_set(err, "cannot connect to PulseAudio server %s: %s", name,
                         PA_CONTEXT_IS_GOOD(st) ? "no answer within 5 s" : pa_strerror(e));
        be_free(be);
        return NULL;
    }
    return be;
}

static void stream_destroy(PulseStream *p)
{
    if (p->ps) {
        pa_stream_set_write_callback(p->ps, NULL, NULL);
        pa_stream_set_read_callback(p->ps, NULL, NULL);
        pa_stream_set_state_callback(p->ps, NULL, NULL);
        pa_stream_disconnect(p->ps);
        pa_stream_unref(p->ps);
    }
    mosaic_bh_free(p->bh);
    g_free(p);
}

static void pulse_close(void *opaque)
{
    PulseBe *be = opaque;
    pa_threaded_mainloop_lock(be->ml);
    /* Bounded: a server that never confirms a drain does not hold the exit. */
    gint64 until = g_get_monotonic_time() + CONNECT_WAIT_US;
    for (guint i = 0; i < be->draining->len; i++) {
        PulseStream *p = g_ptr_array_index(be->draining, i);
        while (!g_atomic_int_get(&p->drained) && g_get_monotonic_time() < until) {
            pa_threaded_mainloop_unlock(be->ml);
            g_usleep(5000);
            pa_threaded_mainloop_lock(be->ml);
        }
        stream_destroy(p);
    }
    g_ptr_array_set_size(be->draining, 0);
    pa_threaded_mainloop_unlock(be->ml);
    be_free(be);
}

/* Main loop, mainloop lock held: move what the server can take / has captured. */
static void move_locked(PulseStream *p)
{
    if (!p->s || !p->running || pa_stream_get_state(p->ps) != PA_STREAM_READY)
        return;
    if (p->spec.direction == MOSAIC_AUDIO_OUTPUT) {
        size_t n = MIN(pa_stream_writable_size(p->ps), mosaic_audio_stream_available(p->s));
        n -= n % p->frame_bytes;
        while (n) {
            void *buf;
            size_t len = n;
            if (pa_stream_begin_write(p->ps, &buf, &len) < 0 || !len)
                return;
            len = MIN(len, n);
            len -= len % p->frame_bytes;
            if (!len) {
                pa_stream_cancel_write(p->ps);
                return;
            }
            size_t got = mosaic_audio_stream_take(p->s, buf, len);
            pa_stream_write(p->ps, buf, got, NULL, 0, PA_SEEK_RELATIVE);
            n -= got;
        }
        return;
    }
    for (;;) {
        const void *data;
        size_t len;
        if (pa_stream_peek(p->ps, &data, &len) < 0 || !len)
            return;
        if (data) {
            size_t left = len - p->peek_off;
            size_t put = mosaic_audio_stream_put(p->s, (const uint8_t *)data + p->peek_off, left);
            p->peek_off += put;
            if (put < left)
                return; /* the ring is full: the guest reads first */
        }
        pa_stream_drop(p->ps); /* a hole (data NULL) is dropped too */
        p->peek_off = 0;
    }
}

static void moved(void *opaque)
{
    PulseStream *p = opaque;
    PulseBe *be = p->be;
    pa_threaded_mainloop_lock(be->ml);
    if (!p->s && g_atomic_int_get(&p->drained)) { /* played out: it goes now */
        g_ptr_array_remove(be->draining, p);
        stream_destroy(p);
    } else {
        move_locked(p);
    }
    pa_threaded_mainloop_unlock(be->ml);
}

/* Pulse thread: the server wants data / has data; the main loop moves it. */
static void wake(pa_stream *s, size_t n, void *opaque)
{
    mosaic_bh_schedule(((PulseStream *)opaque)->bh);
}

static void stream_state(pa_stream *s, void *opaque)
{
    PulseStream *p = opaque;
    pa_threaded_mainloop_signal(p->be->ml, 0);
    mosaic_bh_schedule(p->bh);
}

static bool sample_format(uint32_t f, pa_sample_format_t *out)
{
    switch (f) {
    case MOSAIC_AUDIO_U8: *out = PA_SAMPLE_U8; return true;
    case MOSAIC_AUDIO_S16: *out = PA_SAMPLE_S16LE; return true;
    case MOSAIC_AUDIO_S24_3: *out = PA_SAMPLE_S24LE; return true;
    case MOSAIC_AUDIO_S24: *out = PA_SAMPLE_S24_32LE; return true;
    case MOSAIC_AUDIO_S32: *out = PA_SAMPLE_S32LE; return true;
    case MOSAIC_AUDIO_F32: *out = PA_SAMPLE_FLOAT32LE; return true;
    default: return false;
    }
}

static pa_channel_position_t position(unsigned p)
{
    switch (p) {
    case MOSAIC_AUDIO_CH_MONO: return PA_CHANNEL_POSITION_MONO;
    case MOSAIC_AUDIO_CH_FL: return PA_CHANNEL_POSITION_FRONT_LEFT;
    case MOSAIC_AUDIO_CH_FR: return PA_CHANNEL_POSITION_FRONT_RIGHT;
    case MOSAIC_AUDIO_CH_RL: return PA_CHANNEL_POSITION_REAR_LEFT;
    case MOSAIC_AUDIO_CH_RR: return PA_CHANNEL_POSITION_REAR_RIGHT;
    case MOSAIC_AUDIO_CH_FC: return PA_CHANNEL_POSITION_FRONT_CENTER;
    case MOSAIC_AUDIO_CH_LFE: return PA_CHANNEL_POSITION_LFE;
    case MOSAIC_AUDIO_CH_SL: return PA_CHANNEL_POSITION_SIDE_LEFT;
    case MOSAIC_AUDIO_CH_SR: return PA_CHANNEL_POSITION_SIDE_RIGHT;
    case MOSAIC_AUDIO_CH_RC: return PA_CHANNEL_POSITION_REAR_CENTER;
    case MOSAIC_AUDIO_CH_FLC: return PA_CHANNEL_POSITION_FRONT_LEFT_OF_CENTER;
    case MOSAIC_AUDIO_CH_FRC: return PA_CHANNEL_POSITION_FRONT_RIGHT_OF_CENTER;
    case MOSAIC_AUDIO_CH_TC: return PA_CHANNEL_POSITION_TOP_CENTER;
    case MOSAIC_AUDIO_CH_TFL: return PA_CHANNEL_POSITION_TOP_FRONT_LEFT;
    case MOSAIC_AUDIO_CH_TFR: return PA_CHANNEL_POSITION_TOP_FRONT_RIGHT;
    case MOSAIC_AUDIO_CH_TFC: return PA_CHANNEL_POSITION_TOP_FRONT_CENTER;
    case MOSAIC_AUDIO_CH_TRL: return PA_CHANNEL_POSITION_TOP_REAR_LEFT;
    case MOSAIC_AUDIO_CH_TRR: return PA_CHANNEL_POSITION_TOP_REAR_RIGHT;
    case MOSAIC_AUDIO_CH_TRC: return PA_CHANNEL_POSITION_TOP_REAR_CENTER;
    default: return PA_CHANNEL_POSITION_INVALID;
    }
}

static void channel_map(const MosaicAudioStreamSpec *spec, pa_channel_map *map)
{
    map->channels = spec->channels;
    for (unsigned i = 0; i < spec->channels; i++)
        map->map[i] = position(spec->positions[i]);
    if (!pa_channel_map_valid(map))
        pa_channel_map_init_extend(map, spec->channels, PA_CHANNEL_MAP_WAVEEX);
}

static void *pulse_stream_open(void *opaque, MosaicAudioStream *s,
                               const MosaicAudioStreamSpec *spec, MosaicError *err)
{
    PulseBe *be = opaque;
    pa_sample_spec ss = {.rate = spec->rate, .channels = spec->channels};
    if (!sample_format(spec->format, &ss.format)) {
        mosaic_error_set(err, "PulseAudio has no sample format %s (audio-gst converts it)",
                         mosaic_audio_format_name(spec->format));
        return NULL;
    }
    pa_channel_map map;
    channel_map(spec, &map);
    bool out = spec->direction == MOSAIC_AUDIO_OUTPUT;
    PulseStream *p = g_new0(PulseStream, 1);
    p->be = be;
    p->s = s;
    p->spec = *spec;
    p->frame_bytes = mosaic_audio_format_bytes(spec->format) * spec->channels;
    p->bh = mosaic_bh_new(moved, p);
    uint32_t latency = (uint32_t)MAX((uint64_t)p->frame_bytes * spec->rate * be->latency_ms / 1000,
                                     spec->period_bytes);
    pa_buffer_attr attr = {.maxlength = (uint32_t)-1, .tlength = latency, .prebuf = (uint32_t)-1,
                           .minreq = (uint32_t)-1, .fragsize = spec->period_bytes};
    pa_threaded_mainloop_lock(be->ml);
    p->ps = pa_stream_new(be->ctx, spec->name, &ss, &map);
    int r = -1;
    if (p->ps) {
        pa_stream_set_state_callback(p->ps, stream_state, p);
        if (out)
            pa_stream_set_write_callback(p->ps, wake, p);
        else
            pa_stream_set_read_callback(p->ps, wake, p);
        pa_stream_flags_t fl = PA_STREAM_ADJUST_LATENCY | PA_STREAM_START_CORKED;
        r = out ? pa_stream_connect_playback(p->ps, be->sink, &attr, fl, NULL, NULL)
                : pa_stream_connect_record(p->ps, be->source, &attr, fl);
    }
    pa_stream_state_t st = PA_STREAM_FAILED;
    gint64 until = g_get_monotonic_time() + CONNECT_WAIT_US;
    while (r == 0 && (st = pa_stream_get_state(p->ps)) != PA_STREAM_READY &&
           PA_STREAM_IS_GOOD(st) && wait_until(be, until))
        ;
    if (st != PA_STREAM_READY) {
        mosaic_error_set(err, "PulseAudio %s %s refused the stream: %s", out ? "sink" : "source",
                         (out ? be->sink : be->source) ? (out ? be->sink : be->source) : "(default)",
                         pa_strerror(pa_context_errno(be->ctx)));
        stream_destroy(p);
        pa_threaded_mainloop_unlock(be->ml);
        return NULL;
    }
    pa_threaded_mainloop_unlock(be->ml);
    return p;
}

static void cork(PulseStream *p, int c)
{
    pa_threaded_mainloop_lock(p->be->ml);
    pa_operation *o = pa_stream_cork(p->ps, c, NULL, NULL);
    if (o)
        pa_operation_unref(o);
    p->running = !c;
    if (!c)
        move_locked(p);
    pa_threaded_mainloop_unlock(p->be->ml);
}

static bool pulse_stream_start(void *st, MosaicError *err)
{
    cork(st, 0);
    return true;
}

static void pulse_stream_stop(void *st)
{
    cork(st, 1);
}

static void drain_done(pa_stream *s, int ok, void *opaque)
{
    PulseStream *p = opaque;
    g_atomic_int_set(&p->drained, 1);
    mosaic_bh_schedule(p->bh);
}

static void pulse_stream_close(void *st, bool drain)
{
    PulseStream *p = st;
    PulseBe *be = p->be;
    pa_threaded_mainloop_lock(be->ml);
    if (drain && p->spec.direction == MOSAIC_AUDIO_OUTPUT) {
        /* What is still in the ring, then a drain the server confirms. */
        size_t n;
        while ((n = mosaic_audio_stream_available(p->s))) {
            g_autofree uint8_t *buf = g_malloc(n);
            mosaic_audio_stream_take(p->s, buf, n);
            pa_stream_write(p->ps, buf, n, NULL, 0, PA_SEEK_RELATIVE);
        }
        p->s = NULL;
        pa_stream_set_write_callback(p->ps, NULL, NULL);
        pa_operation *o = pa_stream_cork(p->ps, 0, NULL, NULL);
        if (o)
            pa_operation_unref(o);
        o = pa_stream_drain(p->ps, drain_done, p);
        if (o) {
            pa_operation_unref(o);
            if (be->draining->len >= MAX_DRAINING)
                stream_destroy(g_ptr_array_steal_index(be->draining, 0));
            g_ptr_array_add(be->draining, p);
            pa_threaded_mainloop_unlock(be->ml);
            return;
        }
    }
    stream_destroy(p);
    pa_threaded_mainloop_unlock(be->ml);
}

static void pulse_stream_kick(void *st)
{
    moved(st);
}

static void pulse_set_volume(void *st, double volume, bool mute)
{
    PulseStream *p = st;
    pa_cvolume cv;
    pa_cvolume_set(&cv, p->spec.channels, pa_sw_volume_from_linear(volume));
    pa_threaded_mainloop_lock(p->be->ml);
    uint32_t idx = pa_stream_get_index(p->ps);
    bool out = p->spec.direction == MOSAIC_AUDIO_OUTPUT;
    pa_operation *o = out ? pa_context_set_sink_input_volume(p->be->ctx, idx, &cv, NULL, NULL)
                          : pa_context_set_source_output_volume(p->be->ctx, idx, &cv, NULL, NULL);
    if (o)
        pa_operation_unref(o);
    o = out ? pa_context_set_sink_input_mute(p->be->ctx, idx, mute, NULL, NULL)
            : pa_context_set_source_output_mute(p->be->ctx, idx, mute, NULL, NULL);
    if (o)
        pa_operation_unref(o);
    pa_threaded_mainloop_unlock(p->be->ml);
}

static const MosaicAudioBackendOps pulse_ops = {
    .size = sizeof(MosaicAudioBackendOps),
    .open = pulse_open,
    .close = pulse_close,
    .stream_open = pulse_stream_open,
    .stream_start = pulse_stream_start,
    .stream_stop = pulse_stream_stop,
    .stream_close = pulse_stream_close,
    .stream_kick = pulse_stream_kick,
    .stream_set_volume = pulse_set_volume,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_AUDIO, .kind_abi = MOSAIC_AUDIO_ABI, .name = "pulse",
              .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "PulseAudio (or PipeWire-pulse) streams through libpulse",
              .props = pulse_props, .ops = &pulse_ops);
