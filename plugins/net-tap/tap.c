/* SPDX-License-Identifier: GPL-2.0-or-later */
/* net-tap: a TAP device of the host.  Frames keep their virtio-net header across the
 * device (IFF_VNET_HDR with the 12-byte header of mosaic/net.h), so partial checksums
 * and TSO frames from the guest go to the host kernel as they are.  Creating or
 * attaching a TAP device needs CAP_NET_ADMIN (or a persistent device owned by the user:
 * `ip tuntap add dev NAME mode tap user USER`).  With /dev/vhost-net (vhost = auto|on)
 * the host kernel runs the device's rings itself: vhost.c. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/if_tun.h>

#include "tap.h"

static const MosaicPropDesc tap_props[] = {
    {.key = "ifname", .type = MOSAIC_PROP_STRING, .defval = "",
     .help = "TAP device to create or attach to (default: the kernel picks tapN)"},
    {.key = "vhost", .type = MOSAIC_PROP_ENUM, .choices = "auto|on|off", .defval = "auto",
     .help = "the host kernel runs the device's rings (/dev/vhost-net): auto uses it when "
             "it opens and says so when not, on refuses to start without it"},
    {NULL},
};

void tap_watch_update(NetTap *t)
{
    if (t->vhost_running) {
        mosaic_fd_watch_update(t->watch, 0); /* the kernel reads and writes the device */
        return;
    }
    mosaic_fd_watch_update(t->watch, (t->held ? 0 : MOSAIC_FD_READ) |
                                     (t->want_write ? MOSAIC_FD_WRITE : 0));
}

static bool deliver(NetTap *t)
{
    struct iovec iov = {.iov_base = t->buf, .iov_len = t->held_len};
    return mosaic_net_receive(t->net, &iov, 1);
}

static void tap_readable(NetTap *t)
{
    for (int i = 0; i < RX_BUDGET; i++) {
        ssize_t n = read(t->fd, t->buf, sizeof t->buf);
        if (n < 0)
            return;
        if (n < MOSAIC_NET_HDR_LEN + 14)
            continue;
        t->held_len = n;
        if (!deliver(t)) {
            t->held = true;
            return;
        }
    }
}

static void tap_event(void *opaque, int fd, unsigned events)
{
    NetTap *t = opaque;
    if (events & MOSAIC_FD_WRITE) {
        t->want_write = false;
        mosaic_net_tx_ready(t->net);
    }
    if (events & MOSAIC_FD_READ && !t->held)
        tap_readable(t);
    tap_watch_update(t);
}

static void tap_rx_ready(void *state)
{
    NetTap *t = state;
    if (t->held && deliver(t)) {
        t->held = false;
        tap_readable(t);
        tap_watch_update(t);
    }
}

static bool tap_send(void *state, const struct iovec *iov, unsigned niov)
{
    NetTap *t = state;
    if (niov > 1024) /* UIO_MAXIOV */
        return true; /* more pieces than one write takes: dropped */
    if (writev(t->fd, iov, niov) >= 0)
        return true;
    if (errno == EAGAIN) {
        t->want_write = true;
        tap_watch_update(t);
        return false;
    }
    return true; /* the device is down (EIO): the frame is lost */
}

/* GSO frames from the host only when the guest takes them (else the kernel segments). */
static void tap_set_rx_offloads(void *state, uint32_t offloads)
{
    NetTap *t = state;
    unsigned f = TUN_F_CSUM | (offloads & MOSAIC_NET_OFFLOAD_TSO4 ? TUN_F_TSO4 : 0) |
                 (offloads & MOSAIC_NET_OFFLOAD_TSO6 ? TUN_F_TSO6 : 0);
    if (ioctl(t->fd, TUNSETOFFLOAD, f) != 0)
        mosaic_log("net", 1, "netdev %s: TUNSETOFFLOAD: %s", mosaic_net_label(t->net),
                   g_strerror(errno));
}

static void *tap_open(MosaicNet *net, const MosaicProps *props, MosaicError *err)
{
    const char *name = mosaic_props_get_str(props, "ifname");
    struct ifreq ifr = {0};
    if (strlen(name) >= IFNAMSIZ) {
        mosaic_error_set(err, "%s: ifname = %s: at most %d characters",
                         mosaic_props_where(props, "ifname"), name, IFNAMSIZ - 1);
        return NULL;
    }
    g_strlcpy(ifr.ifr_name, name, IFNAMSIZ);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    int hdr = MOSAIC_NET_HDR_LEN;
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) != 0 ||
        ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM) != 0) {
        int e = errno;
        mosaic_error_set(err, "%s: cannot open TAP device '%s': %s%s", mosaic_props_where(props, NULL),
                         *name ? name : "(new)", g_strerror(e),
                         e == EPERM ? " (needs CAP_NET_ADMIN, or a persistent TAP device owned "
                                      "by this user: ip tuntap add dev NAME mode tap user USER)" : "");
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    NetTap *t = g_new0(NetTap, 1);
    t->net = net;
    t->fd = fd;
    t->vhost_fd = -1;
    if (!tap_vhost_open(t, props, err)) {
        close(fd);
        g_free(t);
        return NULL;
    }
    t->watch = mosaic_fd_watch(fd, MOSAIC_FD_READ, tap_event, t);
    mosaic_log("net", 2, "netdev %s: TAP device %s", mosaic_net_label(net), ifr.ifr_name);
    return t;
}

static void tap_close(void *state)
{
    NetTap *t = state;
    tap_vhost_stop(t);
    if (t->vhost_fd >= 0)
        close(t->vhost_fd);
    mosaic_fd_unwatch(t->watch);
    close(t->fd);
    g_free(t);
}

static const MosaicNetBackendOps tap_ops = {
    .size = sizeof(MosaicNetBackendOps),
    .offloads = MOSAIC_NET_OFFLOAD_CSUM | MOSAIC_NET_OFFLOAD_TSO4 | MOSAIC_NET_OFFLOAD_TSO6,
    .open = tap_open,
    .close = tap_close,
    .send = tap_send,
    .rx_ready = tap_rx_ready,
    .set_rx_offloads = tap_set_rx_offloads,
    .vhost_start = tap_vhost_start,
    .vhost_stop = tap_vhost_stop,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_NET, .kind_abi = MOSAIC_NET_ABI,
              .name = "tap", .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "a host TAP device (virtio-net header passed through: checksum "
                             "and TSO offloads)",
              .props = tap_props, .ops = &tap_ops);
