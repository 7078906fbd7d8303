/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Memory-heavy workload (issue 18): sorting, SHA-256 and random updates of a 64 MiB
 * table, each over data far from the code.  Bare metal on riscv-virt (the buffers sit at
 * fixed addresses in RAM above the 16 MiB program area), and the same source built for
 * the host (NATIVE, buffers from malloc) for the ratio to native execution.  Prints one
 * SIG line per part; every build must print the same values. */
#ifdef NATIVE
#include <stdint.h>
#include <stdlib.h>
void sig(const char *name, uint64_t v);
#else
#include "../../guests/tests/harness.h"
#endif

#define SORT_N (1u << 20)          /* 4 MiB of uint32 */
#ifndef SORT_ROUNDS
#define SORT_ROUNDS 16u
#endif
#define SHA_BYTES (4u << 20)
#ifndef SHA_ROUNDS
#define SHA_ROUNDS 32u
#endif
#define TABLE_N (8u << 20)         /* 64 MiB of uint64 */
#ifndef TABLE_UPDATES
#define TABLE_UPDATES (24u << 20)
#endif

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static inline uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void sort_u32(uint32_t *a, long lo, long hi)
{
    while (hi - lo > 16) {
        uint32_t p = a[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p)
                i++;
            while (a[j] > p)
                j--;
            if (i <= j) {
                uint32_t t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        /* Recurse into the smaller side, loop on the larger: depth stays O(log n). */
        if (j - lo < hi - i) {
            sort_u32(a, lo, j);
            lo = i;
        } else {
            sort_u32(a, i, hi);
            hi = j;
        }
    }
    for (long i = lo + 1; i <= hi; i++) {
        uint32_t v = a[i];
        long j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static uint64_t part_sort(uint32_t *a)
{
    uint64_t sum = 0;
    for (unsigned r = 0; r < SORT_ROUNDS; r++) {
        for (uint32_t i = 0; i < SORT_N; i++)
            a[i] = (uint32_t)next();
        sort_u32(a, 0, SORT_N - 1);
        for (uint32_t i = 0; i < SORT_N; i += 4099)
            sum = sum * 31 + a[i];
    }
    return sum;
}

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

static uint64_t part_sha(uint8_t *buf)
{
    for (uint32_t i = 0; i < SHA_BYTES; i += 8) {
        uint64_t v = next();
        for (int b = 0; b < 8; b++)
            buf[i + b] = (uint8_t)(v >> (8 * b));
    }
    uint64_t sum = 0;
    for (unsigned r = 0; r < SHA_ROUNDS; r++) {
        /* Chained: each round hashes the buffer with the previous digest mixed in. */
        uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
        buf[r % SHA_BYTES] ^= (uint8_t)sum;
        for (uint32_t i = 0; i < SHA_BYTES; i += 64)
            sha256_block(h, buf + i);
        sum = sum * 31 + ((uint64_t)h[0] << 32 | h[7]);
    }
    return sum;
}

static uint64_t part_table(uint64_t *t)
{
    for (uint32_t i = 0; i < TABLE_N; i++)
        t[i] = i * 0x9e3779b97f4a7c15ull;
    uint64_t sum = 0;
    for (uint32_t u = 0; u < TABLE_UPDATES; u++) {
        uint64_t r = next();
        uint64_t *p = &t[r & (TABLE_N - 1)];
        *p ^= r;
        sum += *p >> 7;
    }
    return sum;
}

#ifdef NATIVE
void test_main(void)
{
    uint32_t *a = malloc(SORT_N * 4);
    uint8_t *buf = malloc(SHA_BYTES);
    uint64_t *t = malloc((uint64_t)TABLE_N * 8);
#else
void test_main(void)
{
    uint32_t *a = (uint32_t *)0x81000000ul;   /* above the 16 MiB program area */
    uint8_t *buf = (uint8_t *)0x81800000ul;
    uint64_t *t = (uint64_t *)0x82000000ul;   /* 64 MiB, up to 0x86000000 */
#endif
    sig("sort", part_sort(a));
    sig("sha256", part_sha(buf));
    sig("table", part_table(t));
}
