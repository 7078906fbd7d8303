/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The 16550A's registers, apart from how they are reached (MMIO on riscv-virt, port I/O
 * on x86) and from where the bytes go: THR/RBR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR,
 * DLL/DLM (behind LCR.DLAB), a 16-byte receive FIFO (1 byte with FIFOs off), interrupts
 * by 16550 priority (line status, received data, THR empty, modem status) and loopback.
 * Transmission is instantaneous: THR is empty again when the guest looks.  Enough for
 * OpenSBI, Linux's 8250 driver and Linux's x86 early console.  No SDK types: the unit
 * test and the fuzz target drive it alone. */
#ifndef SERIAL_16550_REGS_H
#define SERIAL_16550_REGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { UART_RBR = 0, UART_THR = 0, UART_IER = 1, UART_IIR = 2, UART_FCR = 2, UART_LCR = 3,
       UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7, UART_NREGS = 8 };
#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IER_RLSI 0x04
#define UART_IER_MSI 0x08
#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI 0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_FIFO 0xc0
#define UART_FCR_FIFO_EN 0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_LCR_DLAB 0x80
#define UART_MCR_LOOP 0x10
#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_BI 0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_FIFO_SIZE 16

typedef struct Uart16550 {
    /* What the registers do outside (set by the owner; any may be NULL). */
    void (*tx)(void *opaque, uint8_t byte);    /* a byte the guest sent */
    void (*rx_room)(void *opaque);             /* the receive FIFO has room again */
    void (*irq)(void *opaque, bool level);     /* the interrupt line changed */
    void *opaque;

    bool irq_level;
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr, dll, dlm;
    bool thr_ipending;
    uint8_t fifo[UART_FIFO_SIZE];
    unsigned head, count;
} Uart16550;

/* Power-on state (also the system reset): 9600 baud divisor, THR empty, no interrupt. */
void uart16550_reset(Uart16550 *u);
/* Register `reg` (0..7; others read 0 and ignore writes). */
uint8_t uart16550_read(Uart16550 *u, unsigned reg);
void uart16550_write(Uart16550 *u, unsigned reg, uint8_t val);
/* Bytes the receive side takes now (0 in loopback: the line is not connected). */
size_t uart16550_can_receive(const Uart16550 *u);
/* Received bytes; beyond the FIFO's room they are lost and LSR.OE says so. */
void uart16550_receive(Uart16550 *u, const uint8_t *buf, size_t len);

#endif
