/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SiFive test device at 0x100000 ("sifive,test0"): the guest's way to end the run.
 *   0x5555            pass  -> power off, exit status 0
 *   0x3333 | code<<16 fail  -> exit status `code` (guest panic)
 *   0x7777            reset
 * OpenSBI's SRST power-off and Linux's syscon-poweroff both end here. */
#include <stdlib.h>
#include "virt.h"

#define TEST_FAIL 0x3333
#define TEST_PASS 0x5555
#define TEST_RESET 0x7777

static uint64_t test_read(void *opaque, uint64_t off, unsigned size)
{
    return 0;
}

static void test_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    MosaicMachine *m = opaque;
    if (off != 0)
        return;
    unsigned status = val & 0xffff;
    int code = (int)((val >> 16) & 0xffff);
    switch (status) {
    case TEST_FAIL:
        mosaic_machine_request_shutdown(m, MOSAIC_SHUTDOWN_GUEST_PANIC, code);
        break;
    case TEST_PASS:
        mosaic_machine_request_shutdown(m, MOSAIC_SHUTDOWN_GUEST_POWEROFF, 0);
        break;
    case TEST_RESET:
        mosaic_machine_request_shutdown(m, MOSAIC_SHUTDOWN_GUEST_RESET, 0);
        break;
    default:
        mosaic_log("riscv-virt", 1, "sifive-test: unknown command 0x%x ignored", status);
    }
}

static const MosaicMmioOps test_ops = {
    .size = sizeof(MosaicMmioOps),
    .read = test_read,
    .write = test_write,
    .min_access = 2,
    .max_access = 4,
};

MosaicRegion *sifive_test_new(MosaicMachine *m, uint64_t base, MosaicError *err)
{
    MosaicRegion *mr = mosaic_region_new_mmio("sifive-test", 0x1000, &test_ops, m);
    if (!mosaic_region_add(mosaic_machine_memory(m), base, mr, 0, err)) {
        mosaic_region_unref(mr);
        return NULL;
    }
    return mr;
}
