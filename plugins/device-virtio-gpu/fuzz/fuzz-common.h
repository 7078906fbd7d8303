/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the two virtio-gpu fuzz targets share: 1 MiB of patterned fake guest RAM at
 * 0x80000000, the input format (requests, each a 16-bit little-endian length and that
 * many bytes) and, for the standalone drivers, the random fields. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (1u << 20)

/* The fake RAM, allocated and patterned on first use. */
static inline uint8_t *fuzz_ram(void)
{
    static uint8_t *ram;
    if (!ram) {
        ram = malloc(RAM_SIZE);
        for (unsigned i = 0; i < RAM_SIZE; i++)
            ram[i] = (uint8_t)(i * 31 + 7);
    }
    return ram;
}

/* The next request at *pos: a private copy of exactly *n bytes (ASan sees any read
 * past it; free it), or NULL at the end of the input. */
static inline uint8_t *fuzz_next_request(const uint8_t *data, size_t size, size_t *pos, size_t *n)
{
    if (*pos + 2 > size)
        return NULL;
    size_t len = data[*pos] | data[*pos + 1] << 8;
    *pos += 2;
    len = len < size - *pos ? len : size - *pos;
    uint8_t *req = malloc(len ? len : 1);
    memcpy(req, data + *pos, len);
    *pos += len;
    *n = len;
    return req;
}

#ifdef FUZZ_STANDALONE
static uint64_t rng;
static inline uint32_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* A field: mostly small or near the edges (of a 64x48 output), sometimes anything. */
static inline uint32_t field(void)
{
    switch (next() % 6) {
    case 0: return next() % 4;
    case 1: return 64 - next() % 4;
    case 2: return 48 + next() % 3;
    case 3: return next() % 200;
    case 4: return 0xffffffffu - next() % 4;
    default: return next();
    }
}
#endif
#endif
