/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Opening [audiodev LABEL] sections: their backend plugin, loaded on first use (the
 * deployment policy applies), and one backend state shared by every device using it. */
#include <string.h>

#include "audio/audio-internal.h"
#include "config/config.h"
#include "plugin/error.h"
#include "plugin/registry.h"
#include "util/ops.h"

static GPtrArray *opened; /* MosaicAudio*, main thread only */

MOSAIC_API MosaicAudio *mosaic_audio_open(MosaicMachine *m, const char *label, MosaicError *err)
{
    for (guint i = 0; opened && i < opened->len; i++) {
        MosaicAudio *a = g_ptr_array_index(opened, i);
        if (!strcmp(a->label, label)) {
            a->refs++;
            return a;
        }
    }
    const MosaicProps *p = label ? mosaic_config_find(m, "audiodev", label) : NULL;
    if (!p) {
        mosaic_error_set(err, "no audio backend '%s' (an [audiodev %s] section is needed)",
                         label ? label : "", label ? label : "LABEL");
        return NULL;
    }
    const MosaicPluginDesc *d = config_props_plugin(p);
    g_autoptr(GError) gerr = NULL;
    g_autofree char *where = g_strdup_printf("audiodev '%s' (%s)", label,
                                             mosaic_props_where(p, "driver"));
    if (!d || !plugin_registry_require(d, mosaic_props_where(p, "driver"), &gerr)) {
        mosaic_error_set(err, "%s: %s", where, gerr ? gerr->message : "no audio plugin");
        return NULL;
    }
    MosaicAudioBackendOps *ops = ops_copy(d->ops, sizeof(MosaicAudioBackendOps));
    MosaicError me = MOSAIC_ERROR_INIT;
    void *be = ops->open(p, &me);
    if (!be) {
        g_autoptr(GError) e = plugin_error_take(&me, "audio open");
        mosaic_error_set(err, "%s: %s", where, e->message);
        g_free(ops);
        return NULL;
    }
    MosaicAudio *a = g_new0(MosaicAudio, 1);
    a->label = g_strdup(label);
    a->where = g_steal_pointer(&where);
    a->plugin = d;
    a->ops = ops;
    a->be = be;
    a->refs = 1;
    if (!opened)
        opened = g_ptr_array_new();
    g_ptr_array_add(opened, a);
    return a;
}

MOSAIC_API void mosaic_audio_close(MosaicAudio *a)
{
    if (!a || --a->refs)
        return;
    g_ptr_array_remove(opened, a);
    if (a->ops->close)
        a->ops->close(a->be);
    g_free(a->ops);
    g_free(a->label);
    g_free(a->where);
    g_free(a);
}

MOSAIC_API const char *mosaic_audio_label(const MosaicAudio *a)
{
    return a->label;
}
