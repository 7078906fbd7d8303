/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bare-metal test harness: UART output, checks, signature lines, traps, exit through
 * the SiFive test device (0x5555 pass, code<<16 | 0x3333 fail).
 *
 * Output lines:  "SIG name value"  compared between Mosaic and QEMU by the tests;
 *                "INFO ..."        implementation choices the spec leaves open (not compared);
 *                "FAIL ..."        a self-check failed.  The last line is "PASS" or "FAILED n". */
#ifndef HARNESS_H
#define HARNESS_H
#include <stdint.h>

typedef struct TrapFrame {
    uint64_t x[32]; /* x[2] is the trapped sp */
    uint64_t mepc;
    uint64_t pad;
} TrapFrame;

/* A handler returns 1 when it handled the trap (frame->mepc says where to go on). */
typedef int TrapHook(TrapFrame *f, uint64_t mcause, uint64_t mtval);
extern TrapHook *trap_hook;
/* Secondary harts (1..7) run hart_entry[id](id) once hart 0 posts it and sets their
 * msip; they use 4 KiB stacks below __stack_top_harts. */
extern void (*volatile hart_entry[8])(uint64_t hartid);

void test_main(void);
void test_exit(void) __attribute__((noreturn));
void put_char(char c);
void put_str(const char *s);
void put_hex(uint64_t v);
void put_dec(uint64_t v);
void sig(const char *name, uint64_t v);
void info(const char *name, const char *what);
void check_eq(const char *name, uint64_t got, uint64_t want);
#define CHECK(cond) check_eq(#cond, (cond) ? 1 : 0, 1)
void fail(const char *what);
/* The number after `key` on the kernel command line (/chosen/bootargs), 0 without it. */
uint64_t bootarg(const char *key);
extern unsigned failures;

/* Last trap seen by the default recording hook. */
extern volatile uint64_t last_cause, last_tval, last_epc, trap_count;
/* Records the trap and skips the trapping instruction (2 or 4 bytes). */
int record_and_skip(TrapFrame *f, uint64_t mcause, uint64_t mtval);
unsigned insn_len_at(uint64_t pc);

#define csr_read(csr) ({ uint64_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" ::"rK"((uint64_t)(v)) : "memory")
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" ::"rK"((uint64_t)(v)) : "memory")
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" ::"rK"((uint64_t)(v)) : "memory")

#define CLINT_BASE 0x2000000ul
#define CLINT_MSIP ((volatile uint32_t *)(CLINT_BASE + 0x0))
#define CLINT_MTIMECMP ((volatile uint64_t *)(CLINT_BASE + 0x4000))
#define CLINT_MTIME ((volatile uint64_t *)(CLINT_BASE + 0xbff8))

#endif
