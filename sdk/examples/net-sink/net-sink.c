/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An out-of-tree network backend, the smallest that does something: every frame the
 * guest sends is counted and dropped; nothing ever arrives.  It shows the whole
 * contract of <mosaic/net.h>: the [netdev] keys in the descriptor's props, an ops table
 * with its size and the three mandatory ops, the kind's ABI number.
 *
 *     [netdev n0]
 *     type = sink
 *     report-every = 100     ; log a line every 100 frames (0: never)
 *     [device eth0]
 *     type = virtio-net
 *     netdev = n0
 */
#include <stdlib.h>
#include <mosaic/mosaic.h>
#include <mosaic/net.h>

typedef struct Sink {
    MosaicNet *net;
    uint64_t every, frames, bytes;
} Sink;

static const MosaicPropDesc sink_props[] = {
    {.key = "report-every", .type = MOSAIC_PROP_UINT, .defval = "0",
     .help = "log a line every N frames (0: never)"},
    {0},
};

/* Called when a device attaches to [netdev LABEL]; keep `net`, deliver nothing yet. */
static void *sink_open(MosaicNet *net, const MosaicProps *props, MosaicError *err)
{
    Sink *s = calloc(1, sizeof *s);
    if (!s) {
        mosaic_error_set(err, "out of memory");
        return NULL;
    }
    s->net = net;
    s->every = mosaic_props_get_uint(props, "report-every");
    mosaic_log("net", 2, "netdev %s: sink open", mosaic_net_label(net));
    return s;
}

static void sink_close(void *state)
{
    Sink *s = state;
    mosaic_log("net", 2, "netdev %s: sink closed after %llu frames", mosaic_net_label(s->net),
               (unsigned long long)s->frames);
    free(s);
}

/* A frame from the guest: the virtio-net header (MOSAIC_NET_HDR_LEN bytes), then the
 * Ethernet frame.  true: taken. */
static bool sink_send(void *state, const struct iovec *iov, unsigned niov)
{
    Sink *s = state;
    s->frames++;
    s->bytes += mosaic_iov_size(iov, niov) - MOSAIC_NET_HDR_LEN;
    if (s->every && s->frames % s->every == 0)
        mosaic_log("net", 2, "netdev %s: %llu frames", mosaic_net_label(s->net),
                   (unsigned long long)s->frames);
    return true;
}

static const MosaicNetBackendOps sink_ops = {
    .size = sizeof(MosaicNetBackendOps),
    .offloads = MOSAIC_NET_OFFLOAD_CSUM, /* partial checksums are fine: nobody reads them */
    .open = sink_open,
    .close = sink_close,
    .send = sink_send,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_NET, .kind_abi = MOSAIC_NET_ABI,
              .name = "sink", .version = "1.0.0", .license = "MIT",
              .description = "counts and drops every frame (an SDK example)",
              .props = sink_props, .ops = &sink_ops);
