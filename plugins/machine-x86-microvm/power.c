/* SPDX-License-Identifier: GPL-2.0-or-later */
/* x86-microvm: power control without ACPI or the i8042.  Port 0xcf9 resets the
 * machine (Linux: reboot=pci); the power register at MVM_POWER_BASE speaks the SiFive
 * test device's language, as riscv-virt's does: 0x5555 powers off, 0x3333 | code << 16
 * powers off with a failure code, 0x7777 resets.  Busybox's devmem reaches it. */
#include <stdlib.h>
#include "microvm.h"

struct Power {
    MosaicMachine *m;
    MosaicRegion *port, *reg, *sleep;
    bool port_mapped, reg_mapped, sleep_mapped;
    uint8_t cf9;
};

static uint64_t cf9_read(void *opaque, uint64_t off, unsigned size)
{
    Power *p = opaque;
    return p->cf9;
}

static void cf9_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Power *p = opaque;
    p->cf9 = val & 0x0a; /* keeps the full-reset and system-reset bits, as a PCH does */
    if (val & 0x04)
        mosaic_machine_request_shutdown(p->m, MOSAIC_SHUTDOWN_GUEST_RESET, 0);
}

static const MosaicMmioOps cf9_ops = {
    .size = sizeof(MosaicMmioOps), .read = cf9_read, .write = cf9_write,
    .min_access = 1, .max_access = 1,
};

/* ACPI hardware-reduced sleep control (FADT SLEEP_CONTROL_REG): SLP_EN with SLP_TYP 5
 * (\_S5) is the guest's poweroff; the status register next to it reads 0. */
static uint64_t sleep_read(void *opaque, uint64_t off, unsigned size) { return 0; }

static void sleep_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Power *p = opaque;
    if (off == 0 && (val & 0x20) && ((val >> 2) & 7) == 5)
        mosaic_machine_request_shutdown(p->m, MOSAIC_SHUTDOWN_GUEST_POWEROFF, 0);
}

static const MosaicMmioOps sleep_ops = {
    .size = sizeof(MosaicMmioOps), .read = sleep_read, .write = sleep_write,
    .min_access = 1, .max_access = 1,
};

static uint64_t reg_read(void *opaque, uint64_t off, unsigned size) { return 0; }

static void reg_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Power *p = opaque;
    if (off != 0)
        return;
    switch (val & 0xffff) {
    case 0x5555:
        mosaic_machine_request_shutdown(p->m, MOSAIC_SHUTDOWN_GUEST_POWEROFF, 0);
        break;
    case 0x3333:
        mosaic_machine_request_shutdown(p->m, MOSAIC_SHUTDOWN_GUEST_PANIC,
                                        (int)((val >> 16) & 0xffff) ?: 1);
        break;
    case 0x7777:
        mosaic_machine_request_shutdown(p->m, MOSAIC_SHUTDOWN_GUEST_RESET, 0);
        break;
    }
}

static const MosaicMmioOps reg_ops = {
    .size = sizeof(MosaicMmioOps), .read = reg_read, .write = reg_write,
    .min_access = 4, .max_access = 4,
};

Power *power_new(MosaicMachine *m, MosaicError *err)
{
    Power *p = calloc(1, sizeof(*p));
    if (!p) {
        mosaic_error_set(err, "x86-microvm: out of memory");
        return NULL;
    }
    p->m = m;
    p->port = mosaic_region_new_mmio("reset-cf9", 1, &cf9_ops, p);
    p->reg = mosaic_region_new_mmio("power", 0x1000, &reg_ops, p);
    p->sleep = mosaic_region_new_mmio("acpi-sleep", 2, &sleep_ops, p);
    if (!(p->sleep_mapped = mosaic_region_add(mosaic_machine_io_memory(m), MVM_SLEEP_PORT, p->sleep, 0, err)) ||
        !(p->port_mapped = mosaic_region_add(mosaic_machine_io_memory(m), MVM_RESET_PORT, p->port, 0, err)) ||
        !(p->reg_mapped = mosaic_region_add(mosaic_machine_memory(m), MVM_POWER_BASE, p->reg, 0, err))) {
        power_free(p);
        return NULL;
    }
    return p;
}

void power_free(Power *p)
{
    if (!p)
        return;
    if (p->port_mapped)
        mosaic_region_del(mosaic_machine_io_memory(p->m), p->port);
    if (p->reg_mapped)
        mosaic_region_del(mosaic_machine_memory(p->m), p->reg);
    if (p->sleep_mapped)
        mosaic_region_del(mosaic_machine_io_memory(p->m), p->sleep);
    mosaic_region_unref(p->sleep);
    mosaic_region_unref(p->port);
    mosaic_region_unref(p->reg);
    free(p);
}
