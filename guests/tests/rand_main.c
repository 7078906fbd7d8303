/* Runs a generated random instruction sequence (randgen.py) and prints the final
 * registers as SIG lines. */
#include "harness.h"

void rand_body(uint64_t *out);
static uint64_t regs[32];

void test_main(void)
{
    put_str("random\n");
    rand_body(regs);
    static const char *const names[32] = {
        "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
        "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
        "x28", "x29", "x30", "x31"};
    for (unsigned r = 1; r < 32; r++)
        if (r != 4)
            sig(names[r], regs[r]);
}
