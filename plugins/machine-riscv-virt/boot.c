/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Boot: images into RAM, the reset-vector ROM, the device tree, and the registers
 * every hart starts with.
 *
 * With firmware (OpenSBI fw_dynamic): firmware at 0x80000000, kernel at 0x80200000,
 * a `struct fw_dynamic_info` in the ROM naming the kernel and S-mode.  Without
 * firmware the kernel (an ELF, or a raw image at 0x80000000) is entered in M-mode,
 * like QEMU's `-bios none`.  Either way every hart starts with a0 = hart id, a1 = the
 * device tree, a2 = the fw_dynamic_info, in M-mode.  The ROM at 0x1000 holds QEMU's
 * reset trampoline as well, for accelerators that start at the reset vector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "virt.h"

#define KERNEL_OFFSET 0x200000ull
#define FW_DYNAMIC_MAGIC 0x4942534full
#define FW_DYNAMIC_VERSION 2
#define NEXT_MODE_S 1
#define ROM_START_ADDR 0x18  /* offsets in the ROM of the trampoline's data */
#define ROM_FDT_ADDR 0x20
#define ROM_DYNINFO 0x28
#define MiB (1024 * 1024ull)

static bool is_elf(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char m[4] = {0};
    if (!f)
        return false;
    size_t n = fread(m, 1, 4, f);
    fclose(f);
    return n == 4 && m[0] == 0x7f && m[1] == 'E' && m[2] == 'L' && m[3] == 'F';
}

static uint64_t ram_end(Virt *v) { return VIRT_DRAM_BASE + v->ram_size; }

static bool load(Virt *v, const char *path, uint64_t addr, uint64_t *entry, uint64_t *end,
                 MosaicError *err)
{
    if (is_elf(path)) {
        uint64_t lo, hi;
        if (!mosaic_load_elf(v->m, path, entry, &lo, &hi, err))
            return false;
        if (lo < VIRT_DRAM_BASE || hi > ram_end(v)) {
            mosaic_error_set(err, "%s: segments 0x%llx..0x%llx lie outside RAM 0x%llx..0x%llx", path,
                             (unsigned long long)lo, (unsigned long long)hi,
                             (unsigned long long)VIRT_DRAM_BASE, (unsigned long long)ram_end(v));
            return false;
        }
        *end = hi;
        return true;
    }
    uint64_t n;
    if (addr >= ram_end(v)) {
        mosaic_error_set(err, "%s: no room in RAM at 0x%llx (memory too small)", path,
                         (unsigned long long)addr);
        return false;
    }
    if (!mosaic_load_raw(v->m, path, addr, ram_end(v) - addr, &n, err))
        return false;
    *entry = addr;
    *end = addr + n;
    return true;
}

bool virt_load_images(Virt *v, MosaicError *err)
{
    uint64_t top = VIRT_DRAM_BASE, entry = VIRT_DRAM_BASE;
    v->bare = !v->firmware;
    if (v->firmware) {
        uint64_t fw_end;
        if (!load(v, v->firmware, VIRT_DRAM_BASE, &entry, &fw_end, err))
            return false;
        v->entry = entry;
        top = fw_end;
        v->kernel_start = 0;
        if (v->kernel) {
            /* The kernel goes at the next 2 MiB boundary after the firmware (0x80200000
             * for OpenSBI), where fw_dynamic_info tells the firmware to find it. */
            uint64_t kaddr = (fw_end + 2 * MiB - 1) & ~(2 * MiB - 1);
            if (kaddr < VIRT_DRAM_BASE + KERNEL_OFFSET)
                kaddr = VIRT_DRAM_BASE + KERNEL_OFFSET;
            uint64_t kend;
            if (!load(v, v->kernel, kaddr, &v->kernel_start, &kend, err))
                return false;
            top = kend;
        }
    } else if (v->kernel) {
        uint64_t kend;
        if (!load(v, v->kernel, VIRT_DRAM_BASE, &v->entry, &kend, err))
            return false;
        top = kend;
    } else {
        v->entry = VIRT_DRAM_BASE; /* nothing to run: RAM is zero, the hart traps */
    }

    /* fdt: below min(RAM end, 3 GiB), 2 MiB aligned, as QEMU places it; room for 1 MiB. */
    uint64_t fdt_top = ram_end(v) < 0xc0000000ull ? ram_end(v) : 0xc0000000ull;
    v->fdt_addr = (fdt_top - 1 * MiB) & ~(2 * MiB - 1);
    if (v->fdt_addr < top) {
        mosaic_error_set(err, "riscv-virt: images end at 0x%llx, no room left for the device "
                         "tree below 0x%llx (raise [machine] memory)",
                         (unsigned long long)top, (unsigned long long)fdt_top);
        return false;
    }
    if (v->initrd) {
        /* Like QEMU: half of RAM (at most 128 MiB) above the kernel's start. */
        uint64_t base = v->kernel_start ? v->kernel_start : v->entry;
        uint64_t start = base + (v->ram_size / 2 < 128 * MiB ? v->ram_size / 2 : 128 * MiB);
        if (start < top)
            start = (top + 4095) & ~4095ull;
        uint64_t n;
        if (start >= v->fdt_addr ||
            !mosaic_load_raw(v->m, v->initrd, start, v->fdt_addr - start, &n, err)) {
            if (!mosaic_error_is_set(err))
                mosaic_error_set(err, "%s: no room for the initrd below the device tree at 0x%llx",
                                 v->initrd, (unsigned long long)v->fdt_addr);
            return false;
        }
        v->initrd_start = start;
        v->initrd_end = start + n;
    }
    return true;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = v >> (8 * i);
}
static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, v >> 32);
}

bool virt_place_fdt(Virt *v, const void *fdt, size_t size, MosaicError *err)
{
    if (v->fdt_addr + size > ram_end(v) ||
        mosaic_as_rw(mosaic_machine_address_space(v->m), v->fdt_addr, (void *)fdt, size, true) !=
            MOSAIC_MEM_OK) {
        mosaic_error_set(err, "riscv-virt: cannot place the %zu-byte device tree at 0x%llx", size,
                         (unsigned long long)v->fdt_addr);
        return false;
    }
    /* QEMU's reset trampoline (hw/riscv/boot.c), then its data and fw_dynamic_info. */
    static const uint32_t tramp[] = {
        0x00000297, /* 1: auipc t0, %pcrel_hi(fw_dyn) */
        0x02828613, /*    addi  a2, t0, %pcrel_lo(1b)  (= 0x1028) */
        0xf1402573, /*    csrr  a0, mhartid */
        0x0202b583, /*    ld    a1, 32(t0) */
        0x0182b283, /*    ld    t0, 24(t0) */
        0x00028067, /*    jr    t0 */
    };
    uint8_t *rom = mosaic_region_host_ptr(v->rom);
    if (!rom) {
        mosaic_error_set(err, "riscv-virt: the boot ROM has no host memory");
        return false;
    }
    for (unsigned i = 0; i < sizeof tramp / sizeof tramp[0]; i++)
        put32(rom + 4 * i, tramp[i]);
    put64(rom + ROM_START_ADDR, v->entry);
    put64(rom + ROM_FDT_ADDR, v->fdt_addr);
    uint8_t *dyn = rom + ROM_DYNINFO;
    put64(dyn + 0, FW_DYNAMIC_MAGIC);
    put64(dyn + 8, FW_DYNAMIC_VERSION);
    put64(dyn + 16, v->kernel_start);
    put64(dyn + 24, NEXT_MODE_S);
    put64(dyn + 32, 0);          /* options */
    put64(dyn + 40, UINT64_MAX); /* boot_hart: any (lottery) */
    return true;
}

/* Registers as the trampoline would leave them, set directly on every hart. */
void virt_boot_reset(Virt *v)
{
    for (unsigned i = 0; i < v->nharts; i++) {
        MosaicVcpu *cpu = mosaic_machine_vcpu(v->m, i);
        mosaic_vcpu_set_reg(cpu, MOSAIC_REG_PRIV, 3);
        mosaic_vcpu_set_reg(cpu, 10, i);                       /* a0: hart id */
        mosaic_vcpu_set_reg(cpu, 11, v->fdt_addr);             /* a1: device tree */
        mosaic_vcpu_set_reg(cpu, 12, VIRT_MROM_BASE + ROM_DYNINFO); /* a2 */
        mosaic_vcpu_set_reg(cpu, 5, v->entry);                 /* t0, as the ROM leaves it */
        if (!mosaic_vcpu_set_reg(cpu, MOSAIC_RISCV_REG_PC, v->entry))
            mosaic_vcpu_set_reg(cpu, MOSAIC_RISCV_REG_PC, VIRT_MROM_BASE);
    }
}
