/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Can EGL start headless?  false + why (a NUL-terminated reason) when not; true + the
 * GL renderer's name ("unknown" when it cannot be asked). */
#ifndef GPU_VIRGL_EGL_PROBE_H
#define GPU_VIRGL_EGL_PROBE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
bool egl_probe(char *why, size_t len, char *renderer, size_t renderer_len);
#endif
