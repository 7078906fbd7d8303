/* Builtin virtio device types. */
#include <glib.h>
#include "plugin/registry.h"
#include "virtio/virtio.h"

void virtio_register_builtins(void)
{
    static gboolean done;
    if (done)
        return;
    done = TRUE;
}
