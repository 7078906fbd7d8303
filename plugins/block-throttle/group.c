/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Throttle groups: buckets shared by member nodes, served round-robin by one timer.
 * The leaky bucket follows QEMU's docs/throttle.txt: a bucket leaks at `avg`; a request
 * may go while the level is below the bucket size (avg/10, or max * max-length when a
 * burst is configured); a burst bucket leaking at `max` bounds the burst rate. */
#include <math.h>
#include <string.h>

#include "throttle.h"

const char *const throttle_names[B_N] = {"bps-total", "bps-read", "bps-write",
                                         "iops-total", "iops-read", "iops-write"};
static GHashTable *groups; /* name -> TGroup* */

TGroup *tg_find(const char *name)
{
    return groups ? g_hash_table_lookup(groups, name) : NULL;
}

void tg_foreach(void (*fn)(TGroup *g, void *opaque), void *opaque)
{
    if (!groups)
        return;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, groups);
    while (g_hash_table_iter_next(&it, &k, &v))
        fn(v, opaque);
}

static void timer_cb(void *opaque)
{
    TGroup *g = opaque;
    g->timer_armed = false;
    tg_schedule(g);
}

void tg_set_limits_from_props(TGroup *g, const MosaicProps *p)
{
    for (int i = 0; i < B_N; i++) {
        g_autofree char *mk = g_strdup_printf("%s-max", throttle_names[i]);
        g_autofree char *lk = g_strdup_printf("%s-max-length", throttle_names[i]);
        g->b[i].avg = mosaic_props_get_uint(p, throttle_names[i]);
        g->b[i].max = mosaic_props_get_uint(p, mk);
        g->b[i].max_length = mosaic_props_get_uint(p, lk);
        if (g->b[i].max_length < 1)
            g->b[i].max_length = 1;
    }
    g->iops_size = mosaic_props_get_uint(p, "iops-size");
}

TGroup *tg_get(const char *name, const MosaicProps *limits, MosaicError *err)
{
    if (!groups)
        groups = g_hash_table_new(g_str_hash, g_str_equal);
    TGroup *g = g_hash_table_lookup(groups, name);
    if (g)
        return g;
    g = g_new0(TGroup, 1);
    g->name = g_strdup(name);
    g->members = g_ptr_array_new();
    g->timer = mosaic_timer_new(MOSAIC_CLOCK_HOST, timer_cb, g);
    g->last_ns = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
    if (limits)
        tg_set_limits_from_props(g, limits);
    g_hash_table_insert(groups, g->name, g);
    return g;
}

void tg_leak(TGroup *g, int64_t now)
{
    double dt = (now - g->last_ns) / 1e9;
    if (dt <= 0)
        return;
    g->last_ns = now;
    for (int i = 0; i < B_N; i++) {
        Bucket *b = &g->b[i];
        b->level = fmax(0, b->level - b->avg * dt);
        b->burst = fmax(0, b->burst - b->max * dt);
    }
}

static bool applies(int i, bool w)
{
    return i == B_BPS_TOTAL || i == B_IOPS_TOTAL || i == (w ? B_BPS_WRITE : B_BPS_READ) ||
           i == (w ? B_IOPS_WRITE : B_IOPS_READ);
}

int64_t tg_wait(TGroup *g, bool w, uint64_t bytes)
{
    double wait = 0;
    for (int i = 0; i < B_N; i++) {
        Bucket *b = &g->b[i];
        if (!b->avg || !applies(i, w))
            continue;
        double size = b->max ? b->max * b->max_length : b->avg / 10;
        if (b->level > size)
            wait = fmax(wait, (b->level - size) / b->avg);
        if (b->max) {
            double bsize = b->max / 10;
            if (b->burst > bsize)
                wait = fmax(wait, (b->burst - bsize) / b->max);
        }
    }
    return (int64_t)(wait * 1e9);
}

void tg_account(TGroup *g, bool w, uint64_t bytes)
{
    double ops = 1;
    if (g->iops_size && bytes > g->iops_size)
        ops = (double)bytes / g->iops_size; /* large requests count as several */
    for (int i = 0; i < B_N; i++) {
        if (!g->b[i].avg || !applies(i, w))
            continue;
        double cost = i <= B_BPS_WRITE ? (double)bytes : ops;
        g->b[i].level += cost;
        if (g->b[i].max)
            g->b[i].burst += cost;
    }
}

/* Serves held requests round-robin over members while the buckets allow, then arms
 * the timer for the next one.  Main loop thread. */
void tg_schedule(TGroup *g)
{
    for (;;) {
        int64_t now = mosaic_clock_ns(MOSAIC_CLOCK_HOST);
        tg_leak(g, now);
        TNode *pick = NULL;
        int dir = 0;
        int64_t best = INT64_MAX;
        /* The next member (round-robin) with a request; both directions considered. */
        for (guint k = 0; k < g->members->len && !pick; k++) {
            TNode *n = g_ptr_array_index(g->members, (g->rr + k) % g->members->len);
            for (int d = 0; d < 2; d++) {
                Held *h = g_queue_peek_head(&n->queue[d]);
                if (!h)
                    continue;
                int64_t wt = tg_wait(g, d, h->req->bytes);
                if (wt == 0) {
                    pick = n;
                    dir = d;
                    g->rr = ((g->rr + k) + 1) % g->members->len;
                    break;
                }
                best = MIN(best, wt);
            }
        }
        if (!pick) {
            if (best != INT64_MAX && !g->timer_armed) {
                g->timer_armed = true;
                mosaic_timer_mod(g->timer, now + MAX(best, 100000));
            }
            return;
        }
        tn_dispatch_head(pick, dir);
    }
}
