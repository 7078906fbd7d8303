/* SPDX-License-Identifier: GPL-2.0-or-later */
/* x86-microvm: a minimal hardware-reduced ACPI description, because a stock distribution
 * kernel (Debian's linux-image-amd64) finds virtio-mmio devices no other way on x86 (it
 * is built without virtio_mmio.device= and without device trees): RSDP, XSDT, FADT
 * (hardware-reduced, reset register = port 0xcf9, sleep control = the power port),
 * MADT (every vCPU's local APIC, the IOAPIC) and a DSDT declaring the UART (PNP0501),
 * each virtio-mmio slot in use as an LNRO0005 device and \_S5 so that `poweroff` works;
 * with pcie, MCFG and the host bridge (pci.c). */
#include <stdlib.h>
#include <string.h>
#include "microvm.h"

#define ACPI_RSDP 0xe0000ull
#define ACPI_XSDT 0xe0040ull
#define ACPI_FADT 0xe0100ull
#define ACPI_MADT 0xe0300ull
#define ACPI_MCFG 0xe0a00ull
#define ACPI_DSDT 0xe1000ull
#define ACPI_END 0xf0000ull

typedef struct Buf {
    uint8_t b[8192];
    size_t n;
    bool overflow; /* a table outgrew its buffer: refused, never written cut short */
} Buf;

static void b8(Buf *b, uint8_t v)
{
    if (b->n < sizeof(b->b))
        b->b[b->n++] = v;
    else
        b->overflow = true;
}
static void b16(Buf *b, uint16_t v) { b8(b, v); b8(b, v >> 8); }
static void b32(Buf *b, uint32_t v) { b16(b, v); b16(b, v >> 16); }
static void b64(Buf *b, uint64_t v) { b32(b, (uint32_t)v); b32(b, (uint32_t)(v >> 32)); }
static void bmem(Buf *b, const void *p, size_t n) { for (size_t i = 0; i < n; i++) b8(b, ((const uint8_t *)p)[i]); }

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s += *p++;
    return s;
}

/* The 36-byte header; length and checksum are patched by finish(). */
static void header(Buf *b, const char *sig, uint8_t rev)
{
    bmem(b, sig, 4);
    b32(b, 0);
    b8(b, rev);
    b8(b, 0);
    bmem(b, "MOSAIC", 6);
    bmem(b, "MICROVM ", 8);
    b32(b, 1);
    bmem(b, "MOSA", 4);
    b32(b, 1);
}

static void finish(Buf *b)
{
    b->b[4] = (uint8_t)b->n, b->b[5] = (uint8_t)(b->n >> 8);
    b->b[6] = b->b[7] = 0;
    b->b[9] = (uint8_t)-sum(b->b, b->n);
}

/* Generic address structure: system I/O port. */
static void gas_io(Buf *b, uint16_t port)
{
    b8(b, 1);
    b8(b, 8);
    b8(b, 0);
    b8(b, 1);
    b64(b, port);
}

static void gas_none(Buf *b) { b32(b, 0); b64(b, 0); }

/* ---- AML ---- */
static size_t pkglen_bytes(size_t body)
{
    return body + 1 < 0x40 ? 1 : body + 2 < 0x1000 ? 2 : 3;
}

/* Writes PkgLength for `body` bytes that follow it. */
static void pkglen(Buf *b, size_t body)
{
    size_t nb = pkglen_bytes(body), total = body + nb;
    if (nb == 1) {
        b8(b, (uint8_t)total);
        return;
    }
    b8(b, (uint8_t)((nb - 1) << 6 | (total & 0xf)));
    b8(b, (uint8_t)(total >> 4));
    if (nb == 3)
        b8(b, (uint8_t)(total >> 12));
}

static void aml_dword(Buf *b, uint32_t v) { b8(b, 0x0c); b32(b, v); }

static void slot_device(Buf *out, unsigned i)
{
    char name[5] = {'V', 'R', '0' + i / 10, '0' + i % 10, 0};
    Buf body = {.n = 0};
    /* Name (_HID, "LNRO0005") */
    b8(&body, 0x08); bmem(&body, "_HID", 4); b8(&body, 0x0d); bmem(&body, "LNRO0005", 9);
    /* Name (_UID, i) */
    b8(&body, 0x08); bmem(&body, "_UID", 4); aml_dword(&body, i);
    /* Name (_CRS, ResourceTemplate () { Memory32Fixed (ReadWrite, base, 0x1000)
     *                                    Interrupt (ResourceConsumer, Level, ActiveHigh,
     *                                               Exclusive) { gsi } }) */
    uint8_t res[12 + 9 + 2] = {0x86, 0x09, 0x00, 0x01};
    uint32_t base = (uint32_t)(MVM_VIRTIO_BASE + i * MVM_VIRTIO_STEP), len = MVM_VIRTIO_STEP;
    memcpy(res + 4, &base, 4);
    memcpy(res + 8, &len, 4);
    uint8_t irq[9] = {0x89, 0x06, 0x00, 0x01, 0x01};
    uint32_t gsi = MVM_VIRTIO_GSI + i;
    memcpy(irq + 5, &gsi, 4);
    memcpy(res + 12, irq, 9);
    res[21] = 0x79, res[22] = 0;
    b8(&body, 0x08); bmem(&body, "_CRS", 4);
    b8(&body, 0x11); /* Buffer */
    pkglen(&body, 2 + sizeof(res));
    b8(&body, 0x0a); b8(&body, sizeof(res));
    bmem(&body, res, sizeof(res));

    b8(out, 0x5b); b8(out, 0x82); /* Device */
    pkglen(out, 4 + body.n);
    bmem(out, name, 4);
    bmem(out, body.b, body.n);
}

/* The 16550 on port 0x3f8, IRQ 4 (PNP0501): in hardware-reduced mode Linux has no
 * legacy PIC and maps ISA interrupts only for devices ACPI describes. */
static void com1_device(Buf *out)
{
    Buf body = {.n = 0};
    /* Name (_HID, EisaId ("PNP0501")) */
    b8(&body, 0x08); bmem(&body, "_HID", 4); aml_dword(&body, 0x0105d041);
    b8(&body, 0x08); bmem(&body, "_UID", 4); b8(&body, 0x00);
    /* Name (_CRS, ResourceTemplate () { IO (Decode16, 0x3f8, 0x3f8, 1, 8) IRQNoFlags () {4} }) */
    const uint8_t res[] = {0x47, 0x01, MVM_UART_PORT & 0xff, MVM_UART_PORT >> 8,
                           MVM_UART_PORT & 0xff, MVM_UART_PORT >> 8, 0x01, 0x08,
                           0x22, 1u << MVM_UART_GSI, 0x00,
                           0x79, 0x00};
    b8(&body, 0x08); bmem(&body, "_CRS", 4);
    b8(&body, 0x11);
    pkglen(&body, 2 + sizeof(res));
    b8(&body, 0x0a); b8(&body, sizeof(res));
    bmem(&body, res, sizeof(res));

    b8(out, 0x5b); b8(out, 0x82);
    pkglen(out, 4 + body.n);
    bmem(out, "COM1", 4);
    bmem(out, body.b, body.n);
}

static void name_buffer(Buf *body, const char *name, const uint8_t *res, size_t n)
{
    b8(body, 0x08); bmem(body, name, 4);
    b8(body, 0x11); /* Buffer */
    pkglen(body, 2 + n);
    b8(body, 0x0a); b8(body, (uint8_t)n);
    bmem(body, res, n);
}

static void device(Buf *out, const char *name, const Buf *body)
{
    b8(out, 0x5b); b8(out, 0x82);
    pkglen(out, 4 + body->n);
    bmem(out, name, 4);
    bmem(out, body->b, body->n);
}

/* An AML integer in its shortest form. */
static void aml_int(Buf *b, uint32_t v)
{
    if (v == 0)
        b8(b, 0x00); /* ZeroOp */
    else if (v == 1)
        b8(b, 0x01); /* OneOp */
    else if (v <= 0xff)
        b8(b, 0x0a), b8(b, (uint8_t)v);
    else
        aml_dword(b, v);
}

/* Name (_PRT, Package () { Package () { 0xSSSSFFFF, pin, Zero, gsi }, ... }): every
 * slot of the root bus and its pins INTA-INTD (0-3) to the host's line the core's
 * swizzle picks ((slot + pin) mod 4, core/pci/intx.c), i.e. GSI 20 + that.  Source Zero:
 * the fourth element is a GSI, level-triggered and active-low for the guest. */
static void pcie_prt(Buf *body)
{
    Buf pkg = {.n = 0};
    b8(&pkg, 32 * 4); /* NumElements */
    for (unsigned slot = 0; slot < 32; slot++)
        for (unsigned pin = 0; pin < 4; pin++) {
            Buf e = {.n = 0};
            b8(&e, 4);
            aml_dword(&e, slot << 16 | 0xffff);
            aml_int(&e, pin);
            aml_int(&e, 0);
            aml_int(&e, MVM_PCIE_GSI + ((slot + pin) & 3));
            b8(&pkg, 0x12); /* Package */
            pkglen(&pkg, e.n);
            bmem(&pkg, e.b, e.n);
        }
    b8(body, 0x08); bmem(body, "_PRT", 4);
    b8(body, 0x12);
    pkglen(body, pkg.n);
    bmem(body, pkg.b, pkg.n);
    body->overflow |= pkg.overflow;
}

/* pcie: the host bridge (PNP0A08, segment 0, buses 0-15; its _CRS: the bus numbers,
 * the I/O ports 0x1000-0xffff, the 32-bit memory window and the 64-bit prefetchable
 * one; its _PRT) and the ECAM as a motherboard resource (PNP0C02): Linux uses the MCFG
 * region only when one reserves it. */
static void pcie_devices(Buf *out, const AcpiPcie *pcie)
{
    Buf body = {.n = 0};
    b8(&body, 0x08); bmem(&body, "_HID", 4); aml_dword(&body, 0x080ad041); /* PNP0A08 */
    b8(&body, 0x08); bmem(&body, "_CID", 4); aml_dword(&body, 0x030ad041); /* PNP0A03 */
    b8(&body, 0x08); bmem(&body, "_SEG", 4); b8(&body, 0x00);
    b8(&body, 0x08); bmem(&body, "_BBN", 4); b8(&body, 0x00);
    b8(&body, 0x08); bmem(&body, "_UID", 4); b8(&body, 0x00);
    Buf r = {.n = 0};
    /* WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 15, 0, 16) */
    b8(&r, 0x88); b16(&r, 13); b8(&r, 2); b8(&r, 0x0c); b8(&r, 0);
    b16(&r, 0); b16(&r, 0); b16(&r, (uint16_t)(MVM_PCIE_ECAM_SIZE >> 20) - 1); b16(&r, 0);
    b16(&r, (uint16_t)(MVM_PCIE_ECAM_SIZE >> 20));
    /* DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable,
     *              ReadWrite, 0, base, base + size - 1, 0, size) */
    b8(&r, 0x87); b16(&r, 23); b8(&r, 0); b8(&r, 0x0c); b8(&r, 0x01);
    b32(&r, 0); b32(&r, (uint32_t)MVM_PCIE_MMIO_BASE);
    b32(&r, (uint32_t)(MVM_PCIE_MMIO_BASE + MVM_PCIE_MMIO_SIZE - 1)); b32(&r, 0);
    b32(&r, (uint32_t)MVM_PCIE_MMIO_SIZE);
    /* WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0,
     *         0x1000, 0xffff, 0, 0xf000) */
    b8(&r, 0x88); b16(&r, 13); b8(&r, 1); b8(&r, 0x0c); b8(&r, 0x03);
    b16(&r, 0); b16(&r, MVM_PCIE_IO_MIN); b16(&r, (uint16_t)(MVM_PCIE_IO_SIZE - 1)); b16(&r, 0);
    b16(&r, (uint16_t)(MVM_PCIE_IO_SIZE - MVM_PCIE_IO_MIN));
    /* QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Prefetchable,
     *              ReadWrite, 0, base, base + size - 1, 0, size) */
    b8(&r, 0x8a); b16(&r, 43); b8(&r, 0); b8(&r, 0x0c); b8(&r, 0x07);
    b64(&r, 0); b64(&r, pcie->mem64_base); b64(&r, pcie->mem64_base + pcie->mem64_size - 1);
    b64(&r, 0); b64(&r, pcie->mem64_size);
    b8(&r, 0x79); b8(&r, 0);
    name_buffer(&body, "_CRS", r.b, r.n);
    pcie_prt(&body);
    device(out, "PCI0", &body);
    out->overflow |= body.overflow;

    Buf res = {.n = 0};
    b8(&res, 0x08); bmem(&res, "_HID", 4); aml_dword(&res, 0x020cd041); /* PNP0C02 */
    b8(&res, 0x08); bmem(&res, "_UID", 4); b8(&res, 0x00);
    Buf m = {.n = 0};
    /* Memory32Fixed (ReadWrite, ECAM base, ECAM size) */
    b8(&m, 0x86); b16(&m, 9); b8(&m, 0x01);
    b32(&m, (uint32_t)MVM_PCIE_ECAM_BASE); b32(&m, (uint32_t)MVM_PCIE_ECAM_SIZE);
    b8(&m, 0x79); b8(&m, 0);
    name_buffer(&res, "_CRS", m.b, m.n);
    device(out, "RES0", &res);
}

/* MCFG: the ECAM of segment 0, buses 0-15. */
static void mcfg(Buf *b)
{
    header(b, "MCFG", 1);
    b64(b, 0); /* reserved */
    b64(b, MVM_PCIE_ECAM_BASE);
    b16(b, 0);
    b8(b, 0);
    b8(b, (uint8_t)((MVM_PCIE_ECAM_SIZE >> 20) - 1));
    b32(b, 0);
    finish(b);
}

static void dsdt(Buf *b, unsigned nslots, const AcpiPcie *pcie)
{
    header(b, "DSDT", 2);
    Buf scope = {.n = 0};
    com1_device(&scope);
    for (unsigned i = 0; i < nslots; i++)
        slot_device(&scope, i);
    if (pcie)
        pcie_devices(&scope, pcie);
    b->overflow |= scope.overflow;
    b8(b, 0x10); /* Scope (\_SB) */
    pkglen(b, 5 + scope.n);
    bmem(b, "\\_SB_", 5);
    bmem(b, scope.b, scope.n);
    /* Name (\_S5, Package () { 5, 0, 0, 0 }) */
    b8(b, 0x08); bmem(b, "\\_S5_", 5);
    b8(b, 0x12); pkglen(b, 6); b8(b, 4); b8(b, 0x0a); b8(b, 5); b8(b, 0); b8(b, 0); b8(b, 0);
    finish(b);
}

static void fadt(Buf *b)
{
    header(b, "FACP", 6);
    b32(b, 0);            /* FIRMWARE_CTRL */
    b32(b, (uint32_t)ACPI_DSDT);
    while (b->n < 109) /* up to IAPC_BOOT_ARCH */
        b8(b, 0);         /* no PM1/GPE blocks, no SCI: hardware-reduced */
    b16(b, 1u << 2 | 1u << 5); /* IAPC_BOOT_ARCH: no VGA, no CMOS RTC, no 8042 */
    b8(b, 0);
    b32(b, 1u << 10 | 1u << 20); /* flags: RESET_REG_SUP, HW_REDUCED_ACPI */
    gas_io(b, MVM_RESET_PORT);   /* RESET_REG */
    b8(b, 0x06);                 /* RESET_VALUE */
    b16(b, 0);                   /* ARM_BOOT_ARCH */
    b8(b, 0);                    /* minor version */
    b64(b, 0);                   /* X_FIRMWARE_CTRL */
    b64(b, ACPI_DSDT);           /* X_DSDT */
    for (int i = 0; i < 8; i++)
        gas_none(b);             /* X_PM1a_EVT_BLK .. X_GPE1_BLK */
    gas_io(b, MVM_SLEEP_PORT);   /* SLEEP_CONTROL_REG */
    gas_io(b, MVM_SLEEP_PORT + 1); /* SLEEP_STATUS_REG */
    bmem(b, "MOSAIC  ", 8);      /* hypervisor vendor */
    finish(b);
    /* 276 bytes for revision 6 */
}

static void madt(Buf *b, unsigned ncpus)
{
    header(b, "APIC", 4);
    b32(b, (uint32_t)MOSAIC_X86_LAPIC_BASE);
    b32(b, 1); /* PCAT_COMPAT: there is a PIC (the accelerator's) */
    for (unsigned i = 0; i < ncpus; i++) {
        b8(b, 0); b8(b, 8); b8(b, (uint8_t)i); b8(b, (uint8_t)i); b32(b, 1);
    }
    b8(b, 1); b8(b, 12); b8(b, (uint8_t)ncpus); b8(b, 0);
    b32(b, (uint32_t)MOSAIC_X86_IOAPIC_BASE); b32(b, 0);
    b8(b, 4); b8(b, 6); b8(b, 0xff); b16(b, 0); b8(b, 1); /* LINT1 of every CPU: NMI */
    finish(b);
}

bool acpi_write(MosaicMachine *m, unsigned ncpus, unsigned nslots, const AcpiPcie *pcie,
                MosaicError *err)
{
    Buf *t = calloc(5, sizeof(Buf));
    if (!t) {
        mosaic_error_set(err, "x86-microvm: out of memory");
        return false;
    }
    Buf *x = &t[0], *f = &t[1], *a = &t[2], *d = &t[3], *mc = &t[4];
    dsdt(d, nslots, pcie);
    fadt(f);
    madt(a, ncpus);
    mcfg(mc);
    header(x, "XSDT", 1);
    b64(x, ACPI_FADT);
    b64(x, ACPI_MADT);
    if (pcie)
        b64(x, ACPI_MCFG);
    finish(x);

    uint8_t rsdp[36] = "RSD PTR ";
    memcpy(rsdp + 9, "MOSAIC", 6);
    rsdp[15] = 2;
    uint32_t len = 36;
    uint64_t xsdt = ACPI_XSDT;
    memcpy(rsdp + 20, &len, 4);
    memcpy(rsdp + 24, &xsdt, 8);
    rsdp[8] = (uint8_t)-sum(rsdp, 20);
    rsdp[32] = (uint8_t)-sum(rsdp, 36);

    MosaicAddressSpace *as = mosaic_machine_address_space(m);
    bool ok = !d->overflow && !a->overflow && d->n < ACPI_END - ACPI_DSDT &&
              a->n <= ACPI_MCFG - ACPI_MADT &&
              mosaic_as_rw(as, ACPI_RSDP, rsdp, sizeof(rsdp), true) == MOSAIC_MEM_OK &&
              mosaic_as_rw(as, ACPI_XSDT, x->b, x->n, true) == MOSAIC_MEM_OK &&
              mosaic_as_rw(as, ACPI_FADT, f->b, f->n, true) == MOSAIC_MEM_OK &&
              mosaic_as_rw(as, ACPI_MADT, a->b, a->n, true) == MOSAIC_MEM_OK &&
              mosaic_as_rw(as, ACPI_DSDT, d->b, d->n, true) == MOSAIC_MEM_OK &&
              (!pcie || mosaic_as_rw(as, ACPI_MCFG, mc->b, mc->n, true) == MOSAIC_MEM_OK);
    free(t);
    if (!ok)
        mosaic_error_set(err, "x86-microvm: cannot write the ACPI tables at 0x%llx",
                         (unsigned long long)ACPI_RSDP);
    return ok;
}
