/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-snd (virtio 1.2 §5.14): two jacks, one output and one input PCM stream, the
 * formats and rates of the spec that backends can take, channel maps for mono, stereo
 * and 5.1; so Linux's virtio_snd driver works unchanged.  The streams go to an
 * [audiodev] backend through the core's audio layer. */
#include <string.h>
#include "snd.h"

static const MosaicPropDesc snd_props[] = {
    {.key = "audiodev", .type = MOSAIC_PROP_REF, .choices = "audiodev",
     .flags = MOSAIC_PROP_REQUIRED, .help = "the [audiodev] the streams play to and capture from"},
    {.key = "volume", .type = MOSAIC_PROP_UINT, .defval = "100", .min = 0, .max = 100,
     .flags = MOSAIC_PROP_RUNTIME, .help = "percent, applied by the backend (qom-set)"},
    {.key = "mute", .type = MOSAIC_PROP_BOOL, .defval = "off", .flags = MOSAIC_PROP_RUNTIME,
     .help = "silence both streams (qom-set)"},
    {NULL},
};

static void snd_config(void *opaque, uint8_t *c)
{
    uint32_t v[3] = {GUINT32_TO_LE(NUM_JACKS), GUINT32_TO_LE(NUM_STREAMS),
                     GUINT32_TO_LE(snd_chmap_count())};
    memcpy(c, v, sizeof v);
}

/* A tx/rx message: stream id first; output data follows it, input data goes before
 * the status.  Anything malformed is answered BAD_MSG when it can be answered at all. */
static void xfer(VSnd *d, unsigned qi, MosaicVirtqElem *e)
{
    uint32_t id = UINT32_MAX;
    if (e->in_len < PCM_STATUS_SIZE) { /* no room for a status: return it untouched */
        MosaicVirtQueue *q = mosaic_virtio_queue(d->v, qi);
        mosaic_virtq_push(q, e, 0);
        mosaic_virtq_notify(q);
        return;
    }
    if (mosaic_iov_to_buf(e->out, e->out_num, 0, &id, 4) == 4)
        id = GUINT32_FROM_LE(id);
    unsigned dir = qi == Q_TX ? DIR_OUTPUT : DIR_INPUT;
    if (id >= NUM_STREAMS || d->pcm[id].dir != dir) {
        snd_status_push(mosaic_virtio_queue(d->v, qi), e, S_BAD_MSG, 0, 0);
        return;
    }
    Pcm *p = &d->pcm[id];
    uint64_t len = dir == DIR_OUTPUT ? e->out_len - XFER_SIZE : e->in_len - PCM_STATUS_SIZE;
    snd_pcm_queue(p, e, len);
}

static void snd_bh(void *opaque)
{
    VSnd *d = opaque;
    MosaicVirtqElem *e;
    MosaicVirtQueue *q = mosaic_virtio_queue(d->v, Q_CONTROL);
    while ((e = mosaic_virtq_pop(q)))
        snd_control(d, e);
    for (unsigned qi = Q_TX; qi <= Q_RX; qi++) {
        q = mosaic_virtio_queue(d->v, qi);
        while ((e = mosaic_virtq_pop(q)))
            xfer(d, qi, e);
    }
    /* The event queue's buffers stay with the driver: no events are sent yet. */
    for (unsigned i = 0; i < NUM_STREAMS; i++)
        snd_pcm_pump(&d->pcm[i]);
}

static void snd_notify(void *opaque, unsigned queue)
{
    mosaic_bh_schedule(((VSnd *)opaque)->bh); /* vCPU thread: the work runs on the loop */
}

static void snd_reset(void *opaque)
{
    VSnd *d = opaque;
    for (unsigned i = 0; i < NUM_STREAMS; i++)
        if (d->pcm[i].state != PCM_IDLE)
            snd_pcm_release(&d->pcm[i], false); /* the rings are gone: elements are dropped */
}

static void *snd_realize(MosaicDevice *dev, const MosaicProps *props, const MosaicBusSlot *slot,
                         MosaicError *err)
{
    VSnd *d = g_new0(VSnd, 1);
    d->label = g_strdup(dev ? mosaic_device_label(dev) : "snd");
    d->volume = mosaic_props_get_uint(props, "volume") / 100.0;
    d->mute = mosaic_props_get_bool(props, "mute");
    d->audio = mosaic_audio_open(dev ? mosaic_device_machine(dev) : NULL,
                                 mosaic_props_get_str(props, "audiodev"), err);
    if (!d->audio) {
        g_free(d->label);
        g_free(d);
        return NULL;
    }
    for (unsigned i = 0; i < NUM_STREAMS; i++) {
        d->pcm[i].d = d;
        d->pcm[i].id = i;
        d->pcm[i].dir = i == 0 ? DIR_OUTPUT : DIR_INPUT;
        g_queue_init(&d->pcm[i].xfers);
    }
    MosaicVirtioDeviceOps ops = {
        .size = sizeof ops,
        .device_id = 25,
        .num_queues = NUM_QUEUES,
        .queue_max = QUEUE_MAX,
        .config_size = 12,
        .config_read = snd_config,
        .queue_notify = snd_notify,
        .reset = snd_reset,
    };
    d->v = mosaic_virtio_new(slot, &ops, d, err);
    if (!d->v) {
        mosaic_audio_close(d->audio);
        g_free(d->label);
        g_free(d);
        return NULL;
    }
    d->bh = mosaic_bh_new(snd_bh, d);
    return d;
}

static void snd_unrealize(void *state)
{
    VSnd *d = state;
    for (unsigned i = 0; i < NUM_STREAMS; i++)
        if (d->pcm[i].state != PCM_IDLE)
            snd_pcm_release(&d->pcm[i], true); /* a recording keeps what was played */
    mosaic_audio_close(d->audio);
    mosaic_bh_free(d->bh);
    mosaic_virtio_free(d->v);
    g_free(d->label);
    g_free(d);
}

static void snd_system_reset(void *state)
{
    snd_reset(state);
}

static bool snd_set_prop(void *state, const char *key, const char *value, MosaicError *err)
{
    VSnd *d = state;
    if (!strcmp(key, "volume")) {
        char *end;
        guint64 v = g_ascii_strtoull(value, &end, 10);
        if (*end || v > 100) {
            mosaic_error_set(err, "volume must be 0..100 (percent), not '%s'", value);
            return false;
        }
        d->volume = v / 100.0;
    } else if (!strcmp(key, "mute")) {
        d->mute = !strcmp(value, "on") || !strcmp(value, "true") || !strcmp(value, "1") ||
                  !strcmp(value, "yes");
    } else {
        mosaic_error_set(err, "virtio-snd has no runtime property '%s'", key);
        return false;
    }
    for (unsigned i = 0; i < NUM_STREAMS; i++)
        if (d->pcm[i].s)
            mosaic_audio_stream_set_volume(d->pcm[i].s, d->volume, d->mute);
    return true;
}

static const MosaicDeviceOps snd_ops = {
    .size = sizeof(MosaicDeviceOps),
    .bus = "virtio-mmio|pci", /* virtio-mmio unless the machine file names a PCI bus */
    .realize = snd_realize,
    .unrealize = snd_unrealize,
    .reset = snd_system_reset,
    .set_prop = snd_set_prop,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI, .name = "virtio-snd",
              .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "virtio sound device on virtio-mmio (PCM playback and capture, "
                             "jacks, channel maps) backed by an [audiodev]",
              .props = snd_props, .ops = &snd_ops);
