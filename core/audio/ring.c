/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The byte ring between a device and a backend: bounded by the stream's buffer size. */
#include <string.h>
#include "audio/audio-internal.h"

void audio_ring_init(AudioRing *r, gsize cap)
{
    r->data = g_malloc0(cap);
    r->cap = cap;
    r->head = r->used = 0;
}

void audio_ring_clear(AudioRing *r)
{
    g_clear_pointer(&r->data, g_free);
    r->cap = r->head = r->used = 0;
}

gsize audio_ring_write(AudioRing *r, const void *buf, gsize len)
{
    len = MIN(len, r->cap - r->used);
    gsize tail = (r->head + r->used) % (r->cap ? r->cap : 1);
    gsize first = MIN(len, r->cap - tail);
    memcpy(r->data + tail, buf, first);
    memcpy(r->data, (const guint8 *)buf + first, len - first);
    r->used += len;
    return len;
}

gsize audio_ring_read(AudioRing *r, void *buf, gsize len)
{
    len = MIN(len, r->used);
    gsize first = MIN(len, r->cap - r->head);
    if (buf) {
        memcpy(buf, r->data + r->head, first);
        memcpy((guint8 *)buf + first, r->data, len - first);
    }
    r->head = r->cap ? (r->head + len) % r->cap : 0;
    r->used -= len;
    return len;
}
