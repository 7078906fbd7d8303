/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target for virtio-gpu's command processor (gpu2d.c): an input is a sequence of
 * requests, each a 16-bit little-endian length and that many bytes, run in order on one
 * device with 1 MiB of fake guest RAM at 0x80000000 (so backing pages, transfers and
 * flushes are reached).  Any crash, sanitizer report or response longer than the buffer
 * is a bug.
 *
 * libFuzzer: plugins/device-virtio-gpu/fuzz/build.sh.  With -DFUZZ_STANDALONE a main()
 * runs N random request sequences from a seed, biased towards valid commands so that
 * runs get past the length checks (tests/system/test_gpu_fuzz.py):
 *   fuzz-gpu-cmd-standalone ITERATIONS SEED */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../gpu2d.h"
#include "fuzz-common.h"

static uint8_t *ram;
static unsigned long outcomes[2]; /* OK, error: the standalone driver prints them */

static bool fake_is_ram(void *o, uint64_t gpa, uint64_t len)
{
    return gpa >= RAM_BASE && len <= RAM_SIZE && gpa - RAM_BASE <= RAM_SIZE - len;
}

static bool fake_read(void *o, uint64_t gpa, void *buf, size_t len)
{
    if (!fake_is_ram(o, gpa, len))
        return false;
    memcpy(buf, ram + (gpa - RAM_BASE), len);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ram = fuzz_ram();
    VGpu g;
    VGpuMem mem = {.is_ram = fake_is_ram, .read = fake_read};
    vgpu_init(&g, &mem, 2, 64, 48, 64u << 20);
    static uint8_t resp[EDID_RESP_SIZE + 64];
    size_t pos = 0, n;
    uint8_t *req;
    while ((req = fuzz_next_request(data, size, &pos, &n))) {
        memset(resp, 0xa5, sizeof resp);
        size_t out = vgpu_command(&g, req, n, resp, EDID_RESP_SIZE);
        free(req);
        if (out > EDID_RESP_SIZE || resp[EDID_RESP_SIZE] != 0xa5)
            abort(); /* wrote past the response buffer */
        if (out)
            outcomes[rd32(resp) < RESP_ERR_UNSPEC ? 0 : 1]++;
    }
    vgpu_destroy(&g);
    return 0;
}

#ifdef FUZZ_STANDALONE
static uint64_t gpa(void)
{
    switch (next() % 4) {
    case 0: return RAM_BASE + (next() % RAM_SIZE & ~0xfffu);
    case 1: return RAM_BASE + next() % (RAM_SIZE + 8192);
    case 2: return RAM_BASE - next() % 8192;
    default: return (uint64_t)next() << 32 | next();
    }
}

static size_t one(uint8_t *p)
{
    static const uint32_t types[] = {0x100, 0x101, 0x102, 0x103, 0x104, 0x105, 0x106, 0x107,
                                     0x108, 0x109, 0x10a, 0x300, 0x301, 0x200, 0x999};
    uint32_t type = types[next() % (sizeof types / sizeof *types)];
    size_t len = 24 + 4 * (next() % 12);
    memset(p, 0, 2 + 24 + 8 + 16 * 64);
    wr32(p + 2, type);
    wr32(p + 6, next() % 2);
    wr64(p + 10, next());
    for (unsigned i = 0; i < 8; i++)
        wr32(p + 26 + 4 * i, field());
    if (type == 0x106) {
        uint32_t entries = next() % 5 ? next() % 64 : field();
        wr32(p + 26, next() % 4);
        wr32(p + 30, entries);
        unsigned sent = next() % 65;
        for (unsigned i = 0; i < sent; i++) {
            wr64(p + 34 + 16 * i, gpa());
            wr32(p + 42 + 16 * i, next() % 3 ? 4096 : field());
        }
        len = 32 + 16 * sent - (next() % 4 ? 0 : next() % 16);
    } else if (type == 0x101) {
        wr32(p + 26, next() % 4);
        wr32(p + 30, next() % 3 ? 2 : field());
        len = next() % 8 ? 40 : len;
    } else if (type == 0x105 && next() % 2) {
        wr64(p + 42, next() % 3 ? next() % 20000 : (uint64_t)field() << 32 | field());
        wr32(p + 50, next() % 4);
        len = 56;
    }
    p[0] = (uint8_t)len;
    p[1] = (uint8_t)(len >> 8);
    return 2 + len;
}

int main(int argc, char **argv)
{
    unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;
    rng = (argc > 2 ? strtoull(argv[2], NULL, 0) : 1) * 0x9e3779b97f4a7c15ull | 1;
    static uint8_t buf[40 * (2 + 24 + 8 + 16 * 64)];
    for (unsigned long i = 0; i < iters; i++) {
        size_t size = 0;
        unsigned cmds = 1 + next() % 40;
        for (unsigned c = 0; c < cmds; c++)
            size += one(buf + size);
        if (next() % 16 == 0) /* raw noise now and then */
            for (size_t k = 0; k < size; k++)
                if (next() % 64 == 0)
                    buf[k] = (uint8_t)next();
        LLVMFuzzerTestOneInput(buf, size);
    }
    printf("%lu inputs, %lu ok, %lu errors\n", iters, outcomes[0], outcomes[1]);
    return 0;
}
#endif
