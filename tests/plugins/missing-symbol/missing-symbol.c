/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A shared object without the mosaic_plugin descriptor. */
#include <mosaic/plugin.h>

MOSAIC_EXPORT int mosaic_plugin_typo = 1;
