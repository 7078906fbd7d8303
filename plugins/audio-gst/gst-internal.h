/* SPDX-License-Identifier: GPL-2.0-or-later */
/* audio-gst: shared between the backend (gst.c), its output and capture sides. */
#ifndef AUDIO_GST_INTERNAL_H
#define AUDIO_GST_INTERNAL_H

#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <gst/app/gstappsink.h>
#include <gst/audio/audio.h>
#include <mosaic/mosaic.h>

typedef struct GbBackend {
    char *out_desc, *in_desc;
    const char *out_where, *in_where; /* file:line of the keys */
    uint64_t latency_ms;
    GPtrArray *draining; /* GbStream* whose output pipelines are playing out their last bytes */
    GPtrArray *closing;  /* GbStream* closed by the device, not yet freed (draining or stopping) */
} GbBackend;

/* What a stream's worker thread is asked to do (worker.c), in order. */
typedef enum GbOp {
    GB_PAUSE = 1, /* to PAUSED: opened (devices, servers, preroll) or stopped */
    GB_PLAY,      /* to PLAYING */
    GB_DRAIN,     /* end of stream, and PLAYING until the sink has it all */
    GB_NULL,      /* stopped for good: the main loop frees the stream then */
} GbOp;

typedef struct GbStream {
    GbBackend *be;
    MosaicAudioStream *s;
    MosaicAudioStreamSpec spec;
    unsigned frame_bytes;
    GstElement *pipe, *app, *volume;
    char *what;          /* "out.pipeline (FILE:LINE) \"DESC\"": for messages */
    MosaicBH *bh;        /* streaming threads only schedule this; data moves on the loop */
    gint want;           /* atomic: appsrc asked for data (output) */
    gint eos;            /* atomic: the capture source ended */
    uint64_t frames;     /* output: frames pushed (timestamps) */
    GstSample *pending;  /* capture: a sample not yet fully in the ring */
    gsize pending_off;
    bool running;
    /* Main loop only. */
    bool failed;         /* a state change or an element failed: start refuses */
    bool closing;        /* the device let go (g->s is NULL); freed once nulled */
    bool stopping;       /* GB_NULL requested */
    bool reported;       /* the failure went to the device */
    /* State changes (worker.c). */
    GThreadPool *worker; /* one exclusive thread: this stream's requests, in order */
    MosaicBH *state_bh;  /* news below for the main loop */
    GMutex lock;         /* guards the fields below */
    GCond cond;
    char *error;         /* the first element error: "element 'NAME': TEXT" */
    char *failure;       /* the state the pipeline could not reach */
    bool drained;        /* EOS (or an error) came out of the pipeline */
    bool nulled;         /* GB_NULL done: no thread of the pipeline runs any more */
} GbStream;

/* The caps of the guest's side of a stream (format, rate, channels, positions). */
GstCaps *gst_be_caps(const MosaicAudioStreamSpec *spec);
/* Builds "appsrc ! audioconvert ! audioresample ! volume ! DESC" (output) or
 * "DESC ! audioconvert ! audioresample ! volume ! appsink" (input); NULL + err naming
 * the key and GStreamer's reason when it does not parse or link. */
GstElement *gst_be_build(GbBackend *be, unsigned direction, MosaicError *err);
/* Brings a pipeline to `state`; FALSE + err naming the element that refused. */
bool gst_be_set_state(GstElement *pipe, GstState state, const char *what, MosaicError *err);

/* worker.c.  attach: the stream's worker thread and bus handler; state_cb runs on the
 * main loop when there is news.  detach (main loop, after `nulled`): joins the thread. */
void gst_worker_attach(GbStream *g, MosaicCallback *state_cb);
void gst_worker_push(GbStream *g, GbOp op);
/* Waits, bounded (monotonic us), for a draining pipeline's end: for the exit only. */
bool gst_worker_wait_drained(GbStream *g, gint64 until_us);
/* Waits, bounded, for GB_NULL to be done. */
bool gst_worker_wait_nulled(GbStream *g, gint64 until_us);
void gst_worker_detach(GbStream *g);

void gst_out_push(GbStream *g);
void gst_in_pull(GbStream *g);
void gst_out_attach(GbStream *g);
void gst_in_attach(GbStream *g);

#endif
