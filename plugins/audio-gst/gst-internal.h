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
} GbBackend;

typedef struct GbStream {
    GbBackend *be;
    MosaicAudioStream *s;
    MosaicAudioStreamSpec spec;
    unsigned frame_bytes;
    GstElement *pipe, *app, *volume;
    guint bus_watch;
    MosaicBH *bh;        /* streaming threads only schedule this; data moves on the loop */
    gint want;           /* atomic: appsrc asked for data (output) */
    gint eos;            /* atomic: the capture source ended */
    uint64_t frames;     /* output: frames pushed (timestamps) */
    GstSample *pending;  /* capture: a sample not yet fully in the ring */
    gsize pending_off;
    bool running;
} GbStream;

/* The caps of the guest's side of a stream (format, rate, channels, positions). */
GstCaps *gst_be_caps(const MosaicAudioStreamSpec *spec);
/* Builds "appsrc ! audioconvert ! audioresample ! volume ! DESC" (output) or
 * "DESC ! audioconvert ! audioresample ! volume ! appsink" (input); NULL + err naming
 * the key and GStreamer's reason when it does not parse or link. */
GstElement *gst_be_build(GbBackend *be, unsigned direction, MosaicError *err);
/* Brings a pipeline to `state`; FALSE + err naming the element that refused. */
bool gst_be_set_state(GstElement *pipe, GstState state, const char *what, MosaicError *err);

void gst_out_push(GbStream *g);
void gst_in_pull(GbStream *g);
void gst_out_attach(GbStream *g);
void gst_in_attach(GbStream *g);

#endif
