/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A well-formed plugin whose own dependency is missing: dlopen fails, and the
 * refusal says which library. */
#include "../test-plugin.h"

int mosaic_test_gone(void);

static bool dep_init(MosaicError *err)
{
    return mosaic_test_gone() == 1;
}

MOSAIC_PLUGIN(TEST_DEVICE_FIELDS("missing-dependency"), .init = dep_init);
