/* SPDX-License-Identifier: GPL-2.0-or-later */
/* x86-64: what an accelerator and a board of this architecture agree on beyond the
 * generic accel.h (register numbers, interrupt lines).  The port I/O space is the
 * machine's (mosaic_machine_io_memory, machine.h).
 *
 * Changelog
 *   1.1  first version.
 */
#ifndef MOSAIC_X86_H
#define MOSAIC_X86_H

#include <mosaic/accel.h>

/* Register numbers 0-23 are those of GDB's amd64 target description
 * (org.gnu.gdb.i386.core): the general registers in GDB's order, rip, eflags and the
 * segment selectors. */
enum {
    MOSAIC_X86_REG_RAX = 0, MOSAIC_X86_REG_RBX, MOSAIC_X86_REG_RCX, MOSAIC_X86_REG_RDX,
    MOSAIC_X86_REG_RSI, MOSAIC_X86_REG_RDI, MOSAIC_X86_REG_RBP, MOSAIC_X86_REG_RSP,
    MOSAIC_X86_REG_R8, MOSAIC_X86_REG_R9, MOSAIC_X86_REG_R10, MOSAIC_X86_REG_R11,
    MOSAIC_X86_REG_R12, MOSAIC_X86_REG_R13, MOSAIC_X86_REG_R14, MOSAIC_X86_REG_R15,
    MOSAIC_X86_REG_RIP = 16,
    MOSAIC_X86_REG_EFLAGS = 17,
    MOSAIC_X86_REG_CS = 18, /* selectors, in this order: cs ss ds es fs gs */
    MOSAIC_X86_REG_SS, MOSAIC_X86_REG_DS, MOSAIC_X86_REG_ES, MOSAIC_X86_REG_FS,
    MOSAIC_X86_REG_GS,
};

/* GDB's numbers of the x87 registers (org.gnu.gdb.i386.core: st0-st7, 80 bits wide,
 * reached through mosaic_vcpu_get/set_reg_bytes as 10 bytes; then the control
 * registers) and of the SSE ones (org.gnu.gdb.i386.sse: xmm0-15, 16 bytes each, the
 * same way; mxcsr).  Since 1.1. */
enum {
    MOSAIC_X86_REG_ST0 = 24,
    MOSAIC_X86_REG_XMM0 = 40,
    MOSAIC_X86_REG_FCTRL = 32, MOSAIC_X86_REG_FSTAT, MOSAIC_X86_REG_FTAG, MOSAIC_X86_REG_FISEG,
    MOSAIC_X86_REG_FIOFF, MOSAIC_X86_REG_FOSEG, MOSAIC_X86_REG_FOOFF, MOSAIC_X86_REG_FOP,
    MOSAIC_X86_REG_MXCSR = 56,
};

/* Beyond GDB's numbers: system state a board sets for a direct boot and a monitor
 * shows.  Writing one of them never loads anything from guest memory. */
enum {
    MOSAIC_X86_REG_CR0 = 0x100, MOSAIC_X86_REG_CR2, MOSAIC_X86_REG_CR3, MOSAIC_X86_REG_CR4,
    MOSAIC_X86_REG_CR8, MOSAIC_X86_REG_EFER, MOSAIC_X86_REG_APIC_BASE,
    MOSAIC_X86_REG_GDT_BASE, MOSAIC_X86_REG_GDT_LIMIT,
    MOSAIC_X86_REG_IDT_BASE, MOSAIC_X86_REG_IDT_LIMIT,
    MOSAIC_X86_REG_TR, MOSAIC_X86_REG_LDTR, /* selectors */
};

/* The hidden (descriptor cache) part of segment `seg`, numbered as MOSAIC_X86_SEG_*:
 * base, limit (in bytes, 0xffffffff for a flat 4 GiB segment) and attributes in the
 * layout of descriptor bits 40-55: type(4) s dpl(2) p avl l db g, i.e. 0xa09b for a
 * 64-bit code segment, 0xc093 for a flat data segment. */
enum { MOSAIC_X86_SEG_CS = 0, MOSAIC_X86_SEG_SS, MOSAIC_X86_SEG_DS, MOSAIC_X86_SEG_ES,
       MOSAIC_X86_SEG_FS, MOSAIC_X86_SEG_GS, MOSAIC_X86_SEG_TR, MOSAIC_X86_SEG_LDTR,
       MOSAIC_X86_NSEGS };
#define MOSAIC_X86_REG_SEG_BASE(seg) (0x120u + (seg))
#define MOSAIC_X86_REG_SEG_LIMIT(seg) (0x130u + (seg))
#define MOSAIC_X86_REG_SEG_ATTR(seg) (0x140u + (seg))

/* Interrupt lines (vcpu_set_irq, mosaic_vcpu_irq): line n < MOSAIC_X86_NGSI is global
 * system interrupt n of the machine's interrupt controllers (IOAPIC pins 0-23, the
 * legacy PIC on 0-15), the same whichever vCPU it is raised through; the IOAPIC
 * routes it. */
#define MOSAIC_X86_NGSI 24
#define MOSAIC_X86_IRQ_GSI(n) ((unsigned)(n))

/* Where the interrupt controllers sit (the accelerator emulates them; a board lists
 * them in its MP table). */
#define MOSAIC_X86_IOAPIC_BASE 0xfec00000ull
#define MOSAIC_X86_LAPIC_BASE 0xfee00000ull

#endif
