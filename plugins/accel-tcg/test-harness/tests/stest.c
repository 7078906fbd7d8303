/* SPDX-License-Identifier: GPL-2.0-or-later */
/* S-mode privileged test under OpenSBI: traps, Sv39, U-mode, SUM/MXR, A/D, timer. */
#include <stdint.h>
#define CSRR(csr) ({ uint64_t _v; asm volatile("csrr %0, " #csr : "=r"(_v)); _v; })
#define CSRW(csr, v) asm volatile("csrw " #csr ", %0" :: "r"((uint64_t)(v)) : "memory")
#define CSRS(csr, v) asm volatile("csrs " #csr ", %0" :: "r"((uint64_t)(v)) : "memory")
#define CSRC(csr, v) asm volatile("csrc " #csr ", %0" :: "r"((uint64_t)(v)) : "memory")
static long sbi(long ext, long fid, long a0, long a1) {
    register long r0 asm("a0") = a0, r1 asm("a1") = a1, r6 asm("a6") = fid, r7 asm("a7") = ext;
    asm volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r6), "r"(r7) : "memory");
    return r0;
}
static void putc_(char c) { sbi(1, 0, c, 0); }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void puthex(uint64_t v) { for (int i = 60; i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]); }
static void kv(const char *k, uint64_t v) { puts_(k); putc_('='); puthex(v); putc_('\n'); }

static volatile uint64_t last_cause, last_tval, ntraps, skip_len;
static volatile int user_done;
uint64_t trap_c(uint64_t *regs) {
    uint64_t cause = CSRR(scause), tval = CSRR(stval), epc = CSRR(sepc);
    last_cause = cause; last_tval = tval; ntraps++;
    if (cause == 0x8000000000000005ull) { sbi(0x54494D45, 0, -1, 0); CSRC(sie, 1 << 5); return 0; }
    if (cause == 8) { /* ecall from U: a0 = value to report, back to S */
        user_done = 1;
        CSRS(sstatus, 1 << 8);   /* SPP = S */
        CSRW(sepc, regs[1]);     /* return to ra saved by the U entry */
        return 0;
    }
    uint16_t lo = *(volatile uint16_t *)epc;
    CSRW(sepc, epc + ((lo & 3) == 3 ? 4 : 2));
    return 0;
}
static uint64_t pt_root[512] __attribute__((aligned(4096)));
static uint64_t pt_l1[512] __attribute__((aligned(4096)));
static uint64_t pt_l0[512] __attribute__((aligned(4096)));
static uint8_t pages[6][4096] __attribute__((aligned(4096)));
#define PTE(pa, f) ((((uint64_t)(pa)) >> 12 << 10) | (f))
enum { V = 1, R = 2, W = 4, X = 8, U = 16, G = 32, A = 64, D = 128 };
static uint64_t ld(uint64_t va) { return *(volatile uint64_t *)va; }
static void sd(uint64_t va, uint64_t v) { *(volatile uint64_t *)va = v; }

void user_fn(void);
asm(".globl user_fn\nuser_fn:\n li t0, 0x40000000\n ld a0, 0(t0)\n ecall\n");

int main(void) {
    puts_("stest start\n");
    /* illegal instruction, ebreak, misaligned */
    asm volatile(".word 0xffffffff"); kv("illegal cause", last_cause); kv("illegal tval", last_tval);
    asm volatile(".word 0x00000000" ::: "memory"); kv("illegal0 cause", last_cause);
    asm volatile("ebreak"); kv("ebreak cause", last_cause);
    asm volatile("csrr t0, 0x14d" ::: "t0"); kv("stimecmp cause", last_cause);
    static uint8_t buf[32] __attribute__((aligned(8)));
    for (int i = 0; i < 32; i++) buf[i] = i * 7;
    kv("misaligned ld", *(volatile uint64_t *)(buf + 3));
    *(volatile uint32_t *)(buf + 5) = 0xdeadbeef; kv("misaligned st", *(volatile uint64_t *)(buf + 0));
    uint64_t n0 = ntraps;
    asm volatile("amoadd.w t0, t1, (%0)" :: "r"(buf + 2) : "t0", "memory"); kv("amo misaligned cause", last_cause); kv("traps", ntraps - n0);
    /* AMO and LR/SC */
    volatile uint64_t word = 5; uint64_t old, sc;
    asm volatile("amoadd.d %0, %2, (%1)" : "=r"(old) : "r"(&word), "r"(10L) : "memory"); kv("amoadd old", old); kv("amoadd new", word);
    asm volatile("amomin.d %0, %2, (%1)" : "=r"(old) : "r"(&word), "r"(-3L) : "memory"); kv("amomin new", word);
    asm volatile("amomaxu.d %0, %2, (%1)" : "=r"(old) : "r"(&word), "r"(7L) : "memory"); kv("amomaxu new", word);
    asm volatile("lr.d %0, (%2)\n sc.d %1, %3, (%2)" : "=&r"(old), "=&r"(sc) : "r"(&word), "r"(42L) : "memory"); kv("sc ok", sc); kv("sc val", word);
    asm volatile("sc.d %0, %2, (%1)" : "=r"(sc) : "r"(&word), "r"(43L) : "memory"); kv("sc noresv", sc);
    /* satp WARL */
    CSRW(satp, 11ull << 60); kv("satp sv64", CSRR(satp));
    /* Sv39: root[2] gigapage identity for 0x80000000, root[1] -> l1 -> l0 for 0x40000000 */
    pt_root[2] = PTE(0x80000000, V | R | W | X | A | D);
    pt_root[1] = PTE(pt_l1, V);
    pt_l1[0] = PTE(pt_l0, V);
    pt_l0[0] = PTE(pages[0], V | R | W | U);            /* 0x40000000 user RW, A/D clear */
    pt_l0[1] = PTE(pages[1], V | R | A);                 /* 0x40001000 read-only */
    pt_l0[2] = PTE(pages[2], V | X | A);                 /* 0x40002000 execute-only */
    pt_l0[3] = PTE(pages[3], V | W | A);                 /* 0x40003000 W without R: reserved */
    pt_l0[4] = PTE(user_fn, V | R | X | U | A);          /* 0x40004000 user code (page of user_fn) */
    pages[0][0] = 0x11; pages[1][0] = 0x22; pages[2][0] = 0x33;
    uint64_t satp = (8ull << 60) | ((uint64_t)pt_root >> 12);
    CSRW(satp, satp); asm volatile("sfence.vma" ::: "memory");
    kv("satp", CSRR(satp) == satp);
    n0 = ntraps;
    kv("ro read", ld(0x40001000));
    sd(0x40001000, 1); kv("ro store cause", last_cause); kv("ro store tval", last_tval);
    ld(0x40003000); kv("wnr cause", last_cause);
    ld(0x40005008); kv("unmapped cause", last_cause); kv("unmapped tval", last_tval);
    ld(0x4000000000ull); kv("noncanon cause", last_cause); kv("noncanon tval", last_tval);
    ld(0x40002000); kv("xonly cause", last_cause);
    CSRS(sstatus, 1 << 19); kv("mxr read", ld(0x40002000)); CSRC(sstatus, 1 << 19);
    ld(0x40000000); kv("user page no SUM cause", last_cause);
    CSRS(sstatus, 1 << 18); kv("user page SUM", ld(0x40000000));
    kv("pte A after read", (pt_l0[0] & (A | D)));
    sd(0x40000008, 5); kv("pte AD after write", (pt_l0[0] & (A | D)));
    CSRC(sstatus, 1 << 18);
    kv("page traps", ntraps - n0);
    /* U mode: sret into user_fn mapped at 0x40004000 + offset */
    uint64_t ufn = 0x40004000 + ((uint64_t)user_fn & 0xfff);
    CSRW(sscratch, (uint64_t)pages[5] + 4096);
    CSRC(sstatus, 1 << 8); /* SPP = U */
    CSRW(sepc, ufn);
    asm volatile("la ra, 1f\n sret\n 1:" ::: "ra", "t0", "a0", "memory");
    CSRW(sscratch, 0);
    kv("user ecall cause", last_cause);
    /* timer interrupt through SBI */
    uint64_t t = CSRR(time);
    sbi(0x54494D45, 0, t + 10000, 0);
    CSRS(sie, 1 << 5); CSRS(sstatus, 2);
    while (last_cause != 0x8000000000000005ull) asm volatile("wfi");
    CSRC(sstatus, 2);
    kv("timer cause", last_cause);
    kv("time advances", CSRR(time) > t);
    /* FP off -> illegal */
    CSRC(sstatus, 3 << 13);
    asm volatile("fadd.d f0, f1, f2"); kv("fp off cause", last_cause);
    CSRS(sstatus, 1 << 13);
    asm volatile("fadd.d f0, f1, f2"); kv("fs after", (CSRR(sstatus) >> 13) & 3); kv("sd", CSRR(sstatus) >> 63);
    puts_("stest done\n");
    return 0;
}
