/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Block graph: file and raw drivers, the request path (worker pools, completions on
 * the main loop), fail-closed filters and runtime insert/remove of a filter under
 * concurrent I/O with a data check. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <mosaic/mosaic.h>

#include "block/block.h"
#include "block/block-internal.h"
#include "loop/loop.h"
#include "plugin/registry.h"
#include "blk-harness.h"

#define MB (1u << 20)
#define BS 4096

/* ---- a test filter: passes read, write and flush, later, from a BH ---- */
typedef struct Held {
    MosaicBlkReq *req;
    void *token;
} Held;
typedef struct TFilter {
    MosaicBlkChild *child;
    GQueue held;
    MosaicBH *bh;
    int seen;
} TFilter;
static TFilter *last_filter;

static void tf_done(void *opaque, int ret)
{
    mosaic_blk_complete(opaque, ret);
}

static void tf_release(void *opaque)
{
    TFilter *f = opaque;
    Held *h;
    while ((h = g_queue_pop_head(&f->held))) {
        mosaic_blk_child_submit(f->child, h->req, tf_done, h->token);
        g_free(h);
    }
}

static void *tf_open(MosaicBlkNode *node, const MosaicProps *props, MosaicError *err)
{
    TFilter *f = g_new0(TFilter, 1);
    f->child = mosaic_blk_open_child(node, props, "file", true, err);
    if (!f->child) {
        g_free(f);
        return NULL;
    }
    f->bh = mosaic_bh_new(tf_release, f);
    last_filter = f;
    return f;
}

static void tf_close(void *s)
{
    TFilter *f = s;
    mosaic_bh_free(f->bh);
    g_free(f);
}

static void tf_submit(void *s, MosaicBlkReq *req, void *token)
{
    TFilter *f = s;
    Held *h = g_new0(Held, 1);
    h->req = req;
    h->token = token;
    f->seen++;
    g_queue_push_tail(&f->held, h);
    mosaic_bh_schedule(f->bh);
}

static void tf_drain(void *s)
{
    tf_release(s);
}

static const MosaicPropDesc tf_props[] = {
    {.key = "file", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED},
    {NULL},
};
static const MosaicBlkDriverOps tf_ops = {
    .size = sizeof(MosaicBlkDriverOps),
    .passes = MOSAIC_BLK_PASS(MOSAIC_BLK_READ) | MOSAIC_BLK_PASS(MOSAIC_BLK_WRITE) |
              MOSAIC_BLK_PASS(MOSAIC_BLK_FLUSH),
    .open = tf_open, .close = tf_close, .submit = tf_submit, .drain = tf_drain,
};
static const MosaicPluginDesc tf_desc = {
    .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
    .size = sizeof(MosaicPluginDesc), .kind = MOSAIC_KIND_BLOCK_FILTER,
    .kind_abi = MOSAIC_BLOCK_ABI, .name = "test-delay", .version = "1", .license = "MIT",
    .description = "test filter", .props = tf_props, .ops = &tf_ops,
};

/* ---- a test filter with a second child (as copy-before-write has its target) ---- */
typedef struct TPair {
    MosaicBlkChild *file, *second;
} TPair;

static void *tp_open(MosaicBlkNode *node, const MosaicProps *props, MosaicError *err)
{
    TPair *p = g_new0(TPair, 1);
    p->file = mosaic_blk_open_child(node, props, "file", true, err);
    p->second = p->file ? mosaic_blk_open_child(node, props, "second", true, err) : NULL;
    if (!p->second) {
        g_free(p);
        return NULL;
    }
    return p;
}

static void tp_close(void *s)
{
    g_free(s);
}

static int tp_io(void *s, MosaicBlkReq *req)
{
    return mosaic_blk_child_io(((TPair *)s)->file, req);
}

static const MosaicPropDesc tp_props[] = {
    {.key = "file", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED},
    {.key = "second", .type = MOSAIC_PROP_REF, .choices = "blockdev",
     .flags = MOSAIC_PROP_REQUIRED},
    {NULL},
};
static const MosaicBlkDriverOps tp_ops = {
    .size = sizeof(MosaicBlkDriverOps), .passes = MOSAIC_BLK_PASS_ALL,
    .open = tp_open, .close = tp_close, .io = tp_io,
};
static const MosaicPluginDesc tp_desc = {
    .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
    .size = sizeof(MosaicPluginDesc), .kind = MOSAIC_KIND_BLOCK_FILTER,
    .kind_abi = MOSAIC_BLOCK_ABI, .name = "test-pair", .version = "1", .license = "MIT",
    .description = "test filter with two children", .props = tp_props, .ops = &tp_ops,
};

/* ---- a test format with a backing file named outside any machine file (as qcow2's
 * header names one); the name and format come from the test ---- */
static const char *overlay_backing_name, *overlay_backing_format;

typedef struct TOverlay {
    MosaicBlkChild *file, *backing;
} TOverlay;

static void *to_open(MosaicBlkNode *node, const MosaicProps *props, MosaicError *err)
{
    TOverlay *o = g_new0(TOverlay, 1);
    o->file = mosaic_blk_open_child(node, props, "file", false, err);
    o->backing = o->file ? mosaic_blk_open_image(node, overlay_backing_name,
                                                 overlay_backing_format, err) : NULL;
    if (!o->backing) {
        g_free(o);
        return NULL;
    }
    mosaic_blk_node_set_length(node, mosaic_blk_child_length(o->backing));
    mosaic_blk_node_set_read_only(node, true);
    return o;
}

static void to_close(void *s)
{
    g_free(s);
}

static int to_io(void *s, MosaicBlkReq *req)
{
    return mosaic_blk_child_io(((TOverlay *)s)->backing, req); /* reads show the backing */
}

/* A format whose header is "TMAG". */
static bool tm_probe(const uint8_t *buf, size_t len)
{
    return len >= 4 && !memcmp(buf, "TMAG", 4);
}

static const MosaicPropDesc to_props[] = {
    {.key = "file", .type = MOSAIC_PROP_REF, .choices = "blockdev", .flags = MOSAIC_PROP_REQUIRED},
    {.key = "read-only", .type = MOSAIC_PROP_BOOL, .defval = "on"},
    {NULL},
};
static const MosaicBlkDriverOps to_ops = {
    .size = sizeof(MosaicBlkDriverOps), .open = to_open, .close = to_close, .io = to_io,
};
static const MosaicBlkDriverOps tm_ops = {
    .size = sizeof(MosaicBlkDriverOps), .open = to_open, .close = to_close, .io = to_io,
    .probe = tm_probe,
};
static const MosaicPluginDesc to_desc = {
    .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
    .size = sizeof(MosaicPluginDesc), .kind = MOSAIC_KIND_BLOCK, .kind_abi = MOSAIC_BLOCK_ABI,
    .name = "test-overlay", .version = "1", .license = "MIT",
    .description = "test format with a backing file", .props = to_props, .ops = &to_ops,
};
static const MosaicPluginDesc tm_desc = {
    .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
    .size = sizeof(MosaicPluginDesc), .kind = MOSAIC_KIND_BLOCK, .kind_abi = MOSAIC_BLOCK_ABI,
    .name = "test-magic", .version = "1", .license = "MIT",
    .description = "test format recognised by its header", .props = to_props, .ops = &tm_ops,
};

/* ---- helpers ---- */
static char *tmpdir;
static MosaicConfig *cfg;

static char *make_image(const char *name, guint64 size)
{
    return blk_harness_image(tmpdir, name, size);
}

/* The error of building the graph from `text`, or NULL when it works. */
static char *build_error(const char *text)
{
    GError *err = NULL;
    blk_graph_close();
    if (cfg)
        config_free(cfg);
    g_autofree char *full = g_strconcat("[machine]\ntype = none\n", text, NULL);
    cfg = config_load_string("test.ini", full, NULL, &err);
    g_assert_no_error(err);
    config_validate(cfg, &err);
    g_assert_no_error(err);
    if (blk_graph_build(cfg, &err))
        return NULL;
    char *msg = g_strdup(err->message);
    g_error_free(err);
    return msg;
}

static void build(const char *text)
{
    g_autofree char *msg = build_error(text);
    g_assert_cmpstr(msg, ==, NULL);
}

static char *file_node_error(const char *path, gboolean ro)
{
    g_autofree char *ini = g_strdup_printf("[blockdev f]\ndriver = file\nfilename = %s\n"
                                           "read-only = %s\n", path, ro ? "on" : "off");
    return build_error(ini);
}

static int blk_rw(MosaicBlk *b, int type, guint64 off, void *buf, guint64 len)
{
    struct iovec iov = {buf, len};
    MosaicBlkReq req = {.size = sizeof req, .type = type, .offset = off, .bytes = len,
                        .iov = &iov, .niov = 1};
    Sync s = {0};
    mosaic_blk_submit(b, &req, sync_cb, &s);
    g_assert_cmpint(s.done, ==, 0); /* never completes inside submit */
    while (!s.done)
        loop_iterate(true);
    return s.ret;
}

static void test_raw_file(void)
{
    g_autofree char *img = make_image("a.img", 4 * MB);
    g_autofree char *ini = g_strdup_printf("[blockdev f]\ndriver = file\nfilename = %s\n"
                                           "[blockdev r]\ndriver = raw\nfile = f\n"
                                           "offset = 1M\nsize = 2M\n", img);
    build(ini);
    MosaicError *e = NULL;
    MosaicBlk *b = mosaic_blk_attach(NULL, "r", true, e);
    g_assert_nonnull(b);
    g_assert_cmpuint(mosaic_blk_length(b), ==, 2 * MB);
    guint8 buf[BS], back[BS];
    memset(buf, 0xa5, sizeof buf);
    g_assert_cmpint(blk_rw(b, MOSAIC_BLK_WRITE, 8192, buf, BS), ==, 0);
    g_assert_cmpint(blk_rw(b, MOSAIC_BLK_READ, 8192, back, BS), ==, 0);
    g_assert_cmpmem(buf, BS, back, BS);
    /* The window: the data went to 1M + 8K of the file. */
    g_autofree char *data = NULL;
    gsize len;
    g_assert_true(g_file_get_contents(img, &data, &len, NULL));
    g_assert_cmpmem(data + MB + 8192, BS, buf, BS);
    /* Past the end: refused, nothing written. */
    g_assert_cmpint(blk_rw(b, MOSAIC_BLK_WRITE, 2 * MB - 100, buf, BS), ==, -EINVAL);
    g_assert_cmpint(blk_rw(b, MOSAIC_BLK_FLUSH, 0, NULL, 0), ==, 0);
    mosaic_blk_detach(b);
    /* A reader cannot write. */
    b = mosaic_blk_attach(NULL, "r", false, NULL);
    g_assert_cmpint(blk_rw(b, MOSAIC_BLK_WRITE, 0, buf, BS), ==, -EPERM);
    mosaic_blk_detach(b);
}

/* A write through an async filter over a blocking driver: one hop to the worker,
 * one back to the main loop, and one completion round there.  The filter completes
 * from its child's completion callback, which must not cost another round. */
static void test_async_filter_rounds(void)
{
    g_autofree char *img = make_image("rounds.img", MB);
    g_autofree char *ini = g_strdup_printf("[blockdev f]\ndriver = file\nfilename = %s\n"
                                           "[blockdev t]\ndriver = test-delay\nfile = f\n", img);
    build(ini);
    MosaicBlk *b = mosaic_blk_attach(NULL, "t", true, NULL);
    guint8 buf[BS] = {1};
    BlkIoStats before, after;
    blk_io_stats(&before);
    g_assert_cmpint(blk_rw(b, MOSAIC_BLK_WRITE, 0, buf, BS), ==, 0);
    blk_io_stats(&after);
    g_assert_cmpuint(after.to_worker - before.to_worker, ==, 1);
    g_assert_cmpuint(after.to_main - before.to_main, ==, 1);
    g_assert_cmpuint(after.completion_rounds - before.completion_rounds, ==, 1);
    mosaic_blk_detach(b);
}

static void test_locking(void)
{
    g_autofree char *img = make_image("lock.img", MB);
    g_autofree char *ini = g_strdup_printf("[machine]\ntype = none\n[blockdev f]\ndriver = file\nfilename = %s\n"
                                           "[blockdev g]\ndriver = file\nfilename = %s\n", img, img);
    GError *err = NULL;
    blk_graph_close();
    MosaicConfig *c = config_load_string("lock.ini", ini, NULL, &err);
    g_assert_true(config_validate(c, &err));
    g_assert_false(blk_graph_build(c, &err));
    g_assert_nonnull(strstr(err->message, "in use"));
    g_clear_error(&err);
    blk_graph_close();
    config_free(c);
}

static void test_filter_fails_closed(void)
{
    g_autofree char *img = make_image("b.img", MB);
    g_autofree char *ini = g_strdup_printf("[blockdev f]\ndriver = file\nfilename = %s\n"
                                           "[blockdev t]\ndriver = test-delay\nfile = f\n", img);
    build(ini);
    MosaicBlk *b = mosaic_blk_attach(NULL, "t", true, NULL);
    guint8 buf[BS] = {1};
    g_assert_cmpint(blk_rw(b, MOSAIC_BLK_WRITE, 0, buf, BS), ==, 0);
    g_assert_cmpint(last_filter->seen, ==, 1);
    /* discard and write-zeroes are not in `passes`: refused, never forwarded. */
    MosaicBlkReq req = {.size = sizeof req, .type = MOSAIC_BLK_DISCARD, .offset = 0, .bytes = BS};
    Sync s = {0};
    mosaic_blk_submit(b, &req, sync_cb, &s);
    while (!s.done)
        loop_iterate(true);
    g_assert_cmpint(s.ret, ==, -ENOTSUP);
    g_assert_cmpint(last_filter->seen, ==, 1);
    mosaic_blk_detach(b);
}

/* ---- insert/remove under load ---- */
#define SLOTS 16
typedef struct Slot {
    MosaicBlk *blk;
    int idx;
    guint32 gen;
    gboolean reading;
    guint8 buf[BS];
    struct iovec iov;
    MosaicBlkReq req;
    int *errors;
    int *ops;
    gboolean *stop;
    gboolean idle;
} Slot;

static void slot_next(Slot *s);

static void slot_done(void *opaque, int ret)
{
    Slot *s = opaque;
    (*s->ops)++;
    if (ret)
        (*s->errors)++;
    if (s->reading) {
        guint32 *w = (guint32 *)s->buf;
        for (int i = 0; i < BS / 4; i++)
            if (w[i] != ((guint32)s->idx << 24 | s->gen)) {
                (*s->errors)++;
                break;
            }
        s->gen++;
    }
    s->reading = !s->reading;
    slot_next(s);
}

static void slot_next(Slot *s)
{
    if (*s->stop && !s->reading) {
        s->idle = TRUE;
        return;
    }
    if (!s->reading) {
        guint32 *w = (guint32 *)s->buf;
        for (int i = 0; i < BS / 4; i++)
            w[i] = (guint32)s->idx << 24 | s->gen;
    } else {
        memset(s->buf, 0, BS);
    }
    s->iov = (struct iovec){s->buf, BS};
    s->req = (MosaicBlkReq){.size = sizeof s->req,
                            .type = s->reading ? MOSAIC_BLK_READ : MOSAIC_BLK_WRITE,
                            .offset = (guint64)s->idx * BS, .bytes = BS, .iov = &s->iov,
                            .niov = 1};
    mosaic_blk_submit(s->blk, &s->req, slot_done, s);
}

static void test_insert_remove_under_io(void)
{
    g_autofree char *img = make_image("c.img", MB);
    g_autofree char *ini = g_strdup_printf("[blockdev f]\ndriver = file\nfilename = %s\n"
                                           "[blockdev r]\ndriver = raw\nfile = f\n"
                                           "[blockdev t]\ndriver = test-delay\nfile = r\n", img);
    build(ini);
    MosaicBlk *b = mosaic_blk_attach(NULL, "r", true, NULL);
    MosaicBlkNode *r = blk_node_find("r"), *t = blk_node_find("t");
    int errors = 0, ops = 0;
    gboolean stop = FALSE;
    Slot *slots = g_new0(Slot, SLOTS);
    for (int i = 0; i < SLOTS; i++) {
        slots[i] = (Slot){.blk = b, .idx = i, .gen = 1, .errors = &errors, .ops = &ops,
                          .stop = &stop};
        slot_next(&slots[i]);
    }
    GError *err = NULL;
    int seen_before = last_filter->seen;
    for (int round = 0; round < 40; round++) {
        for (int k = 0; k < 20; k++)
            loop_iterate(false);
        if (round % 2 == 0)
            g_assert_true(blk_insert_filter(t, r, &err));
        else
            g_assert_true(blk_remove_filter(t, &err));
        g_assert_no_error(err);
        blk_drain_begin(); /* what the graph changes do: nothing in flight inside */
        g_assert_cmpuint(blk_inflight(), ==, 0);
        blk_drain_end();
    }
    /* Inserting twice, or a node that is not above r, is refused. */
    g_assert_true(blk_insert_filter(t, r, &err));
    g_assert_false(blk_insert_filter(t, r, &err));
    g_clear_error(&err);
    for (int k = 0; k < 50; k++)
        loop_iterate(false);
    stop = TRUE;
    for (int guard = 0; guard < 100000; guard++) {
        gboolean all = TRUE;
        for (int i = 0; i < SLOTS; i++)
            all = all && slots[i].idle;
        if (all)
            break;
        loop_iterate(true);
    }
    g_assert_cmpint(errors, ==, 0);
    g_assert_cmpint(ops, >, 200);
    g_assert_cmpint(last_filter->seen, >, seen_before);
    /* Final contents: each slot's last generation written. */
    guint8 buf[BS];
    for (int i = 0; i < SLOTS; i++) {
        g_assert_cmpint(blk_rw(b, MOSAIC_BLK_READ, (guint64)i * BS, buf, BS), ==, 0);
        g_assert_cmpuint(((guint32 *)buf)[0], ==, (guint32)i << 24 | (slots[i].gen - 1));
    }
    g_test_message("%d requests, filter saw %d", ops, last_filter->seen);
    g_assert_true(blk_remove_filter(t, &err));
    mosaic_blk_detach(b);
    g_free(slots);
}

static void test_block_status(void)
{
    g_autofree char *img = make_image("d.img", 4 * MB);
    g_autofree char *ini = g_strdup_printf("[blockdev f]\ndriver = file\nfilename = %s\n", img);
    build(ini);
    MosaicBlk *b = mosaic_blk_attach(NULL, "f", true, NULL);
    guint8 buf[BS];
    memset(buf, 7, BS);
    g_assert_cmpint(blk_rw(b, MOSAIC_BLK_WRITE, MB, buf, BS), ==, 0);
    MosaicBlkReq req = {.size = sizeof req, .type = MOSAIC_BLK_BLOCK_STATUS, .offset = 0,
                        .bytes = 4 * MB};
    Sync s = {0};
    mosaic_blk_submit(b, &req, sync_cb, &s);
    while (!s.done)
        loop_iterate(true);
    g_assert_cmpint(s.ret, ==, 0);
    g_assert_cmpuint(req.status & MOSAIC_BLK_STATUS_DATA, ==, 0);
    g_assert_cmpuint(req.status_bytes, <=, MB);
    mosaic_blk_detach(b);
}

static void test_replace_child(void)
{
    g_autofree char *i1 = make_image("r1.img", MB), *i2 = make_image("r2.img", MB);
    g_autofree char *ini = g_strdup_printf("[blockdev f1]\ndriver = file\nfilename = %s\n"
                                           "[blockdev f2]\ndriver = file\nfilename = %s\n"
                                           "[blockdev r]\ndriver = raw\nfile = f1\n", i1, i2);
    build(ini);
    MosaicBlk *b = mosaic_blk_attach(NULL, "r", true, NULL);
    guint8 buf[BS], back[BS];
    memset(buf, 0x42, BS);
    g_assert_cmpint(blk_rw(b, MOSAIC_BLK_WRITE, 0, buf, BS), ==, 0);
    GError *err = NULL;
    g_assert_true(blk_replace_child(blk_node_find("r"), "file", blk_node_find("f2"), &err));
    g_assert_cmpint(blk_rw(b, MOSAIC_BLK_READ, 0, back, BS), ==, 0);
    g_assert_cmpuint(back[0], ==, 0); /* now reading f2 */
    g_assert_false(blk_replace_child(blk_node_find("r"), "nope", blk_node_find("f1"), &err));
    g_clear_error(&err);
    g_assert_false(blk_replace_child(blk_node_find("r"), "file", blk_node_find("r"), &err));
    g_clear_error(&err);
    g_assert_true(blk_replace_child(blk_node_find("r"), "file", blk_node_find("f1"), &err));
    g_assert_cmpint(blk_rw(b, MOSAIC_BLK_READ, 0, back, BS), ==, 0);
    g_assert_cmpuint(back[0], ==, 0x42);
    mosaic_blk_detach(b);
}

/* A cycle through a filter's second child: r -> file -> p -> second -> r.  Its next
 * write would never complete. */
static void test_replace_child_cycle_second_child(void)
{
    g_autofree char *i1 = make_image("c1.img", MB), *i2 = make_image("c2.img", MB);
    g_autofree char *ini = g_strdup_printf("[blockdev f1]\ndriver = file\nfilename = %s\n"
                                           "[blockdev f2]\ndriver = file\nfilename = %s\n"
                                           "[blockdev r]\ndriver = raw\nfile = f1\n"
                                           "[blockdev p]\ndriver = test-pair\nfile = f2\n"
                                           "second = r\n", i1, i2);
    build(ini);
    MosaicBlkNode *r = blk_node_find("r"), *p = blk_node_find("p"), *f1 = blk_node_find("f1");
    GError *err = NULL;
    g_assert_false(blk_replace_child(r, "file", p, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "cycle"));
    g_clear_error(&err);
    /* Nothing changed: a write through r completes and lands in f1. */
    MosaicBlk *b = mosaic_blk_attach(NULL, "r", true, NULL);
    guint8 buf[BS];
    memset(buf, 0x5c, BS);
    g_assert_cmpint(blk_rw(b, MOSAIC_BLK_WRITE, 0, buf, BS), ==, 0);
    mosaic_blk_detach(b);
    g_autofree char *data = NULL;
    gsize len;
    g_assert_true(g_file_get_contents(i1, &data, &len, NULL));
    g_assert_cmpmem(data, BS, buf, BS);
    /* Inserting p above f2 would move r's edge onto p, whose second child is r. */
    MosaicBlkNode *f2 = blk_node_find("f2");
    g_assert_true(blk_replace_child(r, "file", f2, &err));
    g_assert_false(blk_insert_filter(p, f2, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "cycle"));
    g_clear_error(&err);
    g_assert_true(blk_replace_child(r, "file", f1, &err));
    /* Sharing a node is no cycle: p over f1 and r (which is over f1 too). */
    g_assert_true(blk_replace_child(p, "file", f1, &err));
    g_assert_no_error(err);
}

/* Only regular files and block devices: /proc/self/mem (whose size lseek cannot tell)
 * would show Mosaic's own memory, a FIFO would block the open for ever. */
static void test_file_refuses_odd_files(void)
{
    alarm(120); /* hang guard only: an open that blocks must fail the test, not hang it */
    g_autofree char *fifo = g_build_filename(tmpdir, "fifo", NULL);
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    const struct {
        const char *path;
        gboolean ro;
        const char *expect;
    } cases[] = {
        {"/proc/self/mem", TRUE, "cannot tell the size of /proc/self/mem"},
        {"/proc/self/mem", FALSE, "cannot tell the size of /proc/self/mem"},
        {fifo, TRUE, "is a FIFO, not a regular file or block device"},
        {fifo, FALSE, "is a FIFO, not a regular file or block device"},
        {tmpdir, TRUE, "is a directory, not a regular file or block device"},
        {"/dev/zero", TRUE, "is a character device, not a regular file or block device"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *msg = file_node_error(cases[i].path, cases[i].ro);
        g_test_message("%s: %s", cases[i].path, msg ? msg : "(opened)");
        g_assert_nonnull(msg);
        g_assert_nonnull(strstr(msg, cases[i].expect));
        g_assert_nonnull(strstr(msg, "test.ini:")); /* names where the file was set */
    }
    alarm(0);
    g_assert_null(blk_node_find("f"));
}

/* The overlay node "o" over file "of" with the backing file named `name` in `format`:
 * NULL when it opens (and then its first 4 KiB are read into `head`), else the error. */
static char *open_overlay(const char *name, const char *format, guint8 *head)
{
    g_autofree char *ov = make_image("overlay.img", MB);
    overlay_backing_name = name;
    overlay_backing_format = format;
    g_autofree char *ini = g_strdup_printf("[blockdev of]\ndriver = file\nfilename = %s\n"
                                           "read-only = on\n"
                                           "[blockdev o]\ndriver = test-overlay\nfile = of\n",
                                           ov);
    char *msg = build_error(ini);
    if (!msg) {
        MosaicBlk *b = mosaic_blk_attach(NULL, "o", false, NULL);
        g_assert_cmpint(blk_rw(b, MOSAIC_BLK_READ, 0, head, BS), ==, 0);
        mosaic_blk_detach(b);
    }
    return msg;
}

/* Backing file names are no INI text: ';', '#', spaces and 250 characters are fine. */
static void test_backing_odd_names(void)
{
    g_autofree char *longpart = g_strnfill(200, 'n');
    g_autofree char *name = g_strdup_printf("odd ;name# [x] = %s.img", longpart);
    g_autofree char *path = make_image(name, MB);
    guint8 data[BS], head[BS];
    memset(data, 0x3c, BS);
    g_assert_true(g_file_set_contents(path, (char *)data, BS, NULL));
    /* relative to the overlay, as images name their backing files */
    g_autofree char *msg = open_overlay(name, "raw", head);
    g_assert_null(msg);
    g_assert_cmpmem(head, BS, data, BS);
    g_autofree char *msg2 = open_overlay(path, "raw", head); /* and absolute */
    g_assert_null(msg2);
    g_assert_cmpmem(head, BS, data, BS);
}

/* No format is ever guessed; the message says what the header looks like and how to
 * record the format.  A FIFO or /proc/self/mem as backing file is refused, not read. */
static void test_backing_needs_format(void)
{
    alarm(120); /* hang guard only */
    g_autofree char *raw = make_image("plain.img", MB);
    guint8 head[BS];
    g_autofree char *m1 = open_overlay("plain.img", NULL, head);
    g_assert_nonnull(m1);
    g_test_message("%s", m1);
    g_assert_nonnull(strstr(m1, "the image does not name the backing file's format, and "
                                "Mosaic does not guess it; record it with: qemu-img rebase -u "
                                "-F FORMAT -b 'plain.img' "));
    g_autofree char *tm = make_image("magic.img", MB);
    g_assert_true(g_file_set_contents(tm, "TMAG and more", -1, NULL));
    g_autofree char *m2 = open_overlay("magic.img", "", head);
    g_assert_nonnull(m2);
    g_assert_nonnull(strstr(m2, "(its header is test-magic); record it with: qemu-img rebase "
                                "-u -F test-magic -b 'magic.img' "));
    g_autofree char *m3 = open_overlay("plain.img", "file", head);
    g_assert_nonnull(m3);
    g_assert_nonnull(strstr(m3, "format 'file': 'file' is not an image format"));
    g_autofree char *m4 = open_overlay("plain.img", "nosuch", head);
    g_assert_nonnull(m4);
    g_assert_nonnull(strstr(m4, "format 'nosuch': no block plugin 'nosuch'"));

    g_autofree char *fifo = g_build_filename(tmpdir, "backing-fifo", NULL);
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    g_autofree char *m5 = open_overlay(fifo, "raw", head);
    g_assert_nonnull(m5);
    g_assert_nonnull(strstr(m5, "is a FIFO, not a regular file or block device"));
    g_autofree char *m6 = open_overlay("/proc/self/mem", "raw", head);
    g_assert_nonnull(m6);
    g_assert_nonnull(strstr(m6, "cannot tell the size of /proc/self/mem"));
    alarm(0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    blk_harness_init();
    plugin_registry_add_builtin(&tf_desc);
    plugin_registry_add_builtin(&tp_desc);
    plugin_registry_add_builtin(&to_desc);
    plugin_registry_add_builtin(&tm_desc);
    tmpdir = g_dir_make_tmp("test-block-XXXXXX", NULL);
    g_test_add_func("/block/raw-file", test_raw_file);
    g_test_add_func("/block/locking", test_locking);
    g_test_add_func("/block/async-filter-rounds", test_async_filter_rounds);
    g_test_add_func("/block/filter-fails-closed", test_filter_fails_closed);
    g_test_add_func("/block/insert-remove-under-io", test_insert_remove_under_io);
    g_test_add_func("/block/block-status", test_block_status);
    g_test_add_func("/block/replace-child", test_replace_child);
    g_test_add_func("/block/replace-child-cycle-second-child",
                    test_replace_child_cycle_second_child);
    g_test_add_func("/block/file-refuses-odd-files", test_file_refuses_odd_files);
    g_test_add_func("/block/backing-odd-names", test_backing_odd_names);
    g_test_add_func("/block/backing-needs-format", test_backing_needs_format);
    int ret = g_test_run();
    blk_graph_close();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    if (system(cmd)) {}
    return ret;
}
