/* SPDX-License-Identifier: GPL-2.0-or-later */
/* x86-microvm: the Intel MultiProcessor Specification 1.4 table, so Linux finds every
 * vCPU (local APIC ID = vCPU index), the IOAPIC and how ISA and virtio lines reach
 * it, without ACPI. */
#include <stdlib.h>
#include <string.h>
#include "microvm.h"

#define MPC_CPU_EN 1
#define MPC_CPU_BP 2
#define MP_INT 0
#define MP_NMI 1
#define MP_EXTINT 3
#define MP_IRQ_LEVEL_HIGH 0x0d /* polarity active high (01), trigger level (11) */

static uint8_t checksum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s += *p++;
    return (uint8_t)-s;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }

bool mptable_write(MosaicMachine *m, unsigned ncpus, MosaicError *err)
{
    uint8_t buf[1024];
    size_t need = 16 + 44 + 20 * ncpus + 8 + 8 + 8 * MOSAIC_X86_NGSI + 2 * 8;
    if (need > sizeof(buf)) {
        mosaic_error_set(err, "x86-microvm: the MP table for %u cpus does not fit in 1 KiB", ncpus);
        return false;
    }
    memset(buf, 0, sizeof(buf));
    uint8_t *fp = buf, *hdr = buf + 16, *e = hdr + 44;
    uint8_t ioapic_id = (uint8_t)ncpus;

    for (unsigned i = 0; i < ncpus; i++, e += 20) {
        e[0] = 0;        /* processor */
        e[1] = (uint8_t)i; /* local APIC ID */
        e[2] = 0x14;     /* local APIC version */
        e[3] = MPC_CPU_EN | (i == 0 ? MPC_CPU_BP : 0);
        put32(e + 4, 0x600); /* signature: family 6 */
        put32(e + 8, 0x201); /* features: FPU, APIC */
    }
    e[0] = 1; /* bus 0: ISA */
    memcpy(e + 2, "ISA   ", 6);
    e += 8;
    e[0] = 2; /* the IOAPIC */
    e[1] = ioapic_id;
    e[2] = 0x11;
    e[3] = 1; /* enabled */
    put32(e + 4, (uint32_t)MOSAIC_X86_IOAPIC_BASE);
    e += 8;
    for (unsigned pin = 0; pin < MOSAIC_X86_NGSI; pin++, e += 8) {
        e[0] = 3; /* I/O interrupt: bus 0 irq n -> IOAPIC pin n */
        e[1] = MP_INT;
        put16(e + 2, pin >= MVM_VIRTIO_GSI ? MP_IRQ_LEVEL_HIGH : 0); /* ISA: conforming (edge) */
        e[4] = 0;
        e[5] = (uint8_t)pin;
        e[6] = ioapic_id;
        e[7] = (uint8_t)pin;
    }
    e[0] = 4; e[1] = MP_EXTINT; e[6] = 0xff; e[7] = 0; /* LINT0: ExtINT (the PIC) */
    e += 8;
    e[0] = 4; e[1] = MP_NMI; e[6] = 0xff; e[7] = 1;    /* LINT1: NMI */
    e += 8;

    size_t len = (size_t)(e - hdr);
    memcpy(hdr, "PCMP", 4);
    put16(hdr + 4, (uint16_t)len);
    hdr[6] = 4; /* spec 1.4 */
    memcpy(hdr + 8, "MOSAIC  ", 8);
    memcpy(hdr + 16, "MICROVM     ", 12);
    put16(hdr + 34, (uint16_t)(ncpus + 2 + MOSAIC_X86_NGSI + 2));
    put32(hdr + 36, (uint32_t)MOSAIC_X86_LAPIC_BASE);
    hdr[7] = checksum(hdr, len);

    memcpy(fp, "_MP_", 4);
    put32(fp + 4, (uint32_t)(MVM_MPTABLE + 16));
    fp[8] = 1; /* length in 16-byte units */
    fp[9] = 4;
    fp[10] = checksum(fp, 16);

    if (mosaic_as_rw(mosaic_machine_address_space(m), MVM_MPTABLE, buf, 16 + len, true) != MOSAIC_MEM_OK) {
        mosaic_error_set(err, "x86-microvm: cannot write the MP table at 0x%llx",
                         (unsigned long long)MVM_MPTABLE);
        return false;
    }
    return true;
}
