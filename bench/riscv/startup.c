/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Does nothing: run_bench.py times it to report each emulator's start-up (and
 * shutdown) CPU time separately from the workloads. */
#include "../../guests/tests/harness.h"

void test_main(void)
{
}
