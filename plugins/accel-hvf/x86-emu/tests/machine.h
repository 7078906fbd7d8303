/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Test machines in each processor mode the emulator handles, with identity-mapped page
 * tables where the mode pages (so a linear address is its physical address), code at
 * CODE_ADDR and data around DATA_ADDR. */
#ifndef X86EMU_TEST_MACHINE_H
#define X86EMU_TEST_MACHINE_H

#include <glib.h>

#include "testmem.h"

typedef enum {
    MODE_REAL16,      /* real mode: segment bases from selectors, 16-bit */
    MODE_PROT16,      /* protected mode, 16-bit code segment, no paging */
    MODE_PROT32,      /* protected mode, 32-bit, no paging, DS base 0x1000 */
    MODE_PAGED32,     /* 32-bit paging, 4 MiB pages (CR4.PSE) */
    MODE_PAE32,       /* PAE paging, 2 MiB pages */
    MODE_COMPAT32,    /* long mode, 32-bit compatibility code segment */
    MODE_LONG64,      /* 64-bit mode, 4-level paging with 2 MiB pages */
    MODE_COUNT
} TestMode;

static const char *const mode_names[MODE_COUNT] = {
    "real16", "prot16", "prot32", "paged32", "pae32", "compat32", "long64",
};

#define RAM_BYTES (8u << 20)
#define CODE_ADDR 0x5000u   /* linear (offset in real mode: CS base 0x10000) */
#define PT_BASE 0x700000u   /* page tables live here, outside the identity-mapped data */

typedef struct TestMachine {
    TestMem mem;
    X86EmuCpu cpu;
    X86EmuResult res;
    TestMode mode;
} TestMachine;

static inline void put64(TestMachine *t, uint64_t pa, uint64_t v) { memcpy(t->mem.ram + pa, &v, 8); }
static inline void put32(TestMachine *t, uint64_t pa, uint32_t v) { memcpy(t->mem.ram + pa, &v, 4); }

static inline TestMachine *machine_new(TestMode mode)
{
    TestMachine *t = g_new0(TestMachine, 1);
    t->mem.ram = g_malloc0(RAM_BYTES);
    t->mem.ram_size = RAM_BYTES;
    t->mode = mode;
    X86EmuCpu *c = &t->cpu;
    bool db = mode != MODE_REAL16 && mode != MODE_PROT16;
    for (int s = 0; s < 6; s++)
        c->seg[s] = (X86EmuSegment){ 0, 0xffffffff, 0x10, db, false };
    c->rflags = 0x2;
    c->rip = CODE_ADDR;
    switch (mode) {
    case MODE_REAL16:
        c->seg[X86_CS] = (X86EmuSegment){ 0x10000, 0xffff, 0x1000, false, false };
        c->seg[X86_DS] = (X86EmuSegment){ 0x20000, 0xffff, 0x2000, false, false };
        c->seg[X86_SS] = (X86EmuSegment){ 0x30000, 0xffff, 0x3000, false, false };
        c->seg[X86_ES] = (X86EmuSegment){ 0x40000, 0xffff, 0x4000, false, false };
        break;
    case MODE_PROT16:
        c->cr0 = X86_CR0_PE;
        break;
    case MODE_PROT32:
        c->cr0 = X86_CR0_PE;
        c->seg[X86_DS].base = 0x1000;
        break;
    case MODE_PAGED32:
        c->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP;
        c->cr4 = X86_CR4_PSE;
        c->cr3 = PT_BASE;
        put32(t, PT_BASE, 0x000000e7);            /* 0..4 MiB: P RW US A D PS */
        put32(t, PT_BASE + 4, 0x004000e7);        /* 4..8 MiB */
        break;
    case MODE_PAE32:
        c->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP;
        c->cr4 = X86_CR4_PAE;
        c->cr3 = PT_BASE;
        put64(t, PT_BASE, (PT_BASE + 0x1000) | 1);
        for (int i = 0; i < 4; i++)
            put64(t, PT_BASE + 0x1000 + 8 * i, (0x200000ull * i) | 0xe7);
        break;
    case MODE_COMPAT32:
    case MODE_LONG64:
        c->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP;
        c->cr4 = X86_CR4_PAE;
        c->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
        c->cr3 = PT_BASE;
        put64(t, PT_BASE, (PT_BASE + 0x1000) | 7);
        put64(t, PT_BASE + 0x1000, (PT_BASE + 0x2000) | 7);
        for (int i = 0; i < 4; i++)
            put64(t, PT_BASE + 0x2000 + 8 * i, (0x200000ull * i) | 0xe7);
        if (mode == MODE_LONG64)
            c->seg[X86_CS] = (X86EmuSegment){ 0, 0xffffffff, 0x33, false, true };
        break;
    default:
        break;
    }
    return t;
}

static inline void machine_free(TestMachine *t)
{
    g_free(t->mem.ram);
    g_free(t);
}

static inline bool mode_is16(TestMode m) { return m == MODE_REAL16 || m == MODE_PROT16; }

/* Linear address of seg:off in this machine (no paging surprises: identity maps). */
static inline uint64_t machine_linear(const TestMachine *t, int seg, uint64_t off)
{
    return t->cpu.seg[seg].base + off;
}

/* The mnemonics that completed in each mode (for the coverage check). */
static GHashTable *machine_covered[MODE_COUNT];

/* Places code at CS:RIP and runs one step. */
static inline X86EmuStatus machine_run(TestMachine *t, const uint8_t *code, size_t len)
{
    memcpy(t->mem.ram + machine_linear(t, X86_CS, t->cpu.rip), code, len);
    X86EmuStatus s = x86emu_step(&t->cpu, &testmem_ops, &t->mem, &t->res);
    if (s == X86EMU_DONE) {
        if (!machine_covered[t->mode])
            machine_covered[t->mode] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_hash_table_add(machine_covered[t->mode], g_strdup(t->res.mnemonic));
    }
    return s;
}

#endif
