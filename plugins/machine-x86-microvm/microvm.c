/* SPDX-License-Identifier: GPL-2.0-or-later */
/* x86-microvm: the board.  RAM below 3 GiB and the rest above 4 GiB, a 16550 UART on
 * port 0x3f8, eight virtio-mmio slots (announced on the kernel command line), the
 * reset port and power register, an MP table for `cpus`; Linux boots directly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "microvm.h"

static const MosaicPropDesc microvm_props[] = {
    {.key = "kernel", .type = MOSAIC_PROP_PATH, .help = "Linux bzImage, entered in 64-bit mode"},
    {.key = "initrd", .type = MOSAIC_PROP_PATH, .help = "initial ramdisk"},
    {.key = "append", .type = MOSAIC_PROP_STRING,
     .help = "kernel command line (the virtio-mmio devices are added to it)"},
    {.key = "serial", .type = MOSAIC_PROP_REF, .choices = "chardev",
     .help = "chardev of the 16550 UART on port 0x3f8 (default: serial0, the terminal)"},
    {.key = "virtio-cmdline", .type = MOSAIC_PROP_BOOL, .defval = "false",
     .help = "also announce the virtio-mmio slots as virtio_mmio.device= on the command line "
             "(kernels with VIRTIO_MMIO_CMDLINE_DEVICES; ACPI announces them always)"},
    {.key = "pcie", .type = MOSAIC_PROP_BOOL, .defval = "false",
     .help = "a PCIe host (ECAM 0xe0000000, memory window 0xd8000000, MSI) announced by ACPI "
             "(MCFG): devices with bus = pcie.0 sit on it"},
    {0},
};

static char *opt_str(const MosaicProps *p, const char *key)
{
    const char *s = mosaic_props_has(p, key) ? mosaic_props_get_str(p, key) : NULL;
    return s && *s ? strdup(s) : NULL;
}

static void microvm_fini(void *board);

static bool add_ram(Microvm *v, MosaicError *err)
{
    MosaicRegion *sys = mosaic_machine_memory(v->m);
    v->ram = mosaic_region_new_ram("x86-microvm.ram", v->ram_size, err);
    if (!v->ram)
        return false;
    v->low_alias = mosaic_region_new_alias("x86-microvm.ram-below-4g", v->ram, 0, v->low_size);
    if (!(v->low_mapped = mosaic_region_add(sys, 0, v->low_alias, 0, err)))
        return false;
    if (v->high_size) {
        v->high_alias = mosaic_region_new_alias("x86-microvm.ram-above-4g", v->ram, v->low_size,
                                                v->high_size);
        if (!(v->high_mapped = mosaic_region_add(sys, MVM_HIGHMEM, v->high_alias, 0, err)))
            return false;
    }
    return true;
}

static void *microvm_init(MosaicMachine *m, const MosaicProps *props, MosaicError *err)
{
    Microvm *v = calloc(1, sizeof(*v));
    if (!v) {
        mosaic_error_set(err, "x86-microvm: out of memory");
        return NULL;
    }
    v->m = m;
    v->ncpus = mosaic_machine_ncpus(m);
    v->ram_size = mosaic_machine_ram_size(m);
    if (v->ncpus < 1 || v->ncpus > MVM_MAX_CPUS) {
        mosaic_error_set(err, "x86-microvm: cpus = %u: the board takes 1 to %u (change [machine] "
                         "cpus)", v->ncpus, MVM_MAX_CPUS);
        goto fail;
    }
    if (v->ram_size > MVM_MAX_RAM) {
        mosaic_error_set(err, "x86-microvm: memory = %llu MiB is more than the board allows "
                         "(%llu MiB): lower [machine] memory",
                         (unsigned long long)(v->ram_size >> 20),
                         (unsigned long long)(MVM_MAX_RAM >> 20));
        goto fail;
    }
    if (v->ram_size < (16ull << 20)) {
        mosaic_error_set(err, "x86-microvm: memory = %llu KiB is too small to boot Linux: give "
                         "[machine] memory at least 16M", (unsigned long long)(v->ram_size >> 10));
        goto fail;
    }
    v->low_size = v->ram_size < MVM_LOWMEM_MAX ? v->ram_size : MVM_LOWMEM_MAX;
    v->high_size = v->ram_size - v->low_size;
    v->kernel = opt_str(props, "kernel");
    v->initrd = opt_str(props, "initrd");
    v->append = opt_str(props, "append");
    v->virtio_cmdline = mosaic_props_get_bool(props, "virtio-cmdline");
    if (!v->kernel) {
        mosaic_error_set(err, "%s: x86-microvm needs kernel = a Linux bzImage",
                         mosaic_props_where(props, NULL));
        goto fail;
    }
    if (!mosaic_machine_create_vcpus(m, err) || !add_ram(v, err))
        goto fail;
    const char *serial = mosaic_props_has(props, "serial") ? mosaic_props_get_str(props, "serial") : NULL;
    MosaicChardev *cd = mosaic_chardev_find(m, serial ? serial : "serial0");
    if (!cd && serial) {
        mosaic_error_set(err, "%s: serial = %s: no such chardev", mosaic_props_where(props, "serial"),
                         serial);
        goto fail;
    }
    /* The UART is the serial-16550 device plugin (riscv-virt places the same one). */
    MosaicBusSlot uart_slot = {.size = sizeof uart_slot, .bus = "system", .base = MVM_UART_PORT,
                               .length = 8, .container = mosaic_machine_io_memory(m),
                               .irq = mosaic_vcpu_irq(mosaic_machine_vcpu(m, 0),
                                                      MOSAIC_X86_IRQ_GSI(MVM_UART_GSI))};
    const char *uart_kv[] = {"chardev", serial ? serial : "serial0", NULL};
    if (!mosaic_machine_add_device(m, "serial-16550", "uart0", cd ? uart_kv : NULL, &uart_slot, err) ||
        !(v->power = power_new(m, err)))
        goto fail;
    v->pcie_on = mosaic_props_get_bool(props, "pcie");
    if (v->pcie_on && !microvm_pci_init(v, err))
        goto fail;
    return v;
fail:
    if (!mosaic_error_is_set(err))
        mosaic_error_set(err, "x86-microvm: board setup failed");
    microvm_fini(v);
    return NULL;
}

static void microvm_fini(void *board)
{
    Microvm *v = board;
    if (!v)
        return;
    MosaicRegion *sys = mosaic_machine_memory(v->m);
    microvm_pci_fini(v); /* first: its functions may still raise interrupts */
    power_free(v->power);
    if (v->high_mapped)
        mosaic_region_del(sys, v->high_alias);
    if (v->low_mapped)
        mosaic_region_del(sys, v->low_alias);
    if (v->high_alias)
        mosaic_region_unref(v->high_alias);
    if (v->low_alias)
        mosaic_region_unref(v->low_alias);
    if (v->ram)
        mosaic_region_unref(v->ram);
    free(v->kernel);
    free(v->initrd);
    free(v->append);
    free(v->cmdline);
    free(v);
}

static void microvm_reset(void *board)
{
    Microvm *v = board;
    mosaic_pci_host_reset(v->pcie);
    /* A guest reset starts from pristine images: the kernel decompressed itself over
     * them.  The first reset (at start) finds them freshly loaded. */
    if (!v->images_fresh) {
        MosaicError *e = mosaic_error_new();
        if (!microvm_load(v, e))
            mosaic_log("x86-microvm", 0, "reset: %s; the guest restarts on the memory it left",
                       mosaic_error_message(e));
        mosaic_error_free(e);
    }
    v->images_fresh = false;
    microvm_boot_regs(v);
}

static bool microvm_get_slot(void *board, const char *bus, MosaicBusSlot *slot, MosaicError *err)
{
    Microvm *v = board;
    if (strcmp(bus, "virtio-mmio") != 0) {
        mosaic_error_set(err, "x86-microvm has no '%s' bus (it offers virtio-mmio)", bus);
        return false;
    }
    /* With pcie, GSI 20-23 are the PCI host's INTx lines: four slots remain. */
    unsigned nslots = v->pcie ? MVM_VIRTIO_COUNT_PCIE : MVM_VIRTIO_COUNT;
    if (v->virtio_used >= nslots) {
        mosaic_error_set(err, "x86-microvm: all %u virtio-mmio slots are taken%s", nslots,
                         v->pcie ? " (with pcie = true, GSI 20-23 are the PCI host's)" : "");
        return false;
    }
    unsigned i = v->virtio_used++;
    memset(slot, 0, sizeof(*slot));
    slot->size = sizeof(*slot);
    slot->bus = "virtio-mmio";
    slot->base = MVM_VIRTIO_BASE + i * MVM_VIRTIO_STEP;
    slot->length = MVM_VIRTIO_STEP;
    slot->irq = mosaic_vcpu_irq(mosaic_machine_vcpu(v->m, 0), MOSAIC_X86_IRQ_GSI(MVM_VIRTIO_GSI + i));
    slot->dma = mosaic_machine_address_space(v->m);
    slot->container = mosaic_machine_memory(v->m);
    return true;
}

/* The command line: the user's, then (virtio-cmdline) one virtio_mmio.device= per slot
 * in use; the ACPI tables announce the slots in any case (acpi.c says why). */
static bool microvm_devices_done(void *board, MosaicError *err)
{
    Microvm *v = board;
    size_t cap = (v->append ? strlen(v->append) : 0) + 64 * MVM_VIRTIO_COUNT + 1;
    char *s = malloc(cap);
    if (!s) {
        mosaic_error_set(err, "x86-microvm: out of memory");
        return false;
    }
    size_t n = (size_t)snprintf(s, cap, "%s", v->append ? v->append : "");
    for (unsigned i = 0; v->virtio_cmdline && i < v->virtio_used; i++)
        n += (size_t)snprintf(s + n, cap - n, "%svirtio_mmio.device=4K@0x%llx:%u", n ? " " : "",
                              (unsigned long long)(MVM_VIRTIO_BASE + i * MVM_VIRTIO_STEP),
                              MVM_VIRTIO_GSI + i);
    free(v->cmdline);
    v->cmdline = s;
    if (!microvm_load(v, err))
        return false;
    v->images_fresh = true;
    return true;
}

static const MosaicMachineOps microvm_ops = {
    .size = sizeof(MosaicMachineOps),
    .arch = "x86_64",
    .default_accel = "kvm",
    .init = microvm_init,
    .fini = microvm_fini,
    .reset = microvm_reset,
    .get_slot = microvm_get_slot,
    .devices_done = microvm_devices_done,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_MACHINE, .kind_abi = MOSAIC_MACHINE_ABI, .name = "x86-microvm",
              .version = "0.1.0", .license = "GPL-2.0-or-later",
              .description = "minimal x86-64 board: direct Linux boot, 16550 UART, virtio-mmio, MP table",
              .props = microvm_props, .ops = &microvm_ops);
