/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The 16550A register model of plugins/device-serial-16550 (regs.c), driven alone:
 * divisor latch behind DLAB, LSR bits, IIR priorities and THRE acknowledgement, the
 * receive FIFO (16 bytes, 1 with FIFOs off, overrun), loopback and the interrupt line. */
#include <glib.h>

#include "../../plugins/device-serial-16550/regs.h"

typedef struct Line {
    GString *sent;
    unsigned irq_changes, room_calls;
    bool irq;
} Line;

static void tx(void *opaque, uint8_t b)
{
    Line *l = opaque;
    g_string_append_c(l->sent, (char)b);
}

static void room(void *opaque)
{
    ((Line *)opaque)->room_calls++;
}

static void irq(void *opaque, bool level)
{
    Line *l = opaque;
    g_assert_true(level != l->irq); /* only changes are told */
    l->irq = level;
    l->irq_changes++;
}

static void setup(Uart16550 *u, Line *l)
{
    *u = (Uart16550){0};
    *l = (Line){.sent = g_string_new(NULL)};
    u->tx = tx;
    u->rx_room = room;
    u->irq = irq;
    u->opaque = l;
    uart16550_reset(u);
}

static void test_reset_state(void)
{
    Uart16550 u;
    Line l;
    setup(&u, &l);
    g_assert_cmphex(uart16550_read(&u, UART_LSR), ==, UART_LSR_THRE | UART_LSR_TEMT);
    g_assert_cmphex(uart16550_read(&u, UART_IIR), ==, UART_IIR_NO_INT);
    g_assert_cmphex(uart16550_read(&u, UART_IER), ==, 0);
    g_assert_false(l.irq);
    uart16550_write(&u, UART_LCR, UART_LCR_DLAB);
    g_assert_cmpuint(uart16550_read(&u, UART_RBR), ==, 12); /* 9600 baud divisor */
    g_assert_cmpuint(uart16550_read(&u, UART_IER), ==, 0);
    g_assert_cmpuint(uart16550_read(&u, 8), ==, 0);          /* past the registers */
    g_string_free(l.sent, TRUE);
}

/* With DLAB set, offsets 0 and 1 are the divisor: nothing is sent, IER is untouched. */
static void test_dlab(void)
{
    Uart16550 u;
    Line l;
    setup(&u, &l);
    uart16550_write(&u, UART_IER, 0x05);
    uart16550_write(&u, UART_LCR, UART_LCR_DLAB | 0x03);
    uart16550_write(&u, UART_THR, 0x01);
    uart16550_write(&u, UART_IER, 0x02);
    g_assert_cmpuint(uart16550_read(&u, UART_RBR), ==, 0x01);
    g_assert_cmpuint(uart16550_read(&u, UART_IER), ==, 0x02);
    g_assert_cmpuint(l.sent->len, ==, 0);
    uart16550_write(&u, UART_LCR, 0x03);
    g_assert_cmpuint(uart16550_read(&u, UART_IER), ==, 0x05); /* IER as it was */
    g_assert_cmpuint(uart16550_read(&u, UART_LCR), ==, 0x03);
    uart16550_write(&u, UART_THR, 'A');
    g_assert_cmpstr(l.sent->str, ==, "A");
    g_string_free(l.sent, TRUE);
}

/* THRE: enabling its interrupt with THR empty raises it; reading IIR acknowledges it;
 * the next byte sent raises it again; disabling it lowers the line. */
static void test_thre_interrupt(void)
{
    Uart16550 u;
    Line l;
    setup(&u, &l);
    uart16550_write(&u, UART_IER, UART_IER_THRI);
    g_assert_true(l.irq);
    g_assert_cmphex(uart16550_read(&u, UART_IIR), ==, UART_IIR_THRI);
    g_assert_false(l.irq);
    g_assert_cmphex(uart16550_read(&u, UART_IIR), ==, UART_IIR_NO_INT);
    uart16550_write(&u, UART_THR, 'x');
    g_assert_true(l.irq);
    g_assert_cmphex(uart16550_read(&u, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), ==,
                    UART_LSR_THRE | UART_LSR_TEMT);
    uart16550_write(&u, UART_IER, 0);
    g_assert_false(l.irq);
    g_assert_cmpstr(l.sent->str, ==, "x");
    g_string_free(l.sent, TRUE);
}

/* The FIFO: 16 bytes with FIFOs on (IIR says so in bits 6-7), received data raises RDI
 * above THRE, overrun sets LSR.OE (cleared by reading LSR) and raises the line status
 * interrupt above both; draining a full FIFO tells the chardev there is room. */
static void test_fifo_and_priorities(void)
{
    Uart16550 u;
    Line l;
    setup(&u, &l);
    g_assert_cmpuint(uart16550_can_receive(&u), ==, 1); /* FIFOs off: one byte */
    uart16550_write(&u, UART_FCR, UART_FCR_FIFO_EN);
    g_assert_cmpuint(uart16550_can_receive(&u), ==, UART_FIFO_SIZE);
    uart16550_write(&u, UART_IER, UART_IER_RDI | UART_IER_THRI | UART_IER_RLSI);
    g_assert_cmphex(uart16550_read(&u, UART_IIR), ==, UART_IIR_THRI | UART_IIR_FIFO);
    uint8_t in[UART_FIFO_SIZE + 1];
    for (unsigned i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)('a' + i);
    uart16550_receive(&u, in, 2);
    g_assert_true(l.irq);
    uart16550_write(&u, UART_THR, '!'); /* THRE pending again, below RDI */
    g_assert_cmphex(uart16550_read(&u, UART_IIR), ==, UART_IIR_RDI | UART_IIR_FIFO);
    uart16550_receive(&u, in + 2, sizeof in - 2); /* one too many */
    g_assert_cmpuint(uart16550_can_receive(&u), ==, 0);
    g_assert_cmphex(uart16550_read(&u, UART_IIR), ==, UART_IIR_RLSI | UART_IIR_FIFO);
    uint8_t lsr = uart16550_read(&u, UART_LSR);
    g_assert_true(lsr & UART_LSR_OE);
    g_assert_true(lsr & UART_LSR_DR);
    g_assert_false(uart16550_read(&u, UART_LSR) & UART_LSR_OE); /* cleared by the read */
    g_assert_cmphex(uart16550_read(&u, UART_IIR), ==, UART_IIR_RDI | UART_IIR_FIFO);
    unsigned room_before = l.room_calls;
    for (unsigned i = 0; i < UART_FIFO_SIZE; i++)
        g_assert_cmpuint(uart16550_read(&u, UART_RBR), ==, 'a' + i);
    g_assert_cmpuint(l.room_calls, ==, room_before + 1); /* once, when it stopped being full */
    g_assert_false(uart16550_read(&u, UART_LSR) & UART_LSR_DR);
    g_assert_cmphex(uart16550_read(&u, UART_IIR), ==, UART_IIR_THRI | UART_IIR_FIFO);
    g_assert_cmphex(uart16550_read(&u, UART_IIR), ==, UART_IIR_NO_INT | UART_IIR_FIFO);
    g_assert_false(l.irq);
    /* FCR's clear empties the FIFO. */
    uart16550_receive(&u, in, 3);
    uart16550_write(&u, UART_FCR, UART_FCR_FIFO_EN | UART_FCR_CLEAR_RX);
    g_assert_false(uart16550_read(&u, UART_LSR) & UART_LSR_DR);
    g_assert_cmpuint(uart16550_can_receive(&u), ==, UART_FIFO_SIZE);
    g_string_free(l.sent, TRUE);
}

/* Loopback: what is sent comes back in, not out; the line takes nothing from outside;
 * MSR shows MCR's outputs and their changes (a modem status interrupt). */
static void test_loopback(void)
{
    Uart16550 u;
    Line l;
    setup(&u, &l);
    uart16550_write(&u, UART_FCR, UART_FCR_FIFO_EN);
    uart16550_write(&u, UART_MCR, UART_MCR_LOOP);
    uart16550_read(&u, UART_MSR); /* the deltas of entering loopback */
    g_assert_cmpuint(uart16550_can_receive(&u), ==, 0);
    uart16550_write(&u, UART_THR, 'L');
    g_assert_cmpuint(l.sent->len, ==, 0);
    g_assert_cmpuint(uart16550_read(&u, UART_RBR), ==, 'L');
    uart16550_write(&u, UART_IER, UART_IER_MSI);
    uart16550_write(&u, UART_MCR, UART_MCR_LOOP | 0x02); /* RTS -> CTS */
    g_assert_true(l.irq);
    g_assert_cmphex(uart16550_read(&u, UART_IIR) & 0x0f, ==, UART_IIR_MSI);
    uint8_t msr = uart16550_read(&u, UART_MSR);
    g_assert_cmphex(msr & 0x11, ==, 0x11); /* CTS, and its delta */
    g_assert_false(l.irq);                 /* reading MSR cleared the delta */
    unsigned room_before = l.room_calls;
    uart16550_write(&u, UART_MCR, 0); /* leaving loopback reopens the line */
    g_assert_cmpuint(l.room_calls, ==, room_before + 1);
    g_string_free(l.sent, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/serial-16550/reset", test_reset_state);
    g_test_add_func("/serial-16550/dlab", test_dlab);
    g_test_add_func("/serial-16550/thre-interrupt", test_thre_interrupt);
    g_test_add_func("/serial-16550/fifo-and-priorities", test_fifo_and_priorities);
    g_test_add_func("/serial-16550/loopback", test_loopback);
    return g_test_run();
}
