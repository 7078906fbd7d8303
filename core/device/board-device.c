/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Devices a board places itself (its UART): the type is a device plugin like any other,
 * so two boards share one implementation instead of each carrying a copy.  The board
 * names the type, a label and the type's keys; the core builds the [device] section
 * with the typed builder (no INI text), validates it against the plugin's table, loads
 * the plugin through the deployment policy and realizes it in the board's slot. */
#include "config/config.h"
#include "device/device-internal.h"
#include "plugin/error.h"

MOSAIC_API MosaicDevice *mosaic_machine_add_device(MosaicMachine *m, const char *type,
                                                  const char *label, const char *const *kv,
                                                  const MosaicBusSlot *slot, MosaicError *err)
{
    if (!m || !type || !label || !slot ||
        slot->size < offsetof(MosaicBusSlot, container) + sizeof(void *)) {
        mosaic_error_set(err, "board device '%s': needs a machine, a type, a label and a "
                         "slot with its size set", label ? label : "?");
        return NULL;
    }
    g_autofree char *name = g_strdup_printf("board %s", m->machine_desc->name);
    MosaicConfig *cfg = config_new(name);
    ConfigSection *ms = config_section_get(cfg, "machine", NULL, NULL, NULL);
    config_section_set(ms, "type", "none", NULL, NULL);
    ConfigSection *s = config_section_get(cfg, "device", label, NULL, NULL);
    config_section_set(s, "type", type, NULL, NULL);
    for (unsigned i = 0; kv && kv[i] && kv[i + 1]; i += 2)
        config_section_set(s, kv[i], kv[i + 1], NULL, NULL);
    GError *e = NULL;
    MosaicDevice *d = NULL;
    if (config_validate(cfg, &e))
        d = device_create_board(m, config_find(cfg, "device", label), cfg, slot, &e);
    else
        config_free(cfg);
    if (!d) {
        mosaic_error_set(err, "%s", e->message);
        g_error_free(e);
    }
    return d;
}
