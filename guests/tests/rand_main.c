/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Runs a generated random instruction sequence (randgen.py) and prints the final
 * registers and a hash of the memory it worked on as SIG lines. */
#include "harness.h"

void rand_body(uint64_t *out, void *mem);
static uint64_t regs[32];
static uint64_t mem[512] __attribute__((aligned(4096)));

void test_main(void)
{
    put_str("random\n");
    for (unsigned i = 0; i < 512; i++)
        mem[i] = 0x0123456789abcdefull * (i + 1) ^ ((uint64_t)i << 56);
    rand_body(regs, (uint8_t *)mem + 2048);
    static const char *const names[32] = {
        "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
        "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
        "x28", "x29", "x30", "x31"};
    for (unsigned r = 1; r < 32; r++)
        if (r != 3 && r != 4)
            sig(names[r], regs[r]);
    uint64_t h = 0;
    for (unsigned i = 0; i < 512; i++)
        h = (h ^ mem[i]) * 0x100000001b3ull + i;
    sig("mem", h);
}
