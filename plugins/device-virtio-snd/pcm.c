/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PCM streams: guest buffers (tx/rx messages) moving through a core audio stream.
 * An output buffer completes when the backend has taken its last byte, so the guest's
 * period interrupts follow the backend's clock; an input buffer completes when it is
 * full of captured frames and the stream's clock has recorded that many (see pump_input). */
#include <string.h>
#include "snd.h"

static MosaicVirtQueue *queue_of(Pcm *p)
{
    return mosaic_virtio_queue(p->d->v, p->dir == DIR_OUTPUT ? Q_TX : Q_RX);
}

/* The status sits in the last 8 device-writable bytes (after the data, for input). */
void snd_status_push(MosaicVirtQueue *q, MosaicVirtqElem *e, uint32_t status, uint32_t latency,
                     uint32_t data_written)
{
    uint32_t st[2] = {GUINT32_TO_LE(status), GUINT32_TO_LE(latency)};
    uint64_t at = e->in_len - PCM_STATUS_SIZE; /* callers checked in_len >= 8 */
    mosaic_iov_from_buf(e->in, e->in_num, at, st, sizeof st);
    mosaic_virtq_push(q, e, data_written + PCM_STATUS_SIZE);
    mosaic_virtq_notify(q);
}

void snd_xfer_done(Pcm *p, MosaicVirtqElem *e, uint32_t status, uint32_t data_written)
{
    uint64_t latency = 0;
    if (p->dir == DIR_OUTPUT && p->written > p->played)
        latency = p->written - p->played; /* queued, not yet taken by the backend */
    else if (p->dir == DIR_INPUT && p->s)
        latency = mosaic_audio_stream_available(p->s);
    snd_status_push(queue_of(p), e, status, (uint32_t)MIN(latency, UINT32_MAX), data_written);
}

static void complete_all(Pcm *p, uint32_t status)
{
    Xfer *x;
    while ((x = g_queue_pop_head(&p->xfers))) {
        snd_xfer_done(p, x->e, status, p->dir == DIR_INPUT ? x->off : 0);
        g_free(x);
    }
}

/* Output buffers whose last byte the backend has taken. */
static void complete_played(Pcm *p)
{
    Xfer *x;
    while ((x = g_queue_peek_head(&p->xfers)) && x->queued && x->end <= p->played) {
        g_queue_pop_head(&p->xfers);
        snd_xfer_done(p, x->e, S_OK, 0);
        g_free(x);
    }
}

/* Guest data is read from a buffer when the backend is about to need it - at most one
 * period ahead of what it has taken - not when the buffer arrives.  Linux's virtio_snd
 * (6.1) queues every period of its ring at START and queues each again as soon as it
 * completes, before the application has written that period's next contents; reading
 * at arrival would play every period a whole ring late (the first ring twice).  Read
 * late, a period is read some periods after the application refilled it. */
static void pump_output(Pcm *p)
{
    VSnd *d = p->d;
    for (GList *l = p->xfers.head; l; l = l->next) {
        Xfer *x = l->data;
        if (x->queued)
            continue; /* all of it is in the ring already */
        while (x->off < x->len) {
            size_t ahead = mosaic_audio_stream_available(p->s);
            if (ahead >= p->period_bytes)
                return; /* the backend has a period to take: read the rest later */
            size_t n = MIN(x->len - x->off, mosaic_audio_stream_space(p->s));
            n = MIN(n, p->period_bytes - ahead);
            n = MIN(n, sizeof d->scratch);
            if (!n)
                return;
            mosaic_iov_to_buf(x->e->out, x->e->out_num, XFER_SIZE + x->off, d->scratch, n);
            mosaic_audio_stream_write(p->s, d->scratch, n);
            x->off += n;
            p->written += n;
        }
        x->end = p->written; /* played once the backend has taken this many bytes */
        x->queued = true;
    }
}

/* Nanoseconds the stream's rate takes for `bytes` of frames. */
static int64_t duration_ns(const Pcm *p, uint64_t bytes)
{
    uint64_t frame = (uint64_t)snd_format_bytes(p->format) * p->channels;
    uint32_t rate = snd_rate_hz(p->rate);
    if (!frame || !rate)
        return 0;
    return (int64_t)(bytes / frame * G_GUINT64_CONSTANT(1000000000) / rate);
}

/* Capture is paced by the device's clock, as a sound card's is by its sample clock, not
 * by how fast the backend produces: a file source decodes far ahead of real time, and
 * after its end audio-gst fills silence at once.  Linux's virtio_snd keeps every period
 * of its ring queued and advances its pointer one period per completion; buffers
 * completed faster than the guest reads wrap the ring over periods not yet read (the
 * last period of a file came out as the silence after it), with no overrun reported.
 * A late backend lets the clock slip; it catches up by at most one buffer at once (a
 * paused machine does not get a burst on resume). */
static bool input_due(Pcm *p, const Xfer *x)
{
    int64_t now = mosaic_clock_ns(MOSAIC_CLOCK_HOST), dur = duration_ns(p, x->len);
    if (now < p->rec_ns + dur) {
        mosaic_timer_mod(p->pace, p->rec_ns + dur);
        return false;
    }
    p->rec_ns = MAX(p->rec_ns + dur, now - dur);
    return true;
}

static void pump_input(Pcm *p)
{
    VSnd *d = p->d;
    Xfer *x;
    while ((x = g_queue_peek_head(&p->xfers))) {
        while (x->off < x->len) {
            size_t n = MIN(x->len - x->off, sizeof d->scratch);
            n = mosaic_audio_stream_read(p->s, d->scratch, n);
            if (!n)
                return;
            mosaic_iov_from_buf(x->e->in, x->e->in_num, x->off, d->scratch, n);
            x->off += n;
        }
        if (!input_due(p, x))
            return;
        g_queue_pop_head(&p->xfers);
        snd_xfer_done(p, x->e, S_OK, x->len);
        g_free(x);
    }
}

void snd_pcm_pump(Pcm *p)
{
    if (!p->s || p->state != PCM_RUNNING)
        return;
    if (p->dir == DIR_OUTPUT) {
        pump_output(p);
        complete_played(p);
    } else {
        pump_input(p);
    }
}

void snd_pcm_queue(Pcm *p, MosaicVirtqElem *e, uint64_t len)
{
    if (p->state < PCM_PREPARED) {
        snd_xfer_done(p, e, S_BAD_MSG, 0);
        return;
    }
    if (p->failed) { /* nothing will play it: the guest hears so now, not never */
        snd_xfer_done(p, e, S_IO_ERR, 0);
        return;
    }
    Xfer *x = g_new0(Xfer, 1);
    x->e = e;
    x->len = len;
    g_queue_push_tail(&p->xfers, x);
}

static void played(void *opaque, uint64_t total)
{
    Pcm *p = opaque;
    p->played = total;
    snd_pcm_pump(p);
}

static void captured(void *opaque)
{
    snd_pcm_pump(opaque);
}

static void pace_due(void *opaque)
{
    snd_pcm_pump(opaque);
}

/* The backend failed while running: the guest's pending buffers fail rather than wait
 * for ever; it may start the stream again. */
static void failed(void *opaque, const char *msg)
{
    Pcm *p = opaque;
    mosaic_log("virtio-snd", 1, "%s", msg);
    if (p->state == PCM_RUNNING)
        p->state = PCM_STOPPED;
    p->failed = true;
    complete_all(p, S_IO_ERR);
}

uint32_t snd_pcm_prepare(Pcm *p)
{
    if (p->state == PCM_IDLE || p->state == PCM_RUNNING)
        return S_BAD_MSG;
    if (p->s) { /* prepared again: a fresh stream */
        complete_all(p, S_OK);
        mosaic_audio_stream_free(p->s, false);
        p->s = NULL;
    }
    g_autofree char *name = g_strdup_printf("virtio-snd %s %s", p->d->label,
                                            p->dir == DIR_OUTPUT ? "out" : "in");
    MosaicAudioStreamSpec spec = {
        .size = sizeof spec,
        .direction = p->dir == DIR_OUTPUT ? MOSAIC_AUDIO_OUTPUT : MOSAIC_AUDIO_INPUT,
        .format = snd_audio_format(p->format),
        .rate = snd_rate_hz(p->rate),
        .channels = p->channels,
        .period_bytes = p->period_bytes,
        .buffer_bytes = p->buffer_bytes,
        .name = name,
    };
    const uint8_t *map = snd_chmap_for(p->dir, p->channels);
    if (map)
        memcpy(spec.positions, map, p->channels);
    MosaicAudioCallbacks cb = {.size = sizeof cb, .played = played, .captured = captured,
                               .error = failed};
    MosaicError *err = mosaic_error_new();
    p->s = mosaic_audio_stream_new(p->d->audio, &spec, &cb, p, err);
    if (!p->s) {
        mosaic_log("virtio-snd", 1, "%s", mosaic_error_message(err));
        mosaic_error_free(err);
        return S_IO_ERR;
    }
    mosaic_error_free(err);
    mosaic_audio_stream_set_volume(p->s, p->d->volume, p->d->mute);
    p->written = p->played = 0;
    p->failed = false;
    p->state = PCM_PREPARED;
    return S_OK;
}

uint32_t snd_pcm_start(Pcm *p)
{
    if (p->state != PCM_PREPARED && p->state != PCM_STOPPED)
        return S_BAD_MSG;
    MosaicError *err = mosaic_error_new();
    bool ok = mosaic_audio_stream_start(p->s, err);
    if (!ok)
        mosaic_log("virtio-snd", 1, "%s", mosaic_error_message(err));
    mosaic_error_free(err);
    if (!ok)
        return S_IO_ERR;
    if (p->dir == DIR_INPUT) {
        if (!p->pace)
            p->pace = mosaic_timer_new(MOSAIC_CLOCK_HOST, pace_due, p);
        p->rec_ns = mosaic_clock_ns(MOSAIC_CLOCK_HOST); /* the first buffer's first frame */
    }
    p->state = PCM_RUNNING;
    snd_pcm_pump(p);
    return S_OK;
}

uint32_t snd_pcm_stop(Pcm *p)
{
    if (p->state != PCM_RUNNING)
        return S_BAD_MSG;
    mosaic_audio_stream_stop(p->s);
    if (p->pace)
        mosaic_timer_del(p->pace);
    p->state = PCM_STOPPED;
    return S_OK;
}

/* The device completes every pending buffer of the stream (virtio 1.2 §5.14.6.6.5);
 * output already handed to the backend is played out when `drain`. */
uint32_t snd_pcm_release(Pcm *p, bool drain)
{
    if (p->state == PCM_IDLE)
        return S_BAD_MSG;
    complete_all(p, S_OK);
    if (p->s)
        mosaic_audio_stream_free(p->s, drain);
    p->s = NULL;
    if (p->pace)
        mosaic_timer_free(p->pace);
    p->pace = NULL;
    p->state = PCM_IDLE;
    return S_OK;
}
