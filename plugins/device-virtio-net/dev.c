/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-net (virtio 1.2 §5.1) on any virtio transport: one receive and one transmit
 * queue, the MAC address from the machine file, link status from the backend, checksum
 * offload (finished by the device when the backend cannot carry it) and TSO when the
 * backend carries it. */
#include <stdio.h>
#include <string.h>
#include "vnet.h"

#define CONFIG_SIZE 10 /* mac[6], status, max_virtqueue_pairs */

static const MosaicPropDesc vnet_props[] = {
    {.key = "netdev", .type = MOSAIC_PROP_REF, .choices = "netdev", .flags = MOSAIC_PROP_REQUIRED,
     .help = "the [netdev] backend the device sends to and receives from"},
    {.key = "queues", .type = MOSAIC_PROP_UINT, .defval = "1", .min = 1, .max = PAIRS_MAX,
     .help = "queue pairs (more than 1: multiqueue, the driver picks how many it uses)"},
    {.key = "mac", .type = MOSAIC_PROP_STRING, .defval = "",
     .help = "MAC address, 6 hex bytes with ':' (default 52:54:00 and 3 bytes from the "
             "device's label)"},
    {NULL},
};

static void vnet_config(void *opaque, uint8_t *c)
{
    VNet *d = opaque;
    memcpy(c, d->mac, 6);
    c[6] = mosaic_net_link_up(d->net) ? STATUS_LINK_UP : 0;
    c[7] = 0;
    c[8] = d->pairs; /* max_virtqueue_pairs (meaningful with MQ only) */
    c[9] = 0;
}

static void vnet_notify(void *opaque, unsigned queue)
{
    VNet *d = opaque; /* vCPU thread: the work runs on the loop */
    if (d->vhost) {
        vnet_vhost_kick(d, queue);
        return;
    }
    if (d->pairs > 1 && queue == ctrl_queue(d))
        mosaic_bh_schedule(d->ctrl_bh);
    else
        mosaic_bh_schedule(queue & 1 ? d->tx_bh : d->rx_bh);
}

static void vnet_reset(void *opaque)
{
    VNet *d = opaque;
    vnet_vhost_stop(d);
    d->driver_ok = false;
    d->features = 0;
    d->active = 1;
    vnet_tx_reset(d);
    mosaic_net_set_rx_offloads(d->net, 0);
}

static void vnet_driver_ok(void *opaque, uint64_t features)
{
    VNet *d = opaque;
    d->features = features;
    d->driver_ok = true;
    /* What the guest takes on receive: a TAP device then hands over GSO frames as they are. */
    mosaic_net_set_rx_offloads(d->net, (has(d, F_GUEST_CSUM) ? MOSAIC_NET_OFFLOAD_CSUM : 0) |
                                           (has(d, F_GUEST_TSO4) ? MOSAIC_NET_OFFLOAD_TSO4 : 0) |
                                           (has(d, F_GUEST_TSO6) ? MOSAIC_NET_OFFLOAD_TSO6 : 0));
    vnet_vhost_start(d);
    if (d->vhost)
        return;
    mosaic_bh_schedule(d->tx_bh);
    mosaic_bh_schedule(d->rx_bh);
}

static void vnet_tx_ready(void *opaque) { mosaic_bh_schedule(((VNet *)opaque)->tx_bh); }

static void vnet_link_changed(void *opaque, bool up)
{
    VNet *d = opaque;
    if (!up)
        vnet_tx_reset(d); /* a frame held for the old peer is not sent to the next one */
    mosaic_virtio_config_changed(d->v);
    if (up)
        mosaic_bh_schedule(d->tx_bh);
}

static const MosaicNetFrontendOps vnet_fe = {
    .size = sizeof(MosaicNetFrontendOps),
    .receive = vnet_receive,
    .tx_ready = vnet_tx_ready,
    .link_changed = vnet_link_changed,
};

/* "52:54:00:12:34:56"; a unicast address. */
static bool parse_mac(const char *s, uint8_t mac[6])
{
    unsigned b[6];
    char end;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6 ||
        strlen(s) != 17)
        return false;
    for (int i = 0; i < 6; i++)
        mac[i] = b[i];
    return !(mac[0] & 1);
}

static void *vnet_realize(MosaicDevice *dev, const MosaicProps *props, const MosaicBusSlot *slot,
                          MosaicError *err)
{
    VNet *d = g_new0(VNet, 1);
    const char *mac = mosaic_props_get_str(props, "mac");
    if (*mac && !parse_mac(mac, d->mac)) {
        mosaic_error_set(err, "%s: mac = %s: not a unicast MAC address (write "
                         "52:54:00:12:34:56)", mosaic_props_where(props, "mac"), mac);
        g_free(d);
        return NULL;
    }
    d->pairs = mosaic_props_get_uint(props, "queues");
    d->active = 1;
    d->dma = slot ? slot->dma : NULL;
    d->vh_kick[0] = d->vh_kick[1] = d->vh_call[0] = d->vh_call[1] = d->vh_log_fd = -1;
    if (!*mac) {
        guint h = g_str_hash(mosaic_props_label(props));
        const uint8_t def[6] = {0x52, 0x54, 0x00, h >> 16 & 0xff, h >> 8 & 0xff, h & 0xff};
        memcpy(d->mac, def, 6);
    }
    d->net = mosaic_net_attach(dev ? mosaic_device_machine(dev) : NULL,
                               mosaic_props_get_str(props, "netdev"), &vnet_fe, d, err);
    if (!d->net) {
        g_free(d);
        return NULL;
    }
    uint32_t offl = mosaic_net_offloads(d->net);
    uint64_t f = 1ULL << F_CSUM | 1ULL << F_GUEST_CSUM | 1ULL << F_MAC | 1ULL << F_STATUS |
                 1ULL << F_MRG_RXBUF;
    /* TSO both ways when the backend carries it: the guest's GSO frames go out as they
     * are, and it takes GSO frames (in mergeable buffers or one 64 KiB chain). */
    if (offl & MOSAIC_NET_OFFLOAD_TSO4)
        f |= 1ULL << F_HOST_TSO4 | 1ULL << F_GUEST_TSO4;
    if (offl & MOSAIC_NET_OFFLOAD_TSO6)
        f |= 1ULL << F_HOST_TSO6 | 1ULL << F_GUEST_TSO6;
    if (d->pairs > 1)
        f |= 1ULL << F_CTRL_VQ | 1ULL << F_MQ;
    MosaicVirtioDeviceOps ops = {
        .size = sizeof ops,
        .device_id = 1,
        .features = f,
        .num_queues = 2 * d->pairs + (d->pairs > 1),
        .queue_max = QUEUE_MAX,
        .config_size = CONFIG_SIZE,
        .config_read = vnet_config,
        .queue_notify = vnet_notify,
        .reset = vnet_reset,
        .driver_ok = vnet_driver_ok,
    };
    d->v = mosaic_virtio_new(slot, &ops, d, err);
    if (!d->v) {
        mosaic_net_detach(d->net);
        g_free(d);
        return NULL;
    }
    d->buf = g_malloc(FRAME_MAX);
    d->tx_bh = mosaic_bh_new(vnet_tx_bh, d);
    d->rx_bh = mosaic_bh_new(vnet_rx_bh, d);
    d->ctrl_bh = mosaic_bh_new(vnet_ctrl_bh, d);
    return d;
}

static void vnet_unrealize(void *state)
{
    VNet *d = state;
    vnet_vhost_stop(d);
    mosaic_net_detach(d->net);
    vnet_tx_reset(d);
    mosaic_bh_free(d->tx_bh);
    mosaic_bh_free(d->rx_bh);
    mosaic_bh_free(d->ctrl_bh);
    mosaic_virtio_free(d->v);
    g_free(d->buf);
    g_free(d);
}

static void vnet_system_reset(void *state)
{
    vnet_reset(state); /* the board resets the transport */
}

static const MosaicDeviceOps vnet_ops = {
    .size = sizeof(MosaicDeviceOps),
    .bus = "virtio-mmio|pci", /* virtio-mmio unless the machine file names a PCI bus */
    .realize = vnet_realize,
    .unrealize = vnet_unrealize,
    .reset = vnet_system_reset,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI,
              .name = "virtio-net", .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "virtio network device (MAC, link status, checksum offload, TSO "
                             "when the backend carries it, multiqueue)",
              .props = vnet_props, .ops = &vnet_ops);
