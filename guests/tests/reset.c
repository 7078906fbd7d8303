/* SPDX-License-Identifier: GPL-2.0-or-later */
/* System reset through the SiFive test device (0x7777): the first boot leaves a mark
 * in RAM outside the image and resets; the second boot finds it and passes.  Checks
 * that every hart restarts at the entry with a0 = hart id and a1 = the device tree. */
#include "harness.h"

#define MARK ((volatile uint64_t *)0x80f00000ul) /* past the image, not reloaded */
#define MAGIC 0x5245534554303031ull

extern uint64_t boot_a0, boot_a1;

void test_main(void)
{
    put_str("reset\n");
    check_eq("a0 = hart id", boot_a0, 0);
    CHECK(boot_a1 >= 0x80000000ull && (boot_a1 & 7) == 0);
    CHECK(*(volatile uint32_t *)boot_a1 == 0xedfe0dd0); /* FDT magic, big-endian */
    if (*MARK != MAGIC) {
        *MARK = MAGIC;
        put_str("resetting\n");
        *(volatile uint32_t *)0x100000ul = 0x7777;
        for (;;)
            ;
    }
    put_str("second boot\n");
    *MARK = 0;
    sig("reset", 1);
}
