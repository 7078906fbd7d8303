/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A cache of metadata tables (L2 tables, refcount blocks), bounded in bytes.
 *
 * Tables are kept in host byte order, one cluster each, least recently used first out.
 * A table with changes not yet on disk is dirty and is never dropped: the cache may hold
 * more than its bound only while tables are dirty, and the driver keeps at most one dirty
 * table per cache at a time (it writes a table right after changing it), so the bound
 * holds within one table.  Pointers returned stay valid until the next lookup or insert
 * in the same cache. */
#ifndef Q2_CACHE_H
#define Q2_CACHE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct Q2Cache Q2Cache;

/* At least two tables, whatever max_bytes says (as QEMU's minimum L2 cache). */
Q2Cache *q2_cache_new(uint64_t max_bytes, uint64_t table_bytes);
void q2_cache_free(Q2Cache *c);
/* The table cached for `off` (now the most recently used), or NULL. */
void *q2_cache_lookup(Q2Cache *c, uint64_t off);
/* A new table for `off` (contents undefined, replacing any cached one): makes room by
 * dropping clean tables, least recently used first. */
void *q2_cache_insert(Q2Cache *c, uint64_t off);
/* Dirty: changed in memory, not yet written.  Clean again once written. */
void q2_cache_set_dirty(Q2Cache *c, uint64_t off, bool dirty);
/* Forgets the table for `off` (after a failed write: memory must not disagree with disk). */
void q2_cache_drop(Q2Cache *c, uint64_t off);
/* Tables held now, and how many the bound allows. */
unsigned q2_cache_count(const Q2Cache *c);
unsigned q2_cache_capacity(const Q2Cache *c);

#endif
