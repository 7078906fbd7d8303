/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image formats: looked up by name, recognised by their own drivers' probe op.  The core
 * knows no format's header. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "block/block-internal.h"
#include "plugin/plugin-internal.h"

/* A format sits over a node holding its bytes: the `file` reference every format driver
 * has (raw, qcow2), which protocols (file, nbd) and filters do not. */
static gboolean is_format(const MosaicPluginDesc *d)
{
    if (d->kind != MOSAIC_KIND_BLOCK)
        return FALSE;
    for (const MosaicPropDesc *p = d->props; p && p->key; p++)
        if (!strcmp(p->key, "file") && p->type == MOSAIC_PROP_REF)
            return TRUE;
    return FALSE;
}

const MosaicPluginDesc *blk_format_find(const char *name, const char *needed_at, GError **err)
{
    const MosaicPluginDesc *d = plugin_registry_find(MOSAIC_KIND_BLOCK, name, err);
    if (!d)
        return NULL;
    if (!is_format(d)) {
        g_set_error(err, BLK_ERROR, 0, "'%s' is not an image format (a protocol or a filter)",
                    name);
        return NULL;
    }
    return plugin_registry_require(d, needed_at, err) ? d : NULL;
}

static gboolean driver_recognises(const MosaicPluginDesc *d, const guint8 *buf, gsize len)
{
    const MosaicBlkDriverOps *ops = d->ops;
    if (!ops || ops->size < offsetof(MosaicBlkDriverOps, probe) + sizeof ops->probe ||
        !ops->probe)
        return FALSE;
    return ops->probe(buf, len);
}

const char *blk_format_recognise(const char *path)
{
    int fd = blk_host_file_open(path, path, O_RDONLY, NULL);
    if (fd < 0)
        return NULL;
    guint8 buf[MOSAIC_BLK_PROBE_BYTES];
    ssize_t got;
    do
        got = pread(fd, buf, sizeof buf, 0);
    while (got < 0 && errno == EINTR);
    close(fd);
    if (got <= 0)
        return NULL;
    GPtrArray *all = plugin_registry_entries();
    for (guint i = 0; i < all->len; i++) {
        PluginEntry *e = g_ptr_array_index(all, i);
        if (e->kind != MOSAIC_KIND_BLOCK || e->state == PLUGIN_REFUSED)
            continue;
        const MosaicPluginDesc *d = plugin_registry_find(MOSAIC_KIND_BLOCK, e->name, NULL);
        if (d && is_format(d) && plugin_registry_require(d, NULL, NULL) &&
            driver_recognises(d, buf, (gsize)got))
            return d->name;
    }
    return NULL;
}
