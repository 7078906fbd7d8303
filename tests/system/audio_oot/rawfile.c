/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An audio backend written only against the SDK (sdk/include, libmosaic-core), as a third
 * party would write one out of tree: `driver = rawfile`, `path = FILE` receives the guest's
 * output as raw PCM, taken at the stream's byte rate on the host clock.  Capture is
 * refused, with an error.  Built and used by tests/system/test_audio_oot.py. */
#include <stdio.h>
#include <stdlib.h>
#include <mosaic/mosaic.h>

#define TICK_NS 5000000 /* 5 ms */

typedef struct RawBackend { char path[4096]; } RawBackend;

typedef struct RawStream {
    RawBackend *be;
    MosaicAudioStream *s;
    MosaicTimer *timer;
    FILE *f;
    uint64_t byte_rate, frame, moved;
    int64_t t0;
    int running;
    unsigned char buf[65536];
} RawStream;

static const MosaicPropDesc raw_props[] = {
    {.key = "path", .type = MOSAIC_PROP_STRING, .defval = "", .help = "file receiving raw PCM"},
    {NULL},
};

static void *raw_open(const MosaicProps *props, MosaicError *err)
{
    const char *path = mosaic_props_get_str(props, "path");
    if (!path || !path[0]) {
        mosaic_error_set(err, "rawfile needs a path");
        return NULL;
    }
    RawBackend *be = calloc(1, sizeof *be);
    snprintf(be->path, sizeof be->path, "%s", path);
    return be;
}

static void raw_close(void *be)
{
    free(be);
}

static void tick(void *opaque)
{
    RawStream *r = opaque;
    if (!r->running)
        return;
    int64_t now = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    uint64_t due = (uint64_t)((__int128)(now - r->t0) * r->byte_rate / 1000000000);
    due -= due % r->frame;
    while (r->moved < due) {
        size_t want = due - r->moved < sizeof r->buf ? due - r->moved : sizeof r->buf;
        size_t got = mosaic_audio_stream_take(r->s, r->buf, want);
        fwrite(r->buf, 1, got, r->f);
        r->moved = got < want ? due : r->moved + want; /* an underrun: time goes on */
    }
    mosaic_timer_mod(r->timer, now + TICK_NS);
}

static void *raw_stream_open(void *opaque, MosaicAudioStream *s,
                             const MosaicAudioStreamSpec *spec, MosaicError *err)
{
    RawBackend *be = opaque;
    if (spec->direction != MOSAIC_AUDIO_OUTPUT) {
        mosaic_error_set(err, "rawfile only plays");
        return NULL;
    }
    RawStream *r = calloc(1, sizeof *r);
    if (!(r->f = fopen(be->path, "ab"))) {
        mosaic_error_set(err, "cannot open %s", be->path);
        free(r);
        return NULL;
    }
    r->be = be;
    r->s = s;
    r->frame = (uint64_t)mosaic_audio_format_bytes(spec->format) * spec->channels;
    r->byte_rate = r->frame * spec->rate;
    r->timer = mosaic_timer_new(MOSAIC_CLOCK_HOST, tick, r);
    return r;
}

static bool raw_stream_start(void *st, MosaicError *err)
{
    RawStream *r = st;
    (void)err;
    r->running = 1;
    r->t0 = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    r->moved = 0;
    mosaic_timer_mod(r->timer, r->t0 + TICK_NS);
    return true;
}

static void raw_stream_stop(void *st)
{
    RawStream *r = st;
    r->running = 0;
    mosaic_timer_del(r->timer);
}

static void raw_stream_close(void *st, bool drain)
{
    RawStream *r = st;
    while (drain && mosaic_audio_stream_available(r->s)) { /* what is left, at once */
        size_t got = mosaic_audio_stream_take(r->s, r->buf, sizeof r->buf);
        fwrite(r->buf, 1, got, r->f);
    }
    mosaic_timer_free(r->timer);
    fclose(r->f);
    free(r);
}

static const MosaicAudioBackendOps raw_ops = {
    .size = sizeof(MosaicAudioBackendOps),
    .open = raw_open,
    .close = raw_close,
    .stream_open = raw_stream_open,
    .stream_start = raw_stream_start,
    .stream_stop = raw_stream_stop,
    .stream_close = raw_stream_close,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_AUDIO, .kind_abi = MOSAIC_AUDIO_ABI, .name = "rawfile",
              .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "guest output as raw PCM in a file (out-of-tree example)",
              .props = raw_props, .ops = &raw_ops);
