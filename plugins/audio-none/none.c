/* SPDX-License-Identifier: GPL-2.0-or-later */
/* audio-none: a backend with a clock and nothing else.  Output bytes are taken and
 * dropped, capture gets zeros, both at the stream's byte rate on the host clock (so
 * the guest sees the timing of a real device, not an infinitely fast one). */
#include <string.h>

#include <glib.h>
#include <mosaic/mosaic.h>

#define TICK_NS (5 * 1000 * 1000) /* 5 ms */

typedef struct NoneStream {
    MosaicAudioStream *s;
    MosaicTimer *timer;
    uint64_t byte_rate, frame;
    int64_t t0;        /* host time the stream (re)started */
    uint64_t moved;    /* bytes moved since t0 */
    bool running;
    uint8_t *scratch;
    size_t scratch_len;
} NoneStream;

static const MosaicPropDesc none_props[] = {{NULL}};

static void *none_open(const MosaicProps *props, MosaicError *err)
{
    return g_new0(char, 1); /* nothing to keep; non-NULL means success */
}

static void none_close(void *be)
{
    g_free(be);
}

static void tick(void *opaque)
{
    NoneStream *n = opaque;
    if (!n->running)
        return;
    int64_t now = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    uint64_t due = (uint64_t)((__int128)(now - n->t0) * n->byte_rate / 1000000000);
    due -= due % n->frame;
    while (n->moved < due) {
        size_t want = MIN(due - n->moved, n->scratch_len);
        const MosaicAudioStreamSpec *sp = mosaic_audio_stream_spec(n->s);
        size_t got = sp->direction == MOSAIC_AUDIO_OUTPUT
                         ? mosaic_audio_stream_take(n->s, n->scratch, want)
                         : mosaic_audio_stream_put(n->s, n->scratch, want);
        /* An underrun (nothing to take) or a full capture ring: time goes on. */
        n->moved += want;
        if (got < want)
            n->moved = due;
    }
    mosaic_timer_mod(n->timer, now + TICK_NS);
}

static void *none_stream_open(void *be, MosaicAudioStream *s, const MosaicAudioStreamSpec *spec,
                              MosaicError *err)
{
    NoneStream *n = g_new0(NoneStream, 1);
    n->s = s;
    n->frame = (uint64_t)mosaic_audio_format_bytes(spec->format) * spec->channels;
    n->byte_rate = n->frame * spec->rate;
    n->scratch_len = spec->buffer_bytes;
    n->scratch = g_malloc0(n->scratch_len); /* stays zero: the silence we capture */
    n->timer = mosaic_timer_new(MOSAIC_CLOCK_HOST, tick, n);
    return n;
}

static bool none_stream_start(void *st, MosaicError *err)
{
    NoneStream *n = st;
    n->running = true;
    n->t0 = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    n->moved = 0;
    mosaic_timer_mod(n->timer, n->t0 + TICK_NS);
    return true;
}

static void none_stream_stop(void *st)
{
    NoneStream *n = st;
    n->running = false;
    mosaic_timer_del(n->timer);
}

static void none_stream_close(void *st, bool drain)
{
    NoneStream *n = st;
    mosaic_timer_free(n->timer);
    g_free(n->scratch);
    g_free(n);
}

static const MosaicAudioBackendOps none_ops = {
    .size = sizeof(MosaicAudioBackendOps),
    .open = none_open,
    .close = none_close,
    .stream_open = none_stream_open,
    .stream_start = none_stream_start,
    .stream_stop = none_stream_stop,
    .stream_close = none_stream_close,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_AUDIO, .kind_abi = MOSAIC_AUDIO_ABI, .name = "none",
              .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "no sound: output discarded, silence captured, in real time",
              .props = none_props, .ops = &none_ops);
