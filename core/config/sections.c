/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Section kinds of machine files: the core's own and those other subsystems register. */
#include <string.h>

#include "config/config-internal.h"

static const MosaicPropDesc machine_props[] = {
    {.key = "type", .type = MOSAIC_PROP_STRING, .flags = MOSAIC_PROP_REQUIRED,
     .help = "board: the name of a machine plugin (mosaic --list-plugins)"},
    {.key = "accel", .type = MOSAIC_PROP_STRING,
     .help = "vCPU engine: the name of an accel plugin; its keys go in [accel] (default: "
             "the board's, else the only one installed for its architecture)"},
    {.key = "cpus", .type = MOSAIC_PROP_UINT, .defval = "1", .min = 1, .max = 64,
     .help = "number of vCPUs"},
    {.key = "memory", .type = MOSAIC_PROP_SIZE, .defval = "128M", .min = 1 << 20,
     .max = (gint64)1 << 40, .help = "guest RAM size (K, M, G, T suffixes)"},
    {NULL},
};

static const MosaicPropDesc accel_props[] = {{NULL}};

static const MosaicPropDesc device_props[] = {
    {.key = "type", .type = MOSAIC_PROP_STRING, .flags = MOSAIC_PROP_REQUIRED,
     .help = "device type: the name of a device plugin (mosaic --list-plugins)"},
    {.key = "bus", .type = MOSAIC_PROP_STRING,
     .help = "PCI bus the device sits on: pcie.0 (the host's root bus) or the label of a "
             "root port or bridge defined before it (default: the type's own bus, e.g. "
             "virtio-mmio)"},
    {.key = "addr", .type = MOSAIC_PROP_UINT, .max = 31,
     .help = "PCI slot number on that bus (default: the first free one)"},
    {NULL},
};

static const MosaicPropDesc blockdev_props[] = {
    {.key = "driver", .type = MOSAIC_PROP_STRING, .flags = MOSAIC_PROP_REQUIRED,
     .help = "block driver or filter: file, raw or the name of a block plugin "
             "(mosaic --list-plugins)"},
    {NULL},
};

static const MosaicPropDesc audiodev_props[] = {
    {.key = "driver", .type = MOSAIC_PROP_STRING, .flags = MOSAIC_PROP_REQUIRED,
     .help = "audio backend: the name of an audio plugin (mosaic --list-plugins)"},
    {NULL},
};

static const MosaicPropDesc netdev_props[] = {
    {.key = "type", .type = MOSAIC_PROP_STRING, .flags = MOSAIC_PROP_REQUIRED,
     .help = "network backend: the name of a net plugin (mosaic --list-plugins)"},
    {NULL},
};

/* The keys of [chardev L] sections; core/chardev creates them (chardev.h). */
const MosaicPropDesc chardev_props[] = {
    {.key = "backend", .type = MOSAIC_PROP_ENUM, .choices = "stdio|file|socket|pty",
     .flags = MOSAIC_PROP_REQUIRED, .help = "where the characters go"},
    {.key = "path", .type = MOSAIC_PROP_PATH,
     .help = "file (backend=file) or UNIX socket (backend=socket)"},
    {.key = "server", .type = MOSAIC_PROP_BOOL, .defval = "false",
     .help = "socket: listen (one client at a time) instead of connecting"},
    {.key = "wait", .type = MOSAIC_PROP_BOOL, .defval = "true",
     .help = "socket server: wait for a client before starting the machine"},
    {.key = "append", .type = MOSAIC_PROP_BOOL, .defval = "false",
     .help = "file, logfile: append instead of truncating"},
    {.key = "logfile", .type = MOSAIC_PROP_PATH,
     .help = "also copy all output to this file"},
    {NULL},
};

static GPtrArray *kinds; /* SectionKind* */

static void section_kind_free(gpointer p)
{
    SectionKind *k = p;
    g_free(k->kind);
    g_free(k->selector_key);
    g_free(k);
}

static void do_register(const char *kind, const char *selector_key, int plugin_kind,
                        const MosaicPropDesc *common_props, gboolean singleton)
{
    SectionKind *k = g_new0(SectionKind, 1);
    k->kind = g_strdup(kind);
    k->selector_key = g_strdup(selector_key);
    k->plugin_kind = plugin_kind;
    k->common_props = common_props ? common_props : accel_props;
    k->singleton = singleton;
    for (guint i = 0; i < kinds->len; i++) {
        SectionKind *old = g_ptr_array_index(kinds, i);
        if (!strcmp(old->kind, kind)) {
            section_kind_free(old);
            kinds->pdata[i] = k;
            return;
        }
    }
    g_ptr_array_add(kinds, k);
}

/* Main thread, before any machine file is read; idempotent. */
void config_sections_init(void)
{
    if (kinds)
        return;
    kinds = g_ptr_array_new();
    do_register("machine", "type", MOSAIC_KIND_MACHINE, machine_props, TRUE);
    /* The accel plugin is selected by [machine] accel, not by a key of [accel]. */
    do_register("accel", NULL, MOSAIC_KIND_ACCEL, accel_props, TRUE);
    do_register("device", "type", MOSAIC_KIND_DEVICE, device_props, FALSE);
    do_register("blockdev", "driver", MOSAIC_KIND_BLOCK, blockdev_props, FALSE);
    do_register("chardev", NULL, 0, chardev_props, FALSE);
    do_register("audiodev", "driver", MOSAIC_KIND_AUDIO, audiodev_props, FALSE);
    do_register("netdev", "type", MOSAIC_KIND_NET, netdev_props, FALSE);
}

void config_register_section(const char *kind, const char *selector_key, int plugin_kind,
                             const MosaicPropDesc *common_props, gboolean singleton)
{
    g_return_if_fail(config_is_name(kind));
    config_sections_init();
    do_register(kind, selector_key, plugin_kind, common_props, singleton);
}

const SectionKind *config_section_kind(const char *kind)
{
    config_sections_init();
    for (guint i = 0; i < kinds->len; i++) {
        SectionKind *k = g_ptr_array_index(kinds, i);
        if (!strcmp(k->kind, kind))
            return k;
    }
    return NULL;
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *config_section_kind_names(void)
{
    config_sections_init();
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < kinds->len; i++)
        g_ptr_array_add(names, g_strdup(((SectionKind *)g_ptr_array_index(kinds, i))->kind));
    g_ptr_array_sort(names, cmp_str);
    return names;
}

/* The section a plugin of this kind is selected in ([device] for devices...), or NULL. */
const SectionKind *config_section_kind_for_plugin(int plugin_kind)
{
    config_sections_init();
    if (plugin_kind == MOSAIC_KIND_BLOCK_FILTER)
        plugin_kind = MOSAIC_KIND_BLOCK;
    for (guint i = 0; i < kinds->len; i++) {
        SectionKind *k = g_ptr_array_index(kinds, i);
        if (k->plugin_kind == plugin_kind)
            return k;
    }
    return NULL;
}
