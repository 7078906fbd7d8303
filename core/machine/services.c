/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The core services a machine needs around its board, in dependency order. */
#include "machine/machine-internal.h"
#include "chardev/chardev.h"
#include "block/block.h"
#include "plugin/registry.h"
#include "plugin/error.h"

static gboolean chardevs_create(MosaicMachine *m, GError **err)
{
    guint n = config_count(m->cfg, "chardev");
    for (guint i = 0; i < n; i++) {
        const MosaicProps *p = config_get(m->cfg, "chardev", i);
        MosaicChardev *cd = chardev_new(p, err);
        if (!cd)
            return FALSE;
        chardev_registry_add(mosaic_props_label(p), cd);
    }
    /* A board's console falls back to "serial0"; give it the terminal, as QEMU's
     * -nographic does, when the machine file names no chardev of that label and the
     * machine has a guest to talk to. */
    if (m->aops && !chardev_registry_find("serial0")) {
        MosaicChardev *cd = chardev_new_stdio();
        if (cd)
            chardev_registry_add("serial0", cd);
    }
    return TRUE;
}

/* A section kind owned by a plugin ([throttle-group], ...) needs that plugin loaded
 * before anything uses the section: its init registers what the section configures. */
static gboolean section_owners_require(MosaicMachine *m, GError **err)
{
    const MosaicProps *p;
    for (guint i = 0; (p = config_nth(m->cfg, i)); i++) {
        const MosaicPluginDesc *owner = plugin_registry_find_section_owner(mosaic_props_kind(p), NULL);
        if (owner && !plugin_registry_require(owner, mosaic_props_where(p, NULL), err))
            return FALSE;
    }
    return TRUE;
}

gboolean machine_early_services(MosaicMachine *m, GError **err)
{
    return section_owners_require(m, err) && chardevs_create(m, err) &&
           blk_graph_build(m->cfg, err);
}

typedef struct ExportStart {
    MosaicMachine *m;
    GError *err;
} ExportStart;

/* Export plugins loaded for the machine file's sections serve them now. */
static void export_start(const MosaicPluginDesc *d, void *opaque)
{
    ExportStart *s = opaque;
    const MosaicExportOps *o = d->ops;
    MosaicError me = MOSAIC_ERROR_INIT;
    if (!s->err && !o->start(s->m, &me))
        s->err = plugin_error_take(&me, "export start");
}

static void export_stop(const MosaicPluginDesc *d, void *opaque)
{
    ((const MosaicExportOps *)d->ops)->stop();
}

gboolean machine_late_services(MosaicMachine *m, GError **err)
{
    ExportStart s = {m, NULL};
    plugin_registry_foreach_kind(MOSAIC_KIND_EXPORT, TRUE, export_start, &s);
    if (s.err) {
        g_propagate_error(err, s.err);
        return FALSE;
    }
    return TRUE;
}

void machine_late_services_stop(MosaicMachine *m)
{
    plugin_registry_foreach_kind(MOSAIC_KIND_EXPORT, TRUE, export_stop, NULL);
    blk_graph_close();
    chardev_registry_clear();
}
