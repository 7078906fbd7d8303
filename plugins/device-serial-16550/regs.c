/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The 16550A register model (regs.h). */
#include "regs.h"

#define LSR_ERRS (UART_LSR_OE | 0x04 | 0x08 | UART_LSR_BI)
#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f

static unsigned rx_capacity(const Uart16550 *u)
{
    return (u->fcr & UART_FCR_FIFO_EN) ? UART_FIFO_SIZE : 1;
}

/* The interrupt the IIR reports, by 16550 priority. */
static uint8_t pending_iir(const Uart16550 *u)
{
    if ((u->ier & UART_IER_RLSI) && (u->lsr & LSR_ERRS))
        return UART_IIR_RLSI;
    if ((u->ier & UART_IER_RDI) && (u->lsr & UART_LSR_DR))
        return UART_IIR_RDI;
    if ((u->ier & UART_IER_THRI) && u->thr_ipending)
        return UART_IIR_THRI;
    if ((u->ier & UART_IER_MSI) && (u->msr & MSR_DELTAS))
        return UART_IIR_MSI;
    return UART_IIR_NO_INT;
}

static void update_irq(Uart16550 *u)
{
    bool level = pending_iir(u) != UART_IIR_NO_INT;
    if (level != u->irq_level) {
        u->irq_level = level;
        if (u->irq)
            u->irq(u->opaque, level);
    }
}

static void room_again(Uart16550 *u)
{
    if (u->rx_room)
        u->rx_room(u->opaque);
}

static void rx_push(Uart16550 *u, uint8_t b)
{
    if (u->count >= rx_capacity(u)) {
        u->lsr |= UART_LSR_OE;
        return;
    }
    u->fifo[(u->head + u->count) % UART_FIFO_SIZE] = b;
    u->count++;
    u->lsr |= UART_LSR_DR;
}

size_t uart16550_can_receive(const Uart16550 *u)
{
    if (u->mcr & UART_MCR_LOOP)
        return 0;
    unsigned cap = rx_capacity(u);
    return u->count < cap ? cap - u->count : 0;
}

void uart16550_receive(Uart16550 *u, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        rx_push(u, buf[i]);
    update_irq(u);
}

/* MSR as the modem lines look: CTS, DSR and DCD on (or MCR's outputs in loopback). */
static uint8_t msr_lines(const Uart16550 *u)
{
    if (u->mcr & UART_MCR_LOOP) {
        uint8_t m = u->mcr;
        return ((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x04) << 4) | ((m & 0x08) << 4);
    }
    return 0xb0; /* DCD | DSR | CTS */
}

uint8_t uart16550_read(Uart16550 *u, unsigned reg)
{
    uint8_t r = 0;
    switch (reg) {
    case UART_RBR:
        if (u->lcr & UART_LCR_DLAB)
            return u->dll;
        if (u->count) {
            bool was_full = u->count >= rx_capacity(u);
            r = u->fifo[u->head];
            u->head = (u->head + 1) % UART_FIFO_SIZE;
            u->count--;
            if (!u->count)
                u->lsr &= ~UART_LSR_DR;
            if (was_full && !(u->mcr & UART_MCR_LOOP))
                room_again(u);
        }
        update_irq(u);
        return r;
    case UART_IER:
        return (u->lcr & UART_LCR_DLAB) ? u->dlm : u->ier;
    case UART_IIR:
        r = pending_iir(u);
        if (r == UART_IIR_THRI)
            u->thr_ipending = false; /* reading IIR acknowledges THRE */
        if (u->fcr & UART_FCR_FIFO_EN)
            r |= UART_IIR_FIFO;
        update_irq(u);
        return r;
    case UART_LCR:
        return u->lcr;
    case UART_MCR:
        return u->mcr;
    case UART_LSR:
        r = u->lsr;
        u->lsr &= ~(UART_LSR_OE | UART_LSR_BI); /* error bits clear on read */
        update_irq(u);
        return r;
    case UART_MSR:
        r = (u->msr & MSR_DELTAS) | msr_lines(u);
        u->msr &= ~MSR_DELTAS;
        update_irq(u);
        return r;
    case UART_SCR:
        return u->scr;
    }
    return 0;
}

void uart16550_write(Uart16550 *u, unsigned reg, uint8_t b)
{
    switch (reg) {
    case UART_THR:
        if (u->lcr & UART_LCR_DLAB) {
            u->dll = b;
            return;
        }
        if (u->mcr & UART_MCR_LOOP)
            rx_push(u, b);
        else if (u->tx)
            u->tx(u->opaque, b);
        /* The byte left at once: THR is empty again and says so. */
        u->thr_ipending = true;
        u->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
        update_irq(u);
        return;
    case UART_IER:
        if (u->lcr & UART_LCR_DLAB) {
            u->dlm = b;
            return;
        }
        /* Enabling THRI with THR empty raises the interrupt (8250 probes this). */
        if ((b & UART_IER_THRI) && !(u->ier & UART_IER_THRI) && (u->lsr & UART_LSR_THRE))
            u->thr_ipending = true;
        u->ier = b & 0x0f;
        update_irq(u);
        return;
    case UART_FCR: {
        bool was_fifo = u->fcr & UART_FCR_FIFO_EN;
        u->fcr = b & 0xc9;
        if ((b & UART_FCR_CLEAR_RX) || was_fifo != (bool)(b & UART_FCR_FIFO_EN)) {
            bool had = u->count != 0;
            u->head = u->count = 0;
            u->lsr &= ~UART_LSR_DR;
            if (had)
                room_again(u);
        }
        update_irq(u);
        return;
    }
    case UART_LCR:
        u->lcr = b;
        return;
    case UART_MCR: {
        uint8_t before = msr_lines(u);
        bool was_loop = u->mcr & UART_MCR_LOOP;
        u->mcr = b & 0x1f;
        uint8_t after = msr_lines(u);
        uint8_t ch = before ^ after;
        if (ch & 0x10)
            u->msr |= MSR_DCTS;
        if (ch & 0x20)
            u->msr |= MSR_DDSR;
        if ((before & 0x40) && !(after & 0x40))
            u->msr |= MSR_TERI;
        if (ch & 0x80)
            u->msr |= MSR_DDCD;
        if (was_loop && !(u->mcr & UART_MCR_LOOP))
            room_again(u);
        update_irq(u);
        return;
    }
    case UART_SCR:
        u->scr = b;
        return;
    }
}

void uart16550_reset(Uart16550 *u)
{
    u->ier = u->lcr = u->mcr = u->scr = u->fcr = 0;
    u->dll = 12; /* 9600 baud at 1.8432 MHz, as on real parts after reset */
    u->dlm = 0;
    u->lsr = UART_LSR_THRE | UART_LSR_TEMT;
    u->msr = 0;
    u->thr_ipending = false;
    u->head = u->count = 0;
    update_irq(u);
    room_again(u);
}
