/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NBD export internals (nbd-server.c: listeners and exports; nbd-conn.c: one client;
 * commands.c: the monitor commands and the plugin descriptor). */
#ifndef MOSAIC_NBD_H
#define MOSAIC_NBD_H

#include <glib.h>
#include <mosaic/mosaic.h>
#include <mosaic/bitmap.h>
#include <mosaic/socket.h>

#define NBD_LOG_DOMAIN "mosaic-block"

typedef struct NbdServer NbdServer;

typedef struct NbdExport {
    int refs;
    char *id;
    char *name;
    char *node;          /* label of the exported node */
    char *description;
    gboolean writable;
    gboolean deleted;
    char *bitmap;        /* qemu:dirty-bitmap:NAME context, or NULL */
    char *bitmap_node;   /* label of the node holding it */
    MosaicBlk *blk;      /* shared by its clients; follows filter insertion */
    NbdServer *server;
} NbdExport;

struct NbdServer {
    char *key;           /* "unix:PATH" or "tcp:ADDR:PORT" */
    char *unix_path;
    MosaicSocketFile unix_file; /* removed at stop only if still ours */
    int fd;
    MosaicFdWatch *watch;
    GPtrArray *exports;  /* NbdExport* */
    GPtrArray *conns;    /* NbdConn* */
    guint handshake_s;   /* a client must pick an export within this (0: no limit) */
    gboolean handshake_given; /* by an [export] section */
};

typedef struct NbdConn NbdConn;

void nbd_conn_new(NbdServer *srv, int fd);
/* Closes the connection (now, or after its requests completed). */
void nbd_conn_close(NbdConn *c);
/* The export a connection uses (NULL before NBD_OPT_GO). */
NbdExport *nbd_conn_export(NbdConn *c);
NbdExport *nbd_server_find_export(NbdServer *srv, const char *name);
void nbd_export_unref(NbdExport *e);
/* The export's dirty bitmap now (NULL: none, or removed since). */
MosaicBlkBitmap *nbd_export_bitmap(NbdExport *e);
void nbd_server_conn_gone(NbdServer *srv, NbdConn *c);
void nbd_exports_foreach(void (*fn)(void *opaque, const char *id, const char *node,
                                    const char *name, const char *where, gboolean writable,
                                    guint clients),
                         void *opaque);

/* Exports by id; `socket` (UNIX path) or loopback `port`.  `bitmap` (or NULL) is
 * offered as the qemu:dirty-bitmap:NAME metadata context. */
bool nbd_export_add(const char *id, const char *node, const char *name, const char *socket,
                    const char *addr, guint port, bool writable, const char *bitmap,
                    MosaicError *err);
bool nbd_export_del(const char *id, MosaicError *err);
/* The [export LABEL] sections of a machine file, and closing every export at exit. */
extern const MosaicPropDesc nbd_export_props[];
bool nbd_exports_start(MosaicMachine *m, MosaicError *err);
void nbd_exports_stop(void);

#endif
