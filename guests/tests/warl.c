/* SPDX-License-Identifier: GPL-2.0-or-later */
/* WARL legalization of mstatus.MPP, satp, mtvec and the interrupt registers (privileged
 * spec 1.12 §3.1.6.1, §3.1.7, §3.1.9, §4.1.11), as signature lines compared with QEMU.
 *
 * MPP: every write (csrw, csrs, csrc) of each value from each legal value; a write of
 * the reserved value 2 keeps the old value.  satp: each reserved MODE leaves satp unchanged; a
 * MODE the hart accepts must translate with that many levels: one chain of page tables
 * (Sv57 -> Sv48 -> Sv39 roots) maps the same page, and an S-mode load through it must
 * read the page's value.  A hart that accepted Sv57 without walking five levels reads
 * nothing (page fault) and the signature differs.  Which paging modes exist is the
 * implementation's choice (INFO lines, not compared). */
#include <stdbool.h>

#include "modes.h"

#define PTE_V 1ull
#define PTE_R 2ull
#define PTE_W 4ull
#define PTE_X 8ull
#define PTE_A 64ull
#define PTE_D 128ull
#define PTE_PPN(pa) (((uint64_t)(pa) >> 12) << 10)
#define VA_DATA 0x40000000ull
#define MAGIC 0x5a17c0de600d1234ull
#define MS_MPP (3ull << 11)
/* The M and S software, timer and external interrupt bits.  QEMU's default hart also
 * has the H extension and Sscofpmf (VS*, SGEI and LCOFI bits): not compared. */
#define MS_INTS 0xaaaull

extern char __scratch_start[];
static volatile uint64_t loaded, page_faults;

static int m_hook(TrapFrame *f, uint64_t cause, uint64_t tval)
{
    if (cause == 12 || cause == 13 || cause == 15) {
        /* A hart that walks the tables wrongly cannot fetch the S-mode code either:
         * switch translation off so the S-mode function can return. */
        page_faults++;
        csr_write(satp, 0);
        __asm__ volatile("sfence.vma" ::: "memory");
        if (cause == 12) { /* fetch fault: resume at the caller */
            f->mepc = f->x[1];
            return 1;
        }
    }
    return record_and_skip(f, cause, tval);
}

static void s_load(void) { loaded = *(volatile uint64_t *)VA_DATA; }

static uint64_t mpp(void) { return (csr_read(mstatus) & MS_MPP) >> 11; }

static void set_mpp(uint64_t v)
{
    csr_clear(mstatus, MS_MPP);
    csr_set(mstatus, v << 11);
}

/* Writes whose result would be the reserved value 2 report whether MPP kept its old
 * value (INFO, checked by tests/system/test_riscv_isa.py): QEMU 7.2, the reference,
 * stores 2 (fixed in QEMU 8.1, which keeps the old value); every other result is
 * compared with QEMU. */
static void mpp_writes(void)
{
    static const char *const how[] = {"csrw", "csrs", "csrc"};
    static const uint64_t legal[] = {0, 1, 3};
    char name[] = "mpp-csrw-0-to-0";
    for (unsigned h = 0; h < 3; h++) {
        for (unsigned f = 0; f < 3; f++) {
            for (uint64_t to = 0; to < 4; to++) {
                uint64_t from = legal[f], intended;
                set_mpp(from);
                if (h == 0) {
                    csr_write(mstatus, (csr_read(mstatus) & ~MS_MPP) | (to << 11));
                    intended = to;
                } else if (h == 1) {
                    csr_set(mstatus, to << 11);
                    intended = from | to;
                } else {
                    csr_clear(mstatus, (to << 11) ^ MS_MPP); /* clear the bits `to` lacks */
                    intended = from & to;
                }
                for (unsigned k = 0; k < 4; k++)
                    name[4 + k] = how[h][k];
                name[9] = '0' + from;
                name[14] = '0' + to;
                uint64_t got = mpp();
                if (intended != 2)
                    sig(name, got);
                else
                    info(name, got == from ? "kept" : got == 2 ? "stored" : "changed");
            }
        }
    }
    set_mpp(3);
    /* sstatus is a view: writing all ones through it leaves the M-only fields alone
     * (MIE, MPIE, MPP, MPRV, TVM, TW, TSR). */
    const uint64_t m_only = (1ull << 3) | (1ull << 7) | MS_MPP | (1ull << 17) | (7ull << 20);
    uint64_t saved = csr_read(mstatus);
    csr_clear(mstatus, 0xa); /* no interrupt while SIE is set below */
    uint64_t before = csr_read(mstatus) & m_only;
    csr_write(sstatus, ~0ull);
    sig("sstatus-ones-m-fields", csr_read(mstatus) & m_only);
    check_eq("sstatus-ones-m-fields", csr_read(mstatus) & m_only, before);
    csr_write(mstatus, saved);
}

/* Page tables: root57[0] -> root48, root48[0] -> root39; root39 maps RAM (gigapage, for
 * the S-mode code) and VA_DATA -> l1 -> l0 -> data.  Returns the three roots. */
static void build_tables(uint64_t *roots[3])
{
    uint8_t *s = (uint8_t *)(((uint64_t)__scratch_start + 0xfff) & ~0xfffull);
    for (unsigned i = 0; i < 0x1000 * 6; i++)
        s[i] = 0;
    uint64_t *r39 = (uint64_t *)s, *r48 = (uint64_t *)(s + 0x1000),
             *r57 = (uint64_t *)(s + 0x2000), *l1 = (uint64_t *)(s + 0x3000),
             *l0 = (uint64_t *)(s + 0x4000), *data = (uint64_t *)(s + 0x5000);
    r39[2] = PTE_PPN(0x80000000ull) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    r39[1] = PTE_PPN(l1) | PTE_V;
    l1[0] = PTE_PPN(l0) | PTE_V;
    l0[0] = PTE_PPN(data) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
    r48[0] = PTE_PPN(r39) | PTE_V;
    r57[0] = PTE_PPN(r48) | PTE_V;
    data[0] = MAGIC;
    roots[0] = r39;
    roots[1] = r48;
    roots[2] = r57;
}

static void satp_modes(void)
{
    uint64_t *roots[3];
    build_tables(roots);
    static const char *const names[] = {"sv39", "sv48", "sv57"};
    char key[] = "satp-sv39-translates";
    for (unsigned m = 0; m < 3; m++) {
        uint64_t want = ((8ull + m) << 60) | ((uint64_t)roots[m] >> 12);
        csr_write(satp, 0);
        csr_write(satp, want);
        uint64_t got = csr_read(satp);
        bool accepted = got == want;
        if (!accepted)
            check_eq(names[m], got, 0); /* refused: unchanged */
        info(names[m], accepted ? "supported" : "unsupported");
        bool ok = true;
        if (accepted) {
            __asm__ volatile("sfence.vma" ::: "memory");
            loaded = 0;
            uint64_t pf = page_faults;
            run_s(s_load);
            ok = loaded == MAGIC && page_faults == pf;
        }
        for (unsigned k = 0; k < 4; k++)
            key[5 + k] = names[m][k];
        sig(key, ok);
        if (!ok)
            fail(key);
        csr_write(satp, 0);
    }
    check_eq("sv39 is supported", ({
        csr_write(satp, (8ull << 60) | ((uint64_t)roots[0] >> 12));
        csr_read(satp) >> 60;
    }), 8);

    /* Reserved modes (1-7, 11-15) leave a valid satp as it was. */
    uint64_t before = csr_read(satp);
    char rk[] = "satp-mode-00";
    for (uint64_t mode = 1; mode < 16; mode++) {
        if (mode >= 8 && mode <= 10)
            continue;
        csr_write(satp, (mode << 60) | ((uint64_t)roots[1] >> 12) | (0x1234ull << 44));
        rk[10] = '0' + mode / 10;
        rk[11] = '0' + mode % 10;
        sig(rk, csr_read(satp));
        check_eq(rk, csr_read(satp), before);
    }
    /* ASID and PPN fields of a valid mode. */
    csr_write(satp, (8ull << 60) | (0xffffull << 44) | ((uint64_t)roots[0] >> 12));
    sig("satp-asid-ones", csr_read(satp));
    csr_write(satp, 0);
    sig("satp-bare", csr_read(satp));
    /* Bare with other fields set is reserved: what stays is the hart's choice. */
    csr_write(satp, (0x1234ull << 44) | 0x80000ull);
    info("satp-bare-with-fields", csr_read(satp) ? "kept" : "zeroed");
    csr_write(satp, 0);
    __asm__ volatile("sfence.vma" ::: "memory");
}

/* mtvec MODE 2 and 3 are reserved; which legal value stays is the hart's choice (QEMU
 * keeps the old value, Mosaic clears MODE), but never a reserved one.  The writable M
 * and S bits of mie, mideleg and sie are compared with QEMU. */
static void trap_regs(void)
{
    uint64_t saved = csr_read(mtvec);
    for (uint64_t mode = 2; mode < 4; mode++) {
        csr_write(mtvec, 0x80001000ull | mode);
        uint64_t got = csr_read(mtvec);
        CHECK((got & 3) < 2);
        info(mode == 2 ? "mtvec-mode-2" : "mtvec-mode-3",
             got == saved ? "kept" : got == 0x80001000ull ? "direct" : "other");
        csr_write(mtvec, saved);
    }
    /* With every enable bit set, nothing may be taken: global M and S enables off. */
    uint64_t status = csr_read(mstatus) & 0xa, mie = csr_read(mie), mideleg = csr_read(mideleg);
    csr_clear(mstatus, 0xa);
    csr_write(mie, ~0ull);
    sig("mie-ones", csr_read(mie) & MS_INTS);
    csr_write(mie, 0);
    csr_write(mideleg, ~0ull);
    sig("mideleg-ones", csr_read(mideleg) & MS_INTS);
    csr_write(mie, ~0ull);
    sig("sie-ones-delegated", csr_read(sie) & MS_INTS);
    csr_write(mie, mie);
    csr_write(mideleg, mideleg);
    csr_set(mstatus, status);
}

void test_main(void)
{
    put_str("warl\n");
    modes_init(m_hook);
    csr_write(medeleg, 0);
    mpp_writes();
    satp_modes();
    trap_regs();
}
