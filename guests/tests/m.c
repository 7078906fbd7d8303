/* SPDX-License-Identifier: GPL-2.0-or-later */
/* M extension: multiply, divide, remainder, including the special cases the spec
 * defines (division by zero, signed overflow). */
#include "harness.h"
#include "ops.h"

void test_main(void)
{
    put_str("rv64m\n");
    const uint64_t min = 0x8000000000000000ull;
    check_eq("mul", RR("mul", 3, ~0ull), (uint64_t)-3);
    check_eq("mulh", RR("mulh", ~0ull, ~0ull), 0);
    check_eq("mulhu", RR("mulhu", ~0ull, ~0ull), ~0ull - 1);
    check_eq("mulhsu", RR("mulhsu", ~0ull, ~0ull), ~0ull);
    check_eq("div/0", RR("div", 7, 0), ~0ull);
    check_eq("divu/0", RR("divu", 7, 0), ~0ull);
    check_eq("rem/0", RR("rem", 7, 0), 7);
    check_eq("remu/0", RR("remu", 7, 0), 7);
    check_eq("div ovf", RR("div", min, ~0ull), min);
    check_eq("rem ovf", RR("rem", min, ~0ull), 0);
    check_eq("div neg", RR("div", (uint64_t)-7, 2), (uint64_t)-3);
    check_eq("rem neg", RR("rem", (uint64_t)-7, 2), (uint64_t)-1);
    check_eq("mulw", RR("mulw", 0x10000, 0x10000), 0);
    check_eq("mulw sext", RR("mulw", 0x8000, 0x10000), 0xffffffff80000000ull);
    check_eq("divw ovf", RR("divw", 0x80000000, ~0ull), 0xffffffff80000000ull);
    check_eq("divw/0", RR("divw", 5, 0), ~0ull);
    check_eq("divuw/0", RR("divuw", 5, 0), ~0ull);
    check_eq("remw ovf", RR("remw", 0x80000000, ~0ull), 0);
    check_eq("remuw", RR("remuw", 0xffffffff, 10), 5);
    check_eq("divuw sext", RR("divuw", 0xffffffff, 1), ~0ull);
    SWEEP_RR("mul", "mul"); SWEEP_RR("mulh", "mulh"); SWEEP_RR("mulhu", "mulhu");
    SWEEP_RR("mulhsu", "mulhsu"); SWEEP_RR("div", "div"); SWEEP_RR("divu", "divu");
    SWEEP_RR("rem", "rem"); SWEEP_RR("remu", "remu"); SWEEP_RR("mulw", "mulw");
    SWEEP_RR("divw", "divw"); SWEEP_RR("divuw", "divuw"); SWEEP_RR("remw", "remw");
    SWEEP_RR("remuw", "remuw");
}
