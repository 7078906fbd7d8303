/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Debug front ends named on the command line: `--NAME SPEC` (or --NAME=SPEC) for any
 * option the core does not know starts the debug plugin NAME (e.g. --gdb with
 * plugins/debug-gdb), so the core names no debugger. */
#ifndef MOSAIC_CORE_CLI_DEBUG_H
#define MOSAIC_CORE_CLI_DEBUG_H

#include <glib.h>
#include "machine/machine.h"

/* Takes every --NAME SPEC left in argv by option parsing (which ignored unknown
 * options) out of it; `-X` options are errors.  Syntax only: plugins are not known yet. */
gboolean debug_take_options(int *argc, char **argv, GError **err);
/* Checks that each NAME is a debug plugin (after plugin discovery). */
gboolean debug_check_options(GError **err);
gboolean debug_requested(void);
/* Loads (policy, init) and starts each requested front end on the machine. */
gboolean debug_start_all(MosaicMachine *m, GError **err);
void debug_stop_all(void);

#endif
