/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pcie-pci-bridge's standard hot-plug controller as a register model
 * (plugins/pci-pcie-bridge/shpc.c): what Linux's shpchp reads at probe, the
 * read-only / read-write / write-1-to-clear bits, commands and their completion,
 * the interrupt locator and masks, and the hot-add / hot-remove sequence. */
#include <glib.h>

#include "../../plugins/pci-pcie-bridge/shpc.h"

#define SLOT(i) (SHPC_SLOT0 + 4 * (i))

static unsigned offs[8];
static unsigned noffs;
static void record_off(void *o, unsigned i) { offs[noffs++ % 8] = i; }

static void setup(Shpc *s)
{
    shpc_init(s, SHPC_MAX_SLOTS, 7);
    s->slot_off = record_off;
    noffs = 0;
}

static void cmd(Shpc *s, unsigned slot1, unsigned code)
{
    shpc_write(s, SHPC_CMD, 2, slot1 << 8 | code);
}

static void test_identity(void)
{
    Shpc s;
    setup(&s);
    g_assert_cmphex(shpc_read(&s, SHPC_BASE_OFFSET, 4), ==, 0);
    g_assert_cmphex(shpc_read(&s, SHPC_SLOT_AVAIL1, 4) & 0x1f, ==, 31);
    uint32_t cfg = shpc_read(&s, SHPC_SLOT_CONFIG, 4);
    g_assert_cmpuint(cfg & 0x1f, ==, 31);                 /* slots */
    g_assert_cmpuint(cfg >> 8 & 0x1f, ==, SHPC_FIRST_DEV);
    g_assert_cmpuint(cfg >> 16 & 0x7ff, ==, 7);           /* physical slot number */
    g_assert_true(cfg & (1u << 29));                      /* up */
    g_assert_true(cfg & (1u << 31));                      /* attention button */
    g_assert_false(cfg & (1u << 30));                     /* no MRL sensor */
    g_assert_cmpuint(shpc_read(&s, SHPC_PROG_IF, 1), ==, 1);
    g_assert_cmpuint(shpc_read(&s, SHPC_SEC_BUS, 2) & 7, ==, 0); /* 33 MHz */
    /* Reads of the same DWORD at every size agree. */
    uint32_t d = shpc_read(&s, SHPC_SLOT_CONFIG, 4);
    g_assert_cmphex(shpc_read(&s, SHPC_SLOT_CONFIG + 2, 2), ==, d >> 16);
    g_assert_cmphex(shpc_read(&s, SHPC_SLOT_CONFIG + 3, 1), ==, d >> 24);
    /* Misaligned: all ones, nothing else. */
    g_assert_cmphex(shpc_read(&s, SHPC_SLOT_CONFIG + 1, 2), ==, 0xffff);
    g_assert_cmphex(shpc_read(&s, SHPC_SLOT_CONFIG + 2, 4), ==, 0xffffffff);
    g_assert_cmphex(shpc_read(&s, 3, 3), ==, 0xffffffff);
    /* Beyond the last slot: reserved zeros. */
    g_assert_cmphex(shpc_read(&s, SLOT(31), 4), ==, 0);
    g_assert_cmphex(shpc_read(&s, 1020, 4), ==, 0);
}

static void test_reset_state(void)
{
    Shpc s;
    setup(&s);
    bool present[SHPC_MAX_SLOTS] = {[2] = true};
    shpc_reset(&s, present);
    uint32_t empty = shpc_read(&s, SLOT(0), 4), full = shpc_read(&s, SLOT(2), 4);
    g_assert_cmpuint(empty & 3, ==, SHPC_STATE_DISABLED);
    g_assert_cmpuint(empty >> 2 & 3, ==, SHPC_LED_OFF);
    g_assert_cmpuint(empty >> 10 & 3, ==, SHPC_PRSNT_EMPTY);
    g_assert_cmpuint(full & 3, ==, SHPC_STATE_ENABLED);
    g_assert_cmpuint(full >> 2 & 3, ==, SHPC_LED_ON);
    g_assert_cmpuint(full >> 4 & 3, ==, SHPC_LED_OFF);
    g_assert_cmpuint(full >> 10 & 3, !=, SHPC_PRSNT_EMPTY);
    g_assert_false(full & (1u << 8));                     /* latch closed */
    g_assert_cmphex(full >> 24 & 0x7f, ==, 0x7f);          /* every event masked */
    g_assert_cmphex(shpc_read(&s, SHPC_SERR_INT, 4), ==, 0xf);
    g_assert_false(shpc_irq_level(&s));
    g_assert_true(shpc_slot_powered(&s, 2));
    g_assert_false(shpc_slot_powered(&s, 0));
}

static void test_register_masks(void)
{
    Shpc s;
    setup(&s);
    /* Read-only registers ignore writes. */
    shpc_write(&s, SHPC_SLOT_CONFIG, 4, 0);
    shpc_write(&s, SHPC_BASE_OFFSET, 4, 0x1234);
    shpc_write(&s, SHPC_INT_LOCATOR, 4, 0xffffffff);
    g_assert_cmpuint(shpc_read(&s, SHPC_SLOT_CONFIG, 4) & 0x1f, ==, 31);
    g_assert_cmphex(shpc_read(&s, SHPC_BASE_OFFSET, 4), ==, 0);
    /* Slot register: state, LEDs and presence are read-only, masks read-write. */
    shpc_write(&s, SLOT(4), 4, 0x00000000);
    uint32_t r = shpc_read(&s, SLOT(4), 4);
    g_assert_cmpuint(r & 3, ==, SHPC_STATE_DISABLED);
    g_assert_cmphex(r >> 24, ==, 0);
    shpc_write(&s, SLOT(4) + 3, 1, 0xff);
    g_assert_cmphex(shpc_read(&s, SLOT(4), 4) >> 24, ==, 0x7f); /* bit 31 reserved */
    /* SERR-INT: masks read-write, reserved bits zero. */
    shpc_write(&s, SHPC_SERR_INT, 4, 0xfffcfff0);
    g_assert_cmphex(shpc_read(&s, SHPC_SERR_INT, 4), ==, 0);
    /* Misaligned writes do nothing. */
    shpc_write(&s, SHPC_SERR_INT + 1, 2, 0xffff);
    shpc_write(&s, SHPC_SERR_INT, 3, 0xffffff);
    g_assert_cmphex(shpc_read(&s, SHPC_SERR_INT, 4), ==, 0);
}

static void test_commands(void)
{
    Shpc s;
    setup(&s);
    shpc_write(&s, SHPC_SERR_INT, 4, 0); /* unmask everything */
    shpc_card_inserted(&s, 0);
    shpc_write(&s, SLOT(0), 4, 0x1f0000); /* clear the insertion's events */
    g_assert_false(shpc_irq_level(&s));
    cmd(&s, 1, 0x01); /* power only */
    g_assert_cmpuint(shpc_read(&s, SLOT(0), 4) & 3, ==, SHPC_STATE_PWRONLY);
    g_assert_cmphex(shpc_read(&s, SHPC_CMD_STATUS, 2), ==, 0); /* done at once, no error */
    g_assert_true(shpc_read(&s, SHPC_SERR_INT, 4) & SHPC_SERR_CMD_DETECTED);
    g_assert_cmphex(shpc_read(&s, SHPC_INT_LOCATOR, 4), ==, 1);
    g_assert_true(shpc_irq_level(&s));
    /* Command completion is cleared by writing 1 to command detected. */
    shpc_write(&s, SHPC_SERR_INT, 4, SHPC_SERR_CMD_DETECTED);
    g_assert_false(shpc_irq_level(&s));
    cmd(&s, 1, 0x02 | 0x08 | 0x30); /* enable, power LED blink, attention off */
    uint32_t r = shpc_read(&s, SLOT(0), 4);
    g_assert_cmpuint(r & 3, ==, SHPC_STATE_ENABLED);
    g_assert_cmpuint(r >> 2 & 3, ==, SHPC_LED_BLINK);
    g_assert_cmpuint(r >> 4 & 3, ==, SHPC_LED_OFF);
    cmd(&s, 1, 0x04); /* power LED on, state unchanged */
    g_assert_cmpuint(shpc_read(&s, SLOT(0), 4) & 0xf, ==, SHPC_STATE_ENABLED | SHPC_LED_ON << 2);
    g_assert_cmpuint(noffs, ==, 0);
    cmd(&s, 1, 0x03 | 0x0c | 0x10); /* disable, power LED off, attention on */
    g_assert_cmpuint(noffs, ==, 1);
    g_assert_cmpuint(offs[0], ==, 0);
    cmd(&s, 1, 0x03); /* disabled again: no new power-off */
    g_assert_cmpuint(noffs, ==, 1);
    /* Errors: no such slot, unsupported speed, reserved codes. */
    cmd(&s, 0, 0x01);
    g_assert_cmphex(shpc_read(&s, SHPC_CMD_STATUS, 2), ==, SHPC_CMD_ERR_INVALID);
    cmd(&s, 32, 0x01);
    g_assert_cmphex(shpc_read(&s, SHPC_CMD_STATUS, 2), ==, SHPC_CMD_ERR_INVALID);
    cmd(&s, 0, 0x43);
    g_assert_cmphex(shpc_read(&s, SHPC_CMD_STATUS, 2), ==, SHPC_CMD_ERR_SPEED);
    cmd(&s, 0, 0x40);
    g_assert_cmphex(shpc_read(&s, SHPC_CMD_STATUS, 2), ==, 0);
    cmd(&s, 0, 0x55);
    g_assert_cmphex(shpc_read(&s, SHPC_CMD_STATUS, 2), ==, SHPC_CMD_ERR_INVALID);
    /* Enable all: only slots with a card. */
    shpc_card_inserted(&s, 5);
    cmd(&s, 0, 0x49);
    g_assert_cmpuint(shpc_read(&s, SLOT(0), 4) & 3, ==, SHPC_STATE_ENABLED);
    g_assert_cmpuint(shpc_read(&s, SLOT(5), 4) & 3, ==, SHPC_STATE_ENABLED);
    g_assert_cmpuint(shpc_read(&s, SLOT(6), 4) & 3, ==, SHPC_STATE_DISABLED);
    /* A write of the status half alone runs nothing. */
    shpc_write(&s, SHPC_SERR_INT, 4, SHPC_SERR_CMD_DETECTED);
    shpc_write(&s, SHPC_CMD_STATUS, 2, 0xffff);
    g_assert_false(shpc_read(&s, SHPC_SERR_INT, 4) & SHPC_SERR_CMD_DETECTED);
}

static void test_events_and_masks(void)
{
    Shpc s;
    setup(&s);
    shpc_card_inserted(&s, 3);
    uint32_t r = shpc_read(&s, SLOT(3), 4);
    g_assert_cmphex(r >> 16 & 0x1f, ==, SHPC_EV_PRESENCE | SHPC_EV_BUTTON);
    g_assert_cmphex(shpc_read(&s, SHPC_INT_LOCATOR, 4), ==, 0); /* masked at reset */
    g_assert_false(shpc_irq_level(&s));
    /* Unmask the slot's events: pending in the locator, but the global mask holds. */
    shpc_write(&s, SLOT(3) + 3, 1, 0);
    g_assert_cmphex(shpc_read(&s, SHPC_INT_LOCATOR, 4), ==, 1u << 4);
    g_assert_false(shpc_irq_level(&s));
    shpc_write(&s, SHPC_SERR_INT, 4, 0);
    g_assert_true(shpc_irq_level(&s));
    /* Masking one event leaves the other pending. */
    shpc_write(&s, SLOT(3) + 3, 1, SHPC_EV_BUTTON);
    g_assert_true(shpc_irq_level(&s));
    shpc_write(&s, SLOT(3) + 3, 1, SHPC_EV_BUTTON | SHPC_EV_PRESENCE);
    g_assert_false(shpc_irq_level(&s));
    shpc_write(&s, SLOT(3) + 3, 1, 0);
    /* The latch is write-1-to-clear, bit by bit (Linux writes the register back). */
    shpc_write(&s, SLOT(3) + 2, 1, SHPC_EV_BUTTON);
    g_assert_cmphex(shpc_read(&s, SLOT(3) + 2, 1), ==, SHPC_EV_PRESENCE);
    g_assert_true(shpc_irq_level(&s));
    shpc_write(&s, SLOT(3), 4, shpc_read(&s, SLOT(3), 4));
    g_assert_cmphex(shpc_read(&s, SLOT(3) + 2, 1), ==, 0);
    g_assert_false(shpc_irq_level(&s));
    g_assert_cmphex(shpc_read(&s, SLOT(3), 4) >> 24, ==, 0); /* masks kept */
    /* Button and removal. */
    shpc_button(&s, 3);
    g_assert_cmphex(shpc_read(&s, SLOT(3) + 2, 1), ==, SHPC_EV_BUTTON);
    shpc_card_removed(&s, 3);
    g_assert_cmpuint(shpc_read(&s, SLOT(3), 4) >> 10 & 3, ==, SHPC_PRSNT_EMPTY);
    g_assert_cmphex(shpc_read(&s, SLOT(3) + 2, 1), ==, SHPC_EV_BUTTON | SHPC_EV_PRESENCE);
    /* Out-of-range slots are ignored. */
    shpc_card_inserted(&s, 31);
    shpc_button(&s, 200);
    shpc_card_removed(&s, 40);
    g_assert_cmphex(shpc_read(&s, SHPC_INT_LOCATOR, 4), ==, 1u << 4);
}

/* What Linux's shpchp does for a hot-add and a hot-remove, step by step. */
static void test_linux_sequence(void)
{
    Shpc s;
    setup(&s);
    /* probe: mask, unmask slots and the global/command interrupts */
    shpc_write(&s, SLOT(0), 4, shpc_read(&s, SLOT(0), 4) & ~(0x1fu << 24));
    shpc_write(&s, SHPC_SERR_INT, 4, shpc_read(&s, SHPC_SERR_INT, 4) & ~5u);
    shpc_card_inserted(&s, 0);
    g_assert_true(shpc_irq_level(&s));
    /* ISR: global mask, read the slot, write it back (clears the latch), unmask. */
    shpc_write(&s, SHPC_SERR_INT, 4, shpc_read(&s, SHPC_SERR_INT, 4) | 1);
    g_assert_false(shpc_irq_level(&s));
    shpc_write(&s, SLOT(0), 4, shpc_read(&s, SLOT(0), 4));
    shpc_write(&s, SHPC_SERR_INT, 4, shpc_read(&s, SHPC_SERR_INT, 4) & ~1u);
    g_assert_false(shpc_irq_level(&s));
    /* 5 s later: power on, enable, LED on; each command completes with an interrupt. */
    for (unsigned c = 0; c < 3; c++) {
        static const unsigned codes[] = {0x01, 0x02 | 0x08 | 0x30, 0x04};
        cmd(&s, 1, codes[c]);
        g_assert_false(shpc_read(&s, SHPC_CMD_STATUS, 2) & SHPC_CMD_BUSY);
        g_assert_true(shpc_irq_level(&s));
        shpc_write(&s, SHPC_SERR_INT, 4, shpc_read(&s, SHPC_SERR_INT, 4)); /* W1C detected */
        g_assert_false(shpc_irq_level(&s));
    }
    g_assert_true(shpc_slot_powered(&s, 0));
    /* Removal: the button, then disable; the slot-off hook fires once. */
    shpc_button(&s, 0);
    g_assert_true(shpc_irq_level(&s));
    shpc_write(&s, SLOT(0), 4, shpc_read(&s, SLOT(0), 4));
    cmd(&s, 1, 0x03 | 0x0c | 0x10);
    g_assert_cmpuint(noffs, ==, 1);
    g_assert_false(shpc_slot_powered(&s, 0));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/shpc/identity", test_identity);
    g_test_add_func("/shpc/reset-state", test_reset_state);
    g_test_add_func("/shpc/register-masks", test_register_masks);
    g_test_add_func("/shpc/commands", test_commands);
    g_test_add_func("/shpc/events-and-masks", test_events_and_masks);
    g_test_add_func("/shpc/linux-sequence", test_linux_sequence);
    return g_test_run();
}
