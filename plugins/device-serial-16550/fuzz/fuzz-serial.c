/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target for the 16550A register model (../regs.c): an input is a sequence of
 * guest and line events, two bytes each — the first picks the event (0-7: read that
 * register; 8-15: write register n-8 with the second byte; 16: the line delivers as
 * many bytes as the second says, up to 32; 17: reset).  After each event the model's
 * invariants must hold: the FIFO within its 16 bytes, the interrupt line exactly "an
 * interrupt is pending", no more taken than can_receive allowed.  Any crash, sanitizer
 * report or abort is a bug.
 *
 * libFuzzer: plugins/device-serial-16550/fuzz/build.sh.  With -DFUZZ_STANDALONE a main()
 * runs N random event sequences from a seed (tests/system/test_serial_fuzz.py):
 *   fuzz-serial-standalone ITERATIONS SEED */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../regs.h"

static bool line_level;
static unsigned long seen_irq, seen_full, seen_overrun; /* the standalone driver prints them */

static void irq(void *opaque, bool level)
{
    if (level == line_level)
        abort(); /* the model tells changes only */
    line_level = level;
}

static void check(Uart16550 *u)
{
    if (u->count > UART_FIFO_SIZE || u->head >= UART_FIFO_SIZE)
        abort();
    if (u->irq_level != line_level)
        abort();
    /* The line is up exactly when IIR reports an interrupt (bit 0 clear).  IIR's read
     * acknowledges THRE, so look at a copy. */
    Uart16550 copy = *u;
    copy.irq = NULL;
    copy.rx_room = NULL;
    bool pending = !(uart16550_read(&copy, UART_IIR) & UART_IIR_NO_INT);
    if (pending != u->irq_level)
        abort();
    seen_irq += u->irq_level;
    seen_full += u->count == UART_FIFO_SIZE;
    seen_overrun += (u->lsr & UART_LSR_OE) != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Uart16550 u = {0};
    line_level = false;
    uart16550_reset(&u);
    u.irq = irq;
    uint8_t bytes[32];
    for (size_t i = 0; i + 2 <= size; i += 2) {
        unsigned ev = data[i] % 18, arg = data[i + 1];
        if (ev < 8) {
            uart16550_read(&u, ev);
        } else if (ev < 16) {
            uart16550_write(&u, ev - 8, (uint8_t)arg);
        } else if (ev == 16) {
            size_t n = arg % sizeof bytes, room = uart16550_can_receive(&u);
            if (n > room)
                n = room; /* a chardev gives no more than can_receive */
            memset(bytes, (int)arg, n);
            uart16550_receive(&u, bytes, n);
        } else {
            uart16550_reset(&u);
        }
        check(&u);
    }
    return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
    unsigned long iterations = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;
    srand(argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 1);
    uint8_t buf[512];
    for (unsigned long it = 0; it < iterations; it++) {
        size_t n = (size_t)(rand() % (int)sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rand();
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("%lu sequences: %lu events with the line up, %lu with a full FIFO, %lu with "
           "an overrun\n", iterations, seen_irq, seen_full, seen_overrun);
    return 0;
}
#endif
