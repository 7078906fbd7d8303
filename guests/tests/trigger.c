/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Debug triggers (Sdtrig): tselect/tdata1/tdata2/tinfo, mcontrol (type 2) and mcontrol6
 * (type 6) execute, load and store address triggers raising breakpoint exceptions, on
 * code that has run hot first (so Mosaic has compiled it).  Mosaic-only, self-checking:
 * QEMU 7.2 fires M-mode triggers regardless of mstatus.MIE, which this hart does not
 * (the spec's re-entrancy rule for implementations without tcontrol). */
#include "harness.h"

#define T_MCONTROL (2ull << 60)
#define T_MCONTROL6 (6ull << 60)
#define T_DISABLED (15ull << 60)
#define MC_M (1u << 6)
#define MC_S (1u << 4)
#define MC_U (1u << 3)
#define MC_EXEC (1u << 2)
#define MC_STORE (1u << 1)
#define MC_LOAD (1u << 0)
#define MC_MATCH_GE (2u << 7)
#define MC_ACTION_DEBUG (1u << 12)

static volatile uint64_t data[4];
static volatile uint64_t hits, hit_tval, hit_epc, hit_cause, sink;

/* Records the breakpoint and disables trigger 0, so the instruction runs on return. */
static int on_trigger(TrapFrame *f, uint64_t cause, uint64_t tval)
{
    hits++;
    hit_cause = cause;
    hit_tval = tval;
    hit_epc = f->mepc;
    csr_write(tselect, 0);
    csr_write(tdata1, 0);
    return 1;
}

static __attribute__((noinline)) uint64_t work(uint64_t n)
{
    uint64_t s = 0;
    for (uint64_t k = 0; k < n; k++)
        s += k * 3 + (s >> 5);
    sink = s; /* not a pure function: every call stays */
    return s;
}

static __attribute__((noinline)) uint64_t load_at(volatile uint64_t *p)
{
    return *p;
}

static __attribute__((noinline)) void store_at(volatile uint64_t *p, uint64_t v)
{
    *p = v;
}

static void arm(uint64_t t1, uint64_t t2)
{
    csr_write(tselect, 0);
    csr_write(tdata2, t2);
    csr_write(tdata1, t1);
}

static void warm(void)
{
    for (int k = 0; k < 200; k++) {
        work(20);
        for (int j = 0; j < 4; j++) {
            load_at(&data[j]);
            store_at(&data[j], j + 1);
        }
    }
}

static void expect(const char *what, uint64_t n, uint64_t tval)
{
    check_eq(what, hits, n);
    if (n) {
        check_eq("cause", hit_cause, 3);
        check_eq("tval", hit_tval, tval);
    }
    hits = 0;
    hit_tval = hit_cause = 0;
}

void test_main(void)
{
    put_str("trigger\n");
    /* Discovery, as ISA suites probe it. */
    csr_write(tselect, 0);
    check_eq("tselect 0", csr_read(tselect), 0);
    csr_write(tselect, 1);
    check_eq("tselect 1", csr_read(tselect), 1);
    csr_write(tselect, 1000);
    check_eq("tselect out of range is ignored", csr_read(tselect), 1);
    uint64_t info = csr_read(tinfo);
    CHECK(info & (1u << 2));
    CHECK(info & (1u << 6));
    csr_write(tselect, 0);
    uint64_t want = T_MCONTROL | MC_M | MC_EXEC;
    csr_write(tdata1, want);
    check_eq("tdata1 reads back", csr_read(tdata1), want);
    csr_write(tdata1, T_MCONTROL | MC_M | MC_EXEC | MC_ACTION_DEBUG);
    check_eq("action 1 (debug mode) reads 0", csr_read(tdata1), want);
    csr_write(tdata1, 0);
    check_eq("tdata1 = 0 disables", csr_read(tdata1), T_DISABLED);
    check_eq("tdata3 reads 0", csr_read(tdata3), 0);

    trap_hook = on_trigger;
    csr_set(mstatus, 1u << 3); /* MIE (mie = 0: no interrupt is enabled) */
    warm();

    /* Execute, mcontrol: the entry of a hot function, before its first instruction. */
    uint64_t entry = (uint64_t)(uintptr_t)work;
    arm(T_MCONTROL | MC_M | MC_EXEC, entry);
    uint64_t r = work(20);
    expect("execute trigger", 1, entry);
    check_eq("epc = trigger address", hit_epc, entry);
    check_eq("the function ran once the trigger was off", r, work(20));

    /* Execute, mcontrol6; and the same with only U or S enabled does not fire in M. */
    arm(T_MCONTROL6 | MC_M | MC_EXEC, entry);
    work(5);
    expect("mcontrol6 execute trigger", 1, entry);
    arm(T_MCONTROL | MC_U | MC_S | MC_EXEC, entry);
    work(5);
    expect("U/S-only trigger in M mode", 0, 0);
    /* With MIE clear (a trap handler), M-mode breakpoint triggers do not fire. */
    arm(T_MCONTROL | MC_M | MC_EXEC, entry);
    csr_clear(mstatus, 1u << 3);
    work(5);
    csr_set(mstatus, 1u << 3);
    work(5);
    expect("fires only with MIE set", 1, entry);

    /* Load, mcontrol: only the watched word, only loads. */
    arm(T_MCONTROL | MC_M | MC_LOAD, (uint64_t)(uintptr_t)&data[1]);
    load_at(&data[0]);
    store_at(&data[1], 42);
    expect("store to a load-watched word", 0, 0);
    uint64_t v = load_at(&data[1]);
    expect("load trigger", 1, (uint64_t)(uintptr_t)&data[1]);
    check_eq("the load ran once the trigger was off", v, 42);

    /* Store, mcontrol6. */
    arm(T_MCONTROL6 | MC_M | MC_STORE, (uint64_t)(uintptr_t)&data[2]);
    load_at(&data[2]);
    store_at(&data[3], 7);
    expect("load of / store beside a store-watched word", 0, 0);
    store_at(&data[2], 99);
    expect("store trigger", 1, (uint64_t)(uintptr_t)&data[2]);
    check_eq("the store ran once the trigger was off", data[2], 99);

    /* match 2: addresses >= tdata2. */
    arm(T_MCONTROL | MC_M | MC_LOAD | MC_MATCH_GE, (uint64_t)(uintptr_t)&data[2]);
    load_at(&data[1]);
    expect("load below a >= trigger", 0, 0);
    load_at(&data[3]);
    expect(">= load trigger", 1, (uint64_t)(uintptr_t)&data[3]);

    /* Disarmed: everything runs fast again and nothing fires. */
    warm();
    expect("after disarming", 0, 0);
    trap_hook = 0;
}
