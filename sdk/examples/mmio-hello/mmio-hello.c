/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mmio-hello: the smallest useful device plugin, built out of tree against the
 * installed SDK (see Makefile and sdk/README.md).
 *
 * One 4 KiB page of 32-bit registers on the "system" bus:
 *   0x0 ID       read-only, 0x6f6c6c68 ("hllo" little-endian)
 *   0x4 SCRATCH  read/write; reset to the `reset-value` property
 *   0x8 COUNTER  read-only, counts writes to SCRATCH
 * Other offsets read as 0 and ignore writes.
 *
 * Machine file:
 *   [device hello0]
 *   type = mmio-hello
 *   reset-value = 0x1234
 */
#include <mosaic/mosaic.h>
#include <stdlib.h>

#define HELLO_ID 0x6f6c6c68u
#define HELLO_SIZE 0x1000

typedef struct Hello {
    MosaicRegion *mr;
    MosaicRegion *container;
    uint32_t reset_value;
    uint32_t scratch; /* guarded by the core lock, held on every MMIO access */
    uint32_t counter;
} Hello;

static uint64_t hello_read(void *opaque, uint64_t offset, unsigned size)
{
    Hello *h = opaque;
    (void)size; /* always 4: min_access = max_access = 4 */
    switch (offset) {
    case 0x0:
        return HELLO_ID;
    case 0x4:
        return h->scratch;
    case 0x8:
        return h->counter;
    default:
        return 0;
    }
}

static void hello_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Hello *h = opaque;
    (void)size;
    if (offset == 0x4) {
        h->scratch = (uint32_t)value;
        h->counter++;
    }
}

static const MosaicMmioOps hello_mmio = {
    .size = sizeof(MosaicMmioOps),
    .read = hello_read,
    .write = hello_write,
    .min_access = 4, /* the core refuses other sizes before they get here */
    .max_access = 4,
};

static void *hello_realize(MosaicDevice *dev, const MosaicProps *props,
                           const MosaicBusSlot *slot, MosaicError *err)
{
    (void)dev;
    Hello *h = calloc(1, sizeof(*h));
    if (!h) {
        mosaic_error_set(err, "mmio-hello: out of memory");
        return NULL;
    }
    h->reset_value = (uint32_t)mosaic_props_get_uint(props, "reset-value");
    h->scratch = h->reset_value;
    h->container = slot->container;
    h->mr = mosaic_region_new_mmio("mmio-hello", HELLO_SIZE, &hello_mmio, h);
    if (!mosaic_region_add(slot->container, slot->base, h->mr, 0, err)) {
        mosaic_region_unref(h->mr);
        free(h);
        return NULL;
    }
    return h;
}

static void hello_unrealize(void *state)
{
    Hello *h = state;
    mosaic_region_del(h->container, h->mr);
    mosaic_region_unref(h->mr);
    free(h);
}

static void hello_reset(void *state)
{
    Hello *h = state;
    h->scratch = h->reset_value;
    h->counter = 0;
}

static const MosaicDeviceOps hello_ops = {
    .size = sizeof(MosaicDeviceOps),
    .bus = "system",
    .realize = hello_realize,
    .unrealize = hello_unrealize,
    .reset = hello_reset,
};

static const MosaicPropDesc hello_props[] = {
    { .key = "reset-value", .type = MOSAIC_PROP_UINT, .defval = "0",
      .help = "value of SCRATCH after reset", .min = 0, .max = 0xffffffff },
    { 0 },
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI, .name = "mmio-hello",
              .version = "1.0.0", .license = "MIT",
              .description = "scratch and counter registers on the system bus",
              .props = hello_props, .ops = &hello_ops);
