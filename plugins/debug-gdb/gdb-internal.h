/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pieces of the GDB stub shared between its files (plugins/debug-gdb/). */
#ifndef MOSAIC_GDB_INTERNAL_H
#define MOSAIC_GDB_INTERNAL_H

#include "gdb-packet.h"
#include <mosaic/mosaic.h>

/* Largest 'g' packet register count accepted from a target description. */
#define GDB_MAX_GENERAL 256
#define GDB_MAX_REG_BYTES 64 /* the widest register a p/P packet carries (AVX-512: 64) */

typedef struct GdbStub {
    MosaicMachine *m;
    const MosaicDebugTarget *target; /* the accelerator's register layout */
    int listen_fd;
    MosaicFdWatch *listen_watch;
    int fd;                  /* the client, -1 when none */
    MosaicFdWatch *watch;
    GdbParser parser;
    GString *out;            /* framed bytes not yet written */
    GString *last;           /* last packet sent, for a NAK */
    gboolean noack;
    gboolean close_after_flush;
    gboolean waiting;        /* resumed for the client: a stop reply is owed */
    gboolean interrupted;    /* the client's Ctrl-C paused the machine */
    int step_cpu;            /* hart being single-stepped, -1: none */
    unsigned g_cpu, c_cpu;   /* Hg / Hc selection (hart index) */
    GArray *bps;             /* uint64_t pcs of inserted breakpoints */
} GdbStub;

/* server.c: queue a reply packet; close the client once its output is flushed. */
void gdb_send(GdbStub *s, const char *payload);
void gdb_send_len(GdbStub *s, const char *payload, gsize len);
void gdb_close_after_flush(GdbStub *s);

/* commands.c */
void gdb_handle_packet(GdbStub *s, const char *pkt, gsize len);
void gdb_handle_interrupt(GdbStub *s);
/* The machine stopped (STOP event): send the owed stop reply. */
void gdb_report_stop(GdbStub *s);
void gdb_report_exit(GdbStub *s, int code);
/* Client gone or detaching: breakpoints out, stepping off. */
void gdb_release_target(GdbStub *s);

#endif
