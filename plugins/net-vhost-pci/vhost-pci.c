/* SPDX-License-Identifier: GPL-2.0-or-later */
/* net-vhost-pci: two machines on one host exchange frames through shared memory (see
 * layout.h), set up from both machine files (`peer-socket`, the same path in both) or
 * through the monitor (vhost-pci-connect).  The guest sees whatever network device
 * uses the netdev (virtio-net): stock drivers work. */
#include <string.h>
#include <sys/un.h>
#include "layout.h"

static GHashTable *by_label; /* label -> Vpci*, for the monitor commands */

static const MosaicPropDesc vpci_props[] = {
    {.key = "peer-socket", .type = MOSAIC_PROP_PATH,
     .help = "UNIX socket path both machines name: the first one up listens there, the "
             "other connects (unset: link down until vhost-pci-connect)"},
    {NULL},
};

static bool path_ok(const char *path, MosaicError *err)
{
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        mosaic_error_set(err, "peer-socket %s: a UNIX socket path has at most %zu characters",
                         path, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return false;
    }
    return true;
}

static void *vpci_open(MosaicNet *net, const MosaicProps *props, MosaicError *err)
{
    const char *path = mosaic_props_has(props, "peer-socket")
                           ? mosaic_props_get_str(props, "peer-socket") : NULL;
    if (path && !*path)
        path = NULL;
    if (path && !path_ok(path, err)) {
        mosaic_error_prefix(err, "%s: ", mosaic_props_where(props, "peer-socket"));
        return NULL;
    }
    Vpci *p = g_new0(Vpci, 1);
    p->net = net;
    p->label = g_strdup(mosaic_net_label(net));
    p->path = g_strdup(path);
    p->listen_fd = p->conn_fd = p->bell_in = p->bell_out = -1;
    p->bh = mosaic_bh_new(vpci_bh, p);
    mosaic_net_set_link(net, false);
    if (!by_label)
        by_label = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(by_label, p->label, p);
    if (p->path)
        vpci_search(p);
    return p;
}

static void vpci_close(void *state)
{
    Vpci *p = state;
    vpci_stop(p);
    g_hash_table_remove(by_label, p->label);
    if (p->retry)
        mosaic_timer_free(p->retry);
    mosaic_bh_free(p->bh);
    g_free(p->path);
    g_free(p->label);
    g_free(p);
}

static Vpci *find(const MosaicArgs *args, MosaicError *err)
{
    const char *label = mosaic_args_get_str(args, "netdev");
    Vpci *p = by_label ? g_hash_table_lookup(by_label, label) : NULL;
    if (!p)
        mosaic_error_set_class(err, MOSAIC_ERRCLASS_NOT_FOUND,
                               "no vhost-pci netdev '%s' in use by a device", label);
    return p;
}

static bool cmd_connect(void *opaque, const MosaicArgs *args, MosaicJson *ret, MosaicError *err)
{
    Vpci *p = find(args, err);
    const char *path = mosaic_args_get_str(args, "peer-socket");
    if (!p || !path_ok(path, err))
        return false;
    if (!*path) {
        mosaic_error_set(err, "peer-socket is empty");
        return false;
    }
    vpci_stop(p);
    g_free(p->path);
    p->path = g_strdup(path);
    vpci_search(p);
    return true;
}

static bool cmd_disconnect(void *opaque, const MosaicArgs *args, MosaicJson *ret, MosaicError *err)
{
    Vpci *p = find(args, err);
    if (!p)
        return false;
    vpci_stop(p);
    g_clear_pointer(&p->path, g_free);
    return true;
}

static const char *state_name(VpciState s)
{
    static const char *const names[] = {"idle", "searching", "hello", "up"};
    return names[s];
}

static bool cmd_query(void *opaque, const MosaicArgs *args, MosaicJson *ret, MosaicError *err)
{
    mosaic_json_begin_array(ret, "netdevs");
    GHashTableIter it;
    gpointer k, v;
    if (by_label) {
        g_hash_table_iter_init(&it, by_label);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            Vpci *p = v;
            mosaic_json_begin_object(ret, NULL);
            mosaic_json_str(ret, "netdev", p->label);
            mosaic_json_str(ret, "state", state_name(p->state));
            mosaic_json_bool(ret, "link-up", p->state == VPCI_UP);
            if (p->path)
                mosaic_json_str(ret, "peer-socket", p->path);
            if (p->state == VPCI_UP)
                mosaic_json_str(ret, "role", p->accepted ? "accepted" : "connected");
            mosaic_json_int(ret, "violations", (int64_t)p->violations);
            mosaic_json_end_object(ret);
        }
    }
    mosaic_json_end_array(ret);
    return true;
}

static const MosaicArgDesc connect_args[] = {
    {"netdev", MOSAIC_ARG_STR, false, "label of a [netdev] of type vhost-pci"},
    {"peer-socket", MOSAIC_ARG_STR, false, "UNIX socket path the peer machine names too"},
    {NULL},
};
static const MosaicArgDesc disconnect_args[] = {
    {"netdev", MOSAIC_ARG_STR, false, "label of a [netdev] of type vhost-pci"},
    {NULL},
};
static const MosaicArgDesc no_args[] = {{NULL}};

static const MosaicCommandDesc vpci_commands[] = {
    {.size = sizeof(MosaicCommandDesc), .name = "vhost-pci-connect",
     .help = "joins a vhost-pci netdev to the peer machine that names the same socket",
     .args = connect_args, .returns = "{}", .handler = cmd_connect,
     .arg_size = sizeof(MosaicArgDesc)},
    {.size = sizeof(MosaicCommandDesc), .name = "vhost-pci-disconnect",
     .help = "leaves the peer: link down until vhost-pci-connect", .args = disconnect_args,
     .returns = "{}", .handler = cmd_disconnect, .arg_size = sizeof(MosaicArgDesc)},
    {.size = sizeof(MosaicCommandDesc), .name = "query-vhost-pci",
     .help = "state of every vhost-pci netdev in use", .args = no_args,
     .returns = "{netdevs: [{netdev, state, link-up, peer-socket?, role?, violations}]}",
     .handler = cmd_query, .arg_size = sizeof(MosaicArgDesc)},
    {0},
};

static const MosaicNetBackendOps vpci_ops = {
    .size = sizeof(MosaicNetBackendOps),
    .offloads = MOSAIC_NET_OFFLOAD_CSUM, /* the peer's device finishes what its guest cannot */
    .open = vpci_open,
    .close = vpci_close,
    .send = vpci_send,
    .rx_ready = vpci_rx_ready,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_NET, .kind_abi = MOSAIC_NET_ABI,
              .name = "vhost-pci", .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "machine-to-machine frames through shared memory (memfd rings, "
                             "eventfd doorbells), peers reconnecting after a restart",
              .props = vpci_props, .ops = &vpci_ops, .commands = vpci_commands);
