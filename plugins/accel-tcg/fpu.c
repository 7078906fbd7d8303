/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: F and D extensions on the host FPU.  Rounding modes through fesetround,
 * exception flags through feclearexcept/fetestexcept around every operation; RISC-V
 * rules the host does not follow (canonical NaN, NaN boxing, fmin/fmax, saturating
 * conversions, compare flags) are applied here explicitly.  Correctness over speed. */
#include "cpu.h"
#include <fenv.h>
#include <math.h>

#define CNAN_S 0x7fc00000u
#define CNAN_D 0x7ff8000000000000ull
enum { FF_NX = 1, FF_UF = 2, FF_OF = 4, FF_DZ = 8, FF_NV = 16 };

bool tcg_fp_enabled(Hart *h)
{
    return (h->mstatus & MS_FS) != 0;
}

void tcg_fp_dirty(Hart *h)
{
    h->mstatus |= MS_FS;
}

static inline float unbox_s(uint64_t v)
{
    uint32_t b = ((v >> 32) == 0xffffffffu) ? (uint32_t)v : CNAN_S;
    float f;
    memcpy(&f, &b, 4);
    return f;
}
static inline uint32_t bits_s(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }
static inline uint64_t bits_d(double d) { uint64_t b; memcpy(&b, &d, 8); return b; }
static inline double dbl(uint64_t b) { double d; memcpy(&d, &b, 8); return d; }
static inline uint64_t box_s(float f)
{
    uint32_t b = isnan(f) ? CNAN_S : bits_s(f);
    return 0xffffffff00000000ull | b;
}
static inline uint64_t box_d(double d) { return isnan(d) ? CNAN_D : bits_d(d); }
static inline bool snan_s(float f) { uint32_t b = bits_s(f); return isnan(f) && !(b & 0x400000); }
static inline bool snan_d(double d) { uint64_t b = bits_d(d); return isnan(d) && !(b & (1ull << 51)); }

static void set_round(int rm)
{
    static const int modes[5] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD, FE_TONEAREST};
    fesetround(modes[rm]);
}

static unsigned host_flags(void)
{
    int e = fetestexcept(FE_ALL_EXCEPT);
    return ((e & FE_INEXACT) ? FF_NX : 0) | ((e & FE_UNDERFLOW) ? FF_UF : 0) |
           ((e & FE_OVERFLOW) ? FF_OF : 0) | ((e & FE_DIVBYZERO) ? FF_DZ : 0) |
           ((e & FE_INVALID) ? FF_NV : 0);
}

/* Rounds to an integral value in mode rm (RMM: ties away from zero). */
static double round_rm(double v, int rm)
{
    switch (rm) {
    case 0: return nearbyint(v);
    case 1: return trunc(v);
    case 2: return floor(v);
    case 3: return ceil(v);
    default: return round(v);
    }
}

/* Saturating conversion of v to an integer of the given kind. */
static uint64_t cvt_to_int(double v, bool isnanv, int rm, int kind, unsigned *fl)
{
    /* kind: 0 W, 1 WU, 2 L, 3 LU */
    static const double maxv[4] = {2147483647.0, 4294967295.0, 9223372036854775807.0,
                                   18446744073709551615.0};
    static const double minv[4] = {-2147483648.0, 0, -9223372036854775808.0, 0};
    static const uint64_t maxr[4] = {0x7fffffffull, 0xffffffffffffffffull,
                                     0x7fffffffffffffffull, 0xffffffffffffffffull};
    static const uint64_t minr[4] = {0xffffffff80000000ull, 0, 0x8000000000000000ull, 0};
    if (isnanv) {
        *fl |= FF_NV;
        return maxr[kind];
    }
    double r = round_rm(v, rm);
    if (kind == 2 ? r >= 9223372036854775808.0 : kind == 3 ? r >= 18446744073709551616.0 : r > maxv[kind]) {
        *fl |= FF_NV;
        return maxr[kind];
    }
    if (r < minv[kind]) {
        *fl |= FF_NV;
        return minr[kind];
    }
    if (r != v)
        *fl |= FF_NX;
    switch (kind) {
    case 0: return (uint64_t)(int64_t)(int32_t)r;
    case 1: return (uint64_t)(int64_t)(int32_t)(uint32_t)r;
    case 2: return (uint64_t)(int64_t)r;
    default: return (uint64_t)r;
    }
}

static unsigned fclass_c(int c, bool neg, bool snan);
static unsigned fclass_d(double d, bool snan) { return fclass_c(fpclassify(d), signbit(d), snan); }
static unsigned fclass_s(float f, bool snan) { return fclass_c(fpclassify(f), signbit(f), snan); }

static unsigned fclass_c(int c, bool neg, bool snan)
{
    switch (c) {
    case FP_INFINITE: return neg ? 1u << 0 : 1u << 7;
    case FP_NORMAL: return neg ? 1u << 1 : 1u << 6;
    case FP_SUBNORMAL: return neg ? 1u << 2 : 1u << 5;
    case FP_ZERO: return neg ? 1u << 3 : 1u << 4;
    default: return snan ? 1u << 8 : 1u << 9;
    }
}


/* RMM (round to nearest, ties to max magnitude) has no host mode.  The operation runs
 * in RNE and is recomputed in a wider format (binary128 for D, binary64 for S), which
 * holds the exact result whenever it is a tie; a tie then takes the larger-magnitude
 * neighbour. */
#define RMM_FIX(NAME, T, W, NEXTAFTER)                                                 \
    static T NAME(T r, W p)                                                            \
    {                                                                                  \
        if (isnan(r) || isinf(r) || (W)r == p)                                         \
            return r;                                                                  \
        T nb = NEXTAFTER(r, (W)r < p ? (T)INFINITY : -(T)INFINITY);                    \
        if (isinf(nb) || (W)r + (W)nb != p * 2)                                        \
            return r;                                                                  \
        return fabs((double)nb) > fabs((double)r) ? nb : r;                            \
    }
RMM_FIX(rmm_fix_double, double, __float128, nextafter)
RMM_FIX(rmm_fix_float, float, double, nextafterf)
RMM_FIX(rmm_fix_float_q, float, __float128, nextafterf)

/* p + z in binary128, or NaN when that sum is not exact (then it is no tie either). */
static __float128 exact_sum_q(__float128 p, __float128 z)
{
    __float128 s = p + z, bb = s - p;
    __float128 err = (p - (s - bb)) + (z - bb);
    return err == 0 ? s : (__float128)NAN;
}

static inline void set_x(Hart *h, unsigned rd, uint64_t v)
{
    if (rd)
        h->x[rd] = v;
}

bool tcg_fp_exec(Hart *h, const Insn *in)
{
    if (!tcg_fp_enabled(h))
        return false;
    uint32_t r = in->raw;
    unsigned opcode = r & 0x7f, f7 = r >> 25, fmt = f7 & 3;
    unsigned rd = in->rd, rs1 = in->rs1, rs2 = in->rs2, rs3 = in->rs3;
    int rm = in->rm;
    if (fmt > 1)
        return false; /* only S and D */
    bool is_d = fmt == 1;
    /* Which instructions take a rounding mode. */
    bool uses_rm = opcode != 0x53 || !(f7 >> 2 == 0x04 || f7 >> 2 == 0x05 || f7 >> 2 == 0x14 ||
                                       f7 >> 2 == 0x1c || f7 >> 2 == 0x1e);
    if (uses_rm) {
        if (rm == 7)
            rm = h->frm;
        if (rm > 4)
            return false;
    }
    unsigned fl = 0;
    volatile double a_d = dbl(h->f[rs1]), b_d = dbl(h->f[rs2]), c_d = dbl(h->f[rs3]);
    volatile float a_s = unbox_s(h->f[rs1]), b_s = unbox_s(h->f[rs2]), c_s = unbox_s(h->f[rs3]);
    if (uses_rm)
        set_round(rm);
    feclearexcept(FE_ALL_EXCEPT);
    bool hostfl = true;

    if (opcode != 0x53) { /* fused multiply-add family */
        bool negprod = opcode == 0x4b || opcode == 0x4f;
        bool negadd = opcode == 0x47 || opcode == 0x4f;
        if (is_d) {
            double x = negprod ? -a_d : a_d, z = negadd ? -c_d : c_d, r = fma(x, b_d, z);
            if (rm == 4) {
                unsigned sv = host_flags();
                r = rmm_fix_double(r, exact_sum_q((__float128)x * b_d, z));
                feclearexcept(FE_ALL_EXCEPT);
                fl |= sv;
            }
            h->f[rd] = box_d(r);
        } else {
            float x = negprod ? -a_s : a_s, z = negadd ? -c_s : c_s, r = fmaf(x, b_s, z);
            if (rm == 4) {
                unsigned sv = host_flags();
                r = rmm_fix_float_q(r, exact_sum_q((__float128)x * b_s, z));
                feclearexcept(FE_ALL_EXCEPT);
                fl |= sv;
            }
            h->f[rd] = box_s(r);
        }
        goto done;
    }
    switch (f7 >> 2) {
    case 0x00: case 0x01: case 0x02: case 0x03: case 0x0b: {
        unsigned op = f7 >> 2;
        if (op == 0x0b && rs2)
            goto illegal;
        if (is_d) {
            double x = a_d, y = op == 0x01 ? -b_d : b_d, r;
            r = op <= 1 ? x + y : op == 2 ? x * y : op == 3 ? x / y : sqrt(x);
            if (rm == 4 && op != 0x0b) { /* sqrt never ties */
                unsigned sv = host_flags();
                __float128 p = op <= 1 ? exact_sum_q(x, y) : op == 2 ? (__float128)x * y
                             : op == 3 ? (__float128)x / y
                             : (__float128)r - (__float128)fma(r, r, -x) / (2 * (__float128)r);
                r = rmm_fix_double(r, p);
                feclearexcept(FE_ALL_EXCEPT);
                fl |= sv;
            }
            h->f[rd] = box_d(r);
        } else {
            float x = a_s, y = op == 0x01 ? -b_s : b_s, r;
            r = op <= 1 ? x + y : op == 2 ? x * y : op == 3 ? x / y : sqrtf(x);
            if (rm == 4 && op != 0x0b) {
                unsigned sv = host_flags();
                double p = op <= 1 ? (double)x + y : op == 2 ? (double)x * y
                         : op == 3 ? (double)x / y : sqrt((double)x);
                r = rmm_fix_float(r, p);
                feclearexcept(FE_ALL_EXCEPT);
                fl |= sv;
            }
            h->f[rd] = box_s(r);
        }
        break;
    }
    case 0x04: { /* FSGNJ: raw bit manipulation, no flags, no canonicalisation */
        hostfl = false;
        if (rm > 2)
            goto illegal;
        if (is_d) {
            uint64_t x = h->f[rs1], y = h->f[rs2], s = 1ull << 63;
            uint64_t sign = rm == 0 ? (y & s) : rm == 1 ? (~y & s) : ((x ^ y) & s);
            h->f[rd] = (x & ~s) | sign;
        } else {
            uint32_t x = bits_s(a_s), y = bits_s(b_s), s = 1u << 31;
            uint32_t sign = rm == 0 ? (y & s) : rm == 1 ? (~y & s) : ((x ^ y) & s);
            h->f[rd] = 0xffffffff00000000ull | (x & ~s) | sign;
        }
        break;
    }
    case 0x05: { /* FMIN / FMAX */
        hostfl = false;
        if (rm > 1)
            goto illegal;
        if (is_d) {
            double x = a_d, y = b_d, res;
            if (snan_d(x) || snan_d(y))
                fl |= FF_NV;
            if (isnan(x) && isnan(y))
                res = dbl(CNAN_D);
            else if (isnan(x))
                res = y;
            else if (isnan(y))
                res = x;
            else if (x == y)
                res = (rm == 0) == (signbit(x) != 0) ? x : y;
            else
                res = (rm == 0) == (x < y) ? x : y;
            h->f[rd] = bits_d(res);
        } else {
            float x = a_s, y = b_s, res;
            if (snan_s(x) || snan_s(y))
                fl |= FF_NV;
            if (isnan(x) && isnan(y)) {
                h->f[rd] = 0xffffffff00000000ull | CNAN_S;
                break;
            }
            if (isnan(x))
                res = y;
            else if (isnan(y))
                res = x;
            else if (x == y)
                res = (rm == 0) == (signbit(x) != 0) ? x : y;
            else
                res = (rm == 0) == (x < y) ? x : y;
            h->f[rd] = 0xffffffff00000000ull | bits_s(res);
        }
        break;
    }
    case 0x08: /* FCVT.S.D (fmt 0, rs2 1) / FCVT.D.S (fmt 1, rs2 0) */
        if (is_d && rs2 == 0)
            h->f[rd] = box_d((double)a_s);
        else if (!is_d && rs2 == 1)
            h->f[rd] = box_s((float)a_d);
        else
            goto illegal;
        break;
    case 0x14: { /* FEQ / FLT / FLE */
        hostfl = false;
        bool nan = is_d ? (isnan(a_d) || isnan(b_d)) : (isnan(a_s) || isnan(b_s));
        bool sn = is_d ? (snan_d(a_d) || snan_d(b_d)) : (snan_s(a_s) || snan_s(b_s));
        uint64_t res = 0;
        if (rm == 2) {
            if (sn)
                fl |= FF_NV;
            res = !nan && (is_d ? a_d == b_d : a_s == b_s);
        } else if (rm == 1 || rm == 0) {
            if (nan)
                fl |= FF_NV;
            else if (rm == 1)
                res = is_d ? a_d < b_d : a_s < b_s;
            else
                res = is_d ? a_d <= b_d : a_s <= b_s;
        } else {
            goto illegal;
        }
        set_x(h, rd, res);
        break;
    }
    case 0x18: { /* FCVT.int.fp */
        hostfl = false;
        if (rs2 > 3)
            goto illegal;
        double v = is_d ? a_d : (double)a_s;
        set_x(h, rd, cvt_to_int(v, isnan(v), rm, rs2, &fl));
        break;
    }
    case 0x1a: { /* FCVT.fp.int */
        uint64_t x = h->x[rs1];
        switch (rs2) {
        case 0: h->f[rd] = is_d ? box_d((double)(int32_t)x) : box_s((float)(int32_t)x); break;
        case 1: h->f[rd] = is_d ? box_d((double)(uint32_t)x) : box_s((float)(uint32_t)x); break;
        case 2: h->f[rd] = is_d ? box_d((double)(int64_t)x) : box_s((float)(int64_t)x); break;
        case 3: h->f[rd] = is_d ? box_d((double)x) : box_s((float)x); break;
        default: goto illegal;
        }
        break;
    }
    case 0x1c: /* FMV.X.W / FMV.X.D, FCLASS */
        hostfl = false;
        if (rs2)
            goto illegal;
        if (rm == 0)
            set_x(h, rd, is_d ? h->f[rs1] : (uint64_t)(int64_t)(int32_t)h->f[rs1]);
        else if (rm == 1)
            set_x(h, rd, is_d ? fclass_d(a_d, snan_d(a_d)) : fclass_s(a_s, snan_s(a_s)));
        else
            goto illegal;
        break;
    case 0x1e: /* FMV.W.X / FMV.D.X */
        hostfl = false;
        if (rs2 || rm)
            goto illegal;
        h->f[rd] = is_d ? h->x[rs1] : (0xffffffff00000000ull | (uint32_t)h->x[rs1]);
        break;
    default:
        goto illegal;
    }
done:
    if (hostfl)
        fl |= host_flags();
    if (uses_rm && rm != 0)
        fesetround(FE_TONEAREST);
    h->fflags |= fl;
    tcg_fp_dirty(h);
    return true;
illegal:
    if (uses_rm && rm != 0)
        fesetround(FE_TONEAREST);
    return false;
}
