/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Block drivers and block users: the node interface of the block graph.
 *
 * A [blockdev LABEL] section makes one node; its `driver` key selects a block plugin
 * (kind MOSAIC_KIND_BLOCK: protocol or format, MOSAIC_KIND_BLOCK_FILTER: filter) whose
 * ops table is a MosaicBlkDriverOps.  Children are other nodes, referenced by label
 * (a REF prop with choices "blockdev"); a driver opens them with mosaic_blk_open_child.
 * No layer knows what sits above or below it, only this interface.
 *
 * Requests.  Every request is asynchronous for its issuer: it is submitted on the main
 * loop thread (core lock held) and its completion callback runs there too, never
 * inside the submit call.  A driver implements requests in one of two ways:
 *   - io():     blocking, run by the core on a worker thread of the node's thread pool.
 *               It may call mosaic_blk_child_io() (blocking) on its children.
 *   - submit(): asynchronous, called on the main loop thread; the driver calls
 *               mosaic_blk_complete() later (also on the main loop thread) and talks to
 *               its children with mosaic_blk_child_submit().  Filters that hold requests
 *               (throttle) use this and timers from loop.h.
 *
 * Filters fail closed: a MOSAIC_KIND_BLOCK_FILTER driver lists in `passes` the request
 * types it handles; the core refuses every other type with -ENOTSUP before the driver
 * sees it, so a request type added later is never silently forwarded by an old filter.
 *
 * Graph changes (insert/remove a filter, replace a child) happen only while the whole
 * graph is drained: no request is in flight in any node, and requests of users that
 * arrive meanwhile wait, in order, until the change is done.
 *
 * Changelog
 *   1.0  first version (MOSAIC_BLOCK_ABI 1), with the optional bitmaps_load/bitmaps_store
 *        ops (persistent dirty bitmaps kept in the image itself, e.g. qcow2's bitmaps
 *        extension), and the optional probe op (format recognition), added before the
 *        first release.
 *   1.1  (ABI 1.1) caps and uri_schemes: the core asks for "a driver that..." (backup
 *        jobs: a copy-before-write filter, a driver for an nbd:// target) by these,
 *        never by name.  The graph services for jobs (mosaic_blk_node_find/_new/
 *        _delete/_submit/_in_use/_child/_at, mosaic_blk_drain_*, mosaic_blk_insert_filter,
 *        mosaic_blk_remove_filter, mosaic_blk_driver_with_cap/_for_uri,
 *        mosaic_blk_format_exists, mosaic_blk_defer_flush_release);
 *        bitmaps_changed (a bitmap added at run time survives a kill as
 *        inconsistent).
 */
#ifndef MOSAIC_BLOCK_H
#define MOSAIC_BLOCK_H

#include <sys/uio.h>
#include <mosaic/plugin.h>
#include <mosaic/props.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum MosaicBlkReqType {
    MOSAIC_BLK_READ = 0,
    MOSAIC_BLK_WRITE = 1,
    MOSAIC_BLK_FLUSH = 2,
    MOSAIC_BLK_DISCARD = 3,      /* may deallocate; reads afterwards return any data */
    MOSAIC_BLK_WRITE_ZEROES = 4, /* reads afterwards return zeroes */
    MOSAIC_BLK_BLOCK_STATUS = 5, /* allocation/zero state of a range (see below) */
    MOSAIC_BLK_NR_TYPES = 6,
} MosaicBlkReqType;

#define MOSAIC_BLK_PASS(type) (1u << (type))
#define MOSAIC_BLK_PASS_ALL ((1u << MOSAIC_BLK_NR_TYPES) - 1)

/* Request flags. */
enum {
    MOSAIC_BLK_FUA = 1u << 0,       /* write: durable when completed */
    MOSAIC_BLK_MAY_UNMAP = 1u << 1, /* write-zeroes: may deallocate */
};

/* Block status (out): flags for [offset, offset + status_bytes). */
enum {
    MOSAIC_BLK_STATUS_DATA = 1u << 0,      /* stored data (not a hole) */
    MOSAIC_BLK_STATUS_ZERO = 1u << 1,      /* reads as zeroes */
    MOSAIC_BLK_STATUS_ALLOCATED = 1u << 2, /* allocated in this node (not a backing file) */
};

typedef struct MosaicBlkReq {
    uint32_t size;       /* sizeof(MosaicBlkReq) */
    uint32_t type;       /* MosaicBlkReqType */
    uint32_t flags;
    uint32_t status;     /* BLOCK_STATUS out: MOSAIC_BLK_STATUS_* */
    uint64_t offset;
    uint64_t bytes;      /* READ/WRITE: sum of the iov lengths */
    const struct iovec *iov; /* READ/WRITE */
    unsigned niov;
    uint64_t status_bytes;   /* BLOCK_STATUS out: 1..bytes */
} MosaicBlkReq;

typedef struct MosaicBlkNode MosaicBlkNode;   /* a node of the graph (opaque) */
typedef struct MosaicBlkChild MosaicBlkChild; /* a node's edge to one of its children */
typedef struct MosaicBlk MosaicBlk;           /* a user of a node: device, export */
typedef struct MosaicMachine MosaicMachine;

/* ret: 0 or a negative errno. */
typedef void MosaicBlkDone(void *opaque, int ret);

typedef struct MosaicBlkDriverOps {
    uint32_t size;     /* sizeof(MosaicBlkDriverOps) */
    uint32_t passes;   /* filters: MOSAIC_BLK_PASS() bits of the request types handled */
    /* Opens the node from its validated props: children, files, size
     * (mosaic_blk_node_set_length; filters default to their first child's). */
    void *(*open)(MosaicBlkNode *node, const MosaicProps *props, MosaicError *err);
    void (*close)(void *state);
    /* One of these two (see above).  0 or -errno. */
    int (*io)(void *state, MosaicBlkReq *req);
    void (*submit)(void *state, MosaicBlkReq *req, void *token);
    /* Optional: the graph is being drained; release every held request now. */
    void (*drain)(void *state);
    /* Optional: the image can store persistent dirty bitmaps (mosaic/bitmap.h).
     * With bitmaps_store set, the core keeps the node's persistent bitmaps out of the
     * FILE.bitmaps side file and lets the driver keep them.  Both run on the main loop
     * thread with nothing in flight (blocking child I/O allowed).
     *   bitmaps_load:  once the graph is open: create the stored bitmaps with
     *                  mosaic_blk_bitmap_load; a writable image marks them in use on disk
     *                  (a kill leaves them in use: inconsistent at the next open).
     *   bitmaps_store: at a clean close, before close(): write every persistent bitmap
     *                  of the node (mosaic_blk_bitmap_persistent_at) and mark them clean.
     * 0 or -errno (the core warns). */
    int (*bitmaps_load)(void *state, MosaicBlkNode *node);
    int (*bitmaps_store)(void *state, MosaicBlkNode *node);
    /* Optional, image formats: whether `buf`, the first `len` bytes of an image (at most
     * MOSAIC_BLK_PROBE_BYTES; fewer for a short file), is this format's header.  Any
     * thread, no side effects.  The core never picks a format from this (a backing
     * file's format must be named, e.g. by qcow2's backing-format extension); it tells
     * the user what an image looks like. */
    bool (*probe)(const uint8_t *buf, size_t len);
    /* Since 1.1: MOSAIC_BLK_CAP_* bits, what the driver is for code that needs one. */
    uint32_t caps;
    /* Since 1.1, protocol drivers: the URI schemes opened from the `uri` key, e.g.
     * {"nbd", "nbd+unix", NULL}; NULL: none. */
    const char *const *uri_schemes;
    /* Since 1.1, optional with bitmaps_store: a persistent bitmap of the node was added
     * or removed while it runs.  Record the node's persistent bitmaps in the image now,
     * every one marked in use (their bits need not be written), so that after a kill a
     * bitmap added since the start is there and loads inconsistent instead of missing.
     * Main loop thread, graph drained (blocking child I/O allowed).  0 or -errno. */
    int (*bitmaps_changed)(void *state, MosaicBlkNode *node);
} MosaicBlkDriverOps;

#define MOSAIC_BLK_PROBE_BYTES 4096

enum {
    /* A filter with children `file` (the live node) and `target`, and an optional
     * `bitmap` key (only its dirty clusters are copied): before a write replaces data
     * of `file`, the old data goes to `target`.  Backup jobs use it. */
    MOSAIC_BLK_CAP_COPY_BEFORE_WRITE = 1u << 0,
    /* A read-only node with children `file` and `target` and a `bitmap` key (the copy
     * bitmap of such a filter): `file` as it was when the filter went in (pull backup). */
    MOSAIC_BLK_CAP_SNAPSHOT_ACCESS = 1u << 1,
};

/* ---- for drivers ---- */
MOSAIC_API const char *mosaic_blk_node_label(const MosaicBlkNode *node);
MOSAIC_API void mosaic_blk_node_set_length(MosaicBlkNode *node, uint64_t bytes);
MOSAIC_API uint64_t mosaic_blk_node_length(const MosaicBlkNode *node);
MOSAIC_API void mosaic_blk_node_set_read_only(MosaicBlkNode *node, bool ro);
MOSAIC_API bool mosaic_blk_node_read_only(const MosaicBlkNode *node);
/* The node of the [blockdev] labelled by REF prop `key`; NULL + err when unset (and
 * required) or wrong.  `write`: the driver will write through it. */
MOSAIC_API MosaicBlkChild *mosaic_blk_open_child(MosaicBlkNode *node, const MosaicProps *props,
                                                 const char *key, bool write, MosaicError *err);
/* A child node of an image file that has no section (backing files): `format` is a
 * block driver name ("qcow2", "raw") over a read-only file node. */
MOSAIC_API MosaicBlkChild *mosaic_blk_open_image(MosaicBlkNode *node, const char *filename,
                                                 const char *format, MosaicError *err);
MOSAIC_API uint64_t mosaic_blk_child_length(const MosaicBlkChild *c);
MOSAIC_API bool mosaic_blk_child_read_only(const MosaicBlkChild *c);
/* Another section of the machine file the node was built from (e.g. the
 * [throttle-group LABEL] a filter refers to), or NULL. */
MOSAIC_API const MosaicProps *mosaic_blk_node_config(const MosaicBlkNode *node, const char *kind,
                                                     const char *label);
/* Blocking child I/O: only from io() (a worker thread).  0 or -errno. */
MOSAIC_API int mosaic_blk_child_io(MosaicBlkChild *c, MosaicBlkReq *req);
MOSAIC_API int mosaic_blk_child_pread(MosaicBlkChild *c, uint64_t offset, void *buf, uint64_t len);
MOSAIC_API int mosaic_blk_child_pwrite(MosaicBlkChild *c, uint64_t offset, const void *buf,
                                       uint64_t len);
MOSAIC_API int mosaic_blk_child_flush(MosaicBlkChild *c);
/* Asynchronous child I/O: only on the main loop thread (from submit(), timers, BHs). */
MOSAIC_API void mosaic_blk_child_submit(MosaicBlkChild *c, MosaicBlkReq *req,
                                        MosaicBlkDone *done, void *opaque);
/* Completes a request given to submit(); main loop thread. */
MOSAIC_API void mosaic_blk_complete(void *token, int ret);

/* ---- for jobs: plugins that change the graph at run time (backup; since 1.1) ----
 * Main loop thread, core lock held.  Nodes made here are the maker's to delete. */
MOSAIC_API MosaicBlkNode *mosaic_blk_node_find(const char *label);
/* The i-th node of the graph (creation order: children first), NULL past the last. */
MOSAIC_API MosaicBlkNode *mosaic_blk_node_at(unsigned i);
/* A new node `label` of block driver `driver`, its keys a typed list, never INI text:
 * kv = {"file", "disk0", "bitmap", "b0", NULL}, key/value pairs ended by NULL (values
 * may hold any character).  References name nodes of the graph.  Validated like a
 * machine file's [blockdev]; `what` names the maker in messages ("backup node").
 * NULL + err. */
MOSAIC_API MosaicBlkNode *mosaic_blk_node_new(const char *what, const char *label,
                                              const char *driver, const char *const *kv,
                                              MosaicError *err);
/* Closes a node that nothing uses (no parent, no user) and drops it from the graph;
 * its dirty bitmaps go with it, none is stored into its image. */
MOSAIC_API bool mosaic_blk_node_delete(MosaicBlkNode *node, MosaicError *err);
/* Whether a node has parents or users. */
MOSAIC_API bool mosaic_blk_node_in_use(const MosaicBlkNode *node);
/* The node of the i-th child edge of `node` (open order), NULL past the last. */
MOSAIC_API MosaicBlkNode *mosaic_blk_node_child(const MosaicBlkNode *node, unsigned i);
/* A request straight to `node` (below any filter a job inserted above it): `done` runs
 * later on the main loop thread.  Not held by drained sections: check
 * mosaic_job_may_issue (mosaic/job.h) before issuing. */
MOSAIC_API void mosaic_blk_node_submit(MosaicBlkNode *node, MosaicBlkReq *req,
                                       MosaicBlkDone *done, void *opaque);
/* Drained sections: between begin and end nothing is in flight anywhere in the graph;
 * users' new requests wait, in order.  Nestable.  Graph changes of one point in time
 * (a transaction) go inside one. */
MOSAIC_API void mosaic_blk_drain_begin(void);
MOSAIC_API void mosaic_blk_drain_end(void);
/* `filter` (a node whose first child is `node`) takes the place of `node` for every
 * parent and user of `node`; remove gives them the filter's first child back. */
MOSAIC_API bool mosaic_blk_insert_filter(MosaicBlkNode *filter, MosaicBlkNode *node,
                                         MosaicError *err);
MOSAIC_API bool mosaic_blk_remove_filter(MosaicBlkNode *filter, MosaicError *err);
/* The name of a permitted block driver with capability `cap` (MOSAIC_BLK_CAP_*; `what`
 * names it in the error), or of the protocol driver for a URI's scheme; NULL + err when
 * none is installed or permitted. */
MOSAIC_API const char *mosaic_blk_driver_with_cap(uint32_t cap, const char *what,
                                                  MosaicError *err);
MOSAIC_API const char *mosaic_blk_driver_for_uri(const char *uri, MosaicError *err);
/* Whether `name` is a permitted image format driver (one that sits over a `file`). */
MOSAIC_API bool mosaic_blk_format_exists(const char *name, MosaicError *err);
/* The core's built-in `defer-flush` filter (children: `file`) turns flushes into no-ops
 * until this is called on its node: a new backup target is worth nothing before the
 * job's final flush, so the format driver's metadata flushes would only slow it. */
MOSAIC_API void mosaic_blk_defer_flush_release(MosaicBlkNode *node);

/* ---- for users (devices, exports) ---- */
/* `machine` may be NULL (there is one graph per process). */
MOSAIC_API MosaicBlk *mosaic_blk_attach(MosaicMachine *machine, const char *label, bool write,
                                        MosaicError *err);
MOSAIC_API void mosaic_blk_detach(MosaicBlk *blk);
MOSAIC_API uint64_t mosaic_blk_length(const MosaicBlk *blk);
MOSAIC_API bool mosaic_blk_read_only(const MosaicBlk *blk);
/* Main loop thread (core lock held); `done` runs later on the main loop thread. */
MOSAIC_API void mosaic_blk_submit(MosaicBlk *blk, MosaicBlkReq *req, MosaicBlkDone *done,
                                  void *opaque);

#ifdef __cplusplus
}
#endif
#endif
