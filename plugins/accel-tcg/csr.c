/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: control and status registers, traps and interrupts (privileged spec 1.12).
 * A CSR not listed here raises an illegal-instruction trap: OpenSBI and Linux probe
 * optional CSRs (stimecmp, mstateen0, mtopi, hpm counters) and rely on that trap. */
#include "cpu.h"

#define MISA_VAL ((2ull << 62) | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | \
                  (1 << 12) | (1 << 18) | (1 << 20))
#define MSTATUS_WMASK (MS_SIE | MS_MIE | MS_SPIE | MS_MPIE | MS_SPP | MS_MPP | MS_FS | \
                       MS_MPRV | MS_SUM | MS_MXR | MS_TVM | MS_TW | MS_TSR)
#define SSTATUS_MASK (MS_SIE | MS_SPIE | MS_SPP | MS_FS | MS_SUM | MS_MXR | MS_UXL | MS_SD | \
                      (3ull << 15))
#define S_INTS ((1u << 1) | (1u << 5) | (1u << 9))
#define ALL_INTS (S_INTS | (1u << 3) | (1u << 7) | (1u << 11))
#define MEDELEG_MASK 0xb3ffull

uint64_t tcg_read_time(void)
{
    int64_t ns = mosaic_clock_ns(MOSAIC_CLOCK_VIRTUAL);
    if (ns < 0)
        ns = 0;
    return (uint64_t)((unsigned __int128)ns * MOSAIC_RISCV_TIMEBASE_HZ / 1000000000u);
}

static uint64_t status_read(Hart *h)
{
    uint64_t s = h->mstatus | (2ull << 32) | (2ull << 34);
    if ((s & MS_FS) == MS_FS)
        s |= MS_SD;
    return s;
}

void tcg_set_priv(Hart *h, int priv)
{
    h->priv = priv;
    h->jc_key = (h->jc_gen << 2) | (unsigned)priv;
    tcg_update_mmu_idx(h);
}

static void status_write(Hart *h, uint64_t v, uint64_t mask)
{
    uint64_t old = h->mstatus;
    uint64_t n = (old & ~mask) | (v & mask);
    if (((n >> MS_MPP_SHIFT) & 3) == 2) /* reserved MPP value: keep the old one */
        n = (n & ~MS_MPP) | (old & MS_MPP);
    h->mstatus = n & MSTATUS_WMASK;
    if ((old ^ h->mstatus) & MS_MXR)
        tcg_tlb_flush(h);
    tcg_update_mmu_idx(h);
    /* Interrupts may have become deliverable.  (SUM/MPRV toggles, frequent in Linux's
     * user copies, need no boundary work: the CSR ends the block and the next one
     * picks the new data TLB.) */
    if ((old ^ h->mstatus) & (MS_SIE | MS_MIE))
        hart_kick_check(h);
}

/* Counter access from S/U is gated by mcounteren/scounteren. */
static bool counter_ok(Hart *h, unsigned csr)
{
    unsigned bit = csr & 31;
    if (h->priv < PRV_M && !((h->mcounteren >> bit) & 1))
        return false;
    if (h->priv < PRV_S && !((h->scounteren >> bit) & 1))
        return false;
    return true;
}

bool tcg_csr_access_ok(Hart *h, unsigned csr, bool write)
{
    unsigned need = (csr >> 8) & 3;
    if (h->priv < (int)need)
        return false;
    if (write && (csr >> 10) == 3)
        return false; /* read-only CSR */
    if (csr == 0x180 && h->priv == PRV_S && (h->mstatus & MS_TVM))
        return false;
    return true;
}

bool tcg_csr_read(Hart *h, unsigned csr, uint64_t *val)
{
    uint64_t mip = tcg_mip(h);
    switch (csr) {
    case 0x001: if (!tcg_fp_enabled(h)) return false; *val = h->fflags; return true;
    case 0x002: if (!tcg_fp_enabled(h)) return false; *val = h->frm; return true;
    case 0x003: if (!tcg_fp_enabled(h)) return false; *val = h->fflags | (h->frm << 5); return true;
    case 0xc00: case 0xc02:
        if (!counter_ok(h, csr)) return false;
        *val = h->instret + h->instret_delta;
        return true;
    case 0xc01:
        if (!counter_ok(h, csr)) return false;
        *val = tcg_read_time();
        return true;
    case 0xb00: *val = h->instret + h->cycle_delta; return true;
    case 0xb02: *val = h->instret + h->instret_delta; return true;
    /* sstatus and friends */
    case 0x100: *val = status_read(h) & SSTATUS_MASK; return true;
    case 0x104: *val = h->mie & h->mideleg; return true;
    case 0x105: *val = h->stvec; return true;
    case 0x106: *val = h->scounteren; return true;
    case 0x10a: *val = h->senvcfg; return true;
    case 0x140: *val = h->sscratch; return true;
    case 0x141: *val = h->sepc; return true;
    case 0x142: *val = h->scause; return true;
    case 0x143: *val = h->stval; return true;
    case 0x144: *val = mip & h->mideleg; return true;
    case 0x180: *val = h->satp; return true;
    /* machine */
    case 0xf11: case 0xf12: case 0xf13: case 0xf15: *val = 0; return true;
    case 0xf14: *val = h->index; return true;
    case 0x300: *val = status_read(h); return true;
    case 0x301: *val = MISA_VAL; return true;
    case 0x302: *val = h->medeleg; return true;
    case 0x303: *val = h->mideleg; return true;
    case 0x304: *val = h->mie; return true;
    case 0x305: *val = h->mtvec; return true;
    case 0x306: *val = h->mcounteren; return true;
    case 0x30a: *val = h->menvcfg; return true;
    case 0x320: *val = h->mcountinhibit; return true;
    case 0x340: *val = h->mscratch; return true;
    case 0x341: *val = h->mepc; return true;
    case 0x342: *val = h->mcause; return true;
    case 0x343: *val = h->mtval; return true;
    case 0x344: *val = mip; return true;
    default:
        break;
    }
    if (csr >= 0x3a0 && csr <= 0x3af) {
        if (csr & 1)
            return false; /* odd pmpcfg do not exist on RV64 */
        *val = h->pmpcfg[csr - 0x3a0];
        return true;
    }
    if (csr >= 0x3b0 && csr <= 0x3ef) {
        *val = h->pmpaddr[csr - 0x3b0];
        return true;
    }
    return tcg_trigger_csr_read(h, csr, val);
}

bool tcg_csr_write(Hart *h, unsigned csr, uint64_t v)
{
    switch (csr) {
    case 0x001: if (!tcg_fp_enabled(h)) return false; h->fflags = v & 31; tcg_fp_dirty(h); return true;
    case 0x002: if (!tcg_fp_enabled(h)) return false; h->frm = v & 7; tcg_fp_dirty(h); return true;
    case 0x003:
        if (!tcg_fp_enabled(h)) return false;
        h->fflags = v & 31;
        h->frm = (v >> 5) & 7;
        tcg_fp_dirty(h);
        return true;
    case 0xb00: h->cycle_delta = v - h->instret; return true;
    case 0xb02: h->instret_delta = v - h->instret; return true;
    case 0x100: status_write(h, v, SSTATUS_MASK & MSTATUS_WMASK); return true;
    case 0x104:
        h->mie = (h->mie & ~h->mideleg) | (v & h->mideleg & S_INTS);
        hart_kick_check(h);
        return true;
    case 0x105: h->stvec = v & ~2ull; return true;
    case 0x106: h->scounteren = v & 0xffffffff; return true;
    case 0x10a: h->senvcfg = v & 1; return true;
    case 0x140: h->sscratch = v; return true;
    case 0x141: h->sepc = v & ~1ull; return true;
    case 0x142: h->scause = v; return true;
    case 0x143: h->stval = v; return true;
    case 0x144: {
        /* Only SSIP is writable through sip (and only when delegated). */
        uint64_t m = h->mideleg & (1u << 1);
        if (v & m)
            atomic_fetch_or(&h->mip, m);
        else
            atomic_fetch_and(&h->mip, ~m);
        hart_kick_check(h);
        return true;
    }
    case 0x180: {
        unsigned mode = v >> 60;
        if (mode != 0 && mode != 8 && mode != 9)
            return true; /* WARL: unsupported mode leaves satp unchanged */
        h->satp = v & ((0xfull << 60) | (0xffffull << 44) | ((1ull << 44) - 1));
        if (mode == 0)
            h->satp = 0;
        tcg_tlb_flush(h);
        return true;
    }
    case 0x300: status_write(h, v, MSTATUS_WMASK); return true;
    case 0x301: return true; /* misa: WARL, fixed */
    case 0x302: h->medeleg = v & MEDELEG_MASK; return true;
    case 0x303: h->mideleg = v & S_INTS; hart_kick_check(h); return true;
    case 0x304: h->mie = v & ALL_INTS; hart_kick_check(h); return true;
    case 0x305: h->mtvec = (v & 3) >= 2 ? (v & ~3ull) : v; return true;
    case 0x306: h->mcounteren = v & 0xffffffff; return true;
    case 0x30a: h->menvcfg = v & 1; return true;
    case 0x320: h->mcountinhibit = v & 0xfffffffd; return true;
    case 0x340: h->mscratch = v; return true;
    case 0x341: h->mepc = v & ~1ull; return true;
    case 0x342: h->mcause = v; return true;
    case 0x343: h->mtval = v; return true;
    case 0x344: {
        uint64_t m = S_INTS; /* SSIP, STIP, SEIP are software-writable in mip */
        atomic_fetch_or(&h->mip, v & m);
        atomic_fetch_and(&h->mip, v | ~m);
        hart_kick_check(h);
        return true;
    }
    default:
        break;
    }
    if (csr >= 0x3a0 && csr <= 0x3af) {
        if (csr & 1)
            return false;
        /* Locked entries keep their value; W without R is reserved (cleared). */
        uint64_t old = h->pmpcfg[csr - 0x3a0], n = 0;
        for (int i = 0; i < 8; i++) {
            uint8_t o = old >> (8 * i), b = v >> (8 * i);
            if (o & 0x80)
                b = o;
            else if ((b & 3) == 2)
                b &= ~2;
            n |= (uint64_t)(b & 0x9f) << (8 * i);
        }
        h->pmpcfg[csr - 0x3a0] = n;
        return true;
    }
    if (csr >= 0x3b0 && csr <= 0x3ef) {
        unsigned i = csr - 0x3b0;
        uint8_t cfg = h->pmpcfg[(i / 8) * 2] >> (8 * (i % 8));
        if (!(cfg & 0x80))
            h->pmpaddr[i] = v & ((1ull << 54) - 1);
        return true;
    }
    return tcg_trigger_csr_write(h, csr, v);
}

bool tcg_csr_rmw(Hart *h, unsigned csr, unsigned kind, uint64_t src, bool wr, uint64_t *old)
{
    if (!tcg_csr_access_ok(h, csr, wr) || !tcg_csr_read(h, csr, old))
        return false;
    if (!wr)
        return true;
    /* Set and clear work on mip's software bits alone: the controllers' lines, which the
     * read ORs in, take no part (priv spec 3.1.9 on SEIP), else a line that was up when
     * OpenSBI set or cleared STIP would stay latched as software SEIP. */
    uint64_t base = csr == 0x344 ? atomic_load(&h->mip) : *old;
    uint64_t nv = kind == 1 ? src : kind == 2 ? (base | src) : (base & ~src);
    return tcg_csr_write(h, csr, nv);
}

void tcg_take_trap(Hart *h, uint64_t cause, uint64_t tval, bool interrupt)
{
    uint64_t deleg = interrupt ? h->mideleg : h->medeleg;
    uint64_t c = cause | (interrupt ? (1ull << 63) : 0);
    h->res_valid = false;
    if (interrupt)
        h->st.interrupts++;
    else
        h->st.exceptions++;
    if (h->priv <= PRV_S && ((deleg >> cause) & 1)) {
        h->scause = c;
        h->sepc = h->pc;
        h->stval = tval;
        uint64_t s = h->mstatus;
        s = (s & ~MS_SPIE) | ((s & MS_SIE) ? MS_SPIE : 0);
        s = (s & ~MS_SPP) | (h->priv == PRV_S ? MS_SPP : 0);
        s &= ~MS_SIE;
        h->mstatus = s;
        uint64_t base = h->stvec & ~3ull;
        h->pc = ((h->stvec & 1) && interrupt) ? base + 4 * cause : base;
        tcg_set_priv(h, PRV_S);
    } else {
        h->mcause = c;
        h->mepc = h->pc;
        h->mtval = tval;
        uint64_t s = h->mstatus;
        s = (s & ~MS_MPIE) | ((s & MS_MIE) ? MS_MPIE : 0);
        s = (s & ~MS_MPP) | ((uint64_t)h->priv << MS_MPP_SHIFT);
        s &= ~MS_MIE;
        h->mstatus = s;
        uint64_t base = h->mtvec & ~3ull;
        h->pc = ((h->mtvec & 1) && interrupt) ? base + 4 * cause : base;
        tcg_set_priv(h, PRV_M);
    }
}

uint64_t tcg_mip(Hart *h)
{
    return atomic_load_explicit(&h->mip, memory_order_acquire) |
           atomic_load_explicit(&h->mip_lines, memory_order_acquire);
}

uint64_t tcg_pending_irqs(Hart *h)
{
    return tcg_mip(h) & h->mie;
}

void tcg_set_irq_line(Hart *h, unsigned line, bool level)
{
    if (line >= 64)
        return;
    if (level) {
        atomic_fetch_or(&h->mip_lines, 1ull << line);
        hart_kick_check(h);
    } else {
        atomic_fetch_and(&h->mip_lines, ~(1ull << line));
    }
}

/* Takes the highest-priority pending and enabled interrupt, if any. */
bool tcg_check_interrupts(Hart *h)
{
    static const unsigned order[] = {11, 3, 7, 9, 1, 5};
    uint64_t pend = tcg_pending_irqs(h);
    if (!pend)
        return false;
    uint64_t m = pend & ~h->mideleg, s = pend & h->mideleg;
    bool m_en = h->priv < PRV_M || (h->mstatus & MS_MIE);
    bool s_en = h->priv < PRV_S || (h->priv == PRV_S && (h->mstatus & MS_SIE));
    uint64_t take = (m_en ? m : 0);
    if (!take)
        take = s_en ? s : 0;
    if (!take)
        return false;
    for (unsigned i = 0; i < 6; i++) {
        if (take & (1ull << order[i])) {
            tcg_take_trap(h, order[i], 0, true);
            return true;
        }
    }
    return false;
}

void tcg_hart_reset(Hart *h)
{
    memset(h->x, 0, sizeof(h->x));
    memset(h->f, 0, sizeof(h->f));
    h->pc = 0;
    h->mstatus = 0;
    h->medeleg = h->mideleg = h->mie = 0;
    h->mtvec = h->mscratch = h->mepc = h->mcause = h->mtval = 0;
    h->mcounteren = h->menvcfg = h->mcountinhibit = 0;
    h->stvec = h->sscratch = h->sepc = h->scause = h->stval = h->satp = 0;
    h->scounteren = h->senvcfg = 0;
    memset(h->pmpcfg, 0, sizeof(h->pmpcfg));
    memset(h->pmpaddr, 0, sizeof(h->pmpaddr));
    h->fflags = h->frm = 0;
    h->res_valid = false;
    h->wfi = false;
    h->bp_skip = ~0ull;
    tcg_trigger_reset(h);
    atomic_store(&h->mip, 0);
    tcg_set_priv(h, PRV_M);
    tcg_tlb_flush(h);
    tcg_tb_flush(h, FLUSH_OTHER);
    hart_kick_check(h);
}
