/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: debug triggers (Sdtrig 1.0): tselect, tdata1..3, tinfo with mcontrol (type
 * 2) and mcontrol6 (type 6) address triggers on execute, load and store, whose only
 * action is a breakpoint exception (there is no debug mode to enter).
 *
 * Choices the spec leaves open (WARL): NTRIG triggers; match 0 (equal), 2 (>=) and 3 (<)
 * on the address (others read back as 0); no chain, select, size, timing "after", hit,
 * vs/vu or dmode (all read 0); tdata3 reads 0.  An equal-match load/store trigger fires
 * when any accessed byte is at tdata2; >= and < compare the access's lowest address.
 * AMOs check store triggers only.
 *
 * Re-entrancy (no tcontrol): as the spec allows, breakpoint triggers do not fire in M
 * mode while mstatus.MIE is 0, nor in S mode while SIE is 0 when medeleg delegates
 * breakpoints, so a trap handler is not trapped by its own trigger.
 *
 * Cost only when armed: execute triggers end a translation block before each armed
 * address, and the block starting there is never compiled nor entered through the jump
 * cache or a chained jump, so every arrival goes through tcg_tb_find, which checks
 * (tb.c).  Load/store triggers make every data TLB entry carry TLB_WATCH, so all data
 * accesses take the slow path (mmu.c), which checks. */
#include "cpu.h"

#define TDATA1_TYPE(v) ((unsigned)((v) >> 60))
#define MC_M (1ull << 6)
#define MC_S (1ull << 4)
#define MC_U (1ull << 3)
#define MC_EXEC (1ull << 2)
#define MC_STORE (1ull << 1)
#define MC_LOAD (1ull << 0)
#define MC_MATCH_SHIFT 7
#define MC_KEEP (MC_M | MC_S | MC_U | MC_EXEC | MC_STORE | MC_LOAD)
#define TYPE_DISABLED 15ull

static bool armed(uint64_t t1, uint64_t kinds)
{
    unsigned type = TDATA1_TYPE(t1);
    return (type == 2 || type == 6) && (t1 & kinds) && (t1 & (MC_M | MC_S | MC_U));
}

static bool addr_match(uint64_t t1, uint64_t t2, uint64_t addr, unsigned size)
{
    switch ((t1 >> MC_MATCH_SHIFT) & 15) {
    case 2: return addr >= t2;
    case 3: return addr < t2;
    default: return t2 - addr < size; /* equal: some accessed byte is at tdata2 */
    }
}

/* May a breakpoint trigger fire now (privilege bits and the re-entrancy rule)? */
static bool may_fire(const Hart *h, uint64_t t1)
{
    switch (h->priv) {
    case PRV_M: return (t1 & MC_M) && (h->mstatus & MS_MIE);
    case PRV_S:
        return (t1 & MC_S) &&
               (!((h->medeleg >> EXC_BREAKPOINT) & 1) || (h->mstatus & MS_SIE));
    default: return t1 & MC_U;
    }
}

bool tcg_trigger_exec_armed(const Hart *h, uint64_t pc)
{
    for (unsigned k = 0; k < NTRIG; k++)
        if (armed(h->tdata1[k], MC_EXEC) && addr_match(h->tdata1[k], h->tdata2[k], pc, 1))
            return true;
    return false;
}

bool tcg_trigger_exec(Hart *h, uint64_t pc)
{
    for (unsigned k = 0; k < NTRIG; k++) {
        uint64_t t1 = h->tdata1[k];
        if (armed(t1, MC_EXEC) && addr_match(t1, h->tdata2[k], pc, 1) && may_fire(h, t1)) {
            h->exc_cause = EXC_BREAKPOINT;
            h->exc_tval = pc;
            return true;
        }
    }
    return false;
}

bool tcg_trigger_data(Hart *h, uint64_t va, unsigned size, bool store)
{
    uint64_t kind = store ? MC_STORE : MC_LOAD;
    for (unsigned k = 0; k < NTRIG; k++) {
        uint64_t t1 = h->tdata1[k];
        if (armed(t1, kind) && addr_match(t1, h->tdata2[k], va, size) && may_fire(h, t1)) {
            h->exc_cause = EXC_BREAKPOINT;
            h->exc_tval = va;
            return true;
        }
    }
    return false;
}

/* After a change: what is armed decides which fast paths must be given up. */
static void rearm(Hart *h)
{
    bool exec = false, watch = false;
    for (unsigned k = 0; k < NTRIG; k++) {
        exec |= armed(h->tdata1[k], MC_EXEC);
        watch |= armed(h->tdata1[k], MC_LOAD | MC_STORE);
    }
    /* Execute triggers are compiled into the translation (block ends), so any change
     * while one is or was armed re-translates; watchpoints live in the TLB flags. */
    if (exec || h->trig_exec)
        tcg_tb_flush(h, FLUSH_OTHER);
    if (watch || h->trig_watch)
        tcg_tlb_flush(h);
    h->trig_exec = exec;
    h->trig_watch = watch;
}

static uint64_t legal_tdata1(uint64_t v)
{
    unsigned type = TDATA1_TYPE(v);
    if (type != 2 && type != 6)
        return TYPE_DISABLED << 60; /* 0 and unsupported types: disabled */
    unsigned match = (v >> MC_MATCH_SHIFT) & 15;
    if (match != 0 && match != 2 && match != 3)
        match = 0;
    return ((uint64_t)type << 60) | (v & MC_KEEP) | ((uint64_t)match << MC_MATCH_SHIFT);
}

bool tcg_trigger_csr_read(Hart *h, unsigned csr, uint64_t *val)
{
    switch (csr) {
    case 0x7a0: *val = h->tselect; return true;
    case 0x7a1: *val = h->tdata1[h->tselect]; return true;
    case 0x7a2: *val = h->tdata2[h->tselect]; return true;
    case 0x7a3: *val = 0; return true;
    case 0x7a4: *val = (1ull << 24) | (1u << 2) | (1u << 6) | (1u << 15); return true; /* version 1 */
    default: return false;
    }
}

bool tcg_trigger_csr_write(Hart *h, unsigned csr, uint64_t v)
{
    switch (csr) {
    case 0x7a0:
        if (v < NTRIG)
            h->tselect = (unsigned)v; /* WARL: other values leave it unchanged */
        return true;
    case 0x7a1:
        h->tdata1[h->tselect] = legal_tdata1(v);
        rearm(h);
        return true;
    case 0x7a2:
        h->tdata2[h->tselect] = v;
        rearm(h);
        return true;
    case 0x7a3: return true;
    case 0x7a4: return true; /* tinfo: writes ignored (Sdtrig 1.0) */
    default: return false;
    }
}

void tcg_trigger_reset(Hart *h)
{
    h->tselect = 0;
    for (unsigned k = 0; k < NTRIG; k++) {
        h->tdata1[k] = TYPE_DISABLED << 60;
        h->tdata2[k] = 0;
    }
    h->trig_exec = h->trig_watch = false;
}
