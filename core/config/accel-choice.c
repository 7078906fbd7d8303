/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which accelerator runs a machine.  The core names none: [machine] accel, else the
 * deployment's default (`default-accel` in plugins.ini) when it can run the board's
 * architecture, else the board's default (MosaicMachineOps.default_accel), else the
 * only accel plugin that can run the board's architecture. */
#include <string.h>
#include <mosaic/mosaic.h>
#include "config/config-internal.h"
#include "plugin/policy.h"
#include "plugin/registry.h"

typedef struct Candidates {
    const char *arch; /* NULL: the board does not say */
    const char *name;
    guint count;
} Candidates;

static void consider(const MosaicPluginDesc *d, void *opaque)
{
    Candidates *c = opaque;
    const MosaicAccelOps *o = d->ops;
    gboolean fits = !c->arch;
    for (const char *const *a = o ? o->archs : NULL; !fits && a && *a; a++)
        fits = strcmp(*a, c->arch) == 0;
    if (fits) {
        c->name = d->name;
        c->count++;
    }
}

/* Whether accel plugin `name` is installed, allowed and runs `arch` (NULL: any). */
static gboolean runs(const char *name, const char *arch)
{
    Candidates c = {arch, NULL, 0};
    const MosaicPluginDesc *d = plugin_registry_find(MOSAIC_KIND_ACCEL, name, NULL);
    if (!d || !plugin_policy_allows("accel", name, NULL, NULL))
        return FALSE;
    consider(d, &c);
    return c.count == 1;
}

static const char *choose(const MosaicProps *machine, const MosaicMachineOps *mops, GError **err)
{
    /* The deployment knows the host (KVM here, TCG there); a board's default does not.
     * One that cannot run this board's architecture is passed over. */
    const char *deployed = plugin_policy_default_accel(NULL);
    if (deployed && runs(deployed, mops ? mops->arch : NULL))
        return deployed;
    gboolean has_default = mops && mops->size >= offsetof(MosaicMachineOps, default_accel) +
                                                     sizeof(mops->default_accel);
    if (has_default && mops->default_accel)
        return mops->default_accel;
    Candidates c = {mops ? mops->arch : NULL, NULL, 0};
    plugin_registry_foreach_kind(MOSAIC_KIND_ACCEL, FALSE, consider, &c);
    if (c.count == 1)
        return c.name;
    g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                "%s: [machine] accel is not set, the board names no default and %u accelerators "
                "can run it: set accel = NAME (mosaic --list-plugins shows them)",
                mosaic_props_where(machine, NULL), c.count);
    return NULL;
}

const char *config_accel_name(MosaicProps *machine, const struct MosaicMachineOps *mops,
                              GError **err)
{
    if (mosaic_props_has(machine, "accel"))
        return mosaic_props_get_str(machine, "accel");
    const char *name = choose(machine, mops, err);
    PropValue *v = name ? config_props_lookup(machine, "accel") : NULL;
    if (v) {
        /* Recorded as a default: --dump-config shows it, the machine code reads it. */
        g_free(v->text);
        v->text = g_strdup(name);
        v->set = v->defaulted = TRUE;
        v->where = machine->where;
    }
    return name;
}
