/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tables that cross the plugin boundary as arrays of sized elements (props, sections,
 * command arguments), ended by an element whose first field, a pointer, is NULL.  The
 * plugin says how big its elements are (0: the ABI 1.0 size); the core steps by that
 * and keeps zero-filled copies with its own element size, min(sizes) of each, so
 * fields newer than the plugin read as 0/NULL. */
#ifndef MOSAIC_CORE_UTIL_TABLE_H
#define MOSAIC_CORE_UTIL_TABLE_H

#include <glib.h>
#include <string.h>
#include <stdint.h>

#define TABLE_MAX_ELEMENT 4096
#define TABLE_MAX_ENTRIES 4096

/* The element size to step by, or 0 when `declared` cannot be one (smaller than the
 * 1.0 element, too big, or not a multiple of a pointer's size). */
static inline size_t table_stride(uint32_t declared, size_t size_1_0)
{
    size_t s = declared ? declared : size_1_0;
    return s < size_1_0 || s > TABLE_MAX_ELEMENT || s % sizeof(void *) ? 0 : s;
}

/* Entries before the terminator; -1 when there are more than TABLE_MAX_ENTRIES. */
static inline gssize table_count(const void *table, size_t stride)
{
    for (gssize n = 0; table && n <= TABLE_MAX_ENTRIES; n++) {
        const void *first;
        memcpy(&first, (const char *)table + n * stride, sizeof(first));
        if (!first)
            return n;
    }
    return table ? -1 : 0;
}

/* n elements of `stride` bytes into zero-filled elements of `elem` bytes at dst. */
static inline void table_copy(void *dst, const void *src, size_t n, size_t stride, size_t elem)
{
    for (size_t i = 0; i < n; i++)
        memcpy((char *)dst + i * elem, (const char *)src + i * stride, MIN(stride, elem));
}

#endif
