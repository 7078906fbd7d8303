/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The audio layer inside the core: opened [audiodev] sections and their streams. */
#ifndef MOSAIC_CORE_AUDIO_INTERNAL_H
#define MOSAIC_CORE_AUDIO_INTERNAL_H

#include <glib.h>
#include <mosaic/mosaic.h>
#include <mosaic/audio.h>

struct MosaicAudio {
    char *label;
    char *where;                       /* "audiodev 'LABEL' (FILE:LINE)" */
    const MosaicPluginDesc *plugin;
    MosaicAudioBackendOps *ops;        /* zero-filled copy of the plugin's */
    void *be;                          /* the backend's state */
    unsigned refs;
};

/* A byte ring of fixed capacity (the stream's buffer_bytes). */
typedef struct AudioRing {
    guint8 *data;
    gsize cap, head, used; /* head: oldest byte */
} AudioRing;

void audio_ring_init(AudioRing *r, gsize cap);
void audio_ring_clear(AudioRing *r);
gsize audio_ring_write(AudioRing *r, const void *buf, gsize len);
gsize audio_ring_read(AudioRing *r, void *buf, gsize len);

/* Checks a device's spec; FALSE + a message naming the field. */
gboolean audio_spec_check(const MosaicAudioStreamSpec *spec, char **msg);

#endif
