/* SPDX-License-Identifier: GPL-2.0-or-later */
/* RISC-V: what an accelerator and a board of this architecture agree on beyond the
 * generic accel.h (register numbers, interrupt lines, the timebase).  Other
 * architectures get their own header (x86.h).
 *
 * Changelog
 *   1.0  first ABI (moved out of accel.h).
 */
#ifndef MOSAIC_RISCV_H
#define MOSAIC_RISCV_H

#include <mosaic/accel.h>

/* Register numbers of GDB's RISC-V target description: 0-31 x0-x31, 32 pc, 33-64
 * f0-f31, 65 + n the CSR n (and MOSAIC_REG_PRIV, accel.h, the privilege level). */
#define MOSAIC_RISCV_REG_PC 32
#define MOSAIC_RISCV_REG_F0 33
#define MOSAIC_RISCV_REG_CSR0 65

/* Interrupt lines of a hart (vcpu_set_irq): the bit numbers of mip. */
enum { MOSAIC_RISCV_IRQ_SSIP = 1, MOSAIC_RISCV_IRQ_MSIP = 3, MOSAIC_RISCV_IRQ_STIP = 5,
       MOSAIC_RISCV_IRQ_MTIP = 7, MOSAIC_RISCV_IRQ_SEIP = 9, MOSAIC_RISCV_IRQ_MEIP = 11 };
/* mtime runs at this rate: the CLINT and the time CSR both derive it from the virtual clock. */
#define MOSAIC_RISCV_TIMEBASE_HZ 10000000u

#endif
