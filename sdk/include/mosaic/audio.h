/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Audio: PCM streams between a sound device (virtio-snd, ...) and a host backend plugin
 * (kind audio: audio-gst, audio-pulse, audio-none).  Since ABI 1.1.
 *
 * A machine file names backends in [audiodev LABEL] sections; `driver = NAME` selects
 * the audio plugin mosaic-audio-NAME.so, whose props table declares the rest of the
 * section's keys.  A device refers to the section by label (a REF prop with
 * choices = "audiodev") and opens it with mosaic_audio_open().
 *
 * Data path.  Every stream has a ring of `buffer_bytes` in the core.  Output: the device
 * writes PCM into the ring (mosaic_audio_stream_write), the backend takes it out at the
 * pace of its own clock (mosaic_audio_stream_take) - a sound card, a PulseAudio server,
 * or as fast as a file sink writes - and the core tells the device how many bytes were
 * taken (callbacks.played), so the device completes the guest's buffers in the
 * backend's time: guest audio neither drifts from the host device nor runs ahead of it.
 * Capture is the mirror image (mosaic_audio_stream_put by the backend, captured, then
 * mosaic_audio_stream_read by the device).  The core converts nothing: a backend gets
 * the guest's format, rate and channel layout and converts (GStreamer's audioconvert
 * and audioresample, PulseAudio's own resampler).
 *
 * Threads.  Every function here and every op runs on the main loop thread with the core
 * lock held.  A backend whose library calls it on other threads (a GStreamer streaming
 * thread, a PulseAudio thread) schedules a bottom half (mosaic_bh_schedule, any thread)
 * and moves data from there.  Callbacks to the device are delivered from a bottom half,
 * never from inside a call the device made, so a device may call back into its stream
 * from them (but not free it there: free it from the device's own work).
 *
 * A backend's life: open (once per [audiodev] section, when the first device opens it;
 * check what you can: a server to reach, a pipeline that parses) -> for each stream:
 * stream_open (the spec is checked by the core: format, rate 1..MAX_RATE, channels,
 * whole frames per period, whole periods per buffer) -> stream_start / stream_stop, any
 * number of times -> stream_close -> close (at exit; wait there, bounded, for output
 * still playing out).  While a stream runs, an output backend calls
 * mosaic_audio_stream_take() whenever its device wants data (never ahead of its clock by
 * more than its own latency) and an input backend mosaic_audio_stream_put() whenever it
 * has data; stream_kick tells it the device wrote or read, since a backend that found the
 * ring empty (or full) may be waiting for that.  Partial takes and puts are normal.
 *
 * Writing a backend out of tree: export a descriptor with
 *   MOSAIC_PLUGIN(.kind = MOSAIC_KIND_AUDIO, .kind_abi = MOSAIC_AUDIO_ABI, .name = "foo",
 *                 .props = foo_props, .ops = &foo_ops, ...)
 * where foo_ops is a MosaicAudioBackendOps with .size = sizeof(MosaicAudioBackendOps) and
 * at least open, stream_open, stream_start, stream_stop and stream_close (checked when
 * the plugin is scanned).  The core never calls a NULL optional op.
 *
 * Changelog
 *   1.1  first version (kind ABI MOSAIC_AUDIO_ABI 1).
 */
#ifndef MOSAIC_AUDIO_H
#define MOSAIC_AUDIO_H

#include <stddef.h>
#include <stdint.h>
#include <mosaic/plugin.h>
#include <mosaic/props.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MosaicMachine MosaicMachine;
typedef struct MosaicAudio MosaicAudio;             /* one opened [audiodev] */
typedef struct MosaicAudioStream MosaicAudioStream; /* one PCM stream on it */

typedef enum MosaicAudioDirection {
    MOSAIC_AUDIO_OUTPUT = 0, /* guest -> host (playback) */
    MOSAIC_AUDIO_INPUT = 1,  /* host -> guest (capture) */
} MosaicAudioDirection;

/* Sample formats: interleaved, little-endian.  The names (mosaic_audio_format_name) are
 * GStreamer's raw audio format names.  _3 formats are packed in 3 bytes; S24/U24 sit in
 * the low 3 bytes of 4. */
typedef enum MosaicAudioFormat {
    MOSAIC_AUDIO_S8 = 1,
    MOSAIC_AUDIO_U8,
    MOSAIC_AUDIO_S16,
    MOSAIC_AUDIO_U16,
    MOSAIC_AUDIO_S18_3,
    MOSAIC_AUDIO_U18_3,
    MOSAIC_AUDIO_S20_3,
    MOSAIC_AUDIO_U20_3,
    MOSAIC_AUDIO_S24_3,
    MOSAIC_AUDIO_U24_3,
    MOSAIC_AUDIO_S24,
    MOSAIC_AUDIO_U24,
    MOSAIC_AUDIO_S32,
    MOSAIC_AUDIO_U32,
    MOSAIC_AUDIO_F32,
    MOSAIC_AUDIO_F64,
    MOSAIC_AUDIO_FORMAT_COUNT /* not a format */
} MosaicAudioFormat;

/* Channel positions (the order and values of virtio-snd's, so a device passes its
 * channel map through). */
typedef enum MosaicAudioChannel {
    MOSAIC_AUDIO_CH_NONE = 0, MOSAIC_AUDIO_CH_NA, MOSAIC_AUDIO_CH_MONO,
    MOSAIC_AUDIO_CH_FL, MOSAIC_AUDIO_CH_FR, MOSAIC_AUDIO_CH_RL, MOSAIC_AUDIO_CH_RR,
    MOSAIC_AUDIO_CH_FC, MOSAIC_AUDIO_CH_LFE, MOSAIC_AUDIO_CH_SL, MOSAIC_AUDIO_CH_SR,
    MOSAIC_AUDIO_CH_RC, MOSAIC_AUDIO_CH_FLC, MOSAIC_AUDIO_CH_FRC, MOSAIC_AUDIO_CH_RLC,
    MOSAIC_AUDIO_CH_RRC, MOSAIC_AUDIO_CH_FLW, MOSAIC_AUDIO_CH_FRW, MOSAIC_AUDIO_CH_FLH,
    MOSAIC_AUDIO_CH_FCH, MOSAIC_AUDIO_CH_FRH, MOSAIC_AUDIO_CH_TC, MOSAIC_AUDIO_CH_TFL,
    MOSAIC_AUDIO_CH_TFR, MOSAIC_AUDIO_CH_TFC, MOSAIC_AUDIO_CH_TRL, MOSAIC_AUDIO_CH_TRR,
    MOSAIC_AUDIO_CH_TRC, MOSAIC_AUDIO_CH_TFLC, MOSAIC_AUDIO_CH_TFRC, MOSAIC_AUDIO_CH_TSL,
    MOSAIC_AUDIO_CH_TSR, MOSAIC_AUDIO_CH_LLFE, MOSAIC_AUDIO_CH_RLFE, MOSAIC_AUDIO_CH_BC,
    MOSAIC_AUDIO_CH_BLC, MOSAIC_AUDIO_CH_BRC,
} MosaicAudioChannel;

#define MOSAIC_AUDIO_MAX_CHANNELS 18
#define MOSAIC_AUDIO_MAX_RATE 384000
#define MOSAIC_AUDIO_MAX_BUFFER (4u << 20) /* bytes of one stream's ring */

typedef struct MosaicAudioStreamSpec {
    uint32_t size;         /* sizeof(MosaicAudioStreamSpec) */
    uint32_t direction;    /* MosaicAudioDirection */
    uint32_t format;       /* MosaicAudioFormat */
    uint32_t rate;         /* frames per second, 1..MOSAIC_AUDIO_MAX_RATE */
    uint32_t channels;     /* 1..MOSAIC_AUDIO_MAX_CHANNELS */
    uint8_t positions[MOSAIC_AUDIO_MAX_CHANNELS]; /* MosaicAudioChannel; all 0: default */
    uint32_t period_bytes; /* the device's unit of transfer, whole frames */
    uint32_t buffer_bytes; /* the ring: whole periods, at most MOSAIC_AUDIO_MAX_BUFFER */
    const char *name;      /* for messages and the host mixer: "virtio-snd snd0 out" */
} MosaicAudioStreamSpec;

/* The device's side: called from a bottom half on the main loop. */
typedef struct MosaicAudioCallbacks {
    uint32_t size; /* sizeof(MosaicAudioCallbacks) */
    /* Output: the backend took bytes; `total` counts every byte taken since the stream
     * was created (ring space is free again). */
    void (*played)(void *opaque, uint64_t total);
    /* Input: captured bytes are waiting (mosaic_audio_stream_available). */
    void (*captured)(void *opaque);
    /* The backend failed while running (device gone, pipeline error); the stream
     * stays valid but moves no data until started again. */
    void (*error)(void *opaque, const char *message);
} MosaicAudioCallbacks;

/* ---- For devices ---- */

/* Opens [audiodev LABEL] (loading its plugin, policy-checked); NULL + err naming the
 * section when that fails.  Several devices may open one audiodev. */
MOSAIC_API MosaicAudio *mosaic_audio_open(MosaicMachine *m, const char *label, MosaicError *err);
MOSAIC_API void mosaic_audio_close(MosaicAudio *a);
MOSAIC_API const char *mosaic_audio_label(const MosaicAudio *a);

/* A stream with a checked spec (err says which field is wrong).  Not started. */
MOSAIC_API MosaicAudioStream *mosaic_audio_stream_new(MosaicAudio *a,
                                                      const MosaicAudioStreamSpec *spec,
                                                      const MosaicAudioCallbacks *cb,
                                                      void *opaque, MosaicError *err);
MOSAIC_API bool mosaic_audio_stream_start(MosaicAudioStream *s, MosaicError *err);
/* Pauses; the ring keeps its data. */
MOSAIC_API void mosaic_audio_stream_stop(MosaicAudioStream *s);
/* drain: output already written is played to the end before the backend lets go (in
 * the background, bounded); otherwise it is dropped.  No callback runs after this. */
MOSAIC_API void mosaic_audio_stream_free(MosaicAudioStream *s, bool drain);
/* Output: copies up to len bytes into the ring; returns the bytes accepted. */
MOSAIC_API size_t mosaic_audio_stream_write(MosaicAudioStream *s, const void *buf, size_t len);
/* Input: copies up to len captured bytes out of the ring; returns the bytes read. */
MOSAIC_API size_t mosaic_audio_stream_read(MosaicAudioStream *s, void *buf, size_t len);
MOSAIC_API size_t mosaic_audio_stream_space(const MosaicAudioStream *s);     /* ring free */
MOSAIC_API size_t mosaic_audio_stream_available(const MosaicAudioStream *s); /* ring used */
/* Volume 0.0 .. 1.0 (linear, applied by the backend) and mute. */
MOSAIC_API void mosaic_audio_stream_set_volume(MosaicAudioStream *s, double volume, bool mute);

/* Bytes per sample of a format (0 for an unknown one) and its GStreamer name. */
MOSAIC_API unsigned mosaic_audio_format_bytes(uint32_t format);
MOSAIC_API const char *mosaic_audio_format_name(uint32_t format);

/* ---- For backends ---- */

typedef struct MosaicAudioBackendOps {
    uint32_t size; /* sizeof(MosaicAudioBackendOps) */
    /* The [audiodev] section (props validated against the plugin's table): check it
     * (a pipeline that does not parse, a server that cannot be reached) and return the
     * backend's state.  Errors need not name the section: the core prefixes it. */
    void *(*open)(const MosaicProps *props, MosaicError *err);
    void (*close)(void *be);
    /* A stream: `s` is the handle for take/put/error; `spec` is checked and stays valid
     * until stream_close.  Returns the stream's state. */
    void *(*stream_open)(void *be, MosaicAudioStream *s, const MosaicAudioStreamSpec *spec,
                         MosaicError *err);
    bool (*stream_start)(void *st, MosaicError *err);
    void (*stream_stop)(void *st);
    /* drain: see mosaic_audio_stream_free.  The backend must not touch `s` after this. */
    void (*stream_close)(void *st, bool drain);
    /* Optional: output bytes were written or capture space freed (move data now). */
    void (*stream_kick)(void *st);
    /* Optional: volume 0.0 .. 1.0 and mute. */
    void (*stream_set_volume)(void *st, double volume, bool mute);
} MosaicAudioBackendOps;

/* Output: takes up to len bytes of the ring (the device is told later). */
MOSAIC_API size_t mosaic_audio_stream_take(MosaicAudioStream *s, void *buf, size_t len);
/* Input: puts up to len captured bytes into the ring; returns the bytes accepted. */
MOSAIC_API size_t mosaic_audio_stream_put(MosaicAudioStream *s, const void *buf, size_t len);
/* The backend failed while running: logged, and the device's error callback runs. */
MOSAIC_API void mosaic_audio_stream_error(MosaicAudioStream *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
MOSAIC_API const MosaicAudioStreamSpec *mosaic_audio_stream_spec(const MosaicAudioStream *s);
/* "audiodev 'LABEL' (FILE:LINE)": for a backend's messages. */
MOSAIC_API const char *mosaic_audio_stream_where(const MosaicAudioStream *s);

#ifdef __cplusplus
}
#endif
#endif
