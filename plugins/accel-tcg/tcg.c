/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: the plugin descriptor and MosaicAccelOps: a RISC-V RV64GC hart emulator
 * (M/S/U, Sv39/Sv48) that decodes guest code once into translation blocks. */
#include "cpu.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *tcg_create(MosaicMachine *m, const MosaicProps *props, MosaicError *err)
{
    tcg_gdb_target_init();
    Accel *a = calloc(1, sizeof(*a));
    if (!a) {
        mosaic_error_set(err, "accel tcg: out of memory");
        return NULL;
    }
    a->machine = m;
    a->as = mosaic_machine_address_space(m);
    a->no_jit = props && mosaic_props_has(props, "jit") && !mosaic_props_get_bool(props, "jit");
    a->tb_size = props && mosaic_props_has(props, "tb-size") ? mosaic_props_get_uint(props, "tb-size")
                                                              : 32u << 20;
    a->code_mask = calloc(1u << CODE_MAP_BITS, sizeof(*a->code_mask));
    a->page_wgen = calloc(1u << CODE_MAP_BITS, sizeof(*a->page_wgen));
    if (!a->code_mask || !a->page_wgen) {
        free(a->code_mask);
        free(a->page_wgen);
        free(a);
        mosaic_error_set(err, "accel tcg: out of memory");
        return NULL;
    }
    return a;
}

static void tcg_destroy(void *accel)
{
    Accel *a = accel;
    free(a->code_mask);
    free(a->page_wgen);
    free(a);
}

static void *tcg_vcpu_create(void *accel, MosaicVcpu *vcpu, unsigned index, MosaicError *err)
{
    Accel *a = accel;
    if (index >= 256) {
        mosaic_error_set(err, "accel tcg: hart %u: at most 256 harts are supported", index);
        return NULL;
    }
    Hart *h = aligned_alloc(64, (sizeof(Hart) + 63) & ~(size_t)63);
    if (!h) {
        mosaic_error_set(err, "accel tcg: out of memory");
        return NULL;
    }
    memset(h, 0, sizeof(*h));
    h->acc = a;
    h->vcpu = vcpu;
    h->index = index;
    h->cw_page = ~0ull;
    h->hart_bit = 1ull << (index & 63);
    tcg_tb_init(h);
    if (!h->arena) {
        free(h);
        mosaic_error_set(err, "accel tcg: out of memory for the translation cache");
        return NULL;
    }
    tcg_hart_reset(h);
    a->harts[index] = h;
    if (index + 1 > a->nharts)
        a->nharts = index + 1;
    /* after publishing h: a page_add from now on raises it, one before is in a->code_hi */
    code_hi_raise(&h->code_hi, atomic_load(&a->code_hi));
    return h;
}

static void tcg_vcpu_destroy(void *cpu)
{
    Hart *h = cpu;
    if (getenv("MOSAIC_TCG_STATS")) /* a per-hart report at exit, for measuring */
        fprintf(stderr, "tcg hart %u: instructions %" PRIu64 " translations %" PRIu64
                " compiled %" PRIu64 " links %" PRIu64 " flushes %" PRIu64 " invalidations %" PRIu64
                " tlb-misses %" PRIu64 " exceptions %" PRIu64 " retranslations %" PRIu64
                " inval-code-write %" PRIu64 " inval-fence-i %" PRIu64 " code-write-kept %" PRIu64
                " flush-full %" PRIu64 " flush-other %" PRIu64 " region-evictions %" PRIu64
                " blocks-evicted %" PRIu64 " links-undone %" PRIu64 " thread-cpu-ms %" PRIu64 "\n",
                h->index, h->instret,
                h->st.translations, h->st.jit_blocks, h->st.jit_links, h->st.flushes, h->st.invalidations,
                h->st.tlb_misses, h->st.exceptions, h->st.retranslations, h->st.inval_code_write,
                h->st.inval_fence_i, h->st.code_write_kept, h->st.flush_full, h->st.flush_other,
                h->st.region_evictions, h->st.blocks_evicted, h->st.links_undone,
                h->thread_cpu_ns / 1000000);
    h->acc->harts[h->index] = NULL;
    tcg_tb_destroy(h);
    free(h);
}

static void tcg_vcpu_reset(void *cpu)
{
    tcg_hart_reset(cpu);
}

static void tcg_vcpu_run(void *cpu)
{
    Hart *h = cpu;
    tcg_hart_run(h);
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
        h->thread_cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void tcg_vcpu_kick(void *cpu)
{
    Hart *h = cpu;
    atomic_store(&h->kicked, 1);
    hart_kick_check(h);
    mosaic_vcpu_wake(h->vcpu);
}

static void tcg_vcpu_set_irq(void *cpu, unsigned line, bool level)
{
    Hart *h = cpu;
    if (line >= 16)
        return;
    tcg_set_irq_line(h, line, level);
    if (level)
        mosaic_vcpu_wake(h->vcpu);
}

static bool tcg_vcpu_get_reg(void *cpu, unsigned regno, uint64_t *value)
{
    Hart *h = cpu;
    if (regno < 32) {
        *value = h->x[regno];
        return true;
    }
    if (regno == MOSAIC_RISCV_REG_PC) {
        *value = h->pc;
        return true;
    }
    if (regno >= MOSAIC_RISCV_REG_F0 && regno < MOSAIC_RISCV_REG_F0 + 32) {
        *value = h->f[regno - MOSAIC_RISCV_REG_F0];
        return true;
    }
    if (regno == MOSAIC_REG_PRIV) {
        *value = h->priv;
        return true;
    }
    if (regno >= MOSAIC_RISCV_REG_CSR0 && regno < MOSAIC_RISCV_REG_CSR0 + 4096) {
        unsigned csr = regno - MOSAIC_RISCV_REG_CSR0;
        if (csr >= 1 && csr <= 3) { /* fflags/frm/fcsr regardless of mstatus.FS */
            *value = csr == 1 ? h->fflags : csr == 2 ? h->frm : (h->fflags | h->frm << 5);
            return true;
        }
        return tcg_csr_read(h, csr, value);
    }
    return false;
}

static bool tcg_vcpu_set_reg(void *cpu, unsigned regno, uint64_t value)
{
    Hart *h = cpu;
    if (regno < 32) {
        if (regno)
            h->x[regno] = value;
        return true;
    }
    if (regno == MOSAIC_RISCV_REG_PC) {
        h->pc = value & ~1ull;
        return true;
    }
    if (regno >= MOSAIC_RISCV_REG_F0 && regno < MOSAIC_RISCV_REG_F0 + 32) {
        h->f[regno - MOSAIC_RISCV_REG_F0] = value;
        return true;
    }
    if (regno == MOSAIC_REG_PRIV) {
        if (value != PRV_U && value != PRV_S && value != PRV_M)
            return false;
        tcg_set_priv(h, (int)value);
        hart_kick_check(h);
        return true;
    }
    if (regno >= MOSAIC_RISCV_REG_CSR0 && regno < MOSAIC_RISCV_REG_CSR0 + 4096) {
        unsigned csr = regno - MOSAIC_RISCV_REG_CSR0;
        if (csr >= 1 && csr <= 3) {
            if (csr != 2)
                h->fflags = value & 31;
            if (csr != 1)
                h->frm = (csr == 2 ? value : value >> 5) & 7;
            return true;
        }
        if (csr == 0xf14 || csr == 0x301)
            return true;
        return tcg_csr_write(h, csr, value);
    }
    return false;
}

static void tcg_memory_changed(void *accel)
{
    Accel *a = accel;
    atomic_fetch_add(&a->mem_changed, 1);
    for (unsigned i = 0; i < a->nharts; i++)
        if (a->harts[i])
            hart_kick_check(a->harts[i]);
}

static void tcg_query_stats(void *accel, MosaicStatFn *fn, void *opaque)
{
    Accel *a = accel;
    Stats s = {0};
    for (unsigned i = 0; i < a->nharts; i++) {
        Hart *h = a->harts[i];
        if (!h)
            continue;
        s.translations += h->st.translations;
        s.flushes += h->st.flushes;
        s.invalidations += h->st.invalidations;
        s.tlb_misses += h->st.tlb_misses;
        s.insns += h->instret;
        s.exceptions += h->st.exceptions;
        s.interrupts += h->st.interrupts;
        s.mmio += h->st.mmio;
        s.jit_blocks += h->st.jit_blocks;
        s.retranslations += h->st.retranslations;
        s.inval_code_write += h->st.inval_code_write;
        s.inval_fence_i += h->st.inval_fence_i;
        s.code_write_kept += h->st.code_write_kept;
        s.flush_full += h->st.flush_full;
        s.flush_other += h->st.flush_other;
        s.region_evictions += h->st.region_evictions;
        s.blocks_evicted += h->st.blocks_evicted;
        s.links_undone += h->st.links_undone;
    }
    fn(opaque, "translations", s.translations);
    fn(opaque, "flushes", s.flushes);
    fn(opaque, "flushes-cache-full", s.flush_full);
    fn(opaque, "flushes-other", s.flush_other);
    fn(opaque, "region-evictions", s.region_evictions);
    fn(opaque, "blocks-evicted", s.blocks_evicted);
    fn(opaque, "links-undone", s.links_undone);
    fn(opaque, "invalidations", s.invalidations);
    fn(opaque, "invalidations-code-write", s.inval_code_write);
    fn(opaque, "invalidations-fence-i", s.inval_fence_i);
    fn(opaque, "code-writes-kept", s.code_write_kept);
    fn(opaque, "retranslations", s.retranslations);
    fn(opaque, "tlb-misses", s.tlb_misses);
    fn(opaque, "instructions", s.insns);
    fn(opaque, "exceptions", s.exceptions);
    fn(opaque, "interrupts", s.interrupts);
    fn(opaque, "mmio-accesses", s.mmio);
    fn(opaque, "compiled-blocks", s.jit_blocks);
}

/* Single step: blocks of one instruction; the run loop reports a debug stop after each. */
static bool tcg_vcpu_set_step(void *cpu, bool on)
{
    Hart *h = cpu;
    if (h->step != on) {
        h->step = on;
        tcg_tb_flush(h, FLUSH_OTHER);
    }
    return true;
}

/* GDB breakpoints: a short list of virtual pcs; every hart drops its translations
 * when it changes, and translation puts an OP_BKPT in front of a matching pc. */
static bool tcg_breakpoint(void *accel, uint64_t pc, bool insert)
{
    Accel *a = accel;
    unsigned n = atomic_load(&a->nbps);
    unsigned k;
    for (k = 0; k < n; k++)
        if (atomic_load(&a->bps[k]) == pc)
            break;
    if (insert) {
        if (k < n)
            return true;
        if (n >= 16)
            return false;
        atomic_store(&a->bps[n], pc);
        atomic_store(&a->nbps, n + 1);
    } else {
        if (k == n)
            return true;
        atomic_store(&a->bps[k], atomic_load(&a->bps[n - 1]));
        atomic_store(&a->nbps, n - 1);
    }
    atomic_fetch_add(&a->bp_gen, 1);
    for (unsigned i = 0; i < a->nharts; i++)
        if (a->harts[i])
            hart_kick_check(a->harts[i]);
    return true;
}

static const char *const tcg_archs[] = {"riscv64", NULL};

static const MosaicAccelOps tcg_ops = {
    .size = sizeof(MosaicAccelOps),
    .archs = tcg_archs,
    .create = tcg_create,
    .destroy = tcg_destroy,
    .vcpu_create = tcg_vcpu_create,
    .vcpu_destroy = tcg_vcpu_destroy,
    .vcpu_reset = tcg_vcpu_reset,
    .vcpu_run = tcg_vcpu_run,
    .vcpu_kick = tcg_vcpu_kick,
    .vcpu_set_irq = tcg_vcpu_set_irq,
    .vcpu_get_reg = tcg_vcpu_get_reg,
    .vcpu_set_reg = tcg_vcpu_set_reg,
    .memory_changed = tcg_memory_changed,
    .query_stats = tcg_query_stats,
    .vcpu_set_step = tcg_vcpu_set_step,
    .breakpoint = tcg_breakpoint,
    .debug_target = &tcg_gdb_target,
};

static const MosaicPropDesc tcg_props[] = {
    {.key = "jit", .type = MOSAIC_PROP_BOOL, .defval = "on",
     .help = "x86-64 code generator for hot blocks (off: the interpreter runs everything; "
             "MOSAIC_TCG_JIT=0 in the environment does the same)"},
    {.key = "tb-size", .type = MOSAIC_PROP_SIZE, .defval = TB_SIZE_DEFAULT,
     .help = "code cache per hart: bytes of translated blocks and as many of generated code, "
             "in 16 regions; when full, the least recently used region is emptied (as QEMU's "
             "-accel tcg,tb-size, which flushes everything instead)",
     .min = TB_SIZE_MIN, .max = 1ll << 30},
    {.key = NULL},
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_ACCEL, .kind_abi = MOSAIC_ACCEL_ABI, .name = "tcg",
              .version = "0.1.0", .license = "GPL-2.0-or-later",
              .description = "RISC-V RV64GC emulator (decode-once translation blocks)",
              .props = tcg_props, .ops = &tcg_ops);
