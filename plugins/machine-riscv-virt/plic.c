/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SiFive PLIC at 0xc000000 (riscv,plic0), QEMU virt's layout:
 *   0x000000 + 4*src       priority (3 bits)
 *   0x001000               pending bits (read only)
 *   0x002000 + 0x80*ctx    enable bits
 *   0x200000 + 0x1000*ctx  threshold; +4 claim/complete
 * Two contexts per hart: 2h is M-mode (drives MEIP), 2h+1 is S-mode (drives SEIP).
 * Sources are level triggered: a source whose line is still high when completed is
 * pending again.  Called with the core lock held. */
#include <stdlib.h>
#include <string.h>
#include "virt.h"

#define NSRC (VIRT_PLIC_NDEV + 1)
#define NWORDS ((NSRC + 31) / 32)
#define PRIO_MASK 7u
#define PENDING_BASE 0x1000
#define ENABLE_BASE 0x2000
#define ENABLE_STRIDE 0x80
#define CONTEXT_BASE 0x200000
#define CONTEXT_STRIDE 0x1000

typedef struct PlicCtx {
    uint32_t enable[NWORDS];
    uint32_t threshold;
    MosaicIrq line;
    bool level;
} PlicCtx;

struct Plic {
    MosaicRegion *mr, *container;
    unsigned nctx;
    uint32_t priority[NSRC];
    uint32_t pending[NWORDS];
    uint32_t claimed[NWORDS];
    uint32_t level[NWORDS];
    PlicCtx ctx[];
};

static bool bit(const uint32_t *w, unsigned i) { return (w[i / 32] >> (i % 32)) & 1; }
static void setbit(uint32_t *w, unsigned i, bool v)
{
    if (v)
        w[i / 32] |= 1u << (i % 32);
    else
        w[i / 32] &= ~(1u << (i % 32));
}

/* Highest-priority source that is pending, enabled, not claimed and above the
 * context's threshold; ties go to the lowest id.  0 when none. */
static unsigned best(Plic *p, PlicCtx *c)
{
    unsigned id = 0;
    uint32_t prio = c->threshold;
    for (unsigned w = 0; w < NWORDS; w++) {
        uint32_t cand = p->pending[w] & c->enable[w] & ~p->claimed[w];
        while (cand) {
            unsigned b = __builtin_ctz(cand);
            cand &= cand - 1;
            unsigned s = w * 32 + b;
            if (s && s < NSRC && p->priority[s] > prio) {
                prio = p->priority[s];
                id = s;
            }
        }
    }
    return id;
}

static void update(Plic *p)
{
    for (unsigned i = 0; i < p->nctx; i++) {
        PlicCtx *c = &p->ctx[i];
        bool level = best(p, c) != 0;
        if (level != c->level) {
            c->level = level;
            mosaic_irq_set(&c->line, level);
        }
    }
}

static void plic_set_irq(void *opaque, unsigned src, bool level)
{
    Plic *p = opaque;
    if (src == 0 || src >= NSRC)
        return;
    setbit(p->level, src, level);
    if (level) {
        if (!bit(p->claimed, src))
            setbit(p->pending, src, true);
    } else {
        setbit(p->pending, src, false);
    }
    update(p);
}

MosaicIrq plic_input(Plic *p, unsigned source)
{
    return (MosaicIrq){.set = plic_set_irq, .opaque = p, .n = source};
}

static uint64_t plic_read(void *opaque, uint64_t off, unsigned size)
{
    Plic *p = opaque;
    if (off < 4 * NSRC)
        return p->priority[off / 4];
    if (off >= PENDING_BASE && off < PENDING_BASE + 4 * NWORDS)
        return p->pending[(off - PENDING_BASE) / 4];
    if (off >= ENABLE_BASE && off < ENABLE_BASE + (uint64_t)ENABLE_STRIDE * p->nctx) {
        uint64_t rel = off - ENABLE_BASE;
        unsigned ctx = rel / ENABLE_STRIDE, w = (rel % ENABLE_STRIDE) / 4;
        return w < NWORDS ? p->ctx[ctx].enable[w] : 0;
    }
    if (off >= CONTEXT_BASE && off < CONTEXT_BASE + (uint64_t)CONTEXT_STRIDE * p->nctx) {
        uint64_t rel = off - CONTEXT_BASE;
        PlicCtx *c = &p->ctx[rel / CONTEXT_STRIDE];
        switch (rel % CONTEXT_STRIDE) {
        case 0:
            return c->threshold;
        case 4: { /* claim */
            unsigned id = best(p, c);
            if (id) {
                setbit(p->pending, id, false);
                setbit(p->claimed, id, true);
                update(p);
            }
            return id;
        }
        }
    }
    return 0;
}

static void plic_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Plic *p = opaque;
    if (off < 4 * NSRC) {
        if (off)
            p->priority[off / 4] = val & PRIO_MASK;
        update(p);
        return;
    }
    if (off >= ENABLE_BASE && off < ENABLE_BASE + (uint64_t)ENABLE_STRIDE * p->nctx) {
        uint64_t rel = off - ENABLE_BASE;
        unsigned ctx = rel / ENABLE_STRIDE, w = (rel % ENABLE_STRIDE) / 4;
        if (w < NWORDS) {
            uint32_t mask = w == 0 ? ~1u : ~0u; /* source 0 does not exist */
            if (w == NWORDS - 1 && NSRC % 32)
                mask &= (1u << (NSRC % 32)) - 1;
            p->ctx[ctx].enable[w] = val & mask;
            update(p);
        }
        return;
    }
    if (off >= CONTEXT_BASE && off < CONTEXT_BASE + (uint64_t)CONTEXT_STRIDE * p->nctx) {
        uint64_t rel = off - CONTEXT_BASE;
        PlicCtx *c = &p->ctx[rel / CONTEXT_STRIDE];
        switch (rel % CONTEXT_STRIDE) {
        case 0:
            c->threshold = val & PRIO_MASK;
            update(p);
            break;
        case 4: { /* complete: only an id enabled for this context counts (spec) */
            uint32_t id = (uint32_t)val;
            if (id && id < NSRC && bit(c->enable, id) && bit(p->claimed, id)) {
                setbit(p->claimed, id, false);
                if (bit(p->level, id))
                    setbit(p->pending, id, true);
                update(p);
            }
            break;
        }
        }
    }
}

static const MosaicMmioOps plic_ops = {
    .size = sizeof(MosaicMmioOps),
    .read = plic_read,
    .write = plic_write,
    .min_access = 4,
    .max_access = 4,
};

Plic *plic_new(MosaicMachine *m, unsigned nharts, MosaicError *err)
{
    unsigned nctx = 2 * nharts;
    Plic *p = calloc(1, sizeof(*p) + nctx * sizeof(PlicCtx));
    if (!p) {
        mosaic_error_set(err, "plic: out of memory");
        return NULL;
    }
    p->nctx = nctx;
    for (unsigned h = 0; h < nharts; h++) {
        MosaicVcpu *vcpu = mosaic_machine_vcpu(m, h);
        p->ctx[2 * h].line = mosaic_vcpu_irq(vcpu, MOSAIC_RISCV_IRQ_MEIP);
        p->ctx[2 * h + 1].line = mosaic_vcpu_irq(vcpu, MOSAIC_RISCV_IRQ_SEIP);
    }
    p->mr = mosaic_region_new_mmio("plic", VIRT_PLIC_SIZE, &plic_ops, p);
    if (!mosaic_region_add(mosaic_machine_memory(m), VIRT_PLIC_BASE, p->mr, 0, err)) {
        plic_free(p);
        return NULL;
    }
    p->container = mosaic_machine_memory(m);
    return p;
}

void plic_reset(Plic *p)
{
    memset(p->priority, 0, sizeof(p->priority));
    memset(p->pending, 0, sizeof(p->pending));
    memset(p->claimed, 0, sizeof(p->claimed));
    /* Input levels belong to the devices: keep them, they re-pend at once. */
    for (unsigned s = 1; s < NSRC; s++)
        if (bit(p->level, s))
            setbit(p->pending, s, true);
    for (unsigned i = 0; i < p->nctx; i++) {
        PlicCtx *c = &p->ctx[i];
        memset(c->enable, 0, sizeof(c->enable));
        c->threshold = 0;
        c->level = false;
        mosaic_irq_set(&c->line, false);
    }
}

void plic_free(Plic *p)
{
    if (!p)
        return;
    virt_region_remove(p->container, p->mr);
    free(p);
}
