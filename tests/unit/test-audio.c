/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The core's audio layer: the ring (wrap-around, bounds), the checks of a device's
 * stream spec, and a stream between a device and a fake backend: output taken by the
 * backend is reported to the device from a bottom half (never inside the call), input
 * put by the backend is read back exactly, errors reach the device with the audiodev's
 * name. */
#include <string.h>

#include <glib.h>
#include <mosaic/mosaic.h>

#include "audio/audio-internal.h"
#include "loop/loop.h"

static void test_ring_wraps(void)
{
    AudioRing r;
    audio_ring_init(&r, 10);
    guint8 in[16], out[16];
    for (int i = 0; i < 16; i++)
        in[i] = i + 1;
    g_assert_cmpuint(audio_ring_write(&r, in, 7), ==, 7);
    g_assert_cmpuint(audio_ring_read(&r, out, 5), ==, 5);
    g_assert_cmpmem(out, 5, in, 5);
    /* 2 left at offset 5; 8 more wrap around the end; the 9th does not fit. */
    g_assert_cmpuint(audio_ring_write(&r, in + 7, 9), ==, 8);
    g_assert_cmpuint(r.used, ==, 10);
    g_assert_cmpuint(audio_ring_read(&r, out, 16), ==, 10);
    g_assert_cmpmem(out, 10, in + 5, 10);
    g_assert_cmpuint(audio_ring_read(&r, out, 1), ==, 0);
    audio_ring_clear(&r);
}

static MosaicAudioStreamSpec good_spec(void)
{
    return (MosaicAudioStreamSpec){.size = sizeof(MosaicAudioStreamSpec),
                                   .direction = MOSAIC_AUDIO_OUTPUT, .format = MOSAIC_AUDIO_S16,
                                   .rate = 48000, .channels = 2, .period_bytes = 1920,
                                   .buffer_bytes = 7680, .name = "t"};
}

static void expect_bad(MosaicAudioStreamSpec s, const char *word)
{
    g_autofree char *msg = NULL;
    g_assert_false(audio_spec_check(&s, &msg));
    g_assert_nonnull(strstr(msg, word));
}

static void test_spec_checks(void)
{
    g_autofree char *msg = NULL;
    MosaicAudioStreamSpec s = good_spec();
    g_assert_true(audio_spec_check(&s, &msg));
    s = good_spec(); s.format = 99; expect_bad(s, "format");
    s = good_spec(); s.rate = 0; expect_bad(s, "rate");
    s = good_spec(); s.rate = MOSAIC_AUDIO_MAX_RATE + 1; expect_bad(s, "rate");
    s = good_spec(); s.channels = 19; expect_bad(s, "channels");
    s = good_spec(); s.period_bytes = 1921; expect_bad(s, "period");
    s = good_spec(); s.buffer_bytes = 1920 * 3 + 4; expect_bad(s, "buffer");
    s = good_spec(); s.buffer_bytes = MOSAIC_AUDIO_MAX_BUFFER + 1920; expect_bad(s, "buffer");
    s = good_spec(); s.direction = 2; expect_bad(s, "direction");
    s = good_spec(); s.positions[0] = 200; expect_bad(s, "position");
    s = good_spec(); s.size = 8; expect_bad(s, "short");
    g_assert_cmpuint(mosaic_audio_format_bytes(MOSAIC_AUDIO_S24_3), ==, 3);
    g_assert_cmpstr(mosaic_audio_format_name(MOSAIC_AUDIO_S24), ==, "S24_32LE");
    g_assert_cmpuint(mosaic_audio_format_bytes(0), ==, 0);
}

/* A backend that does what its test tells it. */
static MosaicAudioStream *fake_stream;
static int kicks, in_played;
static uint64_t played_total;
static char *error_seen;

static void *fake_open(const MosaicProps *p, MosaicError *e) { return GINT_TO_POINTER(1); }
static void *fake_stream_open(void *be, MosaicAudioStream *s, const MosaicAudioStreamSpec *spec,
                              MosaicError *e)
{
    fake_stream = s;
    return s;
}
static bool fake_start(void *st, MosaicError *e) { return true; }
static void fake_stop(void *st) {}
static void fake_close(void *st, bool drain) { fake_stream = NULL; }
static void fake_kick(void *st) { kicks++; }

static const MosaicAudioBackendOps fake_ops = {
    .size = sizeof fake_ops, .open = fake_open, .stream_open = fake_stream_open,
    .stream_start = fake_start, .stream_stop = fake_stop, .stream_close = fake_close,
    .stream_kick = fake_kick,
};

static void on_error(void *opaque, const char *msg)
{
    g_free(error_seen);
    error_seen = g_strdup(msg);
}

static MosaicAudio fake_audio = {.label = "a0", .where = "audiodev 'a0' (t.ini:1)",
                                 .refs = 1};

static MosaicAudioStream *self;
static void on_played_self(void *opaque, uint64_t total)
{
    in_played++;
    played_total = total;
    g_assert_cmpuint(mosaic_audio_stream_space(self), ==, 7680 - (3000 - total));
}

static void test_stream_flow(void)
{
    fake_audio.ops = (MosaicAudioBackendOps *)&fake_ops;
    MosaicAudioStreamSpec spec = good_spec();
    MosaicAudioCallbacks cb = {.size = sizeof cb, .played = on_played_self, .error = on_error};
    self = mosaic_audio_stream_new(&fake_audio, &spec, &cb, NULL, NULL);
    g_assert_true(mosaic_audio_stream_start(self, NULL));
    guint8 buf[10000], got[10000];
    for (unsigned i = 0; i < sizeof buf; i++)
        buf[i] = i * 7;
    kicks = in_played = 0;
    /* The ring holds buffer_bytes: the rest is refused. */
    g_assert_cmpuint(mosaic_audio_stream_write(self, buf, 3000), ==, 3000);
    g_assert_cmpint(kicks, ==, 1);
    g_assert_cmpuint(mosaic_audio_stream_take(self, got, 1000), ==, 1000);
    g_assert_cmpmem(got, 1000, buf, 1000);
    g_assert_cmpint(in_played, ==, 0); /* later, from a bottom half */
    while (loop_iterate(false))
        ;
    g_assert_cmpint(in_played, ==, 1);
    g_assert_cmpuint(played_total, ==, 1000);
    g_assert_cmpuint(mosaic_audio_stream_read(self, got, 10), ==, 0); /* output stream */
    g_assert_cmpuint(mosaic_audio_stream_put(self, got, 10), ==, 0);
    g_test_expect_message("audio", G_LOG_LEVEL_WARNING, "*stream 't': device hw:0 gone");
    mosaic_audio_stream_error(self, "device %s gone", "hw:0");
    g_test_assert_expected_messages();
    while (loop_iterate(false))
        ;
    g_assert_cmpstr(error_seen, ==, "audiodev 'a0' (t.ini:1): stream 't': device hw:0 gone");
    mosaic_audio_stream_take(self, got, 10);
    mosaic_audio_stream_free(self, false); /* nothing runs after free */
    while (loop_iterate(false))
        ;
    g_assert_cmpint(in_played, ==, 1);

    spec.direction = MOSAIC_AUDIO_INPUT;
    self = mosaic_audio_stream_new(&fake_audio, &spec, &cb, NULL, NULL);
    g_assert_cmpuint(mosaic_audio_stream_put(self, buf, 10000), ==, 7680);
    g_assert_cmpuint(mosaic_audio_stream_read(self, got, 5000), ==, 5000);
    g_assert_cmpuint(mosaic_audio_stream_put(self, buf + 7680, 2320), ==, 2320);
    g_assert_cmpuint(mosaic_audio_stream_read(self, got + 5000, 10000), ==, 5000);
    g_assert_cmpmem(got, 10000, buf, 10000);
    mosaic_audio_stream_free(self, false);
    g_clear_pointer(&error_seen, g_free);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/audio/ring-wraps", test_ring_wraps);
    g_test_add_func("/audio/spec-checks", test_spec_checks);
    g_test_add_func("/audio/stream-flow", test_stream_flow);
    return g_test_run();
}
