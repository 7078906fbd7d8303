/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PCM streams: a bounded ring between the device and the backend, whose backend takes
 * (output) or puts (input) data at the pace of its own clock.  The device hears about
 * it from a bottom half, never from inside its own call. */
#include <stdarg.h>
#include <string.h>

#include "audio/audio-internal.h"
#include "plugin/error.h"

struct MosaicAudioStream {
    MosaicAudio *audio;
    MosaicAudioStreamSpec spec;
    char *name;
    MosaicAudioCallbacks cb;
    void *opaque;
    void *st; /* the backend's stream state */
    AudioRing ring;
    guint64 taken;          /* output bytes the backend took, in all */
    gboolean played_due, captured_due;
    char *error_due;
    MosaicBH *notify;
};

static void notify_device(void *opaque)
{
    MosaicAudioStream *s = opaque;
    if (s->error_due) {
        g_autofree char *msg = g_steal_pointer(&s->error_due);
        if (s->cb.error)
            s->cb.error(s->opaque, msg);
    }
    if (s->played_due) {
        s->played_due = FALSE;
        if (s->cb.played)
            s->cb.played(s->opaque, s->taken);
    }
    if (s->captured_due) {
        s->captured_due = FALSE;
        if (s->cb.captured)
            s->cb.captured(s->opaque);
    }
}

MOSAIC_API MosaicAudioStream *mosaic_audio_stream_new(MosaicAudio *a,
                                                      const MosaicAudioStreamSpec *spec,
                                                      const MosaicAudioCallbacks *cb,
                                                      void *opaque, MosaicError *err)
{
    g_autofree char *msg = NULL;
    if (!audio_spec_check(spec, &msg)) {
        mosaic_error_set(err, "%s: stream '%s': %s", a->where,
                         spec && spec->name ? spec->name : "?", msg);
        return NULL;
    }
    MosaicAudioStream *s = g_new0(MosaicAudioStream, 1);
    s->audio = a;
    memcpy(&s->spec, spec, MIN(spec->size, sizeof s->spec));
    s->spec.size = sizeof s->spec;
    s->name = g_strdup(spec->name ? spec->name : "stream");
    s->spec.name = s->name;
    if (cb)
        memcpy(&s->cb, cb, MIN(cb->size, sizeof s->cb));
    s->opaque = opaque;
    audio_ring_init(&s->ring, s->spec.buffer_bytes);
    s->notify = mosaic_bh_new(notify_device, s);
    MosaicError me = MOSAIC_ERROR_INIT;
    s->st = a->ops->stream_open(a->be, s, &s->spec, &me);
    if (!s->st) {
        g_autoptr(GError) e = plugin_error_take(&me, "audio stream_open");
        mosaic_error_set(err, "%s: stream '%s': %s", a->where, s->name, e->message);
        mosaic_bh_free(s->notify);
        audio_ring_clear(&s->ring);
        g_free(s->name);
        g_free(s);
        return NULL;
    }
    return s;
}

MOSAIC_API bool mosaic_audio_stream_start(MosaicAudioStream *s, MosaicError *err)
{
    MosaicError me = MOSAIC_ERROR_INIT;
    if (!s->audio->ops->stream_start(s->st, &me)) {
        g_autoptr(GError) e = plugin_error_take(&me, "audio stream_start");
        mosaic_error_set(err, "%s: stream '%s': %s", s->audio->where, s->name, e->message);
        return false;
    }
    return true;
}

MOSAIC_API void mosaic_audio_stream_stop(MosaicAudioStream *s)
{
    s->audio->ops->stream_stop(s->st);
}

MOSAIC_API void mosaic_audio_stream_free(MosaicAudioStream *s, bool drain)
{
    if (!s)
        return;
    s->audio->ops->stream_close(s->st, drain);
    mosaic_bh_free(s->notify);
    audio_ring_clear(&s->ring);
    g_free(s->error_due);
    g_free(s->name);
    g_free(s);
}

static void kick(MosaicAudioStream *s)
{
    if (s->audio->ops->stream_kick)
        s->audio->ops->stream_kick(s->st);
}

MOSAIC_API size_t mosaic_audio_stream_write(MosaicAudioStream *s, const void *buf, size_t len)
{
    if (s->spec.direction != MOSAIC_AUDIO_OUTPUT)
        return 0;
    size_t n = audio_ring_write(&s->ring, buf, len);
    if (n)
        kick(s);
    return n;
}

MOSAIC_API size_t mosaic_audio_stream_read(MosaicAudioStream *s, void *buf, size_t len)
{
    if (s->spec.direction != MOSAIC_AUDIO_INPUT)
        return 0;
    size_t n = audio_ring_read(&s->ring, buf, len);
    if (n)
        kick(s);
    return n;
}

MOSAIC_API size_t mosaic_audio_stream_space(const MosaicAudioStream *s)
{
    return s->ring.cap - s->ring.used;
}

MOSAIC_API size_t mosaic_audio_stream_available(const MosaicAudioStream *s)
{
    return s->ring.used;
}

MOSAIC_API void mosaic_audio_stream_set_volume(MosaicAudioStream *s, double volume, bool mute)
{
    volume = CLAMP(volume, 0.0, 1.0);
    if (s->audio->ops->stream_set_volume)
        s->audio->ops->stream_set_volume(s->st, volume, mute);
}

MOSAIC_API size_t mosaic_audio_stream_take(MosaicAudioStream *s, void *buf, size_t len)
{
    if (s->spec.direction != MOSAIC_AUDIO_OUTPUT)
        return 0;
    size_t n = audio_ring_read(&s->ring, buf, len);
    if (n) {
        s->taken += n;
        s->played_due = TRUE;
        mosaic_bh_schedule(s->notify);
    }
    return n;
}

MOSAIC_API size_t mosaic_audio_stream_put(MosaicAudioStream *s, const void *buf, size_t len)
{
    if (s->spec.direction != MOSAIC_AUDIO_INPUT)
        return 0;
    size_t n = audio_ring_write(&s->ring, buf, len);
    if (n) {
        s->captured_due = TRUE;
        mosaic_bh_schedule(s->notify);
    }
    return n;
}

MOSAIC_API void mosaic_audio_stream_error(MosaicAudioStream *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autofree char *full = g_strdup_printf("%s: stream '%s': %s", s->audio->where, s->name, msg);
    mosaic_log("audio", 1, "%s", full);
    g_free(s->error_due);
    s->error_due = g_steal_pointer(&full);
    mosaic_bh_schedule(s->notify);
}

MOSAIC_API const MosaicAudioStreamSpec *mosaic_audio_stream_spec(const MosaicAudioStream *s)
{
    return &s->spec;
}

MOSAIC_API const char *mosaic_audio_stream_where(const MosaicAudioStream *s)
{
    return s->audio->where;
}
