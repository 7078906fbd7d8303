/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Integer workload: sieve, quicksort, CRC32, matrix multiply, LCG hashing, divisions.
 * Prints checksums (compare against qemu-system-riscv64 -M virt -bios none -kernel). */
#include "lib.h"
#ifndef ITER
#define ITER 40
#endif
static uint8_t sieve[200000];
static uint32_t arr[50000];
static int64_t ma[48][48], mb[48][48], mc[48][48];
static uint32_t crctab[256];

static void qs(uint32_t *a, int lo, int hi) {
    while (lo < hi) {
        uint32_t p = a[(lo + hi) / 2]; int i = lo, j = hi;
        while (i <= j) { while (a[i] < p) i++; while (a[j] > p) j--; if (i <= j) { uint32_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; } }
        if (j - lo < hi - i) { qs(a, lo, j); lo = i; } else { qs(a, i, hi); hi = j; }
    }
}
int main(void) {
    uint64_t sum = 0, seed = 12345;
    for (int i = 0; i < 256; i++) { uint32_t c = i; for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1; crctab[i] = c; }
    for (int it = 0; it < ITER; it++) {
        memset(sieve, 1, sizeof sieve);
        int np = 0;
        for (int i = 2; i < 200000; i++) if (sieve[i]) { np++; for (int j = 2 * i; j < 200000; j += i) sieve[j] = 0; }
        sum += np;
        for (int i = 0; i < 50000; i++) { seed = seed * 6364136223846793005ull + 1442695040888963407ull; arr[i] = seed >> 33; }
        qs(arr, 0, 49999);
        for (int i = 1; i < 50000; i++) if (arr[i - 1] > arr[i]) return 3;
        sum += arr[25000];
        uint32_t crc = ~0u;
        for (int i = 0; i < 50000; i++) { uint32_t w = arr[i]; for (int b = 0; b < 4; b++) crc = crctab[(crc ^ (w >> (8 * b))) & 255] ^ (crc >> 8); }
        sum += ~crc;
        for (int i = 0; i < 48; i++) for (int j = 0; j < 48; j++) { ma[i][j] = (i * 7 + j * 3 + it) % 17 - 8; mb[i][j] = (i * 5 + j * 11) % 13 - 6; }
        for (int i = 0; i < 48; i++) for (int j = 0; j < 48; j++) { int64_t s = 0; for (int k = 0; k < 48; k++) s += ma[i][k] * mb[k][j]; mc[i][j] = s; }
        for (int i = 0; i < 48; i++) sum += mc[i][i] * (i + 1);
        int64_t d = 0;
        for (int i = 1; i < 20000; i++) { d += (int64_t)(seed >> 3) / i + (int64_t)(seed % (uint64_t)(i * 7 + 1)) - (int32_t)seed / (i | 1); seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; }
        sum += d;
    }
    puts_("intbench sum="); puthex(sum); putc_('\n');
    return 0;
}
