/* SPDX-License-Identifier: GPL-2.0-or-later */
/* init fails with a message; the core must refuse it and never call it again (the
 * call count in the message proves it). */
#include "../test-plugin.h"

static int calls;

static bool failing_init(MosaicError *err)
{
    calls++;
    mosaic_error_set(err, "cannot open /dev/hello (call %d)", calls);
    return false;
}

MOSAIC_PLUGIN(TEST_DEVICE_FIELDS("failing-init"), .init = failing_init);
