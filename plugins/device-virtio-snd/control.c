/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control queue: information about jacks, streams and channel maps, and the PCM
 * state machine (set params, prepare, start, stop, release).  Every request is read
 * from guest buffers with its length checked; a short or malformed one gets BAD_MSG. */
#include <string.h>
#include "snd.h"

static uint32_t rd32(const uint8_t *b)
{
    uint32_t v;
    memcpy(&v, b, 4);
    return GUINT32_FROM_LE(v);
}

static void wr32(uint8_t *b, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(b, &v, 4);
}

static void wr64(uint8_t *b, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    memcpy(b, &v, 8);
}

static void reply(VSnd *d, MosaicVirtqElem *e, uint32_t status, const uint8_t *body, size_t len)
{
    uint8_t hdr[4];
    wr32(hdr, status);
    uint32_t n = mosaic_iov_from_buf(e->in, e->in_num, 0, hdr, 4);
    if (body && status == S_OK)
        n += mosaic_iov_from_buf(e->in, e->in_num, 4, body, len);
    MosaicVirtQueue *q = mosaic_virtio_queue(d->v, Q_CONTROL);
    mosaic_virtq_push(q, e, n);
    mosaic_virtq_notify(q);
}

static void jack_info(unsigned i, uint8_t *o)
{
    memset(o, 0, JACK_INFO_SIZE);
    wr32(o, 0);                          /* hda_fn_nid */
    wr32(o + 4, 0);                      /* features: no remapping */
    /* HDA pin default configuration: line out (0x0) / mic in (0xa), jack, connected. */
    wr32(o + 8, i == 0 ? 0x01014010 : 0x01a19020);
    wr32(o + 12, i == 0 ? 0x10 : 0x20);  /* pin caps: output / input capable */
    o[16] = 1;                           /* connected */
}

static void pcm_info(VSnd *d, unsigned i, uint8_t *o)
{
    memset(o, 0, PCM_INFO_SIZE);
    wr32(o, 0);                          /* hda_fn_nid */
    wr32(o + 4, 0);                      /* features: messages only */
    wr64(o + 8, snd_formats_mask());
    wr64(o + 16, (1ull << NUM_RATES) - 1);
    o[24] = d->pcm[i].dir;
    o[25] = 1;
    o[26] = MAX_CHANNELS;
}

/* JACK_INFO, PCM_INFO, CHMAP_INFO: a range of items of `size` bytes each. */
static void query(VSnd *d, MosaicVirtqElem *e, uint32_t code, const uint8_t *req)
{
    uint32_t start = rd32(req + 4), count = rd32(req + 8), size = rd32(req + 12);
    uint32_t total = code == R_JACK_INFO ? NUM_JACKS : code == R_PCM_INFO ? NUM_STREAMS
                                                                         : snd_chmap_count();
    uint32_t item = code == R_JACK_INFO ? JACK_INFO_SIZE : code == R_PCM_INFO ? PCM_INFO_SIZE
                                                                              : CHMAP_INFO_SIZE;
    if (start > total || count > total - start || size < item || size > 4096 ||
        e->in_len < 4 + (uint64_t)count * size) {
        reply(d, e, S_BAD_MSG, NULL, 0);
        return;
    }
    g_autofree uint8_t *body = g_malloc0((size_t)count * size);
    for (uint32_t k = 0; k < count; k++) {
        uint8_t *o = body + (size_t)k * size;
        if (code == R_JACK_INFO)
            jack_info(start + k, o);
        else if (code == R_PCM_INFO)
            pcm_info(d, start + k, o);
        else
            snd_chmap_info(start + k, o);
    }
    reply(d, e, S_OK, body, (size_t)count * size);
}

static uint32_t set_params(VSnd *d, const uint8_t *req)
{
    Pcm *p = &d->pcm[rd32(req + 4)];
    uint32_t buffer = rd32(req + 8), period = rd32(req + 12), features = rd32(req + 16);
    uint8_t channels = req[20], format = req[21], rate = req[22];
    if (p->state == PCM_RUNNING)
        return S_BAD_MSG;
    if (features || !snd_format_supported(format) || rate >= NUM_RATES || channels < 1 ||
        channels > MAX_CHANNELS)
        return S_NOT_SUPP;
    unsigned frame = snd_format_bytes(format) * channels;
    if (!period || period % frame || buffer < period || buffer % period ||
        buffer > MOSAIC_AUDIO_MAX_BUFFER)
        return S_BAD_MSG;
    if (p->s) /* new parameters: the old stream goes */
        snd_pcm_release(p, false);
    p->buffer_bytes = buffer;
    p->period_bytes = period;
    p->channels = channels;
    p->format = format;
    p->rate = rate;
    p->state = PCM_PARAMS;
    return S_OK;
}

void snd_control(VSnd *d, MosaicVirtqElem *e)
{
    uint8_t req[SET_PARAMS_SIZE] = {0};
    size_t got = mosaic_iov_to_buf(e->out, e->out_num, 0, req, sizeof req);
    if (got < 4 || e->in_len < 4) {
        reply(d, e, S_BAD_MSG, NULL, 0);
        return;
    }
    uint32_t code = rd32(req);
    uint32_t status;
    switch (code) {
    case R_JACK_INFO:
    case R_PCM_INFO:
    case R_CHMAP_INFO:
        if (got < QUERY_INFO_SIZE) {
            reply(d, e, S_BAD_MSG, NULL, 0);
            return;
        }
        query(d, e, code, req);
        return;
    case R_PCM_SET_PARAMS:
    case R_PCM_PREPARE:
    case R_PCM_RELEASE:
    case R_PCM_START:
    case R_PCM_STOP: {
        size_t need = code == R_PCM_SET_PARAMS ? SET_PARAMS_SIZE : 8;
        uint32_t id = got >= 8 ? rd32(req + 4) : UINT32_MAX;
        if (got < need || id >= NUM_STREAMS) {
            status = S_BAD_MSG;
            break;
        }
        Pcm *p = &d->pcm[id];
        status = code == R_PCM_SET_PARAMS ? set_params(d, req)
               : code == R_PCM_PREPARE    ? snd_pcm_prepare(p)
               : code == R_PCM_START      ? snd_pcm_start(p)
               : code == R_PCM_STOP       ? snd_pcm_stop(p)
                                          : snd_pcm_release(p, true);
        break;
    }
    default:
        status = S_NOT_SUPP; /* JACK_REMAP and what later versions add */
        break;
    }
    reply(d, e, status, NULL, 0);
}
