/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tiny bare-metal helpers: UART output (NS16550 at 0x10000000). */
#include <stdint.h>
#define UART ((volatile uint8_t *)0x10000000)
static inline void putc_(char c) { while (!(UART[5] & 0x20)) ; UART[0] = c; }
static inline void puts_(const char *s) { while (*s) putc_(*s++); }
static inline void puthex(uint64_t v) { for (int i = 60; i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]); }
static inline void putdec(int64_t v) {
    char b[24]; int n = 0; uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    if (v < 0) putc_('-');
    do { b[n++] = '0' + u % 10; u /= 10; } while (u);
    while (n) putc_(b[--n]);
}
static inline void kv(const char *k, uint64_t v) { puts_(k); putc_('='); puthex(v); putc_('\n'); }
#define CSRR(csr) ({ uint64_t _v; asm volatile("csrr %0, " #csr : "=r"(_v)); _v; })
#define CSRW(csr, v) asm volatile("csrw " #csr ", %0" :: "r"((uint64_t)(v)))
static void *memset(void *d, int c, unsigned long n) { uint8_t *p = d; while (n--) *p++ = c; return d; }
static void *memcpy(void *d, const void *s, unsigned long n) { uint8_t *p = d; const uint8_t *q = s; while (n--) *p++ = *q++; return d; }
