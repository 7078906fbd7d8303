/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The "none" machine: no CPU, no RAM, no guest; the block graph, exports and monitor
 * run alone (a storage daemon).  The machine code skips the accelerator and vCPUs
 * when a board's arch is "none".
 *
 * Builtin rather than a plugin: the core itself describes temporary block nodes as
 * machine files of this type (block/node-text.c, blockdev-add.c, graph.c), which must
 * work with no plugin directory at all (unit tests, tools). */
#include "machine/machine.h"
#include "plugin/registry.h"

static int none_board;

static void *none_init(MosaicMachine *m, const MosaicProps *props, MosaicError *err)
{
    return &none_board;
}

static bool none_get_slot(void *board, const char *bus, MosaicBusSlot *slot, MosaicError *err)
{
    mosaic_error_set(err, "machine type 'none' has no buses (no '%s' slot for devices)", bus);
    return false;
}

static const MosaicMachineOps none_ops = {
    .size = sizeof(MosaicMachineOps),
    .arch = "none",
    .init = none_init,
    .get_slot = none_get_slot,
};

static const MosaicPluginDesc machine_none_desc = {
    .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
    .size = sizeof(MosaicPluginDesc), .kind = MOSAIC_KIND_MACHINE, .kind_abi = MOSAIC_MACHINE_ABI,
    .name = "none", .version = "1.0", .license = "GPL-2.0-or-later",
    .description = "storage only: block graph, exports and monitor, no CPU and no guest",
    .ops = &none_ops,
};

void machine_register_builtins(void)
{
    static gboolean done;
    if (!done)
        plugin_registry_add_builtin(&machine_none_desc);
    done = TRUE;
}
