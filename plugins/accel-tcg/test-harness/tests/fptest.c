/* SPDX-License-Identifier: GPL-2.0-or-later */
/* F/D differential test: every op over special values in every rounding mode; prints a
 * checksum of (result bits, fflags) per operation. */
#include "lib.h"
static const uint64_t dv[] = {
    0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull, 0x3ff8000000000000ull,
    0x4004000000000000ull, 0xc004000000000000ull, 0x3fe0000000000000ull, 0x7fefffffffffffffull,
    0x0000000000000001ull, 0x000fffffffffffffull, 0x0010000000000000ull, 0x7ff0000000000000ull,
    0xfff0000000000000ull, 0x7ff8000000000000ull, 0x7ff0000000000001ull, 0xfff8000000000123ull,
    0x41e0000000000000ull, 0x41dfffffffc00000ull, 0xc1e0000000000000ull, 0xc1e0000000200000ull,
    0x43e0000000000000ull, 0x43dfffffffffffffull, 0xc3e0000000000000ull, 0x43f0000000000000ull,
    0x41efffffffe00000ull, 0x400921fb54442d18ull, 0xbfd5555555555555ull, 0x3ff0000000000001ull,
    0x4330000000000001ull, 0xc3f0000000000000ull, 0x47efffffe0000000ull, 0x36a0000000000000ull,
};
static const uint32_t sv[] = {
    0, 0x80000000u, 0x3f800000u, 0xbf800000u, 0x3fc00000u, 0x40200000u, 0xc0200000u, 0x3f000000u,
    0x7f7fffffu, 0x00000001u, 0x007fffffu, 0x00800000u, 0x7f800000u, 0xff800000u, 0x7fc00000u,
    0x7f800001u, 0xffc00123u, 0x4f000000u, 0x4effffffu, 0xcf000000u, 0xcf000001u, 0x5f000000u,
    0x5effffffu, 0xdf000000u, 0x5f800000u, 0x40490fdbu, 0xbeaaaaabu, 0x3f800001u, 0x4b000001u,
};
#define ND (sizeof dv / sizeof dv[0])
#define NS (sizeof sv / sizeof sv[0])
static uint64_t h;
#ifdef DETAIL
static int cnt; static void mix(uint64_t v) { h = (h ^ v) * 0x100000001b3ull; h ^= h >> 29; puthex(v); putc_((++cnt & 1) ? 32 : 10); }
#else
static void mix(uint64_t v) { h = (h ^ v) * 0x100000001b3ull; h ^= h >> 29; }
#endif
static uint64_t ff(void) { uint64_t f; asm volatile("csrrw %0, fflags, x0" : "=r"(f)); return f; }
static void setrm(int rm) { asm volatile("csrw frm, %0" :: "r"((uint64_t)rm)); }
static uint64_t boxs(uint32_t v) { return 0xffffffff00000000ull | v; }

#define BIN_D(name) static void t_##name##_d(void) { for (int rm = 0; rm < 5; rm++) { setrm(rm); for (unsigned i = 0; i < ND; i++) for (unsigned j = 0; j < ND; j++) { uint64_t r; asm volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n " #name ".d ft2, ft0, ft1\n fmv.x.d %0, ft2" : "=r"(r) : "r"(dv[i]), "r"(dv[j]) : "ft0","ft1","ft2"); mix(r); mix(ff()); } } }
#define BIN_S(name) static void t_##name##_s(void) { for (int rm = 0; rm < 5; rm++) { setrm(rm); for (unsigned i = 0; i < NS; i++) for (unsigned j = 0; j < NS; j++) { uint64_t r; asm volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n " #name ".s ft2, ft0, ft1\n fmv.x.d %0, ft2" : "=r"(r) : "r"(boxs(sv[i])), "r"(boxs(sv[j])) : "ft0","ft1","ft2"); mix(r); mix(ff()); } } }
#define CMP_D(name) static void t_##name##_d(void) { for (unsigned i = 0; i < ND; i++) for (unsigned j = 0; j < ND; j++) { uint64_t r; asm volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n " #name ".d %0, ft0, ft1" : "=r"(r) : "r"(dv[i]), "r"(dv[j]) : "ft0","ft1"); mix(r); mix(ff()); } }
#define CMP_S(name) static void t_##name##_s(void) { for (unsigned i = 0; i < NS; i++) for (unsigned j = 0; j < NS; j++) { uint64_t r; asm volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n " #name ".s %0, ft0, ft1" : "=r"(r) : "r"(boxs(sv[i])), "r"(boxs(sv[j])) : "ft0","ft1"); mix(r); mix(ff()); } }
#define UN_D(name, insn) static void t_##name(void) { for (int rm = 0; rm < 5; rm++) { setrm(rm); for (unsigned i = 0; i < ND; i++) { uint64_t r; asm volatile("fmv.d.x ft0, %1\n " insn "\n" : "=r"(r) : "r"(dv[i]) : "ft0","ft1"); mix(r); mix(ff()); } } }
#define UN_S(name, insn) static void t_##name(void) { for (int rm = 0; rm < 5; rm++) { setrm(rm); for (unsigned i = 0; i < NS; i++) { uint64_t r; asm volatile("fmv.d.x ft0, %1\n " insn "\n" : "=r"(r) : "r"(boxs(sv[i])) : "ft0","ft1"); mix(r); mix(ff()); } } }
#define UN_I(name, insn) static void t_##name(void) { for (int rm = 0; rm < 5; rm++) { setrm(rm); for (unsigned i = 0; i < ND; i++) { uint64_t r; asm volatile(insn "\n" : "=r"(r) : "r"(dv[i]) : "ft0","ft1"); mix(r); mix(ff()); } } }
#define FMA_D(name) static void t_##name##_d(void) { for (int rm = 0; rm < 5; rm += 2) { setrm(rm); for (unsigned i = 0; i < ND; i += 1) for (unsigned j = 0; j < ND; j += 2) for (unsigned k = 0; k < ND; k += 3) { uint64_t r; asm volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n fmv.d.x ft3, %3\n " #name ".d ft2, ft0, ft1, ft3\n fmv.x.d %0, ft2" : "=r"(r) : "r"(dv[i]), "r"(dv[j]), "r"(dv[k]) : "ft0","ft1","ft2","ft3"); mix(r); mix(ff()); } } }
#define FMA_S(name) static void t_##name##_s(void) { for (int rm = 0; rm < 5; rm += 2) { setrm(rm); for (unsigned i = 0; i < NS; i += 1) for (unsigned j = 0; j < NS; j += 2) for (unsigned k = 0; k < NS; k += 3) { uint64_t r; asm volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n fmv.d.x ft3, %3\n " #name ".s ft2, ft0, ft1, ft3\n fmv.x.d %0, ft2" : "=r"(r) : "r"(boxs(sv[i])), "r"(boxs(sv[j])), "r"(boxs(sv[k])) : "ft0","ft1","ft2","ft3"); mix(r); mix(ff()); } } }

BIN_D(fadd) BIN_D(fsub) BIN_D(fmul) BIN_D(fdiv) BIN_D(fmin) BIN_D(fmax) BIN_D(fsgnj) BIN_D(fsgnjn) BIN_D(fsgnjx)
BIN_S(fadd) BIN_S(fsub) BIN_S(fmul) BIN_S(fdiv) BIN_S(fmin) BIN_S(fmax) BIN_S(fsgnj) BIN_S(fsgnjn) BIN_S(fsgnjx)
CMP_D(feq) CMP_D(flt) CMP_D(fle) CMP_S(feq) CMP_S(flt) CMP_S(fle)
FMA_D(fmadd) FMA_D(fmsub) FMA_D(fnmadd) FMA_D(fnmsub) FMA_S(fmadd) FMA_S(fmsub) FMA_S(fnmadd) FMA_S(fnmsub)
UN_D(sqrt_d, "fsqrt.d ft1, ft0\n fmv.x.d %0, ft1")
UN_S(sqrt_s, "fsqrt.s ft1, ft0\n fmv.x.d %0, ft1")
UN_D(cvt_w_d, "fcvt.w.d %0, ft0") UN_D(cvt_wu_d, "fcvt.wu.d %0, ft0") UN_D(cvt_l_d, "fcvt.l.d %0, ft0") UN_D(cvt_lu_d, "fcvt.lu.d %0, ft0")
UN_S(cvt_w_s, "fcvt.w.s %0, ft0") UN_S(cvt_wu_s, "fcvt.wu.s %0, ft0") UN_S(cvt_l_s, "fcvt.l.s %0, ft0") UN_S(cvt_lu_s, "fcvt.lu.s %0, ft0")
UN_D(cvt_s_d, "fcvt.s.d ft1, ft0\n fmv.x.d %0, ft1") UN_S(cvt_d_s, "fcvt.d.s ft1, ft0\n fmv.x.d %0, ft1")
UN_D(class_d, "fclass.d %0, ft0") UN_S(class_s, "fclass.s %0, ft0")
UN_D(mvxw, "fmv.x.w %0, ft0")
UN_I(cvt_d_l, "fcvt.d.l ft1, %1\n fmv.x.d %0, ft1") UN_I(cvt_d_lu, "fcvt.d.lu ft1, %1\n fmv.x.d %0, ft1")
UN_I(cvt_s_l, "fcvt.s.l ft1, %1\n fmv.x.d %0, ft1") UN_I(cvt_s_lu, "fcvt.s.lu ft1, %1\n fmv.x.d %0, ft1")
UN_I(cvt_d_w, "fcvt.d.w ft1, %1\n fmv.x.d %0, ft1") UN_I(cvt_d_wu, "fcvt.d.wu ft1, %1\n fmv.x.d %0, ft1")
UN_I(cvt_s_w, "fcvt.s.w ft1, %1\n fmv.x.d %0, ft1") UN_I(cvt_s_wu, "fcvt.s.wu ft1, %1\n fmv.x.d %0, ft1")
UN_I(unbox, "fmv.d.x ft0, %1\n fadd.s ft1, ft0, ft0\n fmv.x.d %0, ft1")

#define T(f) { #f, t_##f }
static const struct { const char *n; void (*f)(void); } tests[] = {
    T(fadd_d), T(fsub_d), T(fmul_d), T(fdiv_d), T(fmin_d), T(fmax_d), T(fsgnj_d), T(fsgnjn_d), T(fsgnjx_d),
    T(fadd_s), T(fsub_s), T(fmul_s), T(fdiv_s), T(fmin_s), T(fmax_s), T(fsgnj_s), T(fsgnjn_s), T(fsgnjx_s),
    T(feq_d), T(flt_d), T(fle_d), T(feq_s), T(flt_s), T(fle_s),
    T(fmadd_d), T(fmsub_d), T(fnmadd_d), T(fnmsub_d), T(fmadd_s), T(fmsub_s), T(fnmadd_s), T(fnmsub_s),
    T(sqrt_d), T(sqrt_s), T(cvt_w_d), T(cvt_wu_d), T(cvt_l_d), T(cvt_lu_d), T(cvt_w_s), T(cvt_wu_s), T(cvt_l_s), T(cvt_lu_s),
    T(cvt_s_d), T(cvt_d_s), T(class_d), T(class_s), T(mvxw), T(cvt_d_l), T(cvt_d_lu), T(cvt_s_l), T(cvt_s_lu),
    T(cvt_d_w), T(cvt_d_wu), T(cvt_s_w), T(cvt_s_wu), T(unbox),
};
int main(void) {
    uint64_t all = 0;
    for (unsigned t = 0; t < sizeof tests / sizeof tests[0]; t++) {
        h = 0xcbf29ce484222325ull; ff();
        tests[t].f();
        puts_(tests[t].n); putc_(' '); puthex(h); putc_('\n');
        all ^= h;
    }
    kv("fp all", all);
    return 0;
}
