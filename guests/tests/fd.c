/* SPDX-License-Identifier: GPL-2.0-or-later */
/* F and D: arithmetic under every static rounding mode and the dynamic one, fflags,
 * conversions, NaN boxing and canonical NaNs, fclass, fmin/fmax, fused multiply-add. */
#include "harness.h"
#include "ops.h"

static const uint64_t dvals[] = {
    0x3ff0000000000000ull, /* 1.0 */
    0xbff0000000000000ull, /* -1.0 */
    0x4008000000000000ull, /* 3.0 */
    0x3fb999999999999aull, /* 0.1 */
    0x0000000000000000ull, /* +0 */
    0x8000000000000000ull, /* -0 */
    0x7ff0000000000000ull, /* +inf */
    0x7ff8000000000000ull, /* qNaN */
    0x7ff0000000000001ull, /* sNaN */
    0x0000000000000001ull, /* min subnormal */
    0x7fefffffffffffffull, /* max */
    0x43e0000000000000ull, /* 2^63 */
    0xc1e0000000200000ull, /* -2^31 - 1 */
    0x4330000000000001ull, /* 2^52 + 1 */
};
static const uint32_t svals[] = {
    0x3f800000, 0xbf800000, 0x40400000, 0x3dcccccd, 0x00000000, 0x80000000, 0x7f800000,
    0x7fc00000, 0x7f800001, 0x00000001, 0x7f7fffff, 0x5f000000, 0xcf000001, 0x4b000001,
};
#define ND (sizeof dvals / sizeof dvals[0])

static uint64_t frflags(void) { uint64_t v; __asm__ volatile("frflags %0" : "=r"(v)); return v; }
static void fsflags0(void) { __asm__ volatile("fsflags zero"); }

/* Runs a double op with rounding mode RM on raw bits; returns result, *fl the flags. */
#define DOP2(op, rm, a, b, fl) ({ uint64_t r_; fsflags0(); \
    __asm__ volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n " op " ft2, ft0, ft1, " rm "\n fmv.x.d %0, ft2" \
        : "=r"(r_) : "r"(a), "r"(b) : "ft0", "ft1", "ft2"); *(fl) = frflags(); r_; })
#define SOP2(op, rm, a, b, fl) ({ uint64_t r_; fsflags0(); \
    __asm__ volatile("fmv.w.x ft0, %1\n fmv.w.x ft1, %2\n " op " ft2, ft0, ft1, " rm "\n fmv.x.w %0, ft2" \
        : "=r"(r_) : "r"(a), "r"(b) : "ft0", "ft1", "ft2"); *(fl) = frflags(); r_; })
#define DCVT(op, rm, a, fl) ({ uint64_t r_; fsflags0(); \
    __asm__ volatile("fmv.d.x ft0, %1\n " op " %0, ft0, " rm : "=r"(r_) : "r"(a) : "ft0"); *(fl) = frflags(); r_; })

static uint64_t h;

static void sweep_d(const char *name, int which)
{
    static const char *const rms[] = {"rne", "rtz", "rdn", "rup", "rmm", "dyn"};
    uint64_t hh = 0, fl;
    for (unsigned r = 0; r < 6; r++) {
        if (r == 5)
            __asm__ volatile("fsrmi 3"); /* dynamic = RUP */
        for (unsigned i = 0; i < ND; i++)
            for (unsigned j = 0; j < ND; j++) {
                uint64_t a = dvals[i], b = dvals[j], v = 0;
#define CASE(opname) \
    switch (r) { case 0: v = DOP2(opname, "rne", a, b, &fl); break; case 1: v = DOP2(opname, "rtz", a, b, &fl); break; \
    case 2: v = DOP2(opname, "rdn", a, b, &fl); break; case 3: v = DOP2(opname, "rup", a, b, &fl); break; \
    case 4: v = DOP2(opname, "rmm", a, b, &fl); break; default: v = DOP2(opname, "dyn", a, b, &fl); }
                switch (which) {
                case 0: CASE("fadd.d"); break;
                case 1: CASE("fsub.d"); break;
                case 2: CASE("fmul.d"); break;
                default: CASE("fdiv.d"); break;
                }
                hh = mix(mix(hh, v), fl);
            }
        (void)rms;
    }
    __asm__ volatile("fsrmi 0");
    sig(name, hh);
    h = mix(h, hh);
}

static void sweep_s(const char *name, int which)
{
    uint64_t hh = 0, fl;
    for (unsigned r = 0; r < 5; r++)
        for (unsigned i = 0; i < ND; i++)
            for (unsigned j = 0; j < ND; j++) {
                uint64_t a = svals[i], b = svals[j], v = 0;
#define SCASE(opname) \
    switch (r) { case 0: v = SOP2(opname, "rne", a, b, &fl); break; case 1: v = SOP2(opname, "rtz", a, b, &fl); break; \
    case 2: v = SOP2(opname, "rdn", a, b, &fl); break; case 3: v = SOP2(opname, "rup", a, b, &fl); break; \
    default: v = SOP2(opname, "rmm", a, b, &fl); }
                switch (which) {
                case 0: SCASE("fadd.s"); break;
                case 1: SCASE("fmul.s"); break;
                default: SCASE("fdiv.s"); break;
                }
                hh = mix(mix(hh, v), fl);
            }
    sig(name, hh);
}

void test_main(void)
{
    put_str("rv64fd\n");
    csr_set(mstatus, 1ull << 13); /* FS = initial */
    uint64_t fl, v;

    /* Known values. */
    v = DOP2("fdiv.d", "rne", 0x3ff0000000000000ull, 0x0000000000000000ull, &fl);
    check_eq("1/0 = inf", v, 0x7ff0000000000000ull);
    check_eq("1/0 DZ", fl, 0x08);
    v = DOP2("fsub.d", "rne", 0x7ff0000000000000ull, 0x7ff0000000000000ull, &fl);
    check_eq("inf-inf canonical NaN", v, 0x7ff8000000000000ull);
    check_eq("inf-inf NV", fl, 0x10);
    v = DOP2("fadd.d", "rne", 0x3ff0000000000000ull, 0x3fb999999999999aull, &fl);
    check_eq("1+0.1 NX", fl, 0x01);
    v = DOP2("fmul.d", "rne", 0x7fefffffffffffffull, 0x4008000000000000ull, &fl);
    check_eq("overflow rne", v, 0x7ff0000000000000ull);
    check_eq("overflow flags", fl, 0x05);
    v = DOP2("fmul.d", "rtz", 0x7fefffffffffffffull, 0x4008000000000000ull, &fl);
    check_eq("overflow rtz", v, 0x7fefffffffffffffull);
    v = DOP2("fmul.d", "rne", 0x0000000000000001ull, 0x3fb999999999999aull, &fl);
    check_eq("underflow flags", fl, 0x03);
    v = DCVT("fcvt.w.d", "rne", 0x4004000000000000ull /* 2.5 */, &fl);
    check_eq("fcvt.w.d rne 2.5", v, 2);
    v = DCVT("fcvt.w.d", "rmm", 0x4004000000000000ull, &fl);
    check_eq("fcvt.w.d rmm 2.5", v, 3);
    v = DCVT("fcvt.w.d", "rdn", 0xc004000000000000ull, &fl);
    check_eq("fcvt.w.d rdn -2.5", v, (uint64_t)-3);
    v = DCVT("fcvt.w.d", "rtz", 0x7ff8000000000000ull, &fl);
    check_eq("fcvt.w.d NaN", v, 0x7fffffff);
    check_eq("fcvt.w.d NaN NV", fl, 0x10);
    v = DCVT("fcvt.lu.d", "rtz", 0xbff0000000000000ull, &fl);
    check_eq("fcvt.lu.d -1", v, 0);
    check_eq("fcvt.lu.d -1 NV", fl, 0x10);

    /* NaN boxing: a single read from a register holding a non-boxed value is NaN. */
    uint64_t boxed;
    __asm__ volatile("fmv.d.x ft0, %1\n fadd.s ft1, ft0, ft0\n fmv.x.w %0, ft1" : "=r"(boxed)
                     : "r"(0x000000003f800000ull) : "ft0", "ft1");
    check_eq("unboxed single is canonical NaN", boxed & 0xffffffff, 0x7fc00000);
    __asm__ volatile("fmv.w.x ft0, %1\n fmv.x.d %0, ft0" : "=r"(boxed) : "r"(0x3f800000ull) : "ft0");
    check_eq("fmv.w.x boxes", boxed, 0xffffffff3f800000ull);

    /* fclass, fmin/fmax (sNaN handling), comparisons, sign injection. */
    uint64_t hc = 0;
    for (unsigned i = 0; i < ND; i++) {
        uint64_t c;
        __asm__ volatile("fmv.d.x ft0, %1\n fclass.d %0, ft0" : "=r"(c) : "r"(dvals[i]) : "ft0");
        hc = mix(hc, c);
        __asm__ volatile("fmv.w.x ft0, %1\n fclass.s %0, ft0" : "=r"(c) : "r"((uint64_t)svals[i]) : "ft0");
        hc = mix(hc, c);
        for (unsigned j = 0; j < ND; j++) {
            uint64_t r[6];
            fsflags0();
            __asm__ volatile("fmv.d.x ft0, %6\n fmv.d.x ft1, %7\n"
                             "fmin.d ft2, ft0, ft1\n fmv.x.d %0, ft2\n"
                             "fmax.d ft2, ft0, ft1\n fmv.x.d %1, ft2\n"
                             "feq.d %2, ft0, ft1\n flt.d %3, ft0, ft1\n fle.d %4, ft0, ft1\n"
                             "fsgnjx.d ft2, ft0, ft1\n fmv.x.d %5, ft2\n"
                             : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]), "=r"(r[4]), "=r"(r[5])
                             : "r"(dvals[i]), "r"(dvals[j]) : "ft0", "ft1", "ft2");
            for (unsigned k = 0; k < 6; k++)
                hc = mix(hc, r[k]);
            hc = mix(hc, frflags());
        }
    }
    sig("fclass-minmax-cmp", hc);

    /* Conversions in all directions. */
    uint64_t hv = 0;
    for (unsigned i = 0; i < ND; i++) {
        uint64_t d = dvals[i];
        hv = mix(hv, DCVT("fcvt.w.d", "rne", d, &fl)); hv = mix(hv, fl);
        hv = mix(hv, DCVT("fcvt.wu.d", "rtz", d, &fl)); hv = mix(hv, fl);
        hv = mix(hv, DCVT("fcvt.l.d", "rdn", d, &fl)); hv = mix(hv, fl);
        hv = mix(hv, DCVT("fcvt.lu.d", "rup", d, &fl)); hv = mix(hv, fl);
        uint64_t s;
        fsflags0();
        __asm__ volatile("fmv.d.x ft0, %1\n fcvt.s.d ft1, ft0\n fmv.x.w %0, ft1" : "=r"(s) : "r"(d) : "ft0", "ft1");
        hv = mix(mix(hv, s), frflags());
        fsflags0();
        __asm__ volatile("fmv.w.x ft0, %1\n fcvt.d.s ft1, ft0\n fmv.x.d %0, ft1" : "=r"(s) : "r"((uint64_t)svals[i]) : "ft0", "ft1");
        hv = mix(mix(hv, s), frflags());
        fsflags0();
        __asm__ volatile("fcvt.d.l ft0, %1\n fmv.x.d %0, ft0" : "=r"(s) : "r"(vals[i]) : "ft0");
        hv = mix(mix(hv, s), frflags());
        fsflags0();
        __asm__ volatile("fcvt.s.lu ft0, %1, rup\n fmv.x.w %0, ft0" : "=r"(s) : "r"(vals[i]) : "ft0");
        hv = mix(mix(hv, s), frflags());
        fsflags0();
        __asm__ volatile("fmv.d.x ft0, %1\n fsqrt.d ft1, ft0\n fmv.x.d %0, ft1" : "=r"(s) : "r"(d) : "ft0", "ft1");
        hv = mix(mix(hv, s), frflags());
        fsflags0();
        __asm__ volatile("fmv.d.x ft0, %1\n fmadd.d ft1, ft0, ft0, ft0\n fmv.x.d %0, ft1" : "=r"(s) : "r"(d) : "ft0", "ft1");
        hv = mix(mix(hv, s), frflags());
        fsflags0();
        __asm__ volatile("fmv.d.x ft0, %1\n fnmsub.d ft1, ft0, ft0, ft0, rdn\n fmv.x.d %0, ft1" : "=r"(s) : "r"(d) : "ft0", "ft1");
        hv = mix(mix(hv, s), frflags());
    }
    sig("convert-sqrt-fma", hv);

    sweep_d("fadd.d", 0);
    sweep_d("fsub.d", 1);
    sweep_d("fmul.d", 2);
    sweep_d("fdiv.d", 3);
    sweep_s("fadd.s", 0);
    sweep_s("fmul.s", 1);
    sweep_s("fdiv.s", 2);

    /* fcsr layout: frm in bits 7:5, fflags 4:0; writes to fcsr mask to 8 bits. */
    uint64_t fcsr;
    __asm__ volatile("fscsr %1\n frcsr %0" : "=r"(fcsr) : "r"(0xfffull));
    check_eq("fcsr mask", fcsr, 0xff);
    __asm__ volatile("fscsr zero");
    /* Flags accumulate into mstatus.FS = dirty. */
    check_eq("FS dirty", (csr_read(mstatus) >> 13) & 3, 3);
}
