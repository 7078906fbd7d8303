/* SPDX-License-Identifier: GPL-2.0-or-later */
/* x86-microvm: direct Linux boot, following the kernel's x86 boot protocol
 * (Documentation/arch/x86/boot.rst) and its 64-bit entry: the protected-mode kernel at
 * 1 MiB, the boot parameters ("zero page") with the setup header, e820 map, command line
 * and initrd, page tables identity-mapping 4 GiB, a GDT with __BOOT_CS 0x10 and
 * __BOOT_DS 0x18, and vCPU 0 at startup_64 in long mode. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "microvm.h"

/* Offsets in struct boot_params and its setup_header (arch/x86/include/uapi/asm/bootparam.h). */
#define BP_E820_ENTRIES 0x1e8
#define BP_HDR 0x1f1
#define BP_SETUP_SECTS 0x1f1
#define BP_BOOT_FLAG 0x1fe
#define BP_JUMP 0x200
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_HEAP_END 0x224
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_MAX 0x22c
#define BP_XLOADFLAGS 0x236
#define BP_CMDLINE_SIZE 0x238
#define BP_INIT_SIZE 0x260
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_TABLE 0x2d0
#define XLF_KERNEL_64 1
#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define E820_RAM 1
#define E820_RESERVED 2

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t rd16(const uint8_t *p) { return p[0] | p[1] << 8; }
static void wr32(uint8_t *p, uint32_t v) { p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24; }
static void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }

static bool put(Microvm *v, uint64_t addr, const void *buf, uint64_t len, const char *what,
                MosaicError *err)
{
    if (mosaic_as_rw(mosaic_machine_address_space(v->m), addr, (void *)buf, len, true) != MOSAIC_MEM_OK) {
        mosaic_error_set(err, "x86-microvm: cannot place the %s at 0x%llx (%llu bytes): guest "
                         "RAM too small (raise [machine] memory)", what, (unsigned long long)addr,
                         (unsigned long long)len);
        return false;
    }
    return true;
}

/* Whole file into memory, refusing what cannot fit in guest RAM anyway. */
static uint8_t *slurp(const char *path, uint64_t max, size_t *len, MosaicError *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        mosaic_error_set(err, "x86-microvm: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    uint8_t *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        if ((uint64_t)n > max)
            mosaic_error_set(err, "x86-microvm: %s (%ld bytes) does not fit in guest RAM", path, n);
        else if (!(buf = malloc(n ? (size_t)n : 1)))
            mosaic_error_set(err, "x86-microvm: out of memory reading %s", path);
        else if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            mosaic_error_set(err, "x86-microvm: cannot read %s", path);
            free(buf);
            buf = NULL;
        }
    } else
        mosaic_error_set(err, "x86-microvm: cannot read %s: %s", path, strerror(errno));
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void e820_add(uint8_t *bp, uint64_t addr, uint64_t size, uint32_t type)
{
    uint8_t n = bp[BP_E820_ENTRIES];
    uint8_t *e = bp + BP_E820_TABLE + 20 * n;
    wr64(e, addr);
    wr64(e + 8, size);
    wr32(e + 16, type);
    bp[BP_E820_ENTRIES] = n + 1;
}

static bool load_page_tables(Microvm *v, MosaicError *err)
{
    uint64_t pml4[512] = {MVM_PDPT | 3}, pdpt[512] = {0};
    static uint64_t pd[4 * 512];
    for (unsigned i = 0; i < 4; i++)
        pdpt[i] = (MVM_PD + i * 0x1000) | 3;
    for (unsigned i = 0; i < 4 * 512; i++)
        pd[i] = (uint64_t)i << 21 | 0x83; /* present, writable, 2 MiB page */
    /* __BOOT_CS (0x10): 64-bit code; __BOOT_DS (0x18): flat data. */
    const uint64_t gdt[4] = {0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull};
    return put(v, MVM_PML4, pml4, sizeof(pml4), "page tables", err) &&
           put(v, MVM_PDPT, pdpt, sizeof(pdpt), "page tables", err) &&
           put(v, MVM_PD, pd, sizeof(pd), "page tables", err) &&
           put(v, MVM_GDT_ADDR, gdt, sizeof(gdt), "GDT", err);
}

bool microvm_load(Microvm *v, MosaicError *err)
{
    size_t klen;
    uint8_t *k = slurp(v->kernel, v->ram_size, &klen, err);
    if (!k)
        return false;
    bool ok = false;
    uint8_t *bp = calloc(1, 4096);
    uint8_t *initrd = NULL;
    if (!bp) {
        mosaic_error_set(err, "x86-microvm: out of memory");
        goto out;
    }
    if (klen < 0x1000 || memcmp(k + BP_HEADER, "HdrS", 4) != 0 || rd16(k + BP_BOOT_FLAG) != 0xaa55) {
        mosaic_error_set(err, "x86-microvm: kernel = %s is not a Linux bzImage (no 'HdrS' boot "
                         "header)", v->kernel);
        goto out;
    }
    uint16_t version = rd16(k + BP_VERSION);
    if (version < 0x20c || !(rd16(k + BP_XLOADFLAGS) & XLF_KERNEL_64)) {
        mosaic_error_set(err, "x86-microvm: kernel = %s has no 64-bit entry point (boot protocol "
                         "%u.%02u; 2.12 with XLF_KERNEL_64 is needed)", v->kernel, version >> 8,
                         version & 0xff);
        goto out;
    }
    unsigned setup_sects = k[BP_SETUP_SECTS] ? k[BP_SETUP_SECTS] : 4;
    size_t setup_len = (setup_sects + 1) * 512ull;
    uint32_t init_size = rd32(k + BP_INIT_SIZE);
    if (setup_len >= klen || MVM_KERNEL + init_size > v->low_size) {
        mosaic_error_set(err, "x86-microvm: kernel = %s does not fit: it needs %u bytes from "
                         "1 MiB (raise [machine] memory)", v->kernel, init_size);
        goto out;
    }
    if (!put(v, MVM_KERNEL, k + setup_len, klen - setup_len, "kernel", err))
        goto out;

    /* The setup header as the kernel has it, then what the loader fills in. */
    size_t hdr_end = BP_JUMP + 2 + k[BP_JUMP + 1];
    memcpy(bp + BP_HDR, k + BP_HDR, hdr_end - BP_HDR);
    bp[BP_TYPE_OF_LOADER] = 0xff;
    bp[BP_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
    bp[BP_HEAP_END] = 0x00, bp[BP_HEAP_END + 1] = 0xfe; /* 0xfe00 */

    size_t cmdlen = strlen(v->cmdline) + 1;
    uint32_t cmdmax = rd32(k + BP_CMDLINE_SIZE);
    if (cmdlen > MVM_CMDLINE_MAX || (cmdmax && cmdlen > cmdmax + 1ull)) {
        mosaic_error_set(err, "x86-microvm: the kernel command line is %zu bytes, the kernel "
                         "takes at most %u", cmdlen - 1, cmdmax);
        goto out;
    }
    if (!put(v, MVM_CMDLINE, v->cmdline, cmdlen, "command line", err))
        goto out;
    wr32(bp + BP_CMD_LINE_PTR, (uint32_t)MVM_CMDLINE);

    if (v->initrd) {
        size_t ilen;
        uint64_t top = rd32(k + BP_INITRD_MAX) + 1ull;
        if (top > v->low_size)
            top = v->low_size;
        if (!(initrd = slurp(v->initrd, v->ram_size, &ilen, err)))
            goto out;
        uint64_t at = (top - ilen) & ~0xfffull;
        if (ilen > top || at < MVM_KERNEL + init_size) {
            mosaic_error_set(err, "x86-microvm: initrd = %s (%zu bytes) does not fit beside the "
                             "kernel below 0x%llx (raise [machine] memory)", v->initrd, ilen,
                             (unsigned long long)top);
            goto out;
        }
        if (!put(v, at, initrd, ilen, "initrd", err))
            goto out;
        wr32(bp + BP_RAMDISK_IMAGE, (uint32_t)at);
        wr32(bp + BP_RAMDISK_SIZE, (uint32_t)ilen);
    }

    e820_add(bp, 0, MVM_MPTABLE, E820_RAM);
    e820_add(bp, MVM_MPTABLE, MVM_EBDA_END - MVM_MPTABLE, E820_RESERVED);
    e820_add(bp, MVM_KERNEL, v->low_size - MVM_KERNEL, E820_RAM);
    if (v->high_size)
        e820_add(bp, MVM_HIGHMEM, v->high_size, E820_RAM);

    ok = put(v, MVM_BOOT_PARAMS, bp, 4096, "boot parameters", err) && load_page_tables(v, err) &&
         mptable_write(v->m, v->ncpus, err) && acpi_write(v->m, v->ncpus, v->virtio_used,
                                                   v->pcie ? &(AcpiPcie){v->mem64_base, MVM_PCIE_MMIO64_SIZE}
                                                           : NULL, err);
    v->entry = MVM_KERNEL + 0x200; /* startup_64 */
out:
    free(k);
    free(bp);
    free(initrd);
    return ok;
}

/* vCPU 0 in long mode at startup_64, rsi = boot parameters; the others wait for the
 * guest's INIT/SIPI (the accelerator's reset state). */
void microvm_boot_regs(Microvm *v)
{
    MosaicVcpu *c = mosaic_machine_vcpu(v->m, 0);
    struct { unsigned reg; uint64_t val; } set[] = {
        {MOSAIC_X86_REG_CR3, MVM_PML4},
        {MOSAIC_X86_REG_CR4, 0x20},          /* PAE */
        {MOSAIC_X86_REG_CR0, 0x80000031},    /* PG NE ET PE */
        {MOSAIC_X86_REG_EFER, 0x500},        /* LME LMA */
        {MOSAIC_X86_REG_GDT_BASE, MVM_GDT_ADDR},
        {MOSAIC_X86_REG_GDT_LIMIT, 31},
        {MOSAIC_X86_REG_IDT_BASE, 0},
        {MOSAIC_X86_REG_IDT_LIMIT, 0},
        {MOSAIC_X86_REG_RIP, v->entry},
        {MOSAIC_X86_REG_RSI, MVM_BOOT_PARAMS},
        {MOSAIC_X86_REG_RSP, MVM_BOOT_PARAMS}, /* unused by startup_64, but sane */
        {MOSAIC_X86_REG_EFLAGS, 2},
    };
    for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
        mosaic_vcpu_set_reg(c, set[i].reg, set[i].val);
    for (unsigned s = MOSAIC_X86_SEG_CS; s <= MOSAIC_X86_SEG_GS; s++) {
        bool code = s == MOSAIC_X86_SEG_CS;
        mosaic_vcpu_set_reg(c, MOSAIC_X86_REG_CS + s, code ? 0x10 : 0x18);
        mosaic_vcpu_set_reg(c, MOSAIC_X86_REG_SEG_BASE(s), 0);
        mosaic_vcpu_set_reg(c, MOSAIC_X86_REG_SEG_LIMIT(s), 0xffffffff);
        mosaic_vcpu_set_reg(c, MOSAIC_X86_REG_SEG_ATTR(s), code ? 0xa09b : 0xc093);
    }
}
