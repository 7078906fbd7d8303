/* Types the block layer compiles into the core. */
#include "block/block-internal.h"
#include "block/defer-flush.h"
#include "block/fleece.h"
#include "plugin/registry.h"
#include "virtio/virtio.h"

void blk_register_builtins(void)
{
    static gboolean done;
    if (done)
        return;
    done = TRUE;
    plugin_registry_add_builtin(&blk_file_desc);
    plugin_registry_add_builtin(&blk_raw_desc);
    plugin_registry_add_builtin(&blk_snapshot_access_desc);
    plugin_registry_add_builtin(&blk_defer_flush_desc);
    plugin_registry_add_builtin(&blk_machine_none_desc);
    nbd_register_section();
    virtio_register_builtins();
}
