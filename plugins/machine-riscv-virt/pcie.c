/* PCIe host at QEMU virt's addresses: ECAM at 0x30000000 (buses 0-255) with a host
 * bridge at 00:00.0 (1b36:0008, like QEMU's gpex) and nothing else yet; every other
 * function reads as absent (all ones).  The device tree also describes the PIO window
 * (0x3000000), the 32-bit MMIO window (0x40000000) and the 64-bit one (0x400000000)
 * and INTx A-D on PLIC 32-35, so devices can be added once the SDK has a PCI slot.
 * Called with the core lock held. */
#include <stdlib.h>
#include <string.h>
#include "virt.h"

struct Pcie {
    MosaicRegion *mr, *container;
    uint8_t cfg[256]; /* config space of the host bridge */
};

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }

static void bridge_reset(Pcie *p)
{
    memset(p->cfg, 0, sizeof p->cfg);
    put16(p->cfg + 0x00, 0x1b36); /* Red Hat, Inc. */
    put16(p->cfg + 0x02, 0x0008); /* QEMU PCIe host bridge */
    p->cfg[0x0b] = 0x06;          /* class: bridge */
    p->cfg[0x0a] = 0x00;          /* subclass: host bridge */
    put16(p->cfg + 0x2c, 0x1af4);
    put16(p->cfg + 0x2e, 0x1100);
}

/* Writable bits of the bridge's header: command, cache line size, latency timer,
 * interrupt line.  Everything else is read-only. */
static uint8_t wmask(unsigned reg)
{
    switch (reg) {
    case 0x04: return 0x47; /* I/O, memory, bus master, parity */
    case 0x05: return 0x05; /* SERR, INTx disable */
    case 0x0c: case 0x0d: case 0x3c: return 0xff;
    }
    return 0;
}

static uint64_t pcie_read(void *opaque, uint64_t off, unsigned size)
{
    Pcie *p = opaque;
    if ((off >> 12) != 0) /* only bus 0, device 0, function 0 exists */
        return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
    unsigned reg = off & 0xfff;
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)(reg + i < sizeof p->cfg ? p->cfg[reg + i] : 0) << (8 * i);
    return v;
}

static void pcie_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Pcie *p = opaque;
    if ((off >> 12) != 0)
        return;
    unsigned reg = off & 0xfff;
    for (unsigned i = 0; i < size && reg + i < sizeof p->cfg; i++) {
        uint8_t m = wmask(reg + i);
        p->cfg[reg + i] = (p->cfg[reg + i] & ~m) | ((val >> (8 * i)) & m);
    }
}

static const MosaicMmioOps pcie_ops = {
    .size = sizeof(MosaicMmioOps),
    .read = pcie_read,
    .write = pcie_write,
    .min_access = 1,
    .max_access = 4,
};

Pcie *pcie_new(MosaicMachine *m, MosaicError *err)
{
    Pcie *p = calloc(1, sizeof(*p));
    if (!p) {
        mosaic_error_set(err, "pcie: out of memory");
        return NULL;
    }
    bridge_reset(p);
    p->mr = mosaic_region_new_mmio("pcie-ecam", VIRT_PCIE_ECAM_SIZE, &pcie_ops, p);
    if (!mosaic_region_add(mosaic_machine_memory(m), VIRT_PCIE_ECAM_BASE, p->mr, 0, err)) {
        pcie_free(p);
        return NULL;
    }
    p->container = mosaic_machine_memory(m);
    return p;
}

void pcie_reset(Pcie *p)
{
    bridge_reset(p);
}

void pcie_free(Pcie *p)
{
    if (!p)
        return;
    virt_region_remove(p->container, p->mr);
    free(p);
}
