/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Plugin kinds: names, the kind ABI this core implements, and the mandatory ops of
 * each kind's table (checked at scan time, before any plugin code runs). */
#include <string.h>
#include <mosaic/mosaic.h>
#include "plugin/plugin-internal.h"

#define MISSING(op) \
    (g_set_error(err, PLUGIN_ERROR, PLUGIN_ERROR_REFUSED, "missing mandatory op ." #op), FALSE)
#define REQUIRE(o, op) do { if (!(o)->op) return MISSING(op); } while (0)

static gboolean accel_check(const void *p, GError **err)
{
    const MosaicAccelOps *o = p;
    REQUIRE(o, create);
    REQUIRE(o, vcpu_create);
    REQUIRE(o, vcpu_run);
    REQUIRE(o, vcpu_kick);
    REQUIRE(o, vcpu_set_irq);
    REQUIRE(o, vcpu_get_reg);
    REQUIRE(o, vcpu_set_reg);
    return TRUE;
}

static gboolean machine_check(const void *p, GError **err)
{
    const MosaicMachineOps *o = p;
    REQUIRE(o, init);
    REQUIRE(o, get_slot);
    return TRUE;
}

static gboolean device_check(const void *p, GError **err)
{
    const MosaicDeviceOps *o = p;
    REQUIRE(o, realize);
    return TRUE;
}

static gboolean debug_check(const void *p, GError **err)
{
    const MosaicDebugOps *o = p;
    REQUIRE(o, start);
    REQUIRE(o, stop);
    return TRUE;
}

static gboolean export_check(const void *p, GError **err)
{
    const MosaicExportOps *o = p;
    REQUIRE(o, start);
    REQUIRE(o, stop);
    return TRUE;
}

static gboolean audio_check(const void *p, GError **err)
{
    const MosaicAudioBackendOps *o = p;
    REQUIRE(o, open);
    REQUIRE(o, stream_open);
    REQUIRE(o, stream_start);
    REQUIRE(o, stream_stop);
    REQUIRE(o, stream_close);
    return TRUE;
}

static gboolean net_check(const void *p, GError **err)
{
    const MosaicNetBackendOps *o = p;
    REQUIRE(o, open);
    REQUIRE(o, close);
    REQUIRE(o, send);
    return TRUE;
}

/* A virtio-gpu device calls every op up to poll; read_pixels is optional. */
static gboolean gpu_check(const void *p, GError **err)
{
    const MosaicGpuBackendOps *o = p;
    REQUIRE(o, open);
    REQUIRE(o, close);
    REQUIRE(o, capset_info);
    REQUIRE(o, get_capset);
    REQUIRE(o, ctx_create);
    REQUIRE(o, ctx_destroy);
    REQUIRE(o, ctx_attach_resource);
    REQUIRE(o, ctx_detach_resource);
    REQUIRE(o, resource_create_3d);
    REQUIRE(o, resource_unref);
    REQUIRE(o, attach_backing);
    REQUIRE(o, detach_backing);
    REQUIRE(o, transfer);
    REQUIRE(o, submit);
    REQUIRE(o, create_fence);
    REQUIRE(o, poll);
    return TRUE;
}

/* The graph calls open unconditionally and one of io (blocking, on a worker) or submit
 * (asynchronous) for every request. */
static gboolean block_check(const void *p, GError **err)
{
    const MosaicBlkDriverOps *o = p;
    REQUIRE(o, open);
    if (!o->io && !o->submit)
        return MISSING(io or .submit);
    return TRUE;
}

/* End of the fields of ABI 1.0 of each table: fields appended later (a minor bump)
 * must not raise the minimum, so these are frozen, unlike sizeof. */
#define END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* gpu backends have no ops header yet: ops optional. */
static const PluginKindInfo kinds[] = {
    { MOSAIC_KIND_ACCEL, "accel", MOSAIC_ACCEL_ABI, TRUE, sizeof(MosaicAccelOps),
      END(MosaicAccelOps, breakpoint), accel_check },
    { MOSAIC_KIND_MACHINE, "machine", MOSAIC_MACHINE_ABI, TRUE, sizeof(MosaicMachineOps),
      END(MosaicMachineOps, powerdown), machine_check },
    { MOSAIC_KIND_DEVICE, "device", MOSAIC_DEVICE_ABI, TRUE, sizeof(MosaicDeviceOps),
      END(MosaicDeviceOps, set_prop), device_check },
    { MOSAIC_KIND_BLOCK, "block", MOSAIC_BLOCK_ABI, TRUE, sizeof(MosaicBlkDriverOps),
      END(MosaicBlkDriverOps, submit), block_check },
    { MOSAIC_KIND_BLOCK_FILTER, "block-filter", MOSAIC_BLOCK_ABI, TRUE, sizeof(MosaicBlkDriverOps),
      END(MosaicBlkDriverOps, submit), block_check },
    { MOSAIC_KIND_AUDIO, "audio", MOSAIC_AUDIO_ABI, TRUE, sizeof(MosaicAudioBackendOps),
      END(MosaicAudioBackendOps, stream_set_volume), audio_check },
    { MOSAIC_KIND_NET, "net", MOSAIC_NET_ABI, TRUE, sizeof(MosaicNetBackendOps),
      END(MosaicNetBackendOps, send), net_check },
    { MOSAIC_KIND_GPU, "gpu", MOSAIC_GPU_ABI, TRUE, sizeof(MosaicGpuBackendOps),
      END(MosaicGpuBackendOps, read_pixels), gpu_check },
    { MOSAIC_KIND_MISC, "misc", MOSAIC_MISC_ABI, FALSE, 0, 0, NULL },
    { MOSAIC_KIND_DEBUG, "debug", MOSAIC_DEBUG_ABI, TRUE, sizeof(MosaicDebugOps),
      END(MosaicDebugOps, stop), debug_check },
    { MOSAIC_KIND_EXPORT, "export", MOSAIC_EXPORT_ABI, TRUE, sizeof(MosaicExportOps),
      END(MosaicExportOps, stop), export_check },
};

const PluginKindInfo *plugin_kind_info(MosaicPluginKind kind)
{
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
        if (kinds[i].kind == kind)
            return &kinds[i];
    return NULL;
}

const char *plugin_kind_name(MosaicPluginKind kind)
{
    const PluginKindInfo *k = plugin_kind_info(kind);
    return k ? k->name : "unknown";
}

MosaicPluginKind plugin_kind_from_name(const char *name)
{
    for (size_t i = 0; name && i < G_N_ELEMENTS(kinds); i++)
        if (strcmp(kinds[i].name, name) == 0)
            return kinds[i].kind;
    return 0;
}

const char *plugin_kind_list(void)
{
    return "accel, machine, device, block, block-filter, audio, net, gpu, misc, debug, export";
}

/* [a-z0-9][a-z0-9-]*: safe in file names, INI values and patterns. */
gboolean plugin_name_valid(const char *name)
{
    if (!name || !*name || !(g_ascii_islower(*name) || g_ascii_isdigit(*name)))
        return FALSE;
    for (const char *c = name; *c; c++)
        if (!(g_ascii_islower(*c) || g_ascii_isdigit(*c) || *c == '-'))
            return FALSE;
    return strlen(name) <= 64;
}
