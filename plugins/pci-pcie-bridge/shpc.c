/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHPC working register set (SHPC spec 1.0 ch. 4).  The controller runs a conventional
 * 33 MHz bus (programming interface 1, no PCI-X), has an attention button, power and
 * attention indicators per slot and no MRL sensor (the latch always reads closed).
 * Every command completes at once: the busy bit never reads 1, and the completion is
 * latched in the SERR-INT register (command detected) for the interrupt. */
#include <string.h>

#include "shpc.h"

#define SLOT_CFG_UPDOWN (1u << 29)    /* physical slot numbers grow with the device number */
#define SLOT_CFG_BUTTON (1u << 31)
#define SERR_RW 0x0000000fu           /* global int/SERR, command int, arbiter SERR masks */
#define SERR_W1C 0x00030000u          /* command detected, arbiter timeout detected */
#define SLOT_MASK_BITS 0x7fu          /* bits 24-30: five interrupt masks, two SERR masks */

void shpc_init(Shpc *s, unsigned nslots, unsigned psn)
{
    memset(s, 0, sizeof *s);
    s->nslots = nslots > SHPC_MAX_SLOTS ? SHPC_MAX_SLOTS : nslots;
    s->psn = psn & 0x7ff;
    shpc_reset(s, NULL);
}

void shpc_reset(Shpc *s, const bool present[SHPC_MAX_SLOTS])
{
    s->serr_int = SERR_RW;
    s->cmd = s->cmd_status = 0;
    for (unsigned i = 0; i < SHPC_MAX_SLOTS; i++) {
        ShpcSlot *sl = &s->slot[i];
        sl->present = i < s->nslots && present && present[i];
        sl->state = sl->present ? SHPC_STATE_ENABLED : SHPC_STATE_DISABLED;
        sl->power_led = sl->present ? SHPC_LED_ON : SHPC_LED_OFF;
        sl->attn_led = SHPC_LED_OFF;
        sl->latch = 0;
        sl->mask = SLOT_MASK_BITS;
    }
}

static uint32_t slot_reg(const ShpcSlot *sl)
{
    return sl->state | (uint32_t)sl->power_led << 2 | (uint32_t)sl->attn_led << 4 |
           (uint32_t)(sl->present ? SHPC_PRSNT_7_5W : SHPC_PRSNT_EMPTY) << 10 |
           (uint32_t)sl->latch << 16 | (uint32_t)sl->mask << 24;
}

static uint32_t int_locator(const Shpc *s)
{
    uint32_t loc = 0;
    if ((s->serr_int & SHPC_SERR_CMD_DETECTED) && !(s->serr_int & SHPC_SERR_CMD_INT_MASK))
        loc |= 1;
    for (unsigned i = 0; i < s->nslots; i++)
        if (s->slot[i].latch & ~s->slot[i].mask & 0x1f)
            loc |= 2u << i;
    return loc;
}

bool shpc_irq_level(const Shpc *s)
{
    return !(s->serr_int & SHPC_SERR_GLOBAL_INT_MASK) && int_locator(s) != 0;
}

static uint32_t read_dword(const Shpc *s, unsigned idx)
{
    switch (idx) {
    case SHPC_BASE_OFFSET / 4: return 0; /* the registers start at BAR 0's base */
    case SHPC_SLOT_AVAIL1 / 4: return s->nslots; /* that many 33 MHz conventional slots */
    case SHPC_SLOT_AVAIL2 / 4: return 0;
    case SHPC_SLOT_CONFIG / 4:
        return s->nslots | SHPC_FIRST_DEV << 8 | s->psn << 16 | SLOT_CFG_UPDOWN | SLOT_CFG_BUTTON;
    case SHPC_SEC_BUS / 4: return 1u << 24; /* 33 MHz, programming interface 1 */
    case SHPC_CMD / 4: return s->cmd | (uint32_t)s->cmd_status << 16;
    case SHPC_INT_LOCATOR / 4: return int_locator(s);
    case SHPC_SERR_LOCATOR / 4: return 0;
    case SHPC_SERR_INT / 4: return s->serr_int;
    default:
        if (idx >= SHPC_SLOT0 / 4 && idx < SHPC_SLOT0 / 4 + s->nslots)
            return slot_reg(&s->slot[idx - SHPC_SLOT0 / 4]);
        return 0; /* reserved */
    }
}

uint32_t shpc_read(Shpc *s, unsigned off, unsigned size)
{
    if (size != 1 && size != 2 && size != 4)
        return 0xffffffffu;
    uint32_t mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    if (off & (size - 1))
        return mask;
    return read_dword(s, off / 4) >> (8 * (off & 3)) & mask;
}

bool shpc_slot_powered(const Shpc *s, unsigned i)
{
    return i < s->nslots && s->slot[i].state != SHPC_STATE_DISABLED;
}

/* Sets slot state and indicators; a field of 0 leaves it as it is.  Returns whether
 * the slot went from powered to disabled. */
static bool slot_op(Shpc *s, unsigned i, unsigned state, unsigned pled, unsigned aled)
{
    ShpcSlot *sl = &s->slot[i];
    bool was_on = sl->state != SHPC_STATE_DISABLED;
    if (state)
        sl->state = state;
    if (pled)
        sl->power_led = pled;
    if (aled)
        sl->attn_led = aled;
    return was_on && sl->state == SHPC_STATE_DISABLED;
}

static void run_command(Shpc *s)
{
    unsigned code = s->cmd & 0xff, target = (s->cmd >> 8) & 0x1f;
    uint16_t status = 0;
    int off_slot = -1;
    if (code <= 0x3f) {
        if (target < 1 || target > s->nslots)
            status = SHPC_CMD_ERR_INVALID;
        else if (slot_op(s, target - 1, code & 3, (code >> 2) & 3, (code >> 4) & 3))
            off_slot = target - 1;
    } else if (code >= 0x40 && code <= 0x47) {
        /* Set bus segment speed/mode A: only conventional 33 MHz exists here. */
        if (code != 0x40)
            status = SHPC_CMD_ERR_SPEED;
    } else if (code == 0x48 || code == 0x49) {
        /* Power-only / enable all slots that hold a card. */
        for (unsigned i = 0; i < s->nslots; i++)
            if (s->slot[i].present)
                slot_op(s, i, code == 0x48 ? SHPC_STATE_PWRONLY : SHPC_STATE_ENABLED, 0, 0);
    } else {
        status = SHPC_CMD_ERR_INVALID; /* speed mode B (PI 2), reserved, vendor */
    }
    s->cmd_status = status;
    s->serr_int |= SHPC_SERR_CMD_DETECTED;
    if (off_slot >= 0 && s->slot_off)
        s->slot_off(s->opaque, off_slot);
}

void shpc_write(Shpc *s, unsigned off, unsigned size, uint32_t val)
{
    if ((size != 1 && size != 2 && size != 4) || (off & (size - 1)))
        return;
    unsigned idx = off / 4, shift = 8 * (off & 3);
    uint32_t be = (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1) << shift;
    uint32_t v = (uint32_t)((uint64_t)val << shift) & be;
    if (idx == SHPC_CMD / 4) {
        if (!(be & 0xffff))
            return; /* the status half is read-only */
        s->cmd = (s->cmd & ~be) | (v & 0xffff);
        run_command(s);
    } else if (idx == SHPC_SERR_INT / 4) {
        s->serr_int = (s->serr_int & ~(SERR_RW & be)) | (v & SERR_RW);
        s->serr_int &= ~(v & SERR_W1C);
    } else if (idx >= SHPC_SLOT0 / 4 && idx < SHPC_SLOT0 / 4 + s->nslots) {
        ShpcSlot *sl = &s->slot[idx - SHPC_SLOT0 / 4];
        if (be & 0xff000000u)
            sl->mask = (v >> 24) & SLOT_MASK_BITS;
        sl->latch &= ~((v >> 16) & 0x1f);
    }
}

void shpc_card_inserted(Shpc *s, unsigned i)
{
    if (i >= s->nslots)
        return;
    s->slot[i].present = true;
    s->slot[i].latch |= SHPC_EV_PRESENCE | SHPC_EV_BUTTON;
}

void shpc_button(Shpc *s, unsigned i)
{
    if (i < s->nslots)
        s->slot[i].latch |= SHPC_EV_BUTTON;
}

void shpc_card_removed(Shpc *s, unsigned i)
{
    if (i >= s->nslots || !s->slot[i].present)
        return;
    s->slot[i].present = false;
    s->slot[i].latch |= SHPC_EV_PRESENCE;
}
