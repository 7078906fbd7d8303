/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg's mip (plugins/accel-tcg/csr.c): the lines interrupt controllers drive
 * stay apart from the bits a guest writes.  OpenSBI sets and clears STIP with csrs/csrc
 * on mip, a read-modify-write on the vCPU thread; a PLIC raising SEIP from the main
 * loop between the read and the write used to be wiped by the write, and the PLIC,
 * whose line was already high, never raised it again: the guest waited forever for a
 * virtio completion (bench/pci hung under load).  Nor may a csrs/csrc copy a raised
 * line into the software bit (priv spec 3.1.9).  csr.c is compiled in with stubs for
 * the translation cache it flushes (trigger.c: the debug-trigger CSRs csr.c hands on). */
#include <glib.h>
#include "../../plugins/accel-tcg/csr.c"
#include "../../plugins/accel-tcg/trigger.c"

bool tcg_fp_enabled(Hart *h) { return true; }
void tcg_fp_dirty(Hart *h) {}
void tcg_tlb_flush(Hart *h) {}
void tcg_tb_flush(Hart *h, FlushReason why) {}
void tcg_update_mmu_idx(Hart *h) {}

#define SSIP (1ull << 1)
#define STIP (1ull << 5)
#define SEIP (1ull << 9)
#define MTIP (1ull << 7)
#define MEIP (1ull << 11)

static Hart *new_hart(void)
{
    Hart *h = g_new0(Hart, 1);
    h->priv = PRV_M;
    h->mie = SSIP | STIP | SEIP | MTIP | MEIP;
    return h;
}

static uint64_t rd(Hart *h, unsigned csr)
{
    uint64_t v = 0;
    g_assert_true(tcg_csr_read(h, csr, &v));
    return v;
}

/* A write of mip that carries a stale SEIP (read before the PLIC raised it, written
 * back after) leaves the line up. */
static void test_stale_write_keeps_raised_line(void)
{
    Hart *h = new_hart();
    g_assert_true(tcg_csr_write(h, 0x344, STIP));
    uint64_t seen = rd(h, 0x344);             /* an instruction reads mip ... */
    tcg_set_irq_line(h, 9, true);             /* ... the main loop raises SEIP ... */
    g_assert_true(tcg_csr_write(h, 0x344, seen & ~STIP)); /* ... and it writes back */
    g_assert_cmphex(rd(h, 0x344) & (SEIP | STIP), ==, SEIP);
    g_assert_cmphex(tcg_pending_irqs(h) & SEIP, ==, SEIP);
    /* The same with MTIP and MEIP coming meanwhile. */
    seen = rd(h, 0x344);
    tcg_set_irq_line(h, 7, true);
    tcg_set_irq_line(h, 11, true);
    g_assert_true(tcg_csr_write(h, 0x344, seen | STIP));
    g_assert_cmphex(rd(h, 0x344), ==, SEIP | STIP | MTIP | MEIP);
    g_free(h);
}

/* csrs/csrc mip, STIP (OpenSBI's timer hand-over) while the PLIC's line is up: rd sees
 * SEIP, but the line is not copied into the software bit, so SEIP goes when the line
 * drops (it used to stay latched: an endless external interrupt, a crawling guest). */
static void test_set_clear_leave_line_out(void)
{
    Hart *h = new_hart();
    uint64_t old = 0;
    tcg_set_irq_line(h, 9, true);
    g_assert_true(tcg_csr_rmw(h, 0x344, 2, STIP, true, &old)); /* csrs mip, STIP */
    g_assert_cmphex(old, ==, SEIP);
    g_assert_true(tcg_csr_rmw(h, 0x344, 3, STIP, true, &old)); /* csrc mip, STIP */
    g_assert_cmphex(old, ==, SEIP | STIP);
    tcg_set_irq_line(h, 9, false);
    g_assert_cmphex(rd(h, 0x344), ==, 0);
    g_assert_cmphex(tcg_pending_irqs(h), ==, 0);
    /* csrs mip, SEIP sets the software bit; csrw writes it whole. */
    g_assert_true(tcg_csr_rmw(h, 0x344, 2, SEIP, true, &old));
    g_assert_cmphex(rd(h, 0x344), ==, SEIP);
    g_assert_true(tcg_csr_rmw(h, 0x344, 1, STIP, true, &old));
    g_assert_cmphex(old, ==, SEIP);
    g_assert_cmphex(rd(h, 0x344), ==, STIP);
    /* A read alone (csrrs rd, mip, x0) writes nothing. */
    tcg_set_irq_line(h, 9, true);
    g_assert_true(tcg_csr_rmw(h, 0x344, 2, 0, false, &old));
    tcg_set_irq_line(h, 9, false);
    g_assert_cmphex(rd(h, 0x344), ==, STIP);
    g_free(h);
}

/* Priv spec 3.1.9: SEIP reads as the OR of the software bit and the controller's
 * line; clearing one leaves the other.  The controllers' lines are read-only. */
static void test_seip_is_an_or(void)
{
    Hart *h = new_hart();
    tcg_set_irq_line(h, 9, true);
    g_assert_true(tcg_csr_write(h, 0x344, 0));          /* software cannot clear the line */
    g_assert_cmphex(rd(h, 0x344) & SEIP, ==, SEIP);
    g_assert_true(tcg_csr_write(h, 0x344, SEIP));       /* software bit set too */
    tcg_set_irq_line(h, 9, false);
    g_assert_cmphex(rd(h, 0x344) & SEIP, ==, SEIP);     /* still: the software bit */
    g_assert_true(tcg_csr_write(h, 0x344, 0));
    g_assert_cmphex(rd(h, 0x344) & SEIP, ==, 0);
    g_assert_true(tcg_csr_write(h, 0x344, MTIP | MEIP)); /* read-only lines */
    g_assert_cmphex(rd(h, 0x344), ==, 0);
    /* sip shows the delegated bits of both. */
    g_assert_true(tcg_csr_write(h, 0x303, SSIP | STIP | SEIP));
    tcg_set_irq_line(h, 9, true);
    g_assert_cmphex(rd(h, 0x144), ==, SEIP);
    g_free(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/tcg/mip/stale-write-keeps-raised-line", test_stale_write_keeps_raised_line);
    g_test_add_func("/tcg/mip/set-clear-leave-line-out", test_set_clear_leave_line_out);
    g_test_add_func("/tcg/mip/seip-is-an-or", test_seip_is_an_or);
    return g_test_run();
}
