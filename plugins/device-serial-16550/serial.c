/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The 16550A UART as a device: its eight registers (regs.c) at the slot's base, in the
 * slot's container — system memory on riscv-virt (MMIO, registers 1 byte apart, 32-bit
 * accesses allowed as Linux's 8250 with reg-io-width 1 still may), the I/O space on x86
 * (port 0x3f8) — with a chardev on the line.  Boards place it themselves
 * (mosaic_machine_add_device); called with the core lock held (MMIO/port dispatch;
 * chardev input on the main loop). */
#include <stdlib.h>
#include <mosaic/mosaic.h>

#include "regs.h"

typedef struct Serial {
    Uart16550 regs;
    MosaicRegion *mr, *container;
    MosaicIrq irq;
    MosaicChardev *cd;
} Serial;

static void tx(void *opaque, uint8_t b)
{
    Serial *s = opaque;
    if (s->cd)
        mosaic_chardev_write(s->cd, &b, 1);
}

static void rx_room(void *opaque)
{
    Serial *s = opaque;
    if (s->cd)
        mosaic_chardev_accept_input(s->cd);
}

static void irq(void *opaque, bool level)
{
    Serial *s = opaque;
    mosaic_irq_set(&s->irq, level);
}

static size_t can_receive(void *opaque)
{
    Serial *s = opaque;
    return uart16550_can_receive(&s->regs);
}

static void receive(void *opaque, const uint8_t *buf, size_t len)
{
    Serial *s = opaque;
    uart16550_receive(&s->regs, buf, len);
}

static const MosaicChardevReceiver receiver = {
    .size = sizeof(MosaicChardevReceiver),
    .can_receive = can_receive,
    .receive = receive,
};

static uint64_t serial_read(void *opaque, uint64_t off, unsigned size)
{
    Serial *s = opaque;
    return uart16550_read(&s->regs, (unsigned)off);
}

static void serial_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Serial *s = opaque;
    uart16550_write(&s->regs, (unsigned)off, (uint8_t)val);
}

static const MosaicMmioOps serial_ops = {
    .size = sizeof(MosaicMmioOps),
    .read = serial_read,
    .write = serial_write,
    .min_access = 1,
    .max_access = 4,
};

static void serial_unrealize(void *state)
{
    Serial *s = state;
    /* No mosaic_chardev_set_receiver(cd, NULL): the core tears chardevs down after the
     * devices, and the main loop no longer runs by then. */
    if (s->mr) {
        mosaic_region_del(s->container, s->mr);
        mosaic_region_unref(s->mr);
    }
    free(s);
}

static void *serial_realize(MosaicDevice *dev, const MosaicProps *props,
                            const MosaicBusSlot *slot, MosaicError *err)
{
    const char *label = mosaic_props_has(props, "chardev") ?
                        mosaic_props_get_str(props, "chardev") : NULL;
    MosaicChardev *cd = label ? mosaic_chardev_find(mosaic_device_machine(dev), label) : NULL;
    if (label && !cd) {
        mosaic_error_set(err, "%s: chardev = %s: no such chardev",
                         mosaic_props_where(props, "chardev"), label);
        return NULL;
    }
    if (slot->length < UART_NREGS) {
        mosaic_error_set(err, "the slot is %llu bytes, the 16550 has %d registers",
                         (unsigned long long)slot->length, UART_NREGS);
        return NULL;
    }
    Serial *s = calloc(1, sizeof(*s));
    if (!s) {
        mosaic_error_set(err, "out of memory");
        return NULL;
    }
    uart16550_reset(&s->regs); /* before the callbacks: nothing to tell yet */
    s->regs.tx = tx;
    s->regs.rx_room = rx_room;
    s->regs.irq = irq;
    s->regs.opaque = s;
    s->irq = slot->irq;
    s->cd = cd;
    MosaicRegion *mr = mosaic_region_new_mmio(mosaic_device_label(dev), slot->length,
                                              &serial_ops, s);
    if (!mosaic_region_add(slot->container, slot->base, mr, 0, err)) {
        mosaic_region_unref(mr);
        free(s);
        return NULL;
    }
    s->mr = mr;
    s->container = slot->container;
    if (cd)
        mosaic_chardev_set_receiver(cd, &receiver, s);
    return s;
}

static void serial_reset(void *state)
{
    Serial *s = state;
    uart16550_reset(&s->regs);
}

static const MosaicPropDesc serial_props[] = {
    /* A label, not a reference: the machine's implicit chardevs (serial0 on stdio) have
     * no section to refer to. */
    {.key = "chardev", .type = MOSAIC_PROP_STRING,
     .help = "label of the chardev on the line (none: output is dropped, nothing is received)"},
    {0},
};

static const MosaicDeviceOps serial_dev_ops = {
    .size = sizeof(MosaicDeviceOps),
    .bus = "system",
    .realize = serial_realize,
    .unrealize = serial_unrealize,
    .reset = serial_reset,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI,
              .name = "serial-16550", .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "16550A UART (the boards' serial port: MMIO on riscv-virt, port "
                             "0x3f8 on x86-microvm)",
              .props = serial_props, .ops = &serial_dev_ops);
