/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sized ops tables across the plugin boundary: the core keeps a zero-filled copy of
 * the size it knows, filled with min(plugin size, core size) bytes, so fields a
 * plugin predates read as NULL ("not supported"). */
#ifndef MOSAIC_CORE_UTIL_OPS_H
#define MOSAIC_CORE_UTIL_OPS_H

#include <glib.h>
#include <string.h>
#include <stdint.h>

static inline void *ops_copy(const void *ops, size_t core_size)
{
    void *copy = g_malloc0(core_size);
    if (ops) {
        uint32_t size;
        memcpy(&size, ops, sizeof(size));
        memcpy(copy, ops, MIN((size_t)size, core_size));
    }
    return copy;
}

#endif
