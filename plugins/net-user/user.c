/* SPDX-License-Identifier: GPL-2.0-or-later */
/* net-user: the backend ops and the [netdev] keys (see user.h). */
#include <arpa/inet.h>
#include <string.h>
#include "user.h"

static const MosaicPropDesc user_props[] = {
    {.key = "net", .type = MOSAIC_PROP_STRING, .defval = "10.0.2.0/24",
     .help = "the guest's IPv4 network, ADDR/PREFIX"},
    {.key = "host", .type = MOSAIC_PROP_STRING, .defval = "10.0.2.2",
     .help = "the gateway's address in that network; it reaches the host's own 127.0.0.1"},
    {.key = "dhcp-start", .type = MOSAIC_PROP_STRING, .defval = "10.0.2.15",
     .help = "first address the DHCP server hands out (also the default hostfwd target)"},
    {.key = "dns", .type = MOSAIC_PROP_STRING, .defval = "10.0.2.3",
     .help = "the DNS forwarder's address"},
    {.key = "restrict", .type = MOSAIC_PROP_BOOL, .defval = "off",
     .help = "the guest reaches nothing outside (only host forwards come in)"},
    {.key = "hostfwd", .type = MOSAIC_PROP_STRING, .defval = "",
     .help = "host port forwards: tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, comma-separated"},
    {NULL},
};

static bool addr(const MosaicProps *p, const char *key, struct in_addr *out, MosaicError *err)
{
    const char *v = mosaic_props_get_str(p, key);
    if (inet_pton(AF_INET, v, out) == 1)
        return true;
    mosaic_error_set(err, "%s: %s = %s: not an IPv4 address", mosaic_props_where(p, key), key, v);
    return false;
}

static bool network(const MosaicProps *p, struct in_addr *net, struct in_addr *mask,
                    MosaicError *err)
{
    const char *v = mosaic_props_get_str(p, "net");
    g_auto(GStrv) parts = g_strsplit(v, "/", 2);
    guint64 prefix = 0;
    if (!parts[0] || !parts[1] || inet_pton(AF_INET, parts[0], net) != 1 ||
        !g_ascii_string_to_unsigned(parts[1], 10, 8, 30, &prefix, NULL)) {
        mosaic_error_set(err, "%s: net = %s: write ADDR/PREFIX (prefix 8-30), e.g. 10.0.2.0/24",
                         mosaic_props_where(p, "net"), v);
        return false;
    }
    mask->s_addr = htonl(~0u << (32 - prefix));
    net->s_addr &= mask->s_addr;
    return true;
}

static void *user_open(MosaicNet *net, const MosaicProps *p, MosaicError *err)
{
    SlirpConfig cfg = {.version = 4, .in_enabled = true, .if_mtu = 1500, .if_mru = 1500};
    if (!network(p, &cfg.vnetwork, &cfg.vnetmask, err) || !addr(p, "host", &cfg.vhost, err) ||
        !addr(p, "dhcp-start", &cfg.vdhcp_start, err) || !addr(p, "dns", &cfg.vnameserver, err))
        return NULL;
    struct in_addr in[3] = {cfg.vhost, cfg.vdhcp_start, cfg.vnameserver};
    static const char *const keys[] = {"host", "dhcp-start", "dns"};
    for (int i = 0; i < 3; i++)
        if ((in[i].s_addr & cfg.vnetmask.s_addr) != cfg.vnetwork.s_addr) {
            mosaic_error_set(err, "%s: %s = %s is outside net = %s", mosaic_props_where(p, keys[i]),
                             keys[i], mosaic_props_get_str(p, keys[i]), mosaic_props_get_str(p, "net"));
            return NULL;
        }
    cfg.restricted = mosaic_props_get_bool(p, "restrict");
    NetUser *u = g_new0(NetUser, 1);
    u->net = net;
    u->where = g_strdup(mosaic_props_where(p, NULL));
    user_poll_init(u);
    u->slirp = slirp_new(&cfg, &user_slirp_cb, u);
    if (!u->slirp) {
        mosaic_error_set(err, "%s: libslirp refused the network settings", u->where);
    } else if (user_add_hostfwds(u, mosaic_props_get_str(p, "hostfwd"), cfg.vdhcp_start, err)) {
        user_refresh(u);
        return u;
    }
    if (u->slirp)
        slirp_cleanup(u->slirp);
    user_poll_fini(u);
    g_free(u->where);
    g_free(u);
    return NULL;
}

static void user_close(void *state)
{
    NetUser *u = state;
    slirp_cleanup(u->slirp);
    user_poll_fini(u);
    g_free(u->where);
    g_free(u);
}

static bool user_send(void *state, const struct iovec *iov, unsigned niov)
{
    NetUser *u = state;
    static uint8_t frame[MOSAIC_NET_MAX_FRAME];
    size_t len = mosaic_iov_size(iov, niov) - MOSAIC_NET_HDR_LEN;
    mosaic_iov_to_buf(iov, niov, MOSAIC_NET_HDR_LEN, frame, len);
    slirp_input(u->slirp, frame, len);
    mosaic_bh_schedule(u->refresh_bh); /* the frame may have opened a host socket */
    return true;
}

static const MosaicNetBackendOps user_ops = {
    .size = sizeof(MosaicNetBackendOps),
    .open = user_open,
    .close = user_close,
    .send = user_send,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_NET, .kind_abi = MOSAIC_NET_ABI,
              .name = "user", .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "user-mode networking (libslirp): NAT to the host's network, "
                             "host port forwards",
              .props = user_props, .ops = &user_ops);
