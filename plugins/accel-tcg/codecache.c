/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: the code cache of a hart -- TB records (the arena) and the host code
 * jit.c generates (the code buffer) -- managed in regions, so a full cache never drops
 * everything.
 *
 * Both the arena and the code buffer are [accel] tb-size bytes, cut into NREGIONS
 * regions.  New records and new host code go to the current region; when it lacks room,
 * the least recently used other region (by the instret of the last time one of its
 * blocks was entered from C -- the run loop, the interpreter's block-to-block jump cache
 * lookup, tcg_tb_find; see tcg_cache_touch) is emptied -- every block whose record or code lives there is
 * dropped from the hash table, the page lists and the jump cache, and every patched
 * jump into such a block is unpatched -- and becomes the current one.  Blocks that are
 * still hot live in regions that are recently used and survive.  Compiled blocks that
 * chain into each other never come back to C, but every eviction drops the jump cache,
 * so the next arrival at each such block through an indirect jump is seen again.
 *
 * The cache is the hart's own (no other thread looks at it), so eviction needs no lock:
 * it runs in the hart's thread between blocks, never while generated code is running.
 * A block's code may sit in a later region than its record (it is compiled on its
 * JIT_HOT-th entry), hence the two per-region lists.  Patched jumps are same-page only
 * (jit.c), but the two blocks may sit in different regions, so every link is recorded
 * (Link) and undone when its target goes; a link whose jump itself goes is forgotten.
 *
 * W^X: the code buffer is one memfd mapped twice, writable at one address and
 * executable at another; no page is ever writable and executable in the same mapping. */
#define _GNU_SOURCE /* memfd_create */
#include "cpu.h"
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t arena_step(const Hart *h)
{
    return (h->arena_size / NREGIONS) & ~(size_t)15;
}

static size_t code_step(const Hart *h)
{
    return (h->jit_size / NREGIONS) & ~(size_t)15;
}

static void region_open(Hart *h, int r)
{
    h->cur_region = r;
    h->arena_used = (size_t)r * arena_step(h);
    h->arena_end = h->arena_used + arena_step(h);
    h->jit_used = (size_t)r * code_step(h);
    h->jit_end = h->jit_used + code_step(h);
    h->regions[r].used_at = h->instret;
}

bool tcg_cache_init(Hart *h)
{
    uint64_t size = h->acc && h->acc->tb_size ? h->acc->tb_size : 32u << 20;
    h->arena_size = h->jit_size = size;
    h->arena = malloc(size);
    h->links = NULL;
    h->nlinks = h->links_cap = 0;
    if (!h->arena)
        return false;
    tcg_jit_init(h);
    tcg_cache_reset(h);
    return true;
}

void tcg_cache_destroy(Hart *h)
{
    free(h->arena);
    h->arena = NULL;
    free(h->links);
    h->links = NULL;
    tcg_jit_destroy(h);
}

void tcg_cache_reset(Hart *h)
{
    memset(h->regions, 0, sizeof(h->regions));
    h->nlinks = 0;
    region_open(h, 0);
}

static int code_region_of(const Hart *h, const uint8_t *rx)
{
    return (int)((size_t)(rx - h->jit_rx) / code_step(h));
}

static bool in_region(const TB *tb, int v)
{
    return tb->region == v || tb->code_region == v;
}

/* Empties region v. */
static void evict(Hart *h, int v)
{
    Region *r = &h->regions[v];
    if (!r->tbs && !r->code_tbs)
        return;
    /* Links first, while every record they name is intact. */
    size_t kept = 0;
    for (size_t i = 0; i < h->nlinks; i++) {
        Link l = h->links[i];
        if (code_region_of(h, l.slot) == v)
            continue; /* the jump goes with its code */
        if (in_region(l.dst, v)) {
            tcg_jit_unlink(h, l.slot, l.unlinked_rel);
            h->st.links_undone++;
            continue;
        }
        h->links[kept++] = l;
    }
    h->nlinks = kept;
    tcg_tb_evict_region(h, v);
    r->tbs = r->code_tbs = NULL;
    h->st.region_evictions++;
}

/* Blocks entered through a patched jump never come back to C to be marked used: they
 * are as recent as the block that jumps to them (a few passes follow short chains). */
static void inherit_recency(Hart *h)
{
    for (int pass = 0; pass < 3; pass++) {
        bool moved = false;
        for (size_t i = 0; i < h->nlinks; i++) {
            const Link *l = &h->links[i];
            uint64_t t = h->regions[code_region_of(h, l->slot)].used_at;
            int to[2] = { l->dst->region, l->dst->code_region };
            for (int k = 0; k < 2; k++) {
                if (to[k] >= 0 && h->regions[to[k]].used_at < t) {
                    h->regions[to[k]].used_at = t;
                    moved = true;
                }
            }
        }
        if (!moved)
            break;
    }
}

/* Moves to the least recently used region other than the current one and `avoid`. */
static void advance(Hart *h, int avoid)
{
    inherit_recency(h);
    int best = -1;
    for (int r = 0; r < NREGIONS; r++) {
        if (r == h->cur_region || r == avoid)
            continue;
        if (best < 0 || h->regions[r].used_at < h->regions[best].used_at)
            best = r;
    }
    evict(h, best);
    region_open(h, best);
}

void tcg_cache_reserve(Hart *h, size_t need)
{
    if (h->arena_used + need > h->arena_end)
        advance(h, -1);
}

JitFn tcg_cache_compile(Hart *h, TB *tb)
{
    if (!h->jit_rw || h->step)
        return NULL;
    /* A block at an armed execute trigger must keep coming back to tcg_tb_find (its
     * entry count can wrap; h->pc is the block's pc here). */
    if (unlikely(h->trig_exec) && tcg_trigger_exec_armed(h, h->pc))
        return NULL;
    /* Room for this block's code (the generator covers at most its n instructions and
     * the end), not for the largest possible block: small regions would go half
     * unused.  The block's own record must survive making room for its code. */
    h->jit_need = (tb->n + 4) * JIT_MAX_INSN_BYTES;
    if (!tcg_jit_room(h))
        advance(h, tb->region);
    JitFn fn = tcg_jit_compile(h, tb);
    h->jit_need = 0;
    if (fn) {
        Region *r = &h->regions[h->cur_region];
        tb->code_region = (int8_t)h->cur_region;
        tb->code_prev = NULL;
        tb->code_next = r->code_tbs;
        if (r->code_tbs)
            r->code_tbs->code_prev = tb;
        r->code_tbs = tb;
    }
    return fn;
}

void tcg_cache_link(Hart *h, TB *tb)
{
    if (h->nlinks == h->links_cap) {
        size_t cap = h->links_cap ? 2 * h->links_cap : 1024;
        Link *l = realloc(h->links, cap * sizeof(*l));
        if (!l)
            return; /* the exit stays unlinked: slower, still correct */
        h->links = l;
        h->links_cap = cap;
    }
    h->links[h->nlinks++] = (Link){ .slot = h->jit_exit, .dst = tb,
                                    .unlinked_rel = tcg_jit_unlinked_rel(h, h->jit_exit) };
    tcg_jit_link(h, tb);
}

#if defined(__x86_64__) && defined(__linux__)

bool tcg_jit_init(Hart *h)
{
    h->jit_rw = h->jit_rx = NULL;
    h->jit_used = 0;
    const char *env = getenv("MOSAIC_TCG_JIT");
    if ((env && !strcmp(env, "0")) || (h->acc && h->acc->no_jit))
        return false;
    int fd = memfd_create("mosaic-tcg-code", MFD_CLOEXEC);
    if (fd < 0)
        return false;
    void *rw = MAP_FAILED, *rx = MAP_FAILED;
    if (ftruncate(fd, (off_t)h->jit_size) == 0) {
        rw = mmap(NULL, h->jit_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        rx = mmap(NULL, h->jit_size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    }
    close(fd);
    if (rw == MAP_FAILED || rx == MAP_FAILED) {
        if (rw != MAP_FAILED)
            munmap(rw, h->jit_size);
        if (rx != MAP_FAILED)
            munmap(rx, h->jit_size);
        return false; /* no executable memory (e.g. a hardened host): interpreter only */
    }
    h->jit_rw = rw;
    h->jit_rx = rx;
    return true;
}

void tcg_jit_destroy(Hart *h)
{
    if (h->jit_rw) {
        munmap(h->jit_rw, h->jit_size);
        munmap(h->jit_rx, h->jit_size);
    }
    h->jit_rw = h->jit_rx = NULL;
}

bool tcg_jit_room(Hart *h)
{
    size_t need = h->jit_need ? h->jit_need : (MAX_TB_INSNS + 4) * JIT_MAX_INSN_BYTES;
    return !h->jit_rw || h->jit_used + need <= h->jit_end;
}

#else /* no back-end for this host: no code buffer */

bool tcg_jit_init(Hart *h)
{
    h->jit_rw = h->jit_rx = NULL;
    h->jit_used = 0;
    return false;
}

void tcg_jit_destroy(Hart *h)
{
    (void)h;
}

bool tcg_jit_room(Hart *h)
{
    (void)h;
    return true;
}

#endif
