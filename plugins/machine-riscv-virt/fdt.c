/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The device tree of the board, built with libfdt's sequential writer once every
 * device of the machine file is realized.  Node names, compatibles and layout follow
 * QEMU's virt board, so OpenSBI's and Linux's drivers bind unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libfdt.h>
#include "virt.h"

#define PH_PLIC 1
#define PH_TEST 2
#define PH_CPU(i) (16 + (i)) /* the interrupt controller of hart i */
#define PH_CPUNODE(i) (0x1000 + (i))

typedef struct Fdt {
    void *buf;
    int err;
} Fdt;

#define CHK(f, call) do { if (!(f)->err) { int r_ = (call); if (r_ < 0) (f)->err = r_; } } while (0)

static void cells(Fdt *f, const char *name, const uint32_t *v, unsigned n)
{
    fdt32_t tmp[4 * VIRT_MAX_HARTS];
    for (unsigned i = 0; i < n; i++)
        tmp[i] = cpu_to_fdt32(v[i]);
    CHK(f, fdt_property(f->buf, name, tmp, n * sizeof(fdt32_t)));
}

static void reg(Fdt *f, uint64_t base, uint64_t size)
{
    uint32_t v[4] = {base >> 32, (uint32_t)base, size >> 32, (uint32_t)size};
    cells(f, "reg", v, 4);
}

static void u32p(Fdt *f, const char *name, uint32_t v) { CHK(f, fdt_property_u32(f->buf, name, v)); }
static void u64p(Fdt *f, const char *name, uint64_t v) { CHK(f, fdt_property_u64(f->buf, name, v)); }
static void strp(Fdt *f, const char *name, const char *v) { CHK(f, fdt_property_string(f->buf, name, v)); }
static void emptyp(Fdt *f, const char *name) { CHK(f, fdt_property(f->buf, name, NULL, 0)); }
/* A string list: "a\0b\0" given as one buffer with its full length. */
static void strlist(Fdt *f, const char *name, const char *v, size_t len)
{
    CHK(f, fdt_property(f->buf, name, v, len));
}
static void begin(Fdt *f, const char *fmt, uint64_t addr)
{
    char name[64];
    snprintf(name, sizeof name, fmt, (unsigned long long)addr);
    CHK(f, fdt_begin_node(f->buf, name));
}
static void end(Fdt *f) { CHK(f, fdt_end_node(f->buf)); }

static void cpus(Fdt *f, Virt *v)
{
    begin(f, "cpus", 0);
    u32p(f, "#address-cells", 1);
    u32p(f, "#size-cells", 0);
    u32p(f, "timebase-frequency", MOSAIC_RISCV_TIMEBASE_HZ);
    for (unsigned i = 0; i < v->nharts; i++) {
        begin(f, "cpu@%llx", i);
        strp(f, "device_type", "cpu");
        u32p(f, "reg", i);
        strp(f, "status", "okay");
        strp(f, "compatible", "riscv");
        strp(f, "riscv,isa", v->isa);
        char mmu[32];
        snprintf(mmu, sizeof mmu, "riscv,%s", v->mmu);
        strp(f, "mmu-type", mmu);
        u32p(f, "phandle", PH_CPUNODE(i));
        begin(f, "interrupt-controller", 0);
        u32p(f, "#address-cells", 0); /* dtc's interrupt_provider check */
        u32p(f, "#interrupt-cells", 1);
        emptyp(f, "interrupt-controller");
        strp(f, "compatible", "riscv,cpu-intc");
        u32p(f, "phandle", PH_CPU(i));
        end(f);
        end(f);
    }
    begin(f, "cpu-map", 0);
    begin(f, "cluster0", 0);
    for (unsigned i = 0; i < v->nharts; i++) {
        begin(f, "core%llu", i);
        u32p(f, "cpu", PH_CPUNODE(i));
        end(f);
    }
    end(f);
    end(f);
    end(f);
}

/* The ECAM host, as QEMU's virt describes it: three windows and the INTx swizzle of
 * slots 0-3 onto PLIC 32-35. */
static void pci(Fdt *f)
{
    begin(f, "pci@%llx", VIRT_PCIE_ECAM_BASE);
    u32p(f, "#interrupt-cells", 1);
    u32p(f, "#size-cells", 2);
    u32p(f, "#address-cells", 3);
    strp(f, "compatible", "pci-host-ecam-generic");
    strp(f, "device_type", "pci");
    u32p(f, "linux,pci-domain", 0);
    uint32_t bus_range[2] = {0, VIRT_PCIE_ECAM_SIZE / 0x100000 - 1};
    cells(f, "bus-range", bus_range, 2);
    emptyp(f, "dma-coherent");
    reg(f, VIRT_PCIE_ECAM_BASE, VIRT_PCIE_ECAM_SIZE);
    uint32_t ranges[] = {
        0x01000000, 0, 0, (uint32_t)(VIRT_PCIE_PIO_BASE >> 32), (uint32_t)VIRT_PCIE_PIO_BASE,
        0, (uint32_t)VIRT_PCIE_PIO_SIZE,
        0x02000000, 0, (uint32_t)VIRT_PCIE_MMIO_BASE, (uint32_t)(VIRT_PCIE_MMIO_BASE >> 32),
        (uint32_t)VIRT_PCIE_MMIO_BASE, 0, (uint32_t)VIRT_PCIE_MMIO_SIZE,
        0x03000000, (uint32_t)(VIRT_PCIE_MMIO64_BASE >> 32), (uint32_t)VIRT_PCIE_MMIO64_BASE,
        (uint32_t)(VIRT_PCIE_MMIO64_BASE >> 32), (uint32_t)VIRT_PCIE_MMIO64_BASE,
        (uint32_t)(VIRT_PCIE_MMIO64_SIZE >> 32), (uint32_t)VIRT_PCIE_MMIO64_SIZE,
    };
    cells(f, "ranges", ranges, sizeof ranges / sizeof ranges[0]);
    /* interrupt-map: child (devfn<<8, 0, 0, pin) -> PLIC irq; 6 cells per entry. */
    uint32_t map[4 * 4 * 6];
    unsigned n = 0;
    for (unsigned slot = 0; slot < 4; slot++)
        for (unsigned pin = 0; pin < 4; pin++) {
            map[n++] = slot << 11;
            map[n++] = 0;
            map[n++] = 0;
            map[n++] = pin + 1;
            map[n++] = PH_PLIC;
            map[n++] = VIRT_PCIE_IRQ + (slot + pin) % 4;
        }
    cells(f, "interrupt-map", map, n);
    uint32_t mask[4] = {0x1800, 0, 0, 7};
    cells(f, "interrupt-map-mask", mask, 4);
    end(f);
}

static void soc(Fdt *f, Virt *v)
{
    uint32_t ie[4 * VIRT_MAX_HARTS];
    begin(f, "soc", 0);
    u32p(f, "#address-cells", 2);
    u32p(f, "#size-cells", 2);
    strp(f, "compatible", "simple-bus");
    emptyp(f, "ranges");

    begin(f, "rtc@%llx", VIRT_RTC_BASE);
    strp(f, "compatible", "google,goldfish-rtc");
    reg(f, VIRT_RTC_BASE, 0x1000);
    u32p(f, "interrupt-parent", PH_PLIC);
    u32p(f, "interrupts", VIRT_RTC_IRQ);
    end(f);

    begin(f, "serial@%llx", VIRT_UART_BASE);
    strp(f, "compatible", "ns16550a");
    reg(f, VIRT_UART_BASE, VIRT_UART_SIZE);
    u32p(f, "clock-frequency", 3686400);
    u32p(f, "interrupt-parent", PH_PLIC);
    u32p(f, "interrupts", VIRT_UART_IRQ);
    end(f);

    begin(f, "test@%llx", VIRT_TEST_BASE);
    static const char test_compat[] = "sifive,test1\0sifive,test0\0syscon";
    strlist(f, "compatible", test_compat, sizeof test_compat);
    reg(f, VIRT_TEST_BASE, 0x1000);
    u32p(f, "phandle", PH_TEST);
    end(f);

    for (unsigned i = 0; i < VIRT_VIRTIO_COUNT; i++) {
        uint64_t base = VIRT_VIRTIO_BASE + i * VIRT_VIRTIO_STEP;
        begin(f, "virtio_mmio@%llx", base);
        strp(f, "compatible", "virtio,mmio");
        reg(f, base, VIRT_VIRTIO_STEP);
        u32p(f, "interrupt-parent", PH_PLIC);
        u32p(f, "interrupts", VIRT_VIRTIO_IRQ + i);
        end(f);
    }

    begin(f, "plic@%llx", VIRT_PLIC_BASE);
    u32p(f, "#interrupt-cells", 1);
    u32p(f, "#address-cells", 0);
    static const char plic_compat[] = "sifive,plic-1.0.0\0riscv,plic0";
    strlist(f, "compatible", plic_compat, sizeof plic_compat);
    emptyp(f, "interrupt-controller");
    reg(f, VIRT_PLIC_BASE, VIRT_PLIC_SIZE);
    u32p(f, "riscv,ndev", VIRT_PLIC_NDEV);
    for (unsigned i = 0; i < v->nharts; i++) {
        ie[4 * i + 0] = PH_CPU(i);
        ie[4 * i + 1] = MOSAIC_RISCV_IRQ_MEIP;
        ie[4 * i + 2] = PH_CPU(i);
        ie[4 * i + 3] = MOSAIC_RISCV_IRQ_SEIP;
    }
    cells(f, "interrupts-extended", ie, 4 * v->nharts);
    u32p(f, "phandle", PH_PLIC);
    end(f);

    pci(f);

    begin(f, "clint@%llx", VIRT_CLINT_BASE);
    static const char clint_compat[] = "sifive,clint0\0riscv,clint0";
    strlist(f, "compatible", clint_compat, sizeof clint_compat);
    reg(f, VIRT_CLINT_BASE, VIRT_CLINT_SIZE);
    for (unsigned i = 0; i < v->nharts; i++) {
        ie[4 * i + 0] = PH_CPU(i);
        ie[4 * i + 1] = MOSAIC_RISCV_IRQ_MSIP;
        ie[4 * i + 2] = PH_CPU(i);
        ie[4 * i + 3] = MOSAIC_RISCV_IRQ_MTIP;
    }
    cells(f, "interrupts-extended", ie, 4 * v->nharts);
    end(f);

    end(f);
}

void *virt_build_fdt(Virt *v, size_t *size, MosaicError *err)
{
    size_t cap = 64 * 1024 + (size_t)v->nharts * 512 + (v->append ? strlen(v->append) : 0);
    Fdt f = {.buf = calloc(1, cap)};
    if (!f.buf) {
        mosaic_error_set(err, "riscv-virt: out of memory for the device tree");
        return NULL;
    }
    CHK(&f, fdt_create(f.buf, cap));
    CHK(&f, fdt_finish_reservemap(f.buf));
    CHK(&f, fdt_begin_node(f.buf, ""));
    u32p(&f, "#address-cells", 2);
    u32p(&f, "#size-cells", 2);
    strp(&f, "compatible", "riscv-virtio");
    strp(&f, "model", "riscv-virtio,qemu (Mosaic riscv-virt)");

    begin(&f, "chosen", 0);
    if (v->append)
        strp(&f, "bootargs", v->append);
    char path[64];
    snprintf(path, sizeof path, "/soc/serial@%llx", (unsigned long long)VIRT_UART_BASE);
    strp(&f, "stdout-path", path);
    if (v->initrd_end > v->initrd_start) {
        u64p(&f, "linux,initrd-start", v->initrd_start);
        u64p(&f, "linux,initrd-end", v->initrd_end);
    }
    end(&f);

    begin(&f, "memory@%llx", VIRT_DRAM_BASE);
    strp(&f, "device_type", "memory");
    reg(&f, VIRT_DRAM_BASE, v->ram_size);
    end(&f);

    cpus(&f, v);
    soc(&f, v);

    begin(&f, "poweroff", 0);
    strp(&f, "compatible", "syscon-poweroff");
    u32p(&f, "regmap", PH_TEST);
    u32p(&f, "offset", 0);
    u32p(&f, "value", 0x5555);
    end(&f);
    begin(&f, "reboot", 0);
    strp(&f, "compatible", "syscon-reboot");
    u32p(&f, "regmap", PH_TEST);
    u32p(&f, "offset", 0);
    u32p(&f, "value", 0x7777);
    end(&f);

    CHK(&f, fdt_end_node(f.buf));
    CHK(&f, fdt_finish(f.buf));
    if (f.err) {
        mosaic_error_set(err, "riscv-virt: building the device tree failed: %s", fdt_strerror(f.err));
        free(f.buf);
        return NULL;
    }
    *size = fdt_totalsize(f.buf);
    return f.buf;
}
