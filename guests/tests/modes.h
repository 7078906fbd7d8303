/* SPDX-License-Identifier: GPL-2.0-or-later */
/* See modes.S. */
#ifndef MODES_H
#define MODES_H
#include "harness.h"

enum { MODE_U = 0, MODE_S = 1, MODE_M = 3 };
void run_in_mode(uint64_t mode, void (*fn)(void), void *stack_top);
void run_return(void);
void s_trap(void);
extern volatile uint64_t s_rec[6];
#define S_CAUSE s_rec[1]
#define S_EPC s_rec[2]
#define S_TVAL s_rec[3]
#define S_COUNT s_rec[4]
#define S_STATUS s_rec[5]
extern char __stack_top_s[];

/* M-mode trap hook chaining: handles the run_exit ecall, then calls `next`. */
extern TrapHook *mode_next_hook;
int mode_hook(TrapFrame *f, uint64_t cause, uint64_t tval);
static inline void modes_init(TrapHook *next)
{
    mode_next_hook = next;
    trap_hook = mode_hook;
    csr_write(stvec, (uint64_t)s_trap);
}
static inline void run_s(void (*fn)(void)) { run_in_mode(MODE_S, fn, __stack_top_s); }
static inline void run_u(void (*fn)(void)) { run_in_mode(MODE_U, fn, __stack_top_s); }
#endif
