/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A second accel plugin that says it runs riscv64, so a RISC-V board has two to choose
 * from: the deployment's `default-accel` picks it over the board's default. */
#include "../test-plugin.h"

static void *create(MosaicMachine *m, const MosaicProps *p, MosaicError *e) { return m; }
static void *vcpu_create(void *a, MosaicVcpu *v, unsigned i, MosaicError *e) { return v; }
static void vcpu_run(void *c) {}
static void vcpu_kick(void *c) {}
static void vcpu_set_irq(void *c, unsigned line, bool level) {}
static bool get_reg(void *c, unsigned r, uint64_t *v) { return false; }
static bool set_reg(void *c, unsigned r, uint64_t v) { return false; }

static const char *const archs[] = {"riscv64", NULL};

static const MosaicAccelOps ops = {
    .size = sizeof(MosaicAccelOps), .create = create, .vcpu_create = vcpu_create,
    .vcpu_run = vcpu_run, .vcpu_kick = vcpu_kick, .vcpu_set_irq = vcpu_set_irq,
    .vcpu_get_reg = get_reg, .vcpu_set_reg = set_reg, .archs = archs,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_ACCEL, .kind_abi = MOSAIC_ACCEL_ABI, .name = "second",
              .version = "0.1", .license = "MIT", .description = "a second riscv64 accel",
              .ops = &ops);
