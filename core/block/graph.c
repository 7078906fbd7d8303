/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Nodes and edges of the block graph: building it from [blockdev] sections in
 * dependency order, children, users, and runtime changes under a drained section. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/block-internal.h"
#include "block/bitmap.h"
#include "block/job.h"
#include "plugin/registry.h"
#include "plugin/error.h"

G_DEFINE_QUARK(mosaic-block-error-quark, blk_error)

static GHashTable *nodes;     /* label -> MosaicBlkNode* (owned) */
static GPtrArray *node_order; /* in creation order (children first) */
static guint anon_count;

static void graph_init(void)
{
    if (!nodes) {
        nodes = g_hash_table_new(g_str_hash, g_str_equal);
        node_order = g_ptr_array_new();
    }
}

MosaicBlkNode *blk_node_find(const char *label)
{
    return nodes && label ? g_hash_table_lookup(nodes, label) : NULL;
}

GPtrArray *blk_all_nodes(void)
{
    graph_init();
    GPtrArray *a = g_ptr_array_new();
    for (guint i = 0; i < node_order->len; i++)
        g_ptr_array_add(a, g_ptr_array_index(node_order, i));
    return a;
}

static void node_free(MosaicBlkNode *n)
{
    if (n->ops.close && n->state)
        n->ops.close(n->state);
    if (n->pool)
        g_thread_pool_free(n->pool, FALSE, TRUE);
    for (guint i = 0; i < n->children->len; i++) {
        MosaicBlkChild *c = g_ptr_array_index(n->children, i);
        if (c->node)
            g_ptr_array_remove(c->node->parents, c);
        g_free(c->name);
        g_free(c);
    }
    g_ptr_array_free(n->children, TRUE);
    g_ptr_array_free(n->parents, TRUE);
    g_ptr_array_free(n->users, TRUE);
    if (n->own_cfg)
        config_free(n->own_cfg);
    g_free(n->filename);
    g_free(n->label);
    g_free(n);
}

MosaicBlkNode *blk_node_open(const MosaicConfig *cfg, const char *label, GError **err)
{
    graph_init();
    MosaicBlkNode *n = g_hash_table_lookup(nodes, label);
    if (n)
        return n;
    const MosaicProps *props = config_find(cfg, "blockdev", label);
    if (!props) {
        g_set_error(err, BLK_ERROR, 0, "no [blockdev %s] in the machine file", label);
        return NULL;
    }
    const MosaicPluginDesc *desc = config_props_plugin(props);
    if (!desc) {
        g_set_error(err, BLK_ERROR, 0, "%s: [blockdev %s]: no block driver '%s'",
                    mosaic_props_where(props, "driver"), label,
                    mosaic_props_get_str(props, "driver"));
        return NULL;
    }
    if (!plugin_registry_require(desc, mosaic_props_where(props, "driver"), err))
        return NULL;
    n = g_new0(MosaicBlkNode, 1);
    n->label = g_strdup(label);
    n->desc = desc;
    n->is_filter = desc->kind == MOSAIC_KIND_BLOCK_FILTER;
    const MosaicBlkDriverOps *ops = desc->ops;
    memcpy(&n->ops, ops, MIN(ops->size, sizeof n->ops));
    n->children = g_ptr_array_new();
    n->parents = g_ptr_array_new();
    n->users = g_ptr_array_new();
    n->cfg = cfg;
    /* Registered before open so a child that names us is a cycle error, not a loop
     * (config validation already refuses reference cycles). */
    g_hash_table_insert(nodes, n->label, n);
    MosaicError me = MOSAIC_ERROR_INIT;
    n->state = n->ops.open(n, props, &me);
    if (!n->state) {
        GError *e = plugin_error_take(&me, "block driver open");
        g_set_error(err, BLK_ERROR, 0, "[blockdev %s] (%s): %s", label, desc->name, e->message);
        g_error_free(e);
        g_hash_table_remove(nodes, label);
        n->ops.close = NULL;
        node_free(n);
        return NULL;
    }
    plugin_error_clear(&me);
    if (!n->length_set && n->children->len) {
        MosaicBlkChild *c = g_ptr_array_index(n->children, 0);
        n->length = c->node->length;
    }
    g_ptr_array_add(node_order, n);
    return n;
}

static const MosaicConfig *main_cfg;

const MosaicConfig *blk_main_config(void)
{
    return main_cfg;
}

gboolean blk_graph_build(const MosaicConfig *cfg, GError **err)
{
    main_cfg = cfg;
    guint count = config_count(cfg, "blockdev");
    for (guint i = 0; i < count; i++) {
        const MosaicProps *p = config_get(cfg, "blockdev", i);
        if (!blk_node_open(cfg, mosaic_props_label(p), err))
            return FALSE;
    }
    blk_bitmaps_graph_opened(); /* persistent bitmaps (core/block/bitmap-persist.c) */
    return TRUE;
}

void blk_graph_close(void)
{
    if (!nodes)
        return;
    blk_jobs_shutdown();         /* backup jobs (core/block/job.c) end first */
    blk_drain_begin();
    blk_bitmaps_graph_closing(); /* persistent bitmaps are stored clean */
    /* Parents before children: reverse creation order. */
    for (guint i = node_order->len; i-- > 0;)
        node_free(g_ptr_array_index(node_order, i));
    g_ptr_array_set_size(node_order, 0);
    g_hash_table_remove_all(nodes);
    blk_drain_end();
}

void blk_node_link(MosaicBlkChild *c, MosaicBlkNode *node)
{
    if (c->node)
        g_ptr_array_remove(c->node->parents, c);
    c->node = node;
    if (node)
        g_ptr_array_add(node->parents, c);
}

static MosaicBlkChild *child_new(MosaicBlkNode *parent, MosaicBlkNode *node, const char *name,
                                 gboolean write)
{
    MosaicBlkChild *c = g_new0(MosaicBlkChild, 1);
    c->parent = parent;
    c->name = g_strdup(name);
    c->write = write;
    blk_node_link(c, node);
    g_ptr_array_add(parent->children, c);
    return c;
}

MOSAIC_API MosaicBlkChild *mosaic_blk_open_child(MosaicBlkNode *node, const MosaicProps *props,
                                                 const char *key, bool write, MosaicError *err)
{
    const char *label = mosaic_props_has(props, key) ? mosaic_props_get_str(props, key) : NULL;
    if (!label || !*label) {
        mosaic_error_set(err, "%s: '%s' is required (the label of a [blockdev])",
                         mosaic_props_where(props, key), key);
        return NULL;
    }
    GError *e = NULL;
    MosaicBlkNode *child = blk_node_open(node->cfg, label, &e);
    if (!child) {
        mosaic_error_set(err, "%s: %s", mosaic_props_where(props, key), e->message);
        g_error_free(e);
        return NULL;
    }
    if (write && child->read_only && node->is_filter) {
        write = FALSE; /* a filter over a read-only node is read-only itself */
        node->read_only = TRUE;
    }
    if (write && child->read_only) {
        mosaic_error_set(err, "%s: [blockdev %s] is read-only but '%s' needs to write it",
                         mosaic_props_where(props, key), label, key);
        return NULL;
    }
    return child_new(node, child, key, write);
}

/* The host file under a node (first children down), for relative backing names. */
static const char *node_filename(MosaicBlkNode *n)
{
    while (n && !n->filename)
        n = n->children->len ? ((MosaicBlkChild *)g_ptr_array_index(n->children, 0))->node : NULL;
    return n ? n->filename : NULL;
}

static MosaicBlkChild *open_image(MosaicBlkNode *node, const char *path, const char *format,
                                  MosaicError *err);

/* A backing file whose format the image does not name is refused, never guessed: a
 * guest that writes a qcow2 header into a raw backing file would otherwise make the next
 * start read any host file it names.  The message says how to record the format. */
static void missing_format(MosaicBlkNode *node, const char *filename, const char *path,
                           MosaicError *err)
{
    const char *image = node_filename(node);
    const char *looks = blk_format_recognise(path);
    g_autofree char *quoted_name = g_shell_quote(filename);
    g_autofree char *quoted_image = g_shell_quote(image ? image : "IMAGE");
    g_autofree char *seen = looks ? g_strdup_printf(" (its header is %s)", looks)
                                  : g_strdup("");
    mosaic_error_set(err, "backing file %s of [blockdev %s]: the image does not name the "
                     "backing file's format, and Mosaic does not guess it%s; record it with: "
                     "qemu-img rebase -u -F %s -b %s %s", path, node->label, seen,
                     looks ? looks : "FORMAT", quoted_name, quoted_image);
}

MOSAIC_API MosaicBlkChild *mosaic_blk_open_image(MosaicBlkNode *node, const char *filename,
                                                 const char *format, MosaicError *err)
{
    g_autofree char *path = NULL;
    const char *base = node_filename(node);
    if (g_path_is_absolute(filename) || !base) {
        path = g_strdup(filename);
    } else {
        g_autofree char *dir = g_path_get_dirname(base);
        path = g_build_filename(dir, filename, NULL);
    }
    if (!format || !*format) {
        missing_format(node, filename, path, err);
        return NULL;
    }
    /* A chain that comes back to an image already being opened loops forever. */
    static GPtrArray *opening;
    if (!opening)
        opening = g_ptr_array_new_with_free_func(g_free);
    char *real = realpath(path, NULL);
    g_autofree char *self = base ? realpath(base, NULL) : NULL;
    if (!real) {
        mosaic_error_set(err, "backing file %s: %s", path, g_strerror(errno));
        return NULL;
    }
    gboolean loop = self && !strcmp(self, real);
    for (guint i = 0; i < opening->len; i++)
        loop |= !strcmp(g_ptr_array_index(opening, i), real);
    if (loop || opening->len >= 64) {
        mosaic_error_set(err, "backing file %s: the backing chain %s (refused)", path,
                         loop ? "loops back to an image already in it" : "is deeper than 64");
        free(real);
        return NULL;
    }
    g_ptr_array_add(opening, g_strdup(real));
    free(real);
    MosaicBlkChild *c = open_image(node, path, format, err);
    g_ptr_array_remove_index(opening, opening->len - 1);
    return c;
}

/* A read-only file node and the format node over it, built like a machine file's pair
 * of sections. */
static MosaicBlkChild *open_image(MosaicBlkNode *node, const char *path, const char *format,
                                  MosaicError *err)
{
    GError *e = NULL;
    g_autofree char *where = g_strdup_printf("%s (backing of %s)", path, node->label);
    if (!blk_format_find(format, where, &e)) {
        mosaic_error_set(err, "backing file %s: format '%s': %s", path, format, e->message);
        g_error_free(e);
        return NULL;
    }
    guint id = ++anon_count;
    g_autofree char *fl = g_strdup_printf("backing%u-file", id);
    g_autofree char *label = g_strdup_printf("backing%u", id);
    MosaicConfig *cfg = blk_node_config_new(where, NULL);
    ConfigSection *f = blk_node_config_add(cfg, fl, "file");
    config_section_set(f, "filename", path, NULL, NULL);
    config_section_set_bool(f, "read-only", TRUE);
    ConfigSection *b = blk_node_config_add(cfg, label, format);
    config_section_set(b, "file", fl, NULL, NULL);
    config_section_set_bool(b, "read-only", TRUE);
    MosaicBlkNode *child = blk_node_open_config(cfg, label, &e);
    if (!child) {
        mosaic_error_set(err, "backing file %s: %s", path, e->message);
        g_error_free(e);
        return NULL;
    }
    return child_new(node, child, "backing", FALSE);
}

MOSAIC_API const char *mosaic_blk_node_label(const MosaicBlkNode *node) { return node->label; }
MOSAIC_API const MosaicProps *mosaic_blk_node_config(const MosaicBlkNode *node, const char *kind,
                                                     const char *label)
{
    return node->cfg && kind && label ? config_find(node->cfg, kind, label) : NULL;
}
MOSAIC_API void mosaic_blk_node_set_length(MosaicBlkNode *node, uint64_t bytes)
{
    node->length = bytes;
    node->length_set = TRUE;
}
MOSAIC_API uint64_t mosaic_blk_node_length(const MosaicBlkNode *node) { return node->length; }
MOSAIC_API void mosaic_blk_node_set_read_only(MosaicBlkNode *node, bool ro) { node->read_only = ro; }
MOSAIC_API bool mosaic_blk_node_read_only(const MosaicBlkNode *node) { return node->read_only; }
MOSAIC_API uint64_t mosaic_blk_child_length(const MosaicBlkChild *c)
{
    return blk_node_cur_length(c->node);
}
MOSAIC_API bool mosaic_blk_child_read_only(const MosaicBlkChild *c) { return c->node->read_only; }

MOSAIC_API int mosaic_blk_child_io(MosaicBlkChild *c, MosaicBlkReq *req)
{
    return blk_node_io_sync(c->node, req);
}

static int child_rw(MosaicBlkChild *c, uint32_t type, uint64_t offset, void *buf, uint64_t len)
{
    struct iovec iov = {buf, len};
    MosaicBlkReq req = {.size = sizeof req, .type = type, .offset = offset, .bytes = len,
                        .iov = &iov, .niov = 1};
    return blk_node_io_sync(c->node, &req);
}

MOSAIC_API int mosaic_blk_child_pread(MosaicBlkChild *c, uint64_t offset, void *buf, uint64_t len)
{
    return child_rw(c, MOSAIC_BLK_READ, offset, buf, len);
}

MOSAIC_API int mosaic_blk_child_pwrite(MosaicBlkChild *c, uint64_t offset, const void *buf,
                                       uint64_t len)
{
    return child_rw(c, MOSAIC_BLK_WRITE, offset, (void *)buf, len);
}

MOSAIC_API int mosaic_blk_child_flush(MosaicBlkChild *c)
{
    MosaicBlkReq req = {.size = sizeof req, .type = MOSAIC_BLK_FLUSH};
    return blk_node_io_sync(c->node, &req);
}

MOSAIC_API void mosaic_blk_child_submit(MosaicBlkChild *c, MosaicBlkReq *req,
                                        MosaicBlkDone *done, void *opaque)
{
    blk_node_submit(c->node, req, done, opaque);
}

/* ---- runtime changes ---- */

static void move_parents(MosaicBlkNode *from, MosaicBlkNode *to, MosaicBlkNode *except)
{
    g_autoptr(GPtrArray) edges = g_ptr_array_copy(from->parents, NULL, NULL);
    for (guint i = 0; i < edges->len; i++) {
        MosaicBlkChild *c = g_ptr_array_index(edges, i);
        if (c->parent != except)
            blk_node_link(c, to);
    }
    for (guint i = 0; i < from->users->len; i++) {
        MosaicBlk *b = g_ptr_array_index(from->users, i);
        b->node = to;
        g_ptr_array_add(to->users, b);
    }
    g_ptr_array_set_size(from->users, 0);
}

static MosaicBlkNode *first_child(MosaicBlkNode *n)
{
    return n->children->len ? ((MosaicBlkChild *)g_ptr_array_index(n->children, 0))->node : NULL;
}

/* Whether `target` is `from` or below it along any child edge (a filter's second child,
 * a backing file), not only first children.  Iterative, each node visited once. */
static gboolean node_reaches(MosaicBlkNode *from, MosaicBlkNode *target)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
    g_autoptr(GPtrArray) todo = g_ptr_array_new();
    g_ptr_array_add(todo, from);
    while (todo->len) {
        MosaicBlkNode *n = g_ptr_array_steal_index_fast(todo, todo->len - 1);
        if (n == target)
            return TRUE;
        if (!g_hash_table_add(seen, n))
            continue;
        for (guint i = 0; i < n->children->len; i++) {
            MosaicBlkChild *c = g_ptr_array_index(n->children, i);
            if (c->node)
                g_ptr_array_add(todo, c->node);
        }
    }
    return FALSE;
}

gboolean blk_insert_filter(MosaicBlkNode *filter, MosaicBlkNode *node, GError **err)
{
    if (first_child(filter) != node) {
        g_set_error(err, BLK_ERROR, 0, "node '%s' is not a filter over '%s' (its first child "
                    "must be '%s')", filter->label, node->label, node->label);
        return FALSE;
    }
    if (filter->parents->len || filter->users->len) {
        g_set_error(err, BLK_ERROR, 0, "filter '%s' is already in use", filter->label);
        return FALSE;
    }
    for (guint i = 0; i < node->parents->len; i++) {
        MosaicBlkChild *c = g_ptr_array_index(node->parents, i);
        if (c->parent != filter && node_reaches(filter, c->parent)) {
            g_set_error(err, BLK_ERROR, 0, "filter '%s' cannot go above '%s': '%s' is below "
                        "the filter, so the graph would have a cycle", filter->label,
                        node->label, c->parent->label);
            return FALSE;
        }
    }
    blk_drain_begin();
    move_parents(node, filter, filter);
    blk_drain_end();
    return TRUE;
}

gboolean blk_remove_filter(MosaicBlkNode *filter, GError **err)
{
    MosaicBlkNode *below = first_child(filter);
    if (!below || !filter->is_filter) {
        g_set_error(err, BLK_ERROR, 0, "node '%s' is not a filter", filter->label);
        return FALSE;
    }
    blk_drain_begin();
    move_parents(filter, below, NULL);
    blk_drain_end();
    return TRUE;
}

gboolean blk_replace_child(MosaicBlkNode *parent, const char *child, MosaicBlkNode *new_node,
                           GError **err)
{
    for (guint i = 0; i < parent->children->len; i++) {
        MosaicBlkChild *c = g_ptr_array_index(parent->children, i);
        if (strcmp(c->name, child))
            continue;
        if (new_node->length < c->node->length || (c->write && new_node->read_only)) {
            g_set_error(err, BLK_ERROR, 0, "node '%s' cannot replace '%s' (smaller or "
                        "read-only)", new_node->label, c->node->label);
            return FALSE;
        }
        if (node_reaches(new_node, parent)) {
            g_set_error(err, BLK_ERROR, 0, "node '%s' cannot become child '%s' of '%s': '%s' "
                        "is below it, so the graph would have a cycle", new_node->label,
                        child, parent->label, parent->label);
            return FALSE;
        }
        blk_drain_begin();
        blk_node_link(c, new_node);
        blk_drain_end();
        return TRUE;
    }
    g_set_error(err, BLK_ERROR, 0, "node '%s' has no child '%s'", parent->label, child);
    return FALSE;
}

/* Removes a node that nothing uses (no parent edge, no user) from the graph and closes
 * it.  Added for jobs' temporary nodes (plugins/block-backup, through mosaic_blk_node_delete). */
gboolean blk_node_delete(MosaicBlkNode *n, GError **err)
{
    if (n->parents->len || n->users->len) {
        g_set_error(err, BLK_ERROR, 0, "node '%s' is still in use (%u parents, %u users)",
                    n->label, n->parents->len, n->users->len);
        return FALSE;
    }
    blk_drain_begin();
    blk_bitmaps_image_store(n); /* what bitmaps_load gave it goes back to the image */
    blk_bitmaps_node_gone(n);   /* no bitmap may outlive its node */
    g_hash_table_remove(nodes, n->label);
    g_ptr_array_remove(node_order, n);
    node_free(n);
    blk_drain_end();
    return TRUE;
}
