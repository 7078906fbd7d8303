/* GDB remote stub (core/gdb/): `--gdb tcp:127.0.0.1:PORT` lets one debugger at a time
 * attach over loopback TCP.  It runs on the main loop with the core lock held, and
 * drives the machine through machine_pause/resume and the accelerator's debug ops. */
#ifndef MOSAIC_CORE_GDBSTUB_H
#define MOSAIC_CORE_GDBSTUB_H

#include <glib.h>
#include "machine/machine.h"

/* spec: "tcp:HOST:PORT" with a loopback HOST (127.0.0.1, localhost, ::1) or
 * "tcp::PORT" (127.0.0.1).  Main loop thread, core lock held. */
gboolean gdbstub_start(MosaicMachine *m, const char *spec, GError **err);
/* Closes the listener and any client.  Safe when never started. */
void gdbstub_stop(void);

#endif
