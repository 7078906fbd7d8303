/* Pieces of the GDB stub shared between its files (core/gdb/). */
#ifndef MOSAIC_CORE_GDB_INTERNAL_H
#define MOSAIC_CORE_GDB_INTERNAL_H

#include "gdb/gdbstub.h"
#include "gdb/gdb-packet.h"
#include <mosaic/mosaic.h>

/* GDB's RISC-V register numbers (gdb/riscv-tdep.h): what the target description
 * assigns and what p/P carry.  The accelerator ABI uses the same numbers except for
 * the privilege level. */
#define GDB_RISCV_NGPR 33          /* x0..x31, pc: the 'g' packet */
#define GDB_RISCV_CSR_LAST (65 + 4095)
#define GDB_RISCV_PRIV 4161        /* 65 + 4096: the "priv" virtual register */

typedef struct GdbStub {
    MosaicMachine *m;
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

/* target-riscv.c */
const char *gdb_riscv_target_xml(void);
/* Maps a GDB register number to the accelerator's; false for numbers we don't know. */
gboolean gdb_riscv_regno(uint64_t gdb_regno, unsigned *accel_regno);
/* Size in bytes of a register in p/P/g packets. */
unsigned gdb_riscv_reg_bytes(unsigned accel_regno);

#endif
