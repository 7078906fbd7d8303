/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The M-mode side of run_in_mode (see modes.S). */
#include "modes.h"

TrapHook *mode_next_hook;

int mode_hook(TrapFrame *f, uint64_t cause, uint64_t tval)
{
    if (cause == 3 && f->x[17] == 0x99) {
        csr_set(mstatus, 3ull << 11); /* return to M */
        f->mepc = (uint64_t)run_return;
        return 1;
    }
    return mode_next_hook ? mode_next_hook(f, cause, tval) : 0;
}
