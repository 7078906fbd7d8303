/* Builtin virtio device types. */
#include <glib.h>
#include "plugin/registry.h"
#include "virtio/virtio.h"

extern const MosaicPluginDesc virtio_blk_desc;

void virtio_register_builtins(void)
{
    static gboolean done;
    if (done)
        return;
    done = TRUE;
    plugin_registry_add_builtin(&virtio_blk_desc);
}
