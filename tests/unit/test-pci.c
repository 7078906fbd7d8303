/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The PCI core (core/pci/) without a board: a host on a bare memory map with RAM for
 * MSI targets.  Config-space masks (read-only, read-write, write-1-to-clear), BAR
 * sizing and mapping (only inside the windows, only while decoding), capability
 * chains, ECAM decoding through bridges, the INTx swizzle and line sharing, MSI and
 * MSI-X delivery and masking. */
#include <string.h>

#include <glib.h>
#include <mosaic/mosaic.h>

#include "pci/pci-internal.h"

#define ECAM 0x30000000ull
#define MEM 0x40000000ull
#define MEM_SIZE 0x10000000ull
#define IO 0x3000000ull
#define RAM 0x80000000ull

typedef struct {
    MosaicRegion *root, *ram;
    MosaicAddressSpace *as;
    MosaicPciHost *h;
    int line[4];
} Fx;

static void line_set(void *opaque, unsigned n, bool level)
{
    ((Fx *)opaque)->line[n] = level;
}

static void fx_init(Fx *f)
{
    memset(f, 0, sizeof *f);
    f->root = mosaic_region_new_container("sys", UINT64_MAX);
    f->ram = mosaic_region_new_ram("ram", 0x10000, NULL);
    g_assert_true(mosaic_region_add(f->root, RAM, f->ram, 0, NULL));
    f->as = mosaic_address_space_new("sys", f->root);
    MosaicPciHostDesc d = {
        .size = sizeof d, .ecam_base = ECAM, .ecam_size = 16 << 20, .mem_base = MEM,
        .mem_size = MEM_SIZE, .io_base = IO, .io_size = 0x10000, .dma = f->as,
        .container = f->root,
    };
    for (unsigned i = 0; i < 4; i++)
        d.intx[i] = (MosaicIrq){line_set, f, i};
    MosaicError *err = mosaic_error_new();
    f->h = mosaic_pci_host_new(NULL, &d, err);
    g_assert_nonnull(f->h);
    mosaic_error_free(err);
}

static void fx_fini(Fx *f)
{
    mosaic_pci_host_free(f->h);
    mosaic_address_space_free(f->as);
    mosaic_region_del(f->root, f->ram);
    mosaic_region_unref(f->ram);
    mosaic_region_unref(f->root);
}

static uint64_t ecam_off(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
    return (uint64_t)bus << 20 | dev << 15 | fn << 12 | reg;
}

static uint32_t cfg_rd(Fx *f, unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
    uint64_t v = 0;
    g_assert_cmpint(mosaic_as_read(f->as, ECAM + ecam_off(bus, dev, fn, reg), size, &v), ==,
                    MOSAIC_MEM_OK);
    return v;
}

static void cfg_wr(Fx *f, unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size,
                   uint32_t v)
{
    g_assert_cmpint(mosaic_as_write(f->as, ECAM + ecam_off(bus, dev, fn, reg), size, v), ==,
                    MOSAIC_MEM_OK);
}

static MosaicPciDev *plug(Fx *f, PciBus *b, int slot)
{
    MosaicPciDev *d = pci_dev_new(f->h, "test");
    g_assert_true(pci_bus_plug(b, d, slot << 3, NULL));
    mosaic_pci_set_ids(d, 0x1234, 0x5678, 0x018000, 2, 0xaaaa, 0xbbbb);
    return d;
}

static void test_masks(void)
{
    Fx f;
    fx_init(&f);
    MosaicPciDev *d = plug(&f, f.h->root, 3);
    g_assert_cmphex(cfg_rd(&f, 0, 3, 0, 0, 4), ==, 0x56781234);
    cfg_wr(&f, 0, 3, 0, 0, 4, 0xffffffff); /* ids are read-only */
    g_assert_cmphex(cfg_rd(&f, 0, 3, 0, 0, 4), ==, 0x56781234);
    g_assert_cmphex(cfg_rd(&f, 0, 3, 0, 8, 4), ==, 0x01800002);
    cfg_wr(&f, 0, 3, 0, PCI_COMMAND, 2, 0xffff); /* only the defined command bits stick */
    g_assert_cmphex(cfg_rd(&f, 0, 3, 0, PCI_COMMAND, 2), ==, 0x0547);
    /* Status: error bits clear when written with 1, the rest ignores writes. */
    mosaic_pci_config_set(d, PCI_STATUS, 2, 0xf910);
    cfg_wr(&f, 0, 3, 0, PCI_STATUS, 2, 0x8100);
    g_assert_cmphex(cfg_rd(&f, 0, 3, 0, PCI_STATUS, 2), ==, 0x7810);
    cfg_wr(&f, 0, 3, 0, PCI_STATUS, 2, 0x0010);
    g_assert_cmphex(cfg_rd(&f, 0, 3, 0, PCI_STATUS, 2), ==, 0x7810);
    /* A device's own masks. */
    mosaic_pci_set_wmask(d, 0x80, 4, 0x00ff00ff);
    cfg_wr(&f, 0, 3, 0, 0x80, 4, 0x12345678);
    g_assert_cmphex(cfg_rd(&f, 0, 3, 0, 0x80, 4), ==, 0x00340078);
    cfg_wr(&f, 0, 3, 0, 0x81, 1, 0xff);
    g_assert_cmphex(cfg_rd(&f, 0, 3, 0, 0x80, 4), ==, 0x00340078);
    /* Interrupt line is scratch; the pin is read-only. */
    cfg_wr(&f, 0, 3, 0, PCI_INT_LINE, 2, 0xffff);
    g_assert_cmphex(cfg_rd(&f, 0, 3, 0, PCI_INT_LINE, 2), ==, 0x00ff);
    /* Reset restores the sealed state. */
    cfg_wr(&f, 0, 3, 0, PCI_COMMAND, 2, 0);
    pci_dev_seal(d);
    cfg_wr(&f, 0, 3, 0, PCI_COMMAND, 2, 0x6);
    pci_dev_reset(d);
    g_assert_cmphex(cfg_rd(&f, 0, 3, 0, PCI_COMMAND, 2), ==, 0);
    pci_dev_free(d);
    fx_fini(&f);
}

static uint64_t rd_count;
static uint64_t bar_read(void *o, uint64_t off, unsigned size) { rd_count++; return 0xab00 + off; }
static void bar_write(void *o, uint64_t off, uint64_t v, unsigned size) {}
static const MosaicMmioOps bar_ops = {.size = sizeof bar_ops, .read = bar_read, .write = bar_write};

static void test_bars(void)
{
    Fx f;
    fx_init(&f);
    MosaicPciDev *d = plug(&f, f.h->root, 1);
    MosaicRegion *m0 = mosaic_region_new_mmio("m0", 0x4000, &bar_ops, NULL);
    MosaicRegion *m2 = mosaic_region_new_mmio("m2", 0x100000, &bar_ops, NULL);
    MosaicRegion *io = mosaic_region_new_mmio("io", 0x20, &bar_ops, NULL);
    MosaicRegion *bad = mosaic_region_new_mmio("bad", 0x3000, &bar_ops, NULL);
    MosaicError *err = mosaic_error_new();
    g_assert_true(mosaic_pci_register_bar(d, 0, 0, m0, err));
    g_assert_true(mosaic_pci_register_bar(d, 2, MOSAIC_PCI_BAR_MEM64 | MOSAIC_PCI_BAR_PREFETCH, m2, err));
    g_assert_true(mosaic_pci_register_bar(d, 4, MOSAIC_PCI_BAR_IO, io, err));
    g_assert_false(mosaic_pci_register_bar(d, 3, 0, bad, err)); /* taken by the 64-bit one */
    g_assert_false(mosaic_pci_register_bar(d, 5, 0, bad, NULL)); /* not a power of two */
    mosaic_error_free(err);
    /* Sizing: all ones in, the size mask and the type bits out. */
    for (unsigned n = 0; n < 6; n++)
        cfg_wr(&f, 0, 1, 0, PCI_BAR0 + 4 * n, 4, 0xffffffff);
    g_assert_cmphex(cfg_rd(&f, 0, 1, 0, PCI_BAR0, 4), ==, 0xffffc000);
    g_assert_cmphex(cfg_rd(&f, 0, 1, 0, PCI_BAR0 + 4, 4), ==, 0);
    g_assert_cmphex(cfg_rd(&f, 0, 1, 0, PCI_BAR0 + 8, 4), ==, 0xfff0000c);
    g_assert_cmphex(cfg_rd(&f, 0, 1, 0, PCI_BAR0 + 12, 4), ==, 0xffffffff);
    g_assert_cmphex(cfg_rd(&f, 0, 1, 0, PCI_BAR0 + 16, 4), ==, 0xffffffe1);
    g_assert_cmphex(cfg_rd(&f, 0, 1, 0, PCI_BAR0 + 20, 4), ==, 0);
    /* Placed, but not decoding: nothing there. */
    cfg_wr(&f, 0, 1, 0, PCI_BAR0, 4, MEM + 0x8000);
    cfg_wr(&f, 0, 1, 0, PCI_BAR0 + 8, 4, MEM + 0x100000);
    cfg_wr(&f, 0, 1, 0, PCI_BAR0 + 12, 4, 0);
    cfg_wr(&f, 0, 1, 0, PCI_BAR0 + 16, 4, 0x1000);
    uint64_t v;
    g_assert_cmpint(mosaic_as_read(f.as, MEM + 0x8004, 4, &v), ==, MOSAIC_MEM_UNASSIGNED);
    cfg_wr(&f, 0, 1, 0, PCI_COMMAND, 2, PCI_CMD_MEM);
    g_assert_cmpint(mosaic_as_read(f.as, MEM + 0x8004, 4, &v), ==, MOSAIC_MEM_OK);
    g_assert_cmphex(v, ==, 0xab04);
    g_assert_cmpint(mosaic_as_read(f.as, MEM + 0x100010, 4, &v), ==, MOSAIC_MEM_OK);
    g_assert_cmphex(v, ==, 0xab10);
    g_assert_cmpint(mosaic_as_read(f.as, IO + 0x1000, 4, &v), ==, MOSAIC_MEM_UNASSIGNED);
    cfg_wr(&f, 0, 1, 0, PCI_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_IO);
    g_assert_cmpint(mosaic_as_read(f.as, IO + 0x1004, 4, &v), ==, MOSAIC_MEM_OK);
    g_assert_cmphex(v, ==, 0xab04);
    /* Moved: the old place is empty, the new one answers. */
    cfg_wr(&f, 0, 1, 0, PCI_BAR0, 4, MEM + 0xc000);
    g_assert_cmpint(mosaic_as_read(f.as, MEM + 0x8004, 4, &v), ==, MOSAIC_MEM_UNASSIGNED);
    g_assert_cmpint(mosaic_as_read(f.as, MEM + 0xc004, 4, &v), ==, MOSAIC_MEM_OK);
    /* Over RAM, or past the window: never mapped. */
    cfg_wr(&f, 0, 1, 0, PCI_BAR0, 4, RAM);
    g_assert_cmpint(mosaic_as_read(f.as, RAM, 4, &v), ==, MOSAIC_MEM_OK);
    g_assert_cmphex(v, !=, 0xab00);
    g_assert_cmpint(mosaic_as_read(f.as, MEM + 0xc004, 4, &v), ==, MOSAIC_MEM_UNASSIGNED);
    cfg_wr(&f, 0, 1, 0, PCI_BAR0, 4, MEM - 0x4000);
    g_assert_cmpint(mosaic_as_read(f.as, MEM - 0x4000, 4, &v), ==, MOSAIC_MEM_UNASSIGNED);
    cfg_wr(&f, 0, 1, 0, PCI_BAR0, 4, MEM + MEM_SIZE);
    g_assert_cmpint(mosaic_as_read(f.as, MEM + MEM_SIZE, 4, &v), ==, MOSAIC_MEM_UNASSIGNED);
    cfg_wr(&f, 0, 1, 0, PCI_BAR0, 4, MEM + MEM_SIZE - 0x4000); /* the window's last bytes */
    g_assert_cmpint(mosaic_as_read(f.as, MEM + MEM_SIZE - 4, 4, &v), ==, MOSAIC_MEM_OK);
    /* Two BARs at one place: the second waits until the first moves away. */
    cfg_wr(&f, 0, 1, 0, PCI_BAR0, 4, MEM + 0x100000);
    g_assert_cmpint(mosaic_as_read(f.as, MEM + 0x100010, 4, &v), ==, MOSAIC_MEM_OK);
    cfg_wr(&f, 0, 1, 0, PCI_BAR0 + 8, 4, MEM + 0x200000);
    g_assert_cmpint(mosaic_as_read(f.as, MEM + 0x100010, 4, &v), ==, MOSAIC_MEM_OK);
    g_assert_cmpint(mosaic_as_read(f.as, MEM + 0x200010, 4, &v), ==, MOSAIC_MEM_OK);
    /* Decoding off: gone. */
    cfg_wr(&f, 0, 1, 0, PCI_COMMAND, 2, 0);
    g_assert_cmpint(mosaic_as_read(f.as, MEM + 0x200010, 4, &v), ==, MOSAIC_MEM_UNASSIGNED);
    pci_dev_free(d);
    mosaic_region_unref(m0);
    mosaic_region_unref(m2);
    mosaic_region_unref(io);
    mosaic_region_unref(bad);
    fx_fini(&f);
}

static void test_caps(void)
{
    Fx f;
    fx_init(&f);
    MosaicPciDev *d = plug(&f, f.h->root, 2);
    g_assert_cmphex(cfg_rd(&f, 0, 2, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, ==, 0);
    unsigned a = mosaic_pci_add_cap(d, MOSAIC_PCI_CAP_PM, 8, NULL);
    unsigned b = mosaic_pci_add_cap(d, MOSAIC_PCI_CAP_VENDOR, 13, NULL);
    unsigned c = mosaic_pci_add_cap(d, MOSAIC_PCI_CAP_EXP, 60, NULL);
    g_assert_cmpuint(a, ==, 0x40);
    g_assert_cmpuint(b, ==, 0x48);
    g_assert_cmpuint(c, ==, 0x58); /* dword aligned after 13 bytes */
    g_assert_cmphex(cfg_rd(&f, 0, 2, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, ==, PCI_STATUS_CAP_LIST);
    /* Walk the chain the way a guest does. */
    unsigned at = cfg_rd(&f, 0, 2, 0, PCI_CAP_PTR, 1), ids[3], n = 0;
    while (at && n < 4) {
        ids[n++] = cfg_rd(&f, 0, 2, 0, at, 1);
        at = cfg_rd(&f, 0, 2, 0, at + 1, 1);
    }
    g_assert_cmpuint(n, ==, 3);
    g_assert_cmpuint(ids[0], ==, MOSAIC_PCI_CAP_PM);
    g_assert_cmpuint(ids[1], ==, MOSAIC_PCI_CAP_VENDOR);
    g_assert_cmpuint(ids[2], ==, MOSAIC_PCI_CAP_EXP);
    g_assert_cmpuint(mosaic_pci_find_cap(d, MOSAIC_PCI_CAP_EXP), ==, c);
    g_assert_cmpuint(mosaic_pci_find_cap(d, MOSAIC_PCI_CAP_MSI), ==, 0);
    /* The list is read-only to the guest. */
    cfg_wr(&f, 0, 2, 0, a + 1, 1, 0x80);
    g_assert_cmpuint(cfg_rd(&f, 0, 2, 0, a + 1, 1), ==, b);
    /* Full: an error, not an overflow. */
    MosaicError *err = mosaic_error_new();
    g_assert_cmpuint(mosaic_pci_add_cap(d, MOSAIC_PCI_CAP_VENDOR, 0x100, err), ==, 0);
    g_assert_true(mosaic_error_is_set(err));
    mosaic_error_free(err);
    /* Extended capabilities: a chain from 0x100 with 12-bit next pointers. */
    unsigned e1 = mosaic_pci_add_ext_cap(d, 0x0001, 2, 0x48, NULL);
    unsigned e2 = mosaic_pci_add_ext_cap(d, 0x000b, 1, 8, NULL);
    g_assert_cmpuint(e1, ==, 0x100);
    g_assert_cmphex(cfg_rd(&f, 0, 2, 0, 0x100, 4), ==, (uint32_t)e2 << 20 | 2 << 16 | 1);
    g_assert_cmphex(cfg_rd(&f, 0, 2, 0, e2, 4), ==, 1 << 16 | 0xb);
    g_assert_cmpuint(mosaic_pci_add_ext_cap(d, 1, 1, 0x1000, NULL), ==, 0);
    pci_dev_free(d);
    fx_fini(&f);
}

static MosaicPciDev *bridge(Fx *f, PciBus *b, int slot)
{
    MosaicPciDev *d = plug(f, b, slot);
    g_assert_true(mosaic_pci_bridge_init(d, NULL));
    mosaic_pci_set_ids(d, 0x1b36, 0x000c, 0x060400, 0, 0, 0);
    return d;
}

static void test_ecam(void)
{
    Fx f;
    fx_init(&f);
    /* The host bridge at 00:00.0, nothing else: absent functions read all ones. */
    g_assert_cmphex(cfg_rd(&f, 0, 0, 0, 0, 4), ==, 0x00081b36);
    g_assert_cmphex(cfg_rd(&f, 0, 5, 0, 0, 4), ==, 0xffffffff);
    g_assert_cmphex(cfg_rd(&f, 0, 5, 0, 0, 2), ==, 0xffff);
    g_assert_cmphex(cfg_rd(&f, 0, 0, 1, 0, 1), ==, 0xff);
    MosaicPciDev *br = bridge(&f, f.h->root, 2);
    MosaicPciDev *dev = plug(&f, br->secondary, 0);
    /* Secondary bus not numbered yet: nothing answers below the bridge. */
    g_assert_cmphex(cfg_rd(&f, 1, 0, 0, 0, 4), ==, 0xffffffff);
    g_assert_cmphex(cfg_rd(&f, 0, 2, 0, PCI_HEADER_TYPE, 1), ==, 1);
    cfg_wr(&f, 0, 2, 0, PCI_PRIMARY_BUS, 4, 0x00030100); /* primary 0, secondary 1, sub 3 */
    g_assert_cmphex(cfg_rd(&f, 0, 2, 0, PCI_PRIMARY_BUS, 4), ==, 0x00030100);
    g_assert_cmphex(cfg_rd(&f, 1, 0, 0, 0, 4), ==, 0x56781234);
    g_assert_cmphex(cfg_rd(&f, 2, 0, 0, 0, 4), ==, 0xffffffff); /* forwarded, but no bus 2 */
    g_assert_cmphex(cfg_rd(&f, 4, 0, 0, 0, 4), ==, 0xffffffff);
    /* Register offset and function bits decode exactly. */
    mosaic_pci_config_set(dev, 0x7fc, 4, 0xcafef00d);
    g_assert_cmphex(cfg_rd(&f, 1, 0, 0, 0x7fc, 4), ==, 0xcafef00d);
    g_assert_cmphex(cfg_rd(&f, 1, 0, 1, 0x7fc, 4), ==, 0xffffffff);
    unsigned reg = 0;
    g_assert_true(pci_ecam_decode(f.h, ecam_off(1, 0, 0, 0x123), &reg) == dev);
    g_assert_cmphex(reg, ==, 0x123);
    g_assert_null(pci_ecam_decode(f.h, 16 << 20, &reg)); /* past the window */
    /* Bridge windows and secondary status: masks of a type-1 header. */
    cfg_wr(&f, 0, 2, 0, PCI_MEM_BASE, 4, 0xffffffff);
    g_assert_cmphex(cfg_rd(&f, 0, 2, 0, PCI_MEM_BASE, 4), ==, 0xfff0fff0);
    cfg_wr(&f, 0, 2, 0, PCI_PREF_BASE, 4, 0);
    g_assert_cmphex(cfg_rd(&f, 0, 2, 0, PCI_PREF_BASE, 4), ==, 0x00010001);
    mosaic_pci_config_set(br, PCI_SEC_STATUS, 2, 0x8000);
    cfg_wr(&f, 0, 2, 0, PCI_SEC_STATUS, 2, 0x8000);
    g_assert_cmphex(cfg_rd(&f, 0, 2, 0, PCI_SEC_STATUS, 2), ==, 0);
    /* Secondary bus reset resets what is behind. */
    cfg_wr(&f, 1, 0, 0, PCI_COMMAND, 2, PCI_CMD_MEM);
    pci_dev_seal(dev);
    cfg_wr(&f, 1, 0, 0, PCI_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_MASTER);
    cfg_wr(&f, 0, 2, 0, PCI_BRIDGE_CONTROL, 2, 0x40);
    g_assert_cmphex(cfg_rd(&f, 1, 0, 0, PCI_COMMAND, 2), ==, PCI_CMD_MEM);
    pci_dev_free(dev);
    pci_dev_free(br);
    fx_fini(&f);
}

static void test_intx(void)
{
    Fx f;
    fx_init(&f);
    MosaicPciDev *a = plug(&f, f.h->root, 1);
    mosaic_pci_set_intx_pin(a, 1);
    /* Root bus slot 1 pin A: line (0 + 1) % 4 = 1. */
    mosaic_pci_set_intx(a, true);
    g_assert_cmpint(f.line[1], ==, 1);
    g_assert_cmphex(cfg_rd(&f, 0, 1, 0, PCI_STATUS, 2) & PCI_STATUS_INTX, ==, PCI_STATUS_INTX);
    /* INTx disable masks the line, the status still shows it. */
    cfg_wr(&f, 0, 1, 0, PCI_COMMAND, 2, PCI_CMD_INTX_DISABLE);
    g_assert_cmpint(f.line[1], ==, 0);
    g_assert_cmphex(cfg_rd(&f, 0, 1, 0, PCI_STATUS, 2) & PCI_STATUS_INTX, ==, PCI_STATUS_INTX);
    cfg_wr(&f, 0, 1, 0, PCI_COMMAND, 2, 0);
    g_assert_cmpint(f.line[1], ==, 1);
    /* Behind a bridge in slot 3: slot 2 pin B -> (1 + 2) % 4 = 3 at the bridge, then
     * (3 + 3) % 4 = 2 on the root bus. */
    MosaicPciDev *br = bridge(&f, f.h->root, 3);
    MosaicPciDev *b = plug(&f, br->secondary, 2);
    mosaic_pci_set_intx_pin(b, 2);
    g_assert_cmpuint(pci_intx_route(b, 2), ==, 2);
    /* Shared line: high while either source is. Slot 5 pin A behind root slot 1... use
     * a second device on the root bus that lands on line 1 too: slot 5, pin D ->
     * (3 + 5) % 4 = 0; slot 4 pin D -> (3 + 4) % 4 = 3; slot 0 pin B -> 1. */
    MosaicPciDev *c = plug(&f, f.h->root, 4);
    mosaic_pci_set_intx_pin(c, 2); /* (1 + 4) % 4 = 1 */
    mosaic_pci_set_intx(c, true);
    mosaic_pci_set_intx(a, false);
    g_assert_cmpint(f.line[1], ==, 1);
    mosaic_pci_set_intx(c, false);
    g_assert_cmpint(f.line[1], ==, 0);
    mosaic_pci_set_intx(b, true);
    g_assert_cmpint(f.line[2], ==, 1);
    /* Unplugged while asserting: the line drops. */
    pci_bus_unplug(b);
    g_assert_cmpint(f.line[2], ==, 0);
    pci_dev_free(b);
    pci_dev_free(c);
    pci_dev_free(br);
    pci_dev_free(a);
    fx_fini(&f);
}

static uint32_t ram32(Fx *f, uint64_t a)
{
    uint64_t v = 0;
    g_assert_cmpint(mosaic_as_read(f->as, a, 4, &v), ==, MOSAIC_MEM_OK);
    return v;
}

static void test_msi(void)
{
    Fx f;
    fx_init(&f);
    MosaicPciDev *d = plug(&f, f.h->root, 1);
    g_assert_true(mosaic_pci_msi_init(d, 4, NULL));
    unsigned cap = mosaic_pci_find_cap(d, MOSAIC_PCI_CAP_MSI);
    g_assert_cmpuint(cap, !=, 0);
    g_assert_cmphex(cfg_rd(&f, 0, 1, 0, cap + 2, 2), ==, 0x84); /* 64-bit, 4 vectors */
    cfg_wr(&f, 0, 1, 0, cap + 4, 4, (uint32_t)RAM + 0x103); /* low two bits read-only */
    cfg_wr(&f, 0, 1, 0, cap + 8, 4, 0);
    cfg_wr(&f, 0, 1, 0, cap + 12, 2, 0x40);
    g_assert_cmphex(cfg_rd(&f, 0, 1, 0, cap + 4, 4), ==, (uint32_t)RAM + 0x100);
    mosaic_pci_msi_notify(d, 0); /* not enabled */
    g_assert_cmphex(ram32(&f, RAM + 0x100), ==, 0);
    cfg_wr(&f, 0, 1, 0, cap + 2, 2, 0x11); /* enabled, 2 vectors */
    g_assert_true(mosaic_pci_msi_enabled(d));
    mosaic_pci_msi_notify(d, 1); /* bus mastering off: nothing */
    g_assert_cmphex(ram32(&f, RAM + 0x100), ==, 0);
    cfg_wr(&f, 0, 1, 0, PCI_COMMAND, 2, PCI_CMD_MASTER);
    mosaic_pci_msi_notify(d, 1);
    g_assert_cmphex(ram32(&f, RAM + 0x100), ==, 0x41);
    mosaic_pci_msi_notify(d, 2); /* beyond the enabled vectors */
    g_assert_cmphex(ram32(&f, RAM + 0x100), ==, 0x41);
    pci_dev_free(d);
    fx_fini(&f);
}

static void test_msix(void)
{
    Fx f;
    fx_init(&f);
    MosaicPciDev *d = plug(&f, f.h->root, 1);
    g_assert_true(mosaic_pci_msix_init(d, 3, 2, NULL));
    unsigned cap = mosaic_pci_find_cap(d, MOSAIC_PCI_CAP_MSIX);
    g_assert_cmphex(cfg_rd(&f, 0, 1, 0, cap + 2, 2), ==, 2); /* table size - 1 */
    g_assert_cmphex(cfg_rd(&f, 0, 1, 0, cap + 4, 4), ==, 2);  /* table at 0 in BAR 2 */
    g_assert_cmphex(cfg_rd(&f, 0, 1, 0, cap + 8, 4), ==, 0x1002);
    cfg_wr(&f, 0, 1, 0, PCI_BAR0 + 8, 4, MEM + 0x10000);
    cfg_wr(&f, 0, 1, 0, PCI_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_MASTER);
    uint64_t tbl = MEM + 0x10000;
    g_assert_cmphex(ram32(&f, tbl + 12), ==, 1); /* vectors start masked */
    g_assert_cmpint(mosaic_as_write(f.as, tbl + 16, 4, (uint32_t)RAM + 0x200), ==, MOSAIC_MEM_OK);
    g_assert_cmpint(mosaic_as_write(f.as, tbl + 20, 4, 0), ==, MOSAIC_MEM_OK);
    g_assert_cmpint(mosaic_as_write(f.as, tbl + 24, 4, 0x77), ==, MOSAIC_MEM_OK);
    cfg_wr(&f, 0, 1, 0, cap + 2, 2, 0x8000);
    g_assert_true(mosaic_pci_msix_enabled(d));
    mosaic_pci_msi_notify(d, 1); /* masked: pending */
    g_assert_cmphex(ram32(&f, RAM + 0x200), ==, 0);
    g_assert_cmphex(ram32(&f, tbl + 4096), ==, 2);
    g_assert_cmpint(mosaic_as_write(f.as, tbl + 28, 4, 0), ==, MOSAIC_MEM_OK); /* unmask */
    g_assert_cmphex(ram32(&f, RAM + 0x200), ==, 0x77);
    g_assert_cmphex(ram32(&f, tbl + 4096), ==, 0);
    /* Function mask holds it; clearing the mask sends it. */
    cfg_wr(&f, 0, 1, 0, cap + 2, 2, 0xc000);
    g_assert_cmpint(mosaic_as_write(f.as, tbl + 24, 4, 0x78), ==, MOSAIC_MEM_OK);
    mosaic_pci_msi_notify(d, 1);
    g_assert_cmphex(ram32(&f, RAM + 0x200), ==, 0x77);
    cfg_wr(&f, 0, 1, 0, cap + 2, 2, 0x8000);
    g_assert_cmphex(ram32(&f, RAM + 0x200), ==, 0x78);
    /* The PBA is read-only; vectors past the table do nothing. */
    g_assert_cmpint(mosaic_as_write(f.as, tbl + 4096, 4, 0xffffffff), ==, MOSAIC_MEM_OK);
    g_assert_cmphex(ram32(&f, tbl + 4096), ==, 0);
    mosaic_pci_msi_notify(d, 3);
    mosaic_pci_msi_notify(d, 1000);
    pci_dev_free(d);
    fx_fini(&f);
}

/* Bus reservations: an Enhanced Allocation capability (0x14) whose first DWORD holds the
 * fixed secondary and subordinate numbers, equal to Linux's depth-first numbering with
 * the reservations; a reset keeps them in step with the tree. */
static uint32_t ea_buses(Fx *f, unsigned bus, unsigned dev)
{
    unsigned at = cfg_rd(f, bus, dev, 0, PCI_CAP_PTR, 1);
    for (unsigned n = 0; at && n < 48; n++, at = cfg_rd(f, bus, dev, 0, at + 1, 1))
        if (cfg_rd(f, bus, dev, 0, at, 1) == 0x14)
            return cfg_rd(f, bus, dev, 0, at + 4, 4);
    return 0;
}

static void test_bus_reserve(void)
{
    Fx f;
    fx_init(&f);
    MosaicPciDev *rp1 = bridge(&f, f.h->root, 1), *rp2 = bridge(&f, f.h->root, 2);
    MosaicPciDev *rp3 = bridge(&f, f.h->root, 3);
    MosaicError *err = mosaic_error_new();
    g_assert_true(mosaic_pci_bridge_reserve_buses(rp1, 3, err));
    g_assert_true(mosaic_pci_bridge_reserve_buses(rp3, 1, err));
    g_assert_false(mosaic_pci_bridge_reserve_buses(rp3, 255, err));
    g_assert_true(mosaic_error_is_set(err));
    mosaic_error_free(err);
    MosaicPciDev *dev = plug(&f, f.h->root, 4);
    g_assert_false(mosaic_pci_bridge_reserve_buses(dev, 1, NULL));
    pci_dev_seal(rp1); /* as the device layer does after realize */
    pci_dev_seal(rp3);
    /* rp1: 1-4 (3 spare), rp2 (no reservation, no EA): 5, rp3: 6-7. */
    g_assert_cmphex(ea_buses(&f, 0, 1), ==, 0x0401);
    g_assert_cmphex(ea_buses(&f, 0, 2), ==, 0);
    g_assert_cmphex(ea_buses(&f, 0, 3), ==, 0x0706);
    /* A bridge behind rp2 takes bus 6 after a reset: rp3 moves to 7-8. */
    MosaicPciDev *b2 = bridge(&f, rp2->secondary, 0);
    /* A bridge behind rp1 stays inside its reservation. */
    MosaicPciDev *b1 = bridge(&f, rp1->secondary, 0);
    mosaic_pci_host_reset(f.h);
    g_assert_cmphex(ea_buses(&f, 0, 1), ==, 0x0401);
    g_assert_cmphex(ea_buses(&f, 0, 3), ==, 0x0807);
    /* Read-only to the guest. */
    unsigned at = 0;
    for (at = cfg_rd(&f, 0, 3, 0, PCI_CAP_PTR, 1); cfg_rd(&f, 0, 3, 0, at, 1) != 0x14;)
        at = cfg_rd(&f, 0, 3, 0, at + 1, 1);
    cfg_wr(&f, 0, 3, 0, at + 4, 4, 0);
    g_assert_cmphex(ea_buses(&f, 0, 3), ==, 0x0807);
    MosaicPciDev *all[] = {b1, b2, dev, rp3, rp2, rp1};
    for (unsigned i = 0; i < G_N_ELEMENTS(all); i++)
        pci_dev_free(all[i]);
    fx_fini(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pci/config-masks", test_masks);
    g_test_add_func("/pci/bar-sizing-mapping", test_bars);
    g_test_add_func("/pci/capability-chains", test_caps);
    g_test_add_func("/pci/ecam-decoding", test_ecam);
    g_test_add_func("/pci/intx-swizzle", test_intx);
    g_test_add_func("/pci/msi", test_msi);
    g_test_add_func("/pci/msix", test_msix);
    g_test_add_func("/pci/bus-reserve", test_bus_reserve);
    return g_test_run();
}
