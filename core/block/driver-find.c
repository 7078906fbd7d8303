/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Block drivers by what they do, not by name: jobs ask for "a copy-before-write
 * filter" or "a driver for this URI" (MosaicBlkDriverOps.caps, .uri_schemes). */
#include <string.h>
#include "block/block-internal.h"
#include "plugin/registry.h"

typedef struct Want {
    uint32_t cap;
    const char *scheme; /* with its length: the URI up to "://" */
    size_t scheme_len;
    const char *found;
} Want;

static const MosaicBlkDriverOps *ops_1_1(const MosaicPluginDesc *d)
{
    const MosaicBlkDriverOps *o = d->ops;
    return o && o->size >= offsetof(MosaicBlkDriverOps, uri_schemes) + sizeof(o->uri_schemes)
               ? o : NULL;
}

static void consider(const MosaicPluginDesc *d, void *opaque)
{
    Want *w = opaque;
    const MosaicBlkDriverOps *o = ops_1_1(d);
    if (w->found || !o)
        return;
    if (w->cap && (o->caps & w->cap) == w->cap)
        w->found = d->name;
    for (const char *const *s = o->uri_schemes; w->scheme && s && *s; s++)
        if (strlen(*s) == w->scheme_len && !strncmp(*s, w->scheme, w->scheme_len))
            w->found = d->name;
}

static const char *find(Want *w)
{
    plugin_registry_foreach_kind(MOSAIC_KIND_BLOCK_FILTER, FALSE, consider, w);
    plugin_registry_foreach_kind(MOSAIC_KIND_BLOCK, FALSE, consider, w);
    return w->found;
}

const char *blk_driver_with_cap(uint32_t cap, const char *what, GError **err)
{
    Want w = {.cap = cap};
    if (!find(&w))
        g_set_error(err, BLK_ERROR, 0, "no block plugin provides %s (mosaic --list-plugins "
                    "shows the installed ones)", what);
    return w.found;
}

const char *blk_driver_for_uri(const char *uri, GError **err)
{
    const char *sep = uri ? strstr(uri, "://") : NULL;
    Want w = {.scheme = uri, .scheme_len = sep ? (size_t)(sep - uri) : 0};
    if (!sep || !find(&w))
        g_set_error(err, BLK_ERROR, 0, "'%s': no block plugin opens URIs of this scheme "
                    "(mosaic --list-plugins shows the installed ones)", uri ? uri : "");
    return w.found;
}
