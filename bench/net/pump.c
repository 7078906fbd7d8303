/* SPDX-License-Identifier: GPL-2.0-or-later */
/* net-pump (bench only): a network device without a guest that sends frames of one size
 * to its netdev as fast as the backend takes them, or counts the frames it receives, so
 * the bench measures the backends' transport and nothing of a guest.  Commands:
 * net-pump-start (sender), query-net-pump (frames, bytes, seconds). */
#include <string.h>
#include <glib.h>
#include <mosaic/mosaic.h>

#define BATCH 1024

typedef struct Pump {
    MosaicNet *net;
    MosaicBH *bh;
    bool sender, running;
    uint32_t size;
    uint64_t frames, bytes;
    int64_t t0, t1;
    uint8_t frame[MOSAIC_NET_HDR_LEN + 1514];
} Pump;

static Pump *the_pump;

static const MosaicPropDesc pump_props[] = {
    {.key = "netdev", .type = MOSAIC_PROP_REF, .choices = "netdev", .flags = MOSAIC_PROP_REQUIRED},
    {.key = "role", .type = MOSAIC_PROP_ENUM, .choices = "send|receive", .defval = "receive"},
    {.key = "frame-size", .type = MOSAIC_PROP_UINT, .defval = "64", .min = 60, .max = 1514},
    {NULL},
};

static void pump_bh(void *opaque)
{
    Pump *p = opaque;
    struct iovec iov = {.iov_base = p->frame, .iov_len = MOSAIC_NET_HDR_LEN + p->size};
    for (int i = 0; i < BATCH && p->running; i++) {
        if (!mosaic_net_send(p->net, &iov, 1))
            return; /* tx_ready reschedules */
        p->frames++;
        p->bytes += p->size;
    }
    if (p->running)
        mosaic_bh_schedule(p->bh);
}

static bool pump_receive(void *opaque, const struct iovec *iov, unsigned niov)
{
    Pump *p = opaque;
    if (!p->frames)
        p->t0 = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    p->frames++;
    p->bytes += mosaic_iov_size(iov, niov) - MOSAIC_NET_HDR_LEN;
    p->t1 = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    return true;
}

static void pump_tx_ready(void *opaque) { mosaic_bh_schedule(((Pump *)opaque)->bh); }

static const MosaicNetFrontendOps pump_fe = {
    .size = sizeof(MosaicNetFrontendOps),
    .receive = pump_receive,
    .tx_ready = pump_tx_ready,
};

static void *pump_realize(MosaicDevice *dev, const MosaicProps *props, const MosaicBusSlot *slot,
                          MosaicError *err)
{
    Pump *p = g_new0(Pump, 1);
    p->sender = !strcmp(mosaic_props_get_str(props, "role"), "send");
    p->size = mosaic_props_get_uint(props, "frame-size");
    memset(p->frame + MOSAIC_NET_HDR_LEN, 0xff, 6);               /* broadcast */
    memcpy(p->frame + MOSAIC_NET_HDR_LEN + 6, "\x52\x54\x00\x00\x00\x01", 6);
    p->frame[MOSAIC_NET_HDR_LEN + 12] = 0x88, p->frame[MOSAIC_NET_HDR_LEN + 13] = 0xb5; /* local */
    p->net = mosaic_net_attach(mosaic_device_machine(dev), mosaic_props_get_str(props, "netdev"),
                               &pump_fe, p, err);
    if (!p->net) {
        g_free(p);
        return NULL;
    }
    p->bh = mosaic_bh_new(pump_bh, p);
    the_pump = p;
    return p;
}

static void pump_unrealize(void *state)
{
    Pump *p = state;
    mosaic_net_detach(p->net);
    mosaic_bh_free(p->bh);
    g_free(p);
    the_pump = NULL;
}

static bool cmd_start(void *opaque, const MosaicArgs *args, MosaicJson *ret, MosaicError *err)
{
    Pump *p = the_pump;
    if (!p || !p->sender) {
        mosaic_error_set(err, "no sending net-pump");
        return false;
    }
    p->running = mosaic_args_get_bool(args, "run");
    if (p->running) {
        p->frames = p->bytes = 0;
        p->t0 = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
        mosaic_bh_schedule(p->bh);
    } else {
        p->t1 = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    }
    return true;
}

static bool cmd_query(void *opaque, const MosaicArgs *args, MosaicJson *ret, MosaicError *err)
{
    Pump *p = the_pump;
    if (!p) {
        mosaic_error_set(err, "no net-pump");
        return false;
    }
    mosaic_json_int(ret, "frames", p->frames);
    mosaic_json_int(ret, "bytes", p->bytes);
    mosaic_json_number(ret, "seconds", (p->t1 - p->t0) / 1e9);
    mosaic_json_bool(ret, "link-up", mosaic_net_link_up(p->net));
    return true;
}

static const MosaicArgDesc start_args[] = {{"run", MOSAIC_ARG_BOOL, false, "start or stop"}, {NULL}};
static const MosaicArgDesc no_args[] = {{NULL}};
static const MosaicCommandDesc pump_commands[] = {
    {.size = sizeof(MosaicCommandDesc), .name = "net-pump-start", .help = "sender on/off",
     .args = start_args, .handler = cmd_start, .arg_size = sizeof(MosaicArgDesc)},
    {.size = sizeof(MosaicCommandDesc), .name = "query-net-pump", .help = "counters",
     .args = no_args, .handler = cmd_query, .arg_size = sizeof(MosaicArgDesc)},
    {0},
};

static const MosaicDeviceOps pump_ops = {
    .size = sizeof(MosaicDeviceOps),
    .bus = "virtio-mmio", /* only for a slot: nothing is mapped there */
    .realize = pump_realize,
    .unrealize = pump_unrealize,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI,
              .name = "net-pump", .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "bench: frames to or from a netdev as fast as it goes",
              .props = pump_props, .ops = &pump_ops, .commands = pump_commands);
