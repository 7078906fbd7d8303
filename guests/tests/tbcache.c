/* SPDX-License-Identifier: GPL-2.0-or-later */
/* More code than a small code cache holds: 4096 distinct functions called once per
 * round in rotation (cold), and 64 functions called 64 times as often (hot).  With
 * `[accel] tb-size = 1M` the cold code overflows the cache every round; a cache that
 * evicts its least recently used region keeps the hot code, one that flushes whole
 * translates it again after every flush.  Rounds: `tbcache.rounds=N` on the kernel
 * command line (default 4).  `tbcache.burst=N` calls each cold function N times in a row
 * (default 1): with N >= 8 Mosaic compiles them too, and chains each function's blocks
 * (a loop inside), so evictions must also undo jumps into evicted blocks from blocks that
 * stay.  The result is compared with QEMU. */
#include "harness.h"

/* Distinct constants per function, so no two bodies are alike (no merging). */
#define FN(name, id)                                                              \
    static uint64_t name##id(uint64_t x)                                          \
    {                                                                             \
        x = (x ^ 0x##id##1ull) * 0x9e3779b97f4a7c15ull;                           \
        for (unsigned k = (x >> 60) & 3; k; k--)                                  \
            x += (x >> 13) + 0x##id##3ull;                                        \
        x ^= (x << 7) + 0x##id##5ull;                                             \
        return x - (x >> 29) + 0x##id##7ull;                                      \
    }
#define PTR(name, id) name##id,

#define L1(M, n, p) M(n, p##0) M(n, p##1) M(n, p##2) M(n, p##3) M(n, p##4) M(n, p##5) \
    M(n, p##6) M(n, p##7) M(n, p##8) M(n, p##9) M(n, p##a) M(n, p##b) M(n, p##c)      \
    M(n, p##d) M(n, p##e) M(n, p##f)
#define L2(M, n, p) L1(M, n, p##0) L1(M, n, p##1) L1(M, n, p##2) L1(M, n, p##3)       \
    L1(M, n, p##4) L1(M, n, p##5) L1(M, n, p##6) L1(M, n, p##7) L1(M, n, p##8)        \
    L1(M, n, p##9) L1(M, n, p##a) L1(M, n, p##b) L1(M, n, p##c) L1(M, n, p##d)        \
    L1(M, n, p##e) L1(M, n, p##f)
#define L3(M, n) L2(M, n, 1) L2(M, n, 2) L2(M, n, 3) L2(M, n, 4) L2(M, n, 5)          \
    L2(M, n, 6) L2(M, n, 7) L2(M, n, 8) L2(M, n, 9) L2(M, n, a) L2(M, n, b)           \
    L2(M, n, c) L2(M, n, d) L2(M, n, e) L2(M, n, f) L2(M, n, 0)

#define NCOLD 4096
#define NHOT 64

L3(FN, cold_)
L1(FN, hot_, 1fc) L1(FN, hot_, 1fd) L1(FN, hot_, 1fe) L1(FN, hot_, 1ff)

typedef uint64_t Fn(uint64_t);
static Fn *const cold[NCOLD] = { L3(PTR, cold_) };
static Fn *const hot[NHOT] = { L1(PTR, hot_, 1fc) L1(PTR, hot_, 1fd) L1(PTR, hot_, 1fe) L1(PTR, hot_, 1ff) };

void test_main(void)
{
    put_str("tbcache\n");
    uint64_t rounds = bootarg("tbcache.rounds=");
    if (!rounds)
        rounds = 4;
    uint64_t burst = bootarg("tbcache.burst=");
    if (!burst)
        burst = 1;
    uint64_t acc = 1;
    for (uint64_t r = 0; r < rounds; r++) {
        for (unsigned i = 0; i < NCOLD; i++) {
            for (uint64_t b = 0; b < burst; b++)
                acc = cold[i](acc);
            for (unsigned j = 0; j < 4; j++)
                acc = hot[(i * 4 + j) % NHOT](acc);
        }
    }
    sig("acc", acc);
    sig("rounds", rounds);
    sig("burst", burst);
}
