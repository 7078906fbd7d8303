/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Host build of memheavy.c (run_bench.py compiles it with the host gcc -O2): prints the
 * same SIG lines and PASS as the guest harness. */
#include <inttypes.h>
#include <stdio.h>

void test_main(void);

void sig(const char *name, uint64_t v)
{
    printf("SIG %s 0x%016" PRIx64 "\n", name, v);
}

int main(void)
{
    test_main();
    printf("PASS\n");
    return 0;
}
