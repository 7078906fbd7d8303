/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The join between a network device and its [netdev] backend (sdk/include/mosaic/net.h).
 * The core holds no frames: it finds the section, loads its plugin, opens the backend
 * and forwards calls between the two sides. */
#include <glib.h>
#include <mosaic/iov.h>
#include <mosaic/machine.h>
#include <mosaic/net.h>

#include "config/config.h"
#include "plugin/error.h"
#include "plugin/registry.h"
#include "util/ops.h"

struct MosaicNet {
    char *label;
    const MosaicNetBackendOps *be; /* the registry's zero-filled copy */
    void *be_state;
    MosaicNetFrontendOps *fe;      /* zero-filled copy */
    void *fe_opaque;
    bool link_up;
    bool opening; /* inside the backend's open: the frontend is not ready for calls */
    bool vhost;   /* the backend's host engine runs the frontend's rings */
};

/* Labels of the netdevs in use: one frontend each. */
static GHashTable *attached;

MOSAIC_API MosaicNet *mosaic_net_attach(MosaicMachine *m, const char *label,
                                        const MosaicNetFrontendOps *fe, void *opaque,
                                        MosaicError *err)
{
    const MosaicProps *p = m && label ? mosaic_config_find(m, "netdev", label) : NULL;
    if (!p) {
        mosaic_error_set(err, "no network backend '%s' (a [netdev %s] section is needed)",
                         label ? label : "", label ? label : "LABEL");
        return NULL;
    }
    if (!fe || !fe->receive) {
        mosaic_error_set(err, "[netdev %s]: the frontend has no receive op (a device bug)", label);
        return NULL;
    }
    if (!attached)
        attached = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (g_hash_table_contains(attached, label)) {
        mosaic_error_set(err, "[netdev %s] (%s) is already used by another device; give each "
                         "device its own [netdev]", label, mosaic_props_where(p, NULL));
        return NULL;
    }
    const MosaicPluginDesc *d = config_props_plugin(p);
    g_autoptr(GError) gerr = NULL;
    if (!d || !plugin_registry_require(d, mosaic_props_where(p, "type"), &gerr)) {
        mosaic_error_set(err, "%s", gerr ? gerr->message : "no net plugin");
        return NULL;
    }
    MosaicNet *net = g_new0(MosaicNet, 1);
    net->label = g_strdup(label);
    net->be = d->ops;
    net->fe = ops_copy(fe, sizeof(MosaicNetFrontendOps));
    net->fe_opaque = opaque;
    net->link_up = true;
    net->opening = true;
    net->be_state = net->be->open(net, p, err);
    net->opening = false;
    if (!net->be_state) {
        if (!mosaic_error_is_set(err))
            mosaic_error_set(err, "[netdev %s]: backend '%s' failed to open", label, d->name);
        else
            mosaic_error_prefix(err, "%s: [netdev %s]: ", mosaic_props_where(p, NULL), label);
        g_free(net->fe);
        g_free(net->label);
        g_free(net);
        return NULL;
    }
    g_hash_table_add(attached, g_strdup(label));
    return net;
}

MOSAIC_API void mosaic_net_detach(MosaicNet *net)
{
    if (!net)
        return;
    mosaic_net_vhost_stop(net);
    net->be->close(net->be_state);
    g_hash_table_remove(attached, net->label);
    g_free(net->fe);
    g_free(net->label);
    g_free(net);
}

MOSAIC_API bool mosaic_net_send(MosaicNet *net, const struct iovec *iov, unsigned niov)
{
    return net->be->send(net->be_state, iov, niov);
}

MOSAIC_API void mosaic_net_rx_ready(MosaicNet *net)
{
    if (net->be->rx_ready)
        net->be->rx_ready(net->be_state);
}

MOSAIC_API uint32_t mosaic_net_offloads(const MosaicNet *net) { return net->be->offloads; }

MOSAIC_API bool mosaic_net_has_vhost(const MosaicNet *net)
{
    return net->be->vhost_start && net->be->vhost_stop;
}

MOSAIC_API bool mosaic_net_vhost_start(MosaicNet *net, const MosaicNetVhost *vh)
{
    if (net->vhost || !mosaic_net_has_vhost(net) || !vh || vh->struct_size < sizeof(MosaicNetVhost))
        return false;
    net->vhost = net->be->vhost_start(net->be_state, vh);
    return net->vhost;
}

MOSAIC_API void mosaic_net_vhost_stop(MosaicNet *net)
{
    if (!net->vhost)
        return;
    net->be->vhost_stop(net->be_state);
    net->vhost = false;
}

MOSAIC_API void mosaic_net_set_rx_offloads(MosaicNet *net, uint32_t offloads)
{
    if (net->be->set_rx_offloads)
        net->be->set_rx_offloads(net->be_state, offloads & net->be->offloads);
}
MOSAIC_API bool mosaic_net_link_up(const MosaicNet *net) { return net->link_up; }
MOSAIC_API const char *mosaic_net_label(const MosaicNet *net) { return net->label; }

MOSAIC_API bool mosaic_net_receive(MosaicNet *net, const struct iovec *iov, unsigned niov)
{
    size_t len = mosaic_iov_size(iov, niov);
    if (len < MOSAIC_NET_HDR_LEN || len > MOSAIC_NET_HDR_LEN + MOSAIC_NET_MAX_FRAME)
        return true; /* not a frame: dropped */
    return net->fe->receive(net->fe_opaque, iov, niov);
}

MOSAIC_API void mosaic_net_tx_ready(MosaicNet *net)
{
    if (net->fe->tx_ready)
        net->fe->tx_ready(net->fe_opaque);
}

MOSAIC_API void mosaic_net_set_link(MosaicNet *net, bool up)
{
    if (net->link_up == up)
        return;
    net->link_up = up;
    if (net->fe->link_changed && !net->opening)
        net->fe->link_changed(net->fe_opaque, up);
}
