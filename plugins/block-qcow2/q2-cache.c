/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Metadata table cache (see q2-cache.h): a hash table for lookups and a queue for the
 * least-recently-used order. */
#include <glib.h>

#include "q2-cache.h"

typedef struct Entry {
    uint64_t off;
    bool dirty;
    GList link;       /* in Q2Cache.lru; data points at this entry */
    uint64_t table[]; /* table_bytes */
} Entry;

struct Q2Cache {
    GHashTable *by_off; /* &Entry.off -> Entry */
    GQueue lru;         /* head: most recently used */
    uint64_t table_bytes;
    unsigned capacity;
};

static void entry_free(gpointer p)
{
    g_free(p);
}

Q2Cache *q2_cache_new(uint64_t max_bytes, uint64_t table_bytes)
{
    Q2Cache *c = g_new0(Q2Cache, 1);
    c->by_off = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, entry_free);
    g_queue_init(&c->lru);
    c->table_bytes = table_bytes;
    c->capacity = (unsigned)MIN(MAX(max_bytes / table_bytes, 2), G_MAXUINT);
    return c;
}

void q2_cache_free(Q2Cache *c)
{
    if (!c)
        return;
    /* The queue's links live inside the entries: the table frees both (g_queue_clear
     * would hand them to the list allocator). */
    g_hash_table_destroy(c->by_off);
    g_free(c);
}

static void remove_entry(Q2Cache *c, Entry *e)
{
    g_queue_unlink(&c->lru, &e->link);
    g_hash_table_remove(c->by_off, &e->off);
}

void *q2_cache_lookup(Q2Cache *c, uint64_t off)
{
    Entry *e = g_hash_table_lookup(c->by_off, &off);
    if (!e)
        return NULL;
    g_queue_unlink(&c->lru, &e->link);
    g_queue_push_head_link(&c->lru, &e->link);
    return e->table;
}

void *q2_cache_insert(Q2Cache *c, uint64_t off)
{
    Entry *old = g_hash_table_lookup(c->by_off, &off);
    if (old)
        remove_entry(c, old);
    /* Room for one more: drop clean tables from the cold end; dirty ones stay.  The
     * first one dropped is reused for the new table (a stream of loads costs no
     * allocations). */
    Entry *e = NULL;
    GList *l = c->lru.tail;
    while (g_queue_get_length(&c->lru) >= c->capacity && l) {
        GList *prev = l->prev;
        Entry *victim = l->data;
        if (!victim->dirty) {
            if (!e) {
                g_queue_unlink(&c->lru, &victim->link);
                g_hash_table_steal(c->by_off, &victim->off);
                e = victim;
            } else {
                remove_entry(c, victim);
            }
        }
        l = prev;
    }
    if (!e)
        e = g_malloc(sizeof *e + c->table_bytes);
    e->off = off;
    e->dirty = false;
    e->link = (GList){.data = e};
    g_hash_table_insert(c->by_off, &e->off, e);
    g_queue_push_head_link(&c->lru, &e->link);
    return e->table;
}

void q2_cache_set_dirty(Q2Cache *c, uint64_t off, bool dirty)
{
    Entry *e = g_hash_table_lookup(c->by_off, &off);
    if (e)
        e->dirty = dirty;
}

void q2_cache_drop(Q2Cache *c, uint64_t off)
{
    Entry *e = g_hash_table_lookup(c->by_off, &off);
    if (e)
        remove_entry(c, e);
}

unsigned q2_cache_count(const Q2Cache *c)
{
    return g_queue_get_length((GQueue *)&c->lru);
}

unsigned q2_cache_capacity(const Q2Cache *c)
{
    return c->capacity;
}
