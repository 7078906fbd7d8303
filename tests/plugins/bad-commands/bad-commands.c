/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Declares a monitor command without a handler: refused at scan time, before any of its
 * commands could be listed or called. */
#include "../test-plugin.h"

static const MosaicCommandDesc commands[] = {
    {.size = sizeof(MosaicCommandDesc), .name = "bad-command", .help = "no handler"},
    {0},
};

MOSAIC_PLUGIN(TEST_DEVICE_FIELDS("bad-commands"), .commands = commands);
