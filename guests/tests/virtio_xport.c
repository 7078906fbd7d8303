/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-mmio (version 2) and modern virtio-pci (virtio 1.2 §4.1, §4.2) behind one set
 * of calls: only what a polled test driver needs. */
#include "virtio_xport.h"

#define MMIO_FIRST 0x10001000ul
#define MMIO_LAST 0x10008000ul
#define ECAM 0x30000000ul
#define BAR_ADDR 0x40000000ul

static int pci;
static uint64_t pcifn;  /* virtio-pci: the function's config space */
static uint64_t mmio;  /* virtio-mmio: the slot */
static uint64_t common, devcfg, notify_base;  /* virtio-pci: where the caps point */
static uint32_t notify_mult;
static uint16_t notify_off[8];

#define R32(a) (*(volatile uint32_t *)(a))
#define R16(a) (*(volatile uint16_t *)(a))
#define R8(a) (*(volatile uint8_t *)(a))

static uint32_t cfg32(uint64_t fn, unsigned off) { return R32(fn + (off & ~3u)) >> (8 * (off & 3)); }

static int find_mmio(uint32_t id)
{
    for (uint64_t b = MMIO_FIRST; b <= MMIO_LAST; b += 0x1000)
        if (R32(b) == 0x74726976 && R32(b + 8) == id) {
            mmio = b;
            return 1;
        }
    return 0;
}

/* Places the BAR the virtio caps point into (Mosaic: BAR 4, 64-bit), enables memory
 * decoding and bus mastering, reads the caps. */
static int find_pci(uint32_t id)
{
    for (unsigned dev = 0; dev < 32; dev++) {
        uint64_t fn = ECAM + ((uint64_t)dev << 15);
        if (R32(fn) != (0x1af4u | (0x1040u + id) << 16))
            continue;
        if (!(cfg32(fn, 0x06) & 0x10))
            return 0;
        unsigned bar = 6;
        for (unsigned p = cfg32(fn, 0x34) & 0xfc; p && bar > 5; p = cfg32(fn, p + 1) & 0xfc)
            if ((cfg32(fn, p) & 0xff) == 0x09)
                bar = cfg32(fn, p + 4) & 0xff;
        if (bar > 5)
            return 0;
        unsigned reg = 0x10 + 4 * bar;
        R32(fn + reg) = 0xffffffffu;
        uint32_t probe = R32(fn + reg);
        R32(fn + reg) = BAR_ADDR;
        if ((probe & 6) == 4)          /* 64-bit BAR: the high half */
            R32(fn + reg + 4) = 0;
        R32(fn + 0x04) = 0x6;          /* memory space, bus master */
        for (unsigned p = cfg32(fn, 0x34) & 0xfc; p; p = cfg32(fn, p + 1) & 0xfc) {
            if ((cfg32(fn, p) & 0xff) != 0x09 || (cfg32(fn, p + 4) & 0xff) != bar)
                continue;             /* vendor caps on that BAR only */
            uint64_t at = BAR_ADDR + R32(fn + p + 8);
            switch (cfg32(fn, p + 3) & 0xff) {
            case 1: common = at; break;
            case 2: notify_base = at; notify_mult = R32(fn + p + 16); break;
            case 4: devcfg = at; break;
            }
        }
        pci = common && notify_base && devcfg;
        pcifn = fn;
        return pci;
    }
    return 0;
}

int vx_find(uint32_t id) { return find_mmio(id) || find_pci(id); }
int vx_is_pci(void) { return pci; }

uint32_t vx_device_features(unsigned select)
{
    if (pci) {
        R32(common + 0x00) = select;
        return R32(common + 0x04);
    }
    R32(mmio + 0x14) = select;
    return R32(mmio + 0x10);
}

void vx_driver_features(unsigned select, uint32_t bits)
{
    if (pci) {
        R32(common + 0x08) = select;
        R32(common + 0x0c) = bits;
        return;
    }
    R32(mmio + 0x24) = select;
    R32(mmio + 0x20) = bits;
}

void vx_set_status(uint32_t status)
{
    if (pci)
        R8(common + 0x14) = (uint8_t)status;
    else
        R32(mmio + 0x70) = status;
}

uint32_t vx_status(void) { return pci ? R8(common + 0x14) : R32(mmio + 0x70); }

int vx_reset(void)
{
    vx_set_status(0);
    /* virtio 2.1.2: the device may take a while; wait for status 0 before starting again */
    for (unsigned long i = 0; i < 100000000ul; i++)
        if (vx_status() == 0)
            return 1;
    return 0;
}

uint32_t vx_config32(unsigned off) { return pci ? R32(devcfg + off) : R32(mmio + 0x100 + off); }

uint32_t vx_queue_max(unsigned q)
{
    if (pci) {
        R16(common + 0x16) = (uint16_t)q;
        return R16(common + 0x18);
    }
    R32(mmio + 0x30) = q;
    return R32(mmio + 0x34);
}

void vx_queue_setup(unsigned q, unsigned size, uint64_t desc, uint64_t avail, uint64_t used)
{
    if (pci) {
        R16(common + 0x16) = (uint16_t)q;
        R16(common + 0x18) = (uint16_t)size;
        R32(common + 0x20) = (uint32_t)desc; R32(common + 0x24) = desc >> 32;
        R32(common + 0x28) = (uint32_t)avail; R32(common + 0x2c) = avail >> 32;
        R32(common + 0x30) = (uint32_t)used; R32(common + 0x34) = used >> 32;
        notify_off[q & 7] = R16(common + 0x1e);
        R16(common + 0x1c) = 1;
        return;
    }
    R32(mmio + 0x30) = q;
    R32(mmio + 0x38) = size;
    R32(mmio + 0x80) = (uint32_t)desc; R32(mmio + 0x84) = desc >> 32;
    R32(mmio + 0x90) = (uint32_t)avail; R32(mmio + 0x94) = avail >> 32;
    R32(mmio + 0xa0) = (uint32_t)used; R32(mmio + 0xa4) = used >> 32;
    R32(mmio + 0x44) = 1;
}

void vx_notify(unsigned q)
{
    if (pci)
        R16(notify_base + (uint64_t)notify_off[q & 7] * notify_mult) = (uint16_t)q;
    else
        R32(mmio + 0x50) = q;
}

/* virtio-mmio: SHMSel, then SHMLen/SHMBase (all ones: no such region).  virtio-pci: a
 * VIRTIO_PCI_CAP_SHARED_MEMORY_CFG capability (cfg_type 8, struct virtio_pci_cap64)
 * with the id; its 64-bit BAR is sized and placed here, decoding off meanwhile. */
int vx_shm(unsigned id, uint64_t *base, uint64_t *len)
{
    if (!pci) {
        R32(mmio + 0xac) = id;
        uint64_t l = R32(mmio + 0xb0) | (uint64_t)R32(mmio + 0xb4) << 32;
        uint64_t b = R32(mmio + 0xb8) | (uint64_t)R32(mmio + 0xbc) << 32;
        if (l == ~0ull)
            return 0;
        *base = b;
        *len = l;
        return 1;
    }
    uint64_t fn = pcifn;
    for (unsigned p = cfg32(fn, 0x34) & 0xfc; p; p = cfg32(fn, p + 1) & 0xfc) {
        if ((cfg32(fn, p) & 0xff) != 0x09 || (cfg32(fn, p + 3) & 0xff) != 8 ||
            (cfg32(fn, p + 5) & 0xff) != id)
            continue;
        unsigned bar = cfg32(fn, p + 4) & 0xff;
        uint64_t off = R32(fn + p + 8) | (uint64_t)R32(fn + p + 16) << 32;
        uint64_t l = R32(fn + p + 12) | (uint64_t)R32(fn + p + 20) << 32;
        uint64_t reg = fn + 0x10 + 4 * bar;
        R32(fn + 0x04) = 0x4;          /* decoding off while the BAR moves */
        R32(reg) = 0xffffffffu;
        R32(reg + 4) = 0xffffffffu;
        uint32_t lo = R32(reg);
        if ((lo & 6) != 4)             /* the region's BAR must be 64-bit */
            return 0;
        R32(reg) = (uint32_t)VX_SHM_ADDR;
        R32(reg + 4) = VX_SHM_ADDR >> 32;
        R32(fn + 0x04) = 0x6;
        *base = VX_SHM_ADDR + off;
        *len = l;
        return 1;
    }
    return 0;
}
