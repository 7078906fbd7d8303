/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pieces of the main loop (core/loop/ only). */
#ifndef MOSAIC_CORE_LOOP_INTERNAL_H
#define MOSAIC_CORE_LOOP_INTERNAL_H

#include <glib.h>

void loop_timers_attach(GMainContext *ctx);
void loop_bh_attach(GMainContext *ctx);

#endif
