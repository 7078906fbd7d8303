/* SPDX-License-Identifier: GPL-2.0-or-later */
/* See harness.h.  Polled UART output; no interrupts needed. */
#include "harness.h"

#define UART ((volatile uint8_t *)0x10000000ul)
#define TEST_DEV ((volatile uint32_t *)0x100000ul)

unsigned failures;
TrapHook *trap_hook;
void (*volatile hart_entry[8])(uint64_t hartid);
volatile uint64_t last_cause, last_tval, last_epc, trap_count;

void put_char(char c)
{
    while (!(UART[5] & 0x20))
        ;
    UART[0] = (uint8_t)c;
}

void put_str(const char *s)
{
    while (*s)
        put_char(*s++);
}

void put_hex(uint64_t v)
{
    put_str("0x");
    for (int i = 60; i >= 0; i -= 4)
        put_char("0123456789abcdef"[(v >> i) & 15]);
}

void put_dec(uint64_t v)
{
    char b[24];
    int i = 0;
    do {
        b[i++] = '0' + v % 10;
        v /= 10;
    } while (v);
    while (i)
        put_char(b[--i]);
}

void sig(const char *name, uint64_t v)
{
    put_str("SIG ");
    put_str(name);
    put_char(' ');
    put_hex(v);
    put_char('\n');
}

void info(const char *name, const char *what)
{
    put_str("INFO ");
    put_str(name);
    put_char(' ');
    put_str(what);
    put_char('\n');
}

void fail(const char *what)
{
    failures++;
    put_str("FAIL ");
    put_str(what);
    put_char('\n');
}

void check_eq(const char *name, uint64_t got, uint64_t want)
{
    if (got != want) {
        failures++;
        put_str("FAIL ");
        put_str(name);
        put_str(" got ");
        put_hex(got);
        put_str(" want ");
        put_hex(want);
        put_char('\n');
    }
}

void test_exit(void)
{
    if (failures) {
        put_str("FAILED ");
        put_dec(failures);
        put_char('\n');
        *TEST_DEV = ((failures > 255 ? 255 : failures) << 16) | 0x3333;
    } else {
        put_str("PASS\n");
        *TEST_DEV = 0x5555;
    }
    for (;;)
        __asm__ volatile("wfi");
}

unsigned insn_len_at(uint64_t pc)
{
    uint16_t lo = *(volatile uint16_t *)pc;
    return (lo & 3) == 3 ? 4 : 2;
}

int record_and_skip(TrapFrame *f, uint64_t mcause, uint64_t mtval)
{
    last_cause = mcause;
    last_tval = mtval;
    last_epc = f->mepc;
    trap_count++;
    f->mepc += insn_len_at(f->mepc);
    return 1;
}

void trap_dispatch(TrapFrame *f)
{
    uint64_t cause = csr_read(mcause), tval = csr_read(mtval);
    if (trap_hook && trap_hook(f, cause, tval))
        return;
    put_str("FAIL unexpected trap mcause=");
    put_hex(cause);
    put_str(" mepc=");
    put_hex(f->mepc);
    put_str(" mtval=");
    put_hex(tval);
    put_char('\n');
    failures++;
    test_exit();
}

/* The compiler may call these for struct copies and zeroing loops. */
void *memset(void *d, int c, unsigned long n)
{
    volatile uint8_t *p = d;
    while (n--)
        *p++ = (uint8_t)c;
    return d;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
    volatile uint8_t *p = d;
    const uint8_t *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

extern uint64_t boot_a1;

static uint32_t be32b(const uint8_t *b) { return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]; }

uint64_t bootarg(const char *key)
{
    const char *dtb = (const char *)boot_a1;
    uint32_t size = be32b((const uint8_t *)dtb + 4), klen = 0;
    while (key[klen])
        klen++;
    for (uint32_t i = 0; i + klen < size; i++) {
        unsigned k = 0;
        while (k < klen && dtb[i + k] == key[k])
            k++;
        if (k < klen)
            continue;
        uint64_t v = 0;
        for (const char *p = dtb + i + k; *p >= '0' && *p <= '9'; p++)
            v = v * 10 + (uint64_t)(*p - '0');
        return v;
    }
    return 0;
}
