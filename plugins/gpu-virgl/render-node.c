/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Render nodes through libdrm: drmGetDevices2 lists the DRM devices with the node types
 * each has; a render node needs no DRM master and no display, which is what headless
 * rendering wants. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xf86drm.h>
#include "render-node.h"

#define MAX_DEVICES 16

int render_node_open(char *path, size_t path_len, char *why, size_t why_len)
{
    drmDevicePtr devs[MAX_DEVICES];
    int n = drmGetDevices2(0, devs, MAX_DEVICES);
    if (n <= 0) {
        snprintf(why, why_len, "libdrm lists no DRM device%s%s", n < 0 ? ": " : "",
                 n < 0 ? strerror(-n) : "");
        return -1;
    }
    int fd = -1;
    snprintf(why, why_len, "none of the %d DRM devices has a render node", n);
    for (int i = 0; i < n && fd < 0; i++) {
        if (!(devs[i]->available_nodes & (1 << DRM_NODE_RENDER)))
            continue;
        const char *node = devs[i]->nodes[DRM_NODE_RENDER];
        fd = open(node, O_RDWR | O_CLOEXEC);
        if (fd >= 0)
            snprintf(path, path_len, "%s", node);
        else
            snprintf(why, why_len, "%s: %s", node, strerror(errno));
    }
    drmFreeDevices(devs, n);
    return fd;
}
