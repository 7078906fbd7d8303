/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Types the block layer compiles into the core. */
#include "block/block-internal.h"
#include "block/defer-flush.h"
#include "plugin/registry.h"
#include "machine/machine.h"

void blk_register_builtins(void)
{
    static gboolean done;
    if (done)
        return;
    done = TRUE;
    plugin_registry_add_builtin(&blk_file_desc);
    plugin_registry_add_builtin(&blk_raw_desc);
    plugin_registry_add_builtin(&blk_defer_flush_desc);
    machine_register_builtins(); /* temporary nodes are described as "none" machines */
}
