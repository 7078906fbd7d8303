/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A valid device plugin: accepted, init runs once. */
#include "../test-plugin.h"

static bool good_init(MosaicError *err)
{
    return true;
}

MOSAIC_PLUGIN(TEST_DEVICE_FIELDS("good"), .init = good_init);
