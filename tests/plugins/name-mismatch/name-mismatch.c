/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Built as mosaic-device-name-mismatch.so but calls itself 'other'. */
#include "../test-plugin.h"

MOSAIC_PLUGIN(TEST_DEVICE_FIELDS("other"));
