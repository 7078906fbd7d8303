/* SPDX-License-Identifier: GPL-2.0-or-later */
/* 16550A UART on port 0x3f8 (GSI 4), enough for OpenSBI and Linux's 8250
 * driver: THR/RBR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR, DLL/DLM, a 16-byte receive
 * FIFO fed from a chardev with flow control (can_receive), TX interrupts and loopback.
 * (A copy of riscv-virt's; the two move to a shared place with the next board.)
 * Transmission is instantaneous: THR is always empty again when the guest looks.
 * Called with the core lock held (MMIO dispatch; chardev input on the main loop). */
#include <stdlib.h>
#include <string.h>
#include "microvm.h"

enum { RBR = 0, THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08
#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO 0xc0
#define FCR_FIFO_EN 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRS (LSR_OE | 0x04 | 0x08 | LSR_BI)
#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define FIFO_SIZE 16

struct Uart {
    MosaicRegion *mr, *container;
    MosaicIrq irq;
    MosaicChardev *cd;
    bool irq_level;
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr, dll, dlm;
    bool thr_ipending;
    uint8_t fifo[FIFO_SIZE];
    unsigned head, count;
};

static unsigned rx_capacity(Uart *u) { return (u->fcr & FCR_FIFO_EN) ? FIFO_SIZE : 1; }

/* The interrupt the IIR reports, by 16550 priority. */
static uint8_t pending_iir(Uart *u)
{
    if ((u->ier & IER_RLSI) && (u->lsr & LSR_ERRS & ~LSR_THRE))
        return IIR_RLSI;
    if ((u->ier & IER_RDI) && (u->lsr & LSR_DR))
        return IIR_RDI;
    if ((u->ier & IER_THRI) && u->thr_ipending)
        return IIR_THRI;
    if ((u->ier & IER_MSI) && (u->msr & MSR_DELTAS))
        return IIR_MSI;
    return IIR_NO_INT;
}

static void update_irq(Uart *u)
{
    bool level = pending_iir(u) != IIR_NO_INT;
    if (level != u->irq_level) {
        u->irq_level = level;
        mosaic_irq_set(&u->irq, level);
    }
}

static void rx_push(Uart *u, uint8_t b)
{
    if (u->count >= rx_capacity(u)) {
        u->lsr |= LSR_OE;
        return;
    }
    u->fifo[(u->head + u->count) % FIFO_SIZE] = b;
    u->count++;
    u->lsr |= LSR_DR;
}

static size_t can_receive(void *opaque)
{
    Uart *u = opaque;
    if (u->mcr & MCR_LOOP)
        return 0;
    unsigned cap = rx_capacity(u);
    return u->count < cap ? cap - u->count : 0;
}

static void receive(void *opaque, const uint8_t *buf, size_t len)
{
    Uart *u = opaque;
    for (size_t i = 0; i < len; i++)
        rx_push(u, buf[i]);
    update_irq(u);
}

static const MosaicChardevReceiver receiver = {
    .size = sizeof(MosaicChardevReceiver),
    .can_receive = can_receive,
    .receive = receive,
};

/* MSR as the modem lines look: CTS, DSR and DCD on (or MCR's outputs in loopback). */
static uint8_t msr_lines(Uart *u)
{
    if (u->mcr & MCR_LOOP) {
        uint8_t m = u->mcr;
        return ((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x04) << 4) | ((m & 0x08) << 4);
    }
    return 0xb0; /* DCD | DSR | CTS */
}

static uint64_t uart_read(void *opaque, uint64_t off, unsigned size)
{
    Uart *u = opaque;
    uint8_t r = 0;
    switch (off) {
    case RBR:
        if (u->lcr & LCR_DLAB)
            return u->dll;
        if (u->count) {
            bool was_full = u->count >= rx_capacity(u);
            r = u->fifo[u->head];
            u->head = (u->head + 1) % FIFO_SIZE;
            u->count--;
            if (!u->count)
                u->lsr &= ~LSR_DR;
            if (was_full && u->cd && !(u->mcr & MCR_LOOP))
                mosaic_chardev_accept_input(u->cd);
        }
        update_irq(u);
        return r;
    case IER:
        return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
    case IIR:
        r = pending_iir(u);
        if (r == IIR_THRI)
            u->thr_ipending = false; /* reading IIR acknowledges THRE */
        if (u->fcr & FCR_FIFO_EN)
            r |= IIR_FIFO;
        update_irq(u);
        return r;
    case LCR:
        return u->lcr;
    case MCR:
        return u->mcr;
    case LSR:
        r = u->lsr;
        u->lsr &= ~(LSR_OE | LSR_BI); /* error bits clear on read */
        update_irq(u);
        return r;
    case MSR:
        r = (u->msr & MSR_DELTAS) | msr_lines(u);
        u->msr &= ~MSR_DELTAS;
        update_irq(u);
        return r;
    case SCR:
        return u->scr;
    }
    return 0;
}

static void uart_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Uart *u = opaque;
    uint8_t b = (uint8_t)val;
    switch (off) {
    case THR:
        if (u->lcr & LCR_DLAB) {
            u->dll = b;
            return;
        }
        if (u->mcr & MCR_LOOP)
            rx_push(u, b);
        else if (u->cd)
            mosaic_chardev_write(u->cd, &b, 1);
        /* The byte left at once: THR is empty again and says so. */
        u->thr_ipending = true;
        u->lsr |= LSR_THRE | LSR_TEMT;
        update_irq(u);
        return;
    case IER:
        if (u->lcr & LCR_DLAB) {
            u->dlm = b;
            return;
        }
        /* Enabling THRI with THR empty raises the interrupt (8250 probes this). */
        if ((b & IER_THRI) && !(u->ier & IER_THRI) && (u->lsr & LSR_THRE))
            u->thr_ipending = true;
        u->ier = b & 0x0f;
        update_irq(u);
        return;
    case FCR: {
        bool was_fifo = u->fcr & FCR_FIFO_EN;
        u->fcr = b & 0xc9;
        if ((b & FCR_CLEAR_RX) || was_fifo != (bool)(b & FCR_FIFO_EN)) {
            bool had = u->count >= rx_capacity(u) || u->count;
            u->head = u->count = 0;
            u->lsr &= ~LSR_DR;
            if (had && u->cd)
                mosaic_chardev_accept_input(u->cd);
        }
        update_irq(u);
        return;
    }
    case LCR:
        u->lcr = b;
        return;
    case MCR: {
        uint8_t before = msr_lines(u);
        bool was_loop = u->mcr & MCR_LOOP;
        u->mcr = b & 0x1f;
        uint8_t after = msr_lines(u);
        uint8_t ch = before ^ after;
        if (ch & 0x10) u->msr |= MSR_DCTS;
        if (ch & 0x20) u->msr |= MSR_DDSR;
        if ((before & 0x40) && !(after & 0x40)) u->msr |= MSR_TERI;
        if (ch & 0x80) u->msr |= MSR_DDCD;
        if (was_loop && !(u->mcr & MCR_LOOP) && u->cd)
            mosaic_chardev_accept_input(u->cd);
        update_irq(u);
        return;
    }
    case SCR:
        u->scr = b;
        return;
    }
}

static const MosaicMmioOps uart_ops = {
    .size = sizeof(MosaicMmioOps),
    .read = uart_read,
    .write = uart_write,
    .min_access = 1,
    .max_access = 4,
};

void uart_reset(Uart *u)
{
    u->ier = u->lcr = u->mcr = u->scr = u->fcr = 0;
    u->dll = 12; /* 9600 baud at 1.8432 MHz, as on real parts after reset */
    u->dlm = 0;
    u->lsr = LSR_THRE | LSR_TEMT;
    u->msr = 0;
    u->thr_ipending = false;
    u->head = u->count = 0;
    update_irq(u);
    if (u->cd)
        mosaic_chardev_accept_input(u->cd);
}

Uart *uart_new(MosaicMachine *m, uint16_t port, MosaicIrq irq, MosaicChardev *cd, MosaicError *err)
{
    Uart *u = calloc(1, sizeof(*u));
    if (!u) {
        mosaic_error_set(err, "uart: out of memory");
        return NULL;
    }
    u->irq = irq;
    u->cd = cd;
    u->lsr = LSR_THRE | LSR_TEMT;
    u->mr = mosaic_region_new_mmio("uart0", 8, &uart_ops, u);
    if (!mosaic_region_add(mosaic_machine_io_memory(m), port, u->mr, 0, err)) {
        uart_free(u);
        return NULL;
    }
    u->container = mosaic_machine_io_memory(m);
    if (cd)
        mosaic_chardev_set_receiver(cd, &receiver, u);
    return u;
}

void uart_free(Uart *u)
{
    if (!u)
        return;
    /* No mosaic_chardev_set_receiver(cd, NULL) here: the core tears chardevs down
     * before boards (machine_destroy), and the main loop no longer runs by then. */
    if (u->container)
        mosaic_region_del(u->container, u->mr);
    mosaic_region_unref(u->mr);
    free(u);
}
