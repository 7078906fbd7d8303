/* SPDX-License-Identifier: GPL-2.0-or-later */
/* MosaicError (sdk/include/mosaic/plugin.h) inside the core: a GError holder.  The
 * core puts one on its stack, passes it to a plugin op, then takes the GError out. */
#ifndef MOSAIC_CORE_PLUGIN_ERROR_H
#define MOSAIC_CORE_PLUGIN_ERROR_H

#include <glib.h>
#include <mosaic/plugin.h>

struct MosaicError {
    GError *error; /* the first error set; later ones are ignored */
};
#define MOSAIC_ERROR_INIT { NULL }

/* The error the plugin set, or a generic one naming `what` when it failed without
 * setting any ("plugin failed without an error message (in init)").  Clears e. */
GError *plugin_error_take(MosaicError *e, const char *what);
void plugin_error_clear(MosaicError *e);

#endif
