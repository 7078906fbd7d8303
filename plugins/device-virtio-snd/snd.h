/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-snd (virtio 1.2 §5.14): the wire format and the device's state. */
#ifndef VIRTIO_SND_H
#define VIRTIO_SND_H

#include <glib.h>
#include <mosaic/mosaic.h>

enum { Q_CONTROL = 0, Q_EVENT = 1, Q_TX = 2, Q_RX = 3, NUM_QUEUES = 4 };
#define QUEUE_MAX 256

/* Request codes and status codes. */
enum {
    R_JACK_INFO = 1, R_JACK_REMAP = 2,
    R_PCM_INFO = 0x100, R_PCM_SET_PARAMS, R_PCM_PREPARE, R_PCM_RELEASE, R_PCM_START,
    R_PCM_STOP,
    R_CHMAP_INFO = 0x200,
    EVT_PCM_XRUN = 0x1101,
    S_OK = 0x8000, S_BAD_MSG, S_NOT_SUPP, S_IO_ERR,
};
enum { DIR_OUTPUT = 0, DIR_INPUT = 1 };

/* Sizes of the structures on the wire. */
#define QUERY_INFO_SIZE 16 /* hdr, start_id, count, size */
#define JACK_INFO_SIZE 24
#define PCM_INFO_SIZE 32
#define CHMAP_INFO_SIZE 24
#define SET_PARAMS_SIZE 24
#define PCM_STATUS_SIZE 8  /* status, latency_bytes */
#define XFER_SIZE 4        /* stream_id */

#define NUM_JACKS 2
#define NUM_STREAMS 2      /* 0: output, 1: input */
#define NUM_RATES 14       /* 5512 .. 384000 */
#define MAX_CHANNELS 8

typedef enum { PCM_IDLE, PCM_PARAMS, PCM_PREPARED, PCM_RUNNING, PCM_STOPPED } PcmState;

typedef struct VSnd VSnd;

/* A guest buffer being played or filled: its chain and how far it got. */
typedef struct Xfer {
    MosaicVirtqElem *e;
    uint64_t off;   /* payload bytes copied so far */
    uint64_t len;   /* payload bytes */
    uint64_t end;   /* output: the stream byte count at which it has been played */
    bool queued;    /* output: every byte is in the stream (end is set) */
} Xfer;

typedef struct Pcm {
    VSnd *d;
    unsigned id, dir;
    PcmState state;
    uint32_t buffer_bytes, period_bytes;
    uint8_t channels, format, rate; /* virtio codes */
    MosaicAudioStream *s;
    GQueue xfers;       /* Xfer*, oldest first */
    uint64_t written;   /* output: bytes into the stream */
    uint64_t played;    /* output: bytes the backend took */
    bool failed;        /* the backend failed: buffers complete with IO_ERR until prepared */
    /* Input: the stream's own clock.  A filled buffer completes no earlier than the time
     * its frames take at the stream's rate (host clock), whatever the backend's pace. */
    MosaicTimer *pace;
    int64_t rec_ns;     /* when the head buffer's first frame was recorded */
} Pcm;

struct VSnd {
    MosaicVirtio *v;
    MosaicAudio *audio;
    MosaicBH *bh;
    char *label;
    Pcm pcm[NUM_STREAMS];
    double volume;
    bool mute;
    uint8_t scratch[16384];
};

/* control.c */
void snd_control(VSnd *d, MosaicVirtqElem *e);
/* pcm.c */
uint32_t snd_audio_format(uint8_t virtio_format); /* MosaicAudioFormat or 0 */
bool snd_format_supported(uint8_t virtio_format);
unsigned snd_format_bytes(uint8_t virtio_format);
uint64_t snd_formats_mask(void);
uint32_t snd_rate_hz(uint8_t virtio_rate);
const uint8_t *snd_chmap_for(unsigned dir, unsigned channels); /* NULL: none */
unsigned snd_chmap_count(void);
bool snd_chmap_info(unsigned index, uint8_t *out); /* CHMAP_INFO_SIZE bytes */
uint32_t snd_pcm_prepare(Pcm *p);
uint32_t snd_pcm_start(Pcm *p);
uint32_t snd_pcm_stop(Pcm *p);
uint32_t snd_pcm_release(Pcm *p, bool drain);
void snd_pcm_queue(Pcm *p, MosaicVirtqElem *e, uint64_t len);
void snd_pcm_pump(Pcm *p);
void snd_status_push(MosaicVirtQueue *q, MosaicVirtqElem *e, uint32_t status, uint32_t latency,
                     uint32_t data_written);
void snd_xfer_done(Pcm *p, MosaicVirtqElem *e, uint32_t status, uint32_t data_written);

#endif
