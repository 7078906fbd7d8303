/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared bits of the loader test plugins (tests/plugins/<case>/).  Each case builds
 * mosaic-*.so files into build/<variant>/tests/plugins/<case>/; the loader test
 * (tests/unit/test-plugin-loader.c) scans each directory and checks the verdict. */
#ifndef TEST_PLUGIN_H
#define TEST_PLUGIN_H

#include <mosaic/mosaic.h>

static void *test_realize(MosaicDevice *dev, const MosaicProps *props, const MosaicBusSlot *slot,
                          MosaicError *err)
{
    return dev;
}

static const MosaicDeviceOps test_device_ops = {
    .size = sizeof(MosaicDeviceOps),
    .bus = "system",
    .realize = test_realize,
};

/* Every field of a valid device descriptor except the four frozen ones. */
#define TEST_DEVICE_FIELDS(nm)                                                 \
    .kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI, .name = nm,     \
    .version = "1.2.3", .license = "MIT", .description = "loader test plugin", \
    .ops = &test_device_ops

#endif
