/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A DRM render node for virglrenderer's GBM/EGL path, found through libdrm. */
#ifndef GPU_VIRGL_RENDER_NODE_H
#define GPU_VIRGL_RENDER_NODE_H
#include <stddef.h>

/* Opens the first render node drmGetDevices2 lists (read-write, close-on-exec): its fd,
 * path (e.g. /dev/dri/renderD128) in `path`.  -1 when there is none or none opens, with
 * the reason in `why`. */
int render_node_open(char *path, size_t path_len, char *why, size_t why_len);
#endif
