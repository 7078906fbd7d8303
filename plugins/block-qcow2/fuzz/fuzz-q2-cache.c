/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the metadata table cache (q2-cache.c) under any sequence of lookups,
 * inserts, dirty marks and drops over more tables than it holds.  A dirty table is never
 * dropped and keeps its contents; after making room the cache holds no more than its
 * bound plus the dirty tables.  (The driver lost writes when a request touched more L2 tables than the old
 * cache held.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../q2-cache.h"

#define TABLE 64
#define KEYS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    Q2Cache *c = q2_cache_new((uint64_t)(data[0] % 8) * TABLE, TABLE);
    unsigned char dirty[KEYS] = {0}, stamp[KEYS] = {0};
    for (size_t i = 1; i + 1 < size; i += 2) {
        unsigned op = data[i] % 4, k = data[i + 1] % KEYS;
        uint64_t off = (uint64_t)k * 4096;
        uint8_t *t;
        switch (op) {
        case 0: /* load: lookup, else insert (as q2_table_load) */
            t = q2_cache_lookup(c, off);
            if (!t) {
                if (dirty[k])
                    abort(); /* a dirty table was dropped */
                t = q2_cache_insert(c, off);
                memset(t, k, TABLE);
                stamp[k] = (unsigned char)k;
                /* Making room dropped every clean table it had to: above the bound
                 * only by dirty ones. */
                unsigned ndirty = 0;
                for (unsigned j = 0; j < KEYS; j++)
                    ndirty += dirty[j];
                if (q2_cache_count(c) > q2_cache_capacity(c) + ndirty)
                    abort();
            }
            if (t[0] != stamp[k] || t[TABLE - 1] != stamp[k])
                abort(); /* another table's contents */
            break;
        case 1: /* change: dirty, new contents (as commit, before the write) */
            t = q2_cache_lookup(c, off);
            if (t) {
                q2_cache_set_dirty(c, off, 1);
                dirty[k] = 1;
                stamp[k] = data[i + 1];
                memset(t, stamp[k], TABLE);
            }
            break;
        case 2: /* written: clean again */
            q2_cache_set_dirty(c, off, 0);
            dirty[k] = 0;
            break;
        default: /* a failed write: forgotten */
            q2_cache_drop(c, off);
            dirty[k] = 0;
            break;
        }
    }
    q2_cache_free(c);
    return 0;
}
