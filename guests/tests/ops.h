/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers for running one instruction on chosen operands from C. */
#ifndef OPS_H
#define OPS_H
#include <stdint.h>

#define RR(op, a, b) ({ uint64_t r_; __asm__ volatile(op " %0, %1, %2" : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b))); r_; })
#define RI(op, a, imm) ({ uint64_t r_; __asm__ volatile(op " %0, %1, %2" : "=r"(r_) : "r"((uint64_t)(a)), "i"(imm)); r_; })

static const uint64_t vals[] = {
    0, 1, 2, 0xffffffffffffffffull, 0x7fffffffffffffffull, 0x8000000000000000ull,
    0x123456789abcdef0ull, 0xffffffffull, 0x80000000ull, 0x7fffffffull, 0xfffffffe80000000ull,
    63, 31, 32, 0xdeadbeefcafebabeull, 0x0000000100000001ull,
};
#define NVALS (sizeof vals / sizeof vals[0])

/* Order-sensitive mixing of results into one signature value per instruction. */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0x100000001b3ull;
}

#define SWEEP_RR(name, op)                                  \
    do {                                                    \
        uint64_t h_ = 0;                                    \
        for (unsigned i_ = 0; i_ < NVALS; i_++)             \
            for (unsigned j_ = 0; j_ < NVALS; j_++)         \
                h_ = mix(h_, RR(op, vals[i_], vals[j_]));   \
        sig(name, h_);                                      \
    } while (0)

#define SWEEP_RI(name, op, imm)                             \
    do {                                                    \
        uint64_t h_ = 0;                                    \
        for (unsigned i_ = 0; i_ < NVALS; i_++)             \
            h_ = mix(h_, RI(op, vals[i_], imm));            \
        sig(name, h_);                                      \
    } while (0)
#endif
