/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The standard hot-plug controller (PCI Standard Hot-Plug Controller and Subsystem
 * spec 1.0) as a register model: the working register set (ch. 4: controller registers
 * and one logical slot register per slot), the commands the guest issues through it,
 * and the events the host side raises (card in, attention button, card out).  No PCI
 * here: the bridge plugin maps the registers (BAR 0 and the capability's DWORD window)
 * and turns the interrupt level and the release of a slot into PCI actions. */
#ifndef SHPC_H
#define SHPC_H

#include <stdbool.h>
#include <stdint.h>

#define SHPC_MAX_SLOTS 31
#define SHPC_FIRST_DEV 1          /* device number of slot 0: device 0 stays cold-plug */
#define SHPC_REGS_SIZE (0x24 + 4 * SHPC_MAX_SLOTS)
#define SHPC_BAR_SIZE 256         /* a power of two holding the register set */

/* Register offsets (spec table 4-1); the DWORD index is offset / 4. */
enum {
    SHPC_BASE_OFFSET = 0x00, SHPC_SLOT_AVAIL1 = 0x04, SHPC_SLOT_AVAIL2 = 0x08,
    SHPC_SLOT_CONFIG = 0x0c, SHPC_SEC_BUS = 0x10, SHPC_PROG_IF = 0x13, SHPC_CMD = 0x14,
    SHPC_CMD_STATUS = 0x16, SHPC_INT_LOCATOR = 0x18, SHPC_SERR_LOCATOR = 0x1c,
    SHPC_SERR_INT = 0x20, SHPC_SLOT0 = 0x24,
};

/* Logical slot register fields. */
#define SHPC_SLOT_STATE_MASK 0x3u    /* 1 power-only, 2 enabled, 3 disabled */
#define SHPC_STATE_PWRONLY 1
#define SHPC_STATE_ENABLED 2
#define SHPC_STATE_DISABLED 3
#define SHPC_LED_ON 1
#define SHPC_LED_BLINK 2
#define SHPC_LED_OFF 3
#define SHPC_PRSNT_EMPTY 3
#define SHPC_PRSNT_7_5W 2
#define SHPC_EV_PRESENCE 0x01        /* event latch bits (register bits 16-20) */
#define SHPC_EV_ISO_PF 0x02
#define SHPC_EV_BUTTON 0x04
#define SHPC_EV_MRL 0x08
#define SHPC_EV_CONN_PF 0x10

/* Controller SERR-INT register. */
#define SHPC_SERR_GLOBAL_INT_MASK 0x1u
#define SHPC_SERR_CMD_INT_MASK 0x4u
#define SHPC_SERR_CMD_DETECTED 0x10000u

/* Command status. */
#define SHPC_CMD_BUSY 0x1
#define SHPC_CMD_ERR_MRL 0x2
#define SHPC_CMD_ERR_INVALID 0x4
#define SHPC_CMD_ERR_SPEED 0x8

typedef struct ShpcSlot {
    uint8_t state, power_led, attn_led;
    bool present;
    uint8_t latch; /* SHPC_EV_* */
    uint8_t mask;  /* register bits 24-30 >> 24 */
} ShpcSlot;

typedef struct Shpc {
    unsigned nslots;
    unsigned psn;             /* physical slot number of slot 0 */
    uint32_t serr_int;
    uint16_t cmd, cmd_status;
    ShpcSlot slot[SHPC_MAX_SLOTS];
    /* The guest disabled (powered off) slot `i`: a card it held may leave now. */
    void (*slot_off)(void *opaque, unsigned i);
    void *opaque;
} Shpc;

void shpc_init(Shpc *s, unsigned nslots, unsigned psn);
/* Power-on state: slots holding a card are enabled (the guest found them at boot),
 * every event and interrupt is masked, no event is pending. */
void shpc_reset(Shpc *s, const bool present[SHPC_MAX_SLOTS]);
/* Register accesses: `off` in the register set, size 1, 2 or 4, naturally aligned.
 * Other sizes and misaligned reads are all ones, such writes are ignored; reserved
 * registers (past the last slot) read 0. */
uint32_t shpc_read(Shpc *s, unsigned off, unsigned size);
void shpc_write(Shpc *s, unsigned off, unsigned size, uint32_t val);
/* The interrupt condition (level; the bridge sends an MSI on its rising edge). */
bool shpc_irq_level(const Shpc *s);

/* Host side. A card was plugged into an empty slot: present, attention button pressed
 * (the guest powers the slot on after its 5 s blink), as a user would. */
void shpc_card_inserted(Shpc *s, unsigned i);
/* The user asks to remove the card: the attention button. */
void shpc_button(Shpc *s, unsigned i);
/* The card left (after the guest powered its slot off, or it never had). */
void shpc_card_removed(Shpc *s, unsigned i);
/* Slot `i` is powered (power-only or enabled). */
bool shpc_slot_powered(const Shpc *s, unsigned i);

#endif
