/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pcie-pci-bridge's hot-plug interrupt (plugins/pci-pcie-bridge/bridge.c) through
 * the PCI core, on a bare host with RAM as the MSI target: with MSI enabled by the
 * guest, a card plugged into an SHPC slot and a completed SHPC command each write the
 * MSI message and leave INTA low; with MSI off the same events raise INTA instead.
 * riscv-virt has no MSI controller (Linux 6.1's shpchp falls back to INTx there), so
 * this is where the MSI path is exercised. */
#include <string.h>

#include <glib.h>
#include <mosaic/mosaic.h>

#include "pci/pci-internal.h"
#include "../../plugins/pci-pcie-bridge/bridge.h"
#include "../../plugins/pci-pcie-bridge/shpc.h"

#define ECAM 0x30000000ull
#define MEM 0x40000000ull
#define RAM 0x80000000ull
#define SHPC_AT (MEM + 0x1000) /* where the test maps the bridge's BAR 0 */
#define MSI_AT (RAM + 0x100)
#define BRIDGE_SLOT 2          /* 00:02.0: INTA reaches host line (0 + 2) & 3 */
#define BRIDGE_LINE 2

typedef struct {
    MosaicRegion *root, *ram;
    MosaicAddressSpace *as;
    MosaicPciHost *h;
    int line[4];
    MosaicPciDev *d;
    Bridge *b;
    unsigned msi;
} Fx;

static void line_set(void *opaque, unsigned n, bool level)
{
    ((Fx *)opaque)->line[n] = level;
}

static void cfg_wr(Fx *f, unsigned reg, unsigned size, uint32_t v)
{
    uint64_t off = (uint64_t)BRIDGE_SLOT << 15 | reg;
    g_assert_cmpint(mosaic_as_write(f->as, ECAM + off, size, v), ==, MOSAIC_MEM_OK);
}

static void shpc_wr(Fx *f, unsigned reg, unsigned size, uint32_t v)
{
    g_assert_cmpint(mosaic_as_write(f->as, SHPC_AT + reg, size, v), ==, MOSAIC_MEM_OK);
}

static uint32_t shpc_rd(Fx *f, unsigned reg, unsigned size)
{
    uint64_t v = 0;
    g_assert_cmpint(mosaic_as_read(f->as, SHPC_AT + reg, size, &v), ==, MOSAIC_MEM_OK);
    return v;
}

static uint32_t msi_word(Fx *f)
{
    uint64_t v = 0;
    g_assert_cmpint(mosaic_as_read(f->as, MSI_AT, 4, &v), ==, MOSAIC_MEM_OK);
    return v;
}

static void msi_word_clear(Fx *f)
{
    g_assert_cmpint(mosaic_as_write(f->as, MSI_AT, 4, 0), ==, MOSAIC_MEM_OK);
}

/* A host, the bridge at 00:02.0 with BAR 0 at SHPC_AT, memory decoding and bus
 * mastering on, the MSI capability aimed at MSI_AT with data 0x31 (not enabled), and
 * every SHPC interrupt unmasked (global, command, slot 0's events): what Linux's
 * shpchp sets up. */
static void fx_init(Fx *f)
{
    memset(f, 0, sizeof *f);
    f->root = mosaic_region_new_container("sys", UINT64_MAX);
    f->ram = mosaic_region_new_ram("ram", 0x10000, NULL);
    g_assert_true(mosaic_region_add(f->root, RAM, f->ram, 0, NULL));
    f->as = mosaic_address_space_new("sys", f->root);
    MosaicPciHostDesc desc = {
        .size = sizeof desc, .ecam_base = ECAM, .ecam_size = 16 << 20, .mem_base = MEM,
        .mem_size = 0x10000000, .io_base = 0x3000000, .io_size = 0x10000, .dma = f->as,
        .container = f->root,
    };
    for (unsigned i = 0; i < 4; i++)
        desc.intx[i] = (MosaicIrq){line_set, f, i};
    MosaicError *err = mosaic_error_new();
    f->h = mosaic_pci_host_new(NULL, &desc, err);
    g_assert_nonnull(f->h);
    f->d = pci_dev_new(f->h, "bridge");
    g_assert_true(pci_bus_plug(f->h->root, f->d, BRIDGE_SLOT << 3, NULL));
    f->b = pcie_pci_bridge_new(f->d, 1, err);
    g_assert_false(mosaic_error_is_set(err));
    g_assert_nonnull(f->b);
    mosaic_error_free(err);
    f->msi = mosaic_pci_find_cap(f->d, MOSAIC_PCI_CAP_MSI);
    g_assert_cmpuint(f->msi, !=, 0);

    cfg_wr(f, PCI_BAR0, 4, (uint32_t)SHPC_AT);
    cfg_wr(f, PCI_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_MASTER);
    cfg_wr(f, f->msi + 4, 4, (uint32_t)MSI_AT);
    cfg_wr(f, f->msi + 8, 4, (uint32_t)(MSI_AT >> 32));
    cfg_wr(f, f->msi + 12, 2, 0x31);
    g_assert_cmpuint(shpc_rd(f, SHPC_SLOT_CONFIG, 4) & 0x1f, ==, SHPC_MAX_SLOTS); /* BAR 0 decodes */
    shpc_wr(f, SHPC_SERR_INT, 4, 0);
    shpc_wr(f, SHPC_SLOT0 + 3, 1, 0);
}

static void fx_fini(Fx *f)
{
    pcie_pci_bridge_free(f->b);
    pci_dev_free(f->d);
    mosaic_pci_host_free(f->h);
    mosaic_address_space_free(f->as);
    mosaic_region_del(f->root, f->ram);
    mosaic_region_unref(f->ram);
    mosaic_region_unref(f->root);
}

/* A card in slot 0 (device 1) as device_add puts it there: presence and button. */
static MosaicPciDev *plug_card(Fx *f)
{
    MosaicPciDev *card = pci_dev_new(f->h, "card");
    g_assert_true(pci_bus_plug(f->d->secondary, card, SHPC_FIRST_DEV << 3, NULL));
    pci_slot_plugged(card);
    return card;
}

static void clear_events(Fx *f)
{
    shpc_wr(f, SHPC_SLOT0 + 2, 1, 0x1f);                      /* slot latches, w1c */
    shpc_wr(f, SHPC_SERR_INT, 4, SHPC_SERR_CMD_DETECTED);     /* command detected, w1c */
    g_assert_cmphex(shpc_rd(f, SHPC_INT_LOCATOR, 4), ==, 0);
}

static void test_msi_not_intx(void)
{
    Fx f;
    fx_init(&f);
    cfg_wr(&f, f.msi + 2, 2, 1); /* MSI enable, one vector */
    g_assert_true(mosaic_pci_msi_enabled(f.d));
    MosaicPciDev *card = plug_card(&f);
    g_assert_cmphex(shpc_rd(&f, SHPC_SLOT0 + 2, 1), ==, SHPC_EV_PRESENCE | SHPC_EV_BUTTON);
    g_assert_cmphex(msi_word(&f), ==, 0x31);
    g_assert_cmpint(f.line[BRIDGE_LINE], ==, 0);
    g_assert_false(mosaic_pci_config_get(f.d, PCI_STATUS, 2) & PCI_STATUS_INTX);
    /* One message per event, not per register access while it is pending. */
    msi_word_clear(&f);
    shpc_wr(&f, SHPC_SLOT0 + 3, 1, 0);
    g_assert_cmphex(msi_word(&f), ==, 0);
    /* Handled (latches cleared), then a command completes: a new message. */
    clear_events(&f);
    cfg_wr(&f, f.msi + 12, 2, 0x32);
    shpc_wr(&f, SHPC_CMD, 2, 0x40); /* bus speed 33 MHz: no slot needed */
    g_assert_cmphex(shpc_rd(&f, SHPC_CMD_STATUS, 2), ==, 0);
    g_assert_cmphex(msi_word(&f), ==, 0x32);
    g_assert_cmpint(f.line[BRIDGE_LINE], ==, 0);
    clear_events(&f);
    pci_dev_free(card);
    fx_fini(&f);
}

static void test_intx_without_msi(void)
{
    Fx f;
    fx_init(&f);
    g_assert_false(mosaic_pci_msi_enabled(f.d));
    g_assert_cmpint(f.line[BRIDGE_LINE], ==, 0);
    MosaicPciDev *card = plug_card(&f);
    g_assert_cmpint(f.line[BRIDGE_LINE], ==, 1); /* level while an event is pending */
    g_assert_true(mosaic_pci_config_get(f.d, PCI_STATUS, 2) & PCI_STATUS_INTX);
    g_assert_cmphex(msi_word(&f), ==, 0);
    clear_events(&f);
    g_assert_cmpint(f.line[BRIDGE_LINE], ==, 0);
    shpc_wr(&f, SHPC_CMD, 2, 0x40);
    g_assert_cmpint(f.line[BRIDGE_LINE], ==, 1);
    /* The guest turns MSI on (as shpchp does when it gets a vector): INTA drops at
     * once and the next event is a message. */
    cfg_wr(&f, f.msi + 2, 2, 1);
    g_assert_cmpint(f.line[BRIDGE_LINE], ==, 0);
    clear_events(&f);
    shpc_wr(&f, SHPC_CMD, 2, 0x40);
    g_assert_cmphex(msi_word(&f), ==, 0x31);
    g_assert_cmpint(f.line[BRIDGE_LINE], ==, 0);
    clear_events(&f);
    pci_dev_free(card);
    fx_fini(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pcie-bridge/hotplug-interrupt-msi-not-intx", test_msi_not_intx);
    g_test_add_func("/pcie-bridge/hotplug-interrupt-intx-without-msi", test_intx_without_msi);
    return g_test_run();
}
