/* SPDX-License-Identifier: GPL-2.0-or-later */
/* riscv-virt: the board.  RAM, boot ROM, CLINT, PLIC, UART, test device, RTC and eight
 * virtio-mmio slots at QEMU virt's addresses; the device tree is built once every
 * device of the machine file is realized. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "virt.h"

#define OPENSBI_DEFAULT "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"

static const MosaicPropDesc virt_props[] = {
    {.key = "firmware", .type = MOSAIC_PROP_PATH,
     .help = "M-mode firmware loaded at 0x80000000 (OpenSBI fw_dynamic); 'default' means "
             OPENSBI_DEFAULT "; absent: the kernel is entered in M-mode"},
    {.key = "kernel", .type = MOSAIC_PROP_PATH,
     .help = "kernel: Linux Image (at 0x80200000 with firmware) or a bare-metal ELF"},
    {.key = "initrd", .type = MOSAIC_PROP_PATH, .help = "initial ramdisk (linux,initrd-start)"},
    {.key = "append", .type = MOSAIC_PROP_STRING, .help = "kernel command line (/chosen/bootargs)"},
    {.key = "serial", .type = MOSAIC_PROP_REF, .choices = "chardev",
     .help = "chardev of the NS16550A UART (default: serial0, the terminal)"},
    {.key = "dumpdtb", .type = MOSAIC_PROP_PATH,
     .help = "write the generated device tree blob to this file (for dtc)"},
    {.key = "isa", .type = MOSAIC_PROP_STRING, .defval = "rv64imafdc_zicsr_zifencei",
     .help = "riscv,isa of every cpu node"},
    {.key = "mmu", .type = MOSAIC_PROP_ENUM, .choices = "sv39|sv48|sv57", .defval = "sv48",
     .help = "mmu-type of every cpu node"},
    {0},
};

static char *opt_str(const MosaicProps *p, const char *key)
{
    const char *s = mosaic_props_has(p, key) ? mosaic_props_get_str(p, key) : NULL;
    return s && *s ? strdup(s) : NULL;
}

static void virt_fini(void *board);

static bool add_ram_rom(Virt *v, MosaicError *err)
{
    MosaicRegion *sys = mosaic_machine_memory(v->m);
    v->ram = mosaic_region_new_ram("riscv-virt.ram", v->ram_size, err);
    if (!v->ram || !(v->ram_mapped = mosaic_region_add(sys, VIRT_DRAM_BASE, v->ram, 0, err)))
        return false;
    v->rom = mosaic_region_new_rom("riscv-virt.mrom", VIRT_MROM_SIZE, err);
    return v->rom && (v->rom_mapped = mosaic_region_add(sys, VIRT_MROM_BASE, v->rom, 0, err));
}

/* An empty virtio-mmio slot answers like QEMU's: magic, version 2, device id 0, which
 * Linux skips quietly.  The placeholder leaves when a device takes the slot. */
static uint64_t empty_slot_read(void *opaque, uint64_t off, unsigned size)
{
    switch (off) {
    case 0x0: return 0x74726976; /* "virt" */
    case 0x4: return 2;
    case 0xc: return 0x554d4551; /* vendor "QEMU" */
    }
    return 0;
}
static void empty_slot_write(void *opaque, uint64_t off, uint64_t val, unsigned size) {}
static const MosaicMmioOps empty_slot_ops = {
    .size = sizeof(MosaicMmioOps),
    .read = empty_slot_read,
    .write = empty_slot_write,
    .min_access = 1,
    .max_access = 8,
};

static void *virt_init(MosaicMachine *m, const MosaicProps *props, MosaicError *err)
{
    Virt *v = calloc(1, sizeof(*v));
    if (!v) {
        mosaic_error_set(err, "riscv-virt: out of memory");
        return NULL;
    }
    v->m = m;
    v->nharts = mosaic_machine_ncpus(m);
    v->ram_size = mosaic_machine_ram_size(m);
    if (v->nharts > VIRT_MAX_HARTS) {
        mosaic_error_set(err, "riscv-virt: %u cpus asked, the board has at most %u (lower [machine] cpus)",
                         v->nharts, VIRT_MAX_HARTS);
        goto fail;
    }
    if (v->ram_size > 0x7f80000000ull) {
        mosaic_error_set(err, "riscv-virt: memory too large for the board (at most 510G)");
        goto fail;
    }
    v->firmware = opt_str(props, "firmware");
    v->kernel = opt_str(props, "kernel");
    v->initrd = opt_str(props, "initrd");
    v->append = opt_str(props, "append");
    v->dumpdtb = opt_str(props, "dumpdtb");
    v->isa = opt_str(props, "isa");
    v->mmu = opt_str(props, "mmu");
    if (!v->isa)
        v->isa = strdup("rv64imafdc");
    if (!v->mmu)
        v->mmu = strdup("sv48");
    /* PATH values arrive resolved against the INI file: "default" became DIR/default. */
    if (v->firmware && (!strcmp(v->firmware, "default") ||
                        (strlen(v->firmware) >= 8 &&
                         !strcmp(v->firmware + strlen(v->firmware) - 8, "/default") &&
                         access(v->firmware, F_OK) != 0))) {
        free(v->firmware);
        v->firmware = strdup(OPENSBI_DEFAULT);
    }

    if (!mosaic_machine_create_vcpus(m, err) || !add_ram_rom(v, err))
        goto fail;
    v->clint = clint_new(m, v->nharts, err);
    if (!v->clint)
        goto fail;
    v->plic = plic_new(m, v->nharts, err);
    if (!v->plic)
        goto fail;

    const char *serial = mosaic_props_has(props, "serial") ? mosaic_props_get_str(props, "serial") : NULL;
    MosaicChardev *cd = mosaic_chardev_find(m, serial ? serial : "serial0");
    if (!cd && serial) {
        mosaic_error_set(err, "%s: serial = %s: no such chardev", mosaic_props_where(props, "serial"), serial);
        goto fail;
    }
    /* The UART is the serial-16550 device plugin (x86-microvm places the same one). */
    MosaicBusSlot uart_slot = {.size = sizeof uart_slot, .bus = "system", .base = VIRT_UART_BASE,
                               .length = VIRT_UART_SIZE, .irq = plic_input(v->plic, VIRT_UART_IRQ),
                               .container = mosaic_machine_memory(m)};
    const char *uart_kv[] = {"chardev", serial ? serial : "serial0", NULL};
    if (!mosaic_machine_add_device(m, "serial-16550", "uart0", cd ? uart_kv : NULL, &uart_slot, err) ||
        !(v->test = sifive_test_new(m, VIRT_TEST_BASE, err)))
        goto fail;
    v->rtc = rtc_new(m, VIRT_RTC_BASE, plic_input(v->plic, VIRT_RTC_IRQ), err);
    if (!v->rtc)
        goto fail;
    v->pcie = pcie_new(m, v->plic, err);
    if (!v->pcie)
        goto fail;
    for (unsigned i = 0; i < VIRT_VIRTIO_COUNT; i++) {
        MosaicRegion *mr = mosaic_region_new_mmio("virtio-mmio-empty", VIRT_VIRTIO_STEP,
                                                  &empty_slot_ops, v);
        if (!mosaic_region_add(mosaic_machine_memory(m), VIRT_VIRTIO_BASE + i * VIRT_VIRTIO_STEP,
                               mr, -1, err)) {
            mosaic_region_unref(mr);
            goto fail;
        }
        v->virtio_placeholder[i] = mr;
    }
    if (!virt_load_images(v, err))
        goto fail;
    return v;
fail:
    if (!mosaic_error_is_set(err))
        mosaic_error_set(err, "riscv-virt: board setup failed");
    virt_fini(v);
    return NULL;
}

static void virt_fini(void *board)
{
    Virt *v = board;
    if (!v)
        return;
    MosaicRegion *sys = mosaic_machine_memory(v->m);
    mosaic_pci_host_free(v->pcie); /* first: its functions may still hold PLIC lines */
    clint_free(v->clint);
    plic_free(v->plic);
    rtc_free(v->rtc);
    virt_region_remove(v->test ? sys : NULL, v->test);
    for (unsigned i = 0; i < VIRT_VIRTIO_COUNT; i++)
        virt_region_remove(sys, v->virtio_placeholder[i]);
    virt_region_remove(v->ram_mapped ? sys : NULL, v->ram);
    virt_region_remove(v->rom_mapped ? sys : NULL, v->rom);
    free(v->fdt);
    free(v->firmware);
    free(v->kernel);
    free(v->initrd);
    free(v->append);
    free(v->dumpdtb);
    free(v->isa);
    free(v->mmu);
    free(v);
}

static void virt_reset(void *board)
{
    Virt *v = board;
    clint_reset(v->clint);
    rtc_reset(v->rtc);
    mosaic_pci_host_reset(v->pcie);
    plic_reset(v->plic);
    /* A guest reset restarts from pristine images, as on QEMU: OpenSBI's cold-boot
     * lottery and relocation flags live in its .data and would otherwise send every
     * hart down the warm-boot path.  The first reset (at start) finds them loaded. */
    if (v->resets++ > 0) {
        MosaicError *err = NULL;
        if (!virt_load_images(v, err) || !virt_place_fdt(v, v->fdt, v->fdt_size, err))
            mosaic_log("riscv-virt", 0, "reset: reloading the boot images failed; "
                       "the guest restarts on the memory it left");
    }
    virt_boot_reset(v);
}

static bool virt_get_slot(void *board, const char *bus, MosaicBusSlot *slot, MosaicError *err)
{
    Virt *v = board;
    if (strcmp(bus, "virtio-mmio") != 0) {
        mosaic_error_set(err, "riscv-virt has no '%s' bus (it offers virtio-mmio)", bus);
        return false;
    }
    if (v->virtio_used >= VIRT_VIRTIO_COUNT) {
        mosaic_error_set(err, "riscv-virt: all %d virtio-mmio slots are taken", VIRT_VIRTIO_COUNT);
        return false;
    }
    unsigned i = v->virtio_used++;
    if (v->virtio_placeholder[i]) {
        mosaic_region_del(mosaic_machine_memory(v->m), v->virtio_placeholder[i]);
        mosaic_region_unref(v->virtio_placeholder[i]);
        v->virtio_placeholder[i] = NULL;
    }
    memset(slot, 0, sizeof(*slot));
    slot->size = sizeof(*slot);
    slot->bus = "virtio-mmio";
    slot->base = VIRT_VIRTIO_BASE + i * VIRT_VIRTIO_STEP;
    slot->length = VIRT_VIRTIO_STEP;
    slot->irq = plic_input(v->plic, VIRT_VIRTIO_IRQ + i);
    slot->dma = mosaic_machine_address_space(v->m);
    slot->container = mosaic_machine_memory(v->m);
    return true;
}

static bool virt_devices_done(void *board, MosaicError *err)
{
    Virt *v = board;
    size_t size;
    void *fdt = virt_build_fdt(v, &size, err);
    if (!fdt)
        return false;
    bool ok = virt_place_fdt(v, fdt, size, err);
    free(v->fdt);
    v->fdt = fdt;
    v->fdt_size = size;
    if (ok && v->dumpdtb) {
        FILE *f = fopen(v->dumpdtb, "wb");
        if (!f || fwrite(fdt, 1, size, f) != size) {
            mosaic_error_set(err, "riscv-virt: cannot write dumpdtb = %s", v->dumpdtb);
            ok = false;
        }
        if (f)
            fclose(f);
    }
    return ok;
}

static const MosaicMachineOps virt_ops = {
    .size = sizeof(MosaicMachineOps),
    .arch = "riscv64",
    .default_accel = "tcg",
    .init = virt_init,
    .fini = virt_fini,
    .reset = virt_reset,
    .get_slot = virt_get_slot,
    .devices_done = virt_devices_done,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_MACHINE, .kind_abi = MOSAIC_MACHINE_ABI, .name = "riscv-virt",
              .version = "0.1.0", .license = "GPL-2.0-or-later",
              .description = "RISC-V board laid out like QEMU's virt (CLINT, PLIC, NS16550A, virtio-mmio)",
              .props = virt_props, .ops = &virt_ops);
