/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Code-and-data workload, table on a page of its own (the twin): see codedata_loop.S.
 * Prints the checksum as a signature; both variants must print the same one. */
#include "../../guests/tests/harness.h"

#ifndef ROUNDS
#define ROUNDS 400000000u
#endif

extern uint32_t cd_data_apart[64];
uint64_t cd_work(uint64_t rounds, uint32_t *table);

void test_main(void)
{
    for (unsigned i = 0; i < 64; i++)
        cd_data_apart[i] = i * 2654435761u;
    sig("checksum", cd_work(ROUNDS, cd_data_apart));
}
