/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Finding a gpu backend (mosaic/gpu.h): its plugin loaded on first use (the deployment
 * policy applies) and a copy of its ops table at the size this core knows. */
#include <mosaic/mosaic.h>
#include "plugin/error.h"
#include "plugin/registry.h"
#include "util/ops.h"

MOSAIC_API MosaicGpuBackendOps *mosaic_gpu_backend_find(const char *name, MosaicError *err)
{
    g_autoptr(GError) gerr = NULL;
    const MosaicPluginDesc *d = name ? plugin_registry_find(MOSAIC_KIND_GPU, name, &gerr) : NULL;
    if (!d) {
        mosaic_error_set(err, "gpu backend '%s': %s (install mosaic-gpu-%s.so)", name ? name : "",
                         gerr ? gerr->message : "not found", name ? name : "NAME");
        return NULL;
    }
    if (!plugin_registry_require(d, NULL, &gerr)) {
        mosaic_error_set(err, "gpu backend '%s': %s", name, gerr->message);
        return NULL;
    }
    return ops_copy(d->ops, sizeof(MosaicGpuBackendOps));
}
