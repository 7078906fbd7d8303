/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Persistent bitmaps of any image: FILE.bitmaps (JSON) next to the node's host file.
 *
 *   {"version": 1, "in-use": true|false, "bitmaps": [{"node", "name", "granularity",
 *    "size", "recording", "inconsistent", "data": base64 of little-endian words}]}
 *
 * While the emulator runs the file says in-use; a clean close rewrites it with the bits
 * and in-use false.  A file found in use at start belongs to a process that died: its
 * bitmaps may miss writes, so they are loaded inconsistent (only removable; an
 * incremental backup from them is refused and a full backup is needed).
 *
 * Nodes whose driver stores bitmaps in the image (bitmap-image.c) are left out of the
 * side file: their driver loads them at graph open and stores them at clean close. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <json-glib/json-glib.h>

#include "block/block-internal.h"
#include "block/bitmap.h"

/* The host file under a node (first children down). */
static const char *node_file(MosaicBlkNode *n)
{
    while (n && !n->filename)
        n = n->children->len ? ((MosaicBlkChild *)g_ptr_array_index(n->children, 0))->node : NULL;
    return n ? n->filename : NULL;
}

static char *side_path(MosaicBlkNode *n)
{
    const char *f = node_file(n);
    return f ? g_strconcat(f, ".bitmaps", NULL) : NULL;
}

static gboolean write_file(const char *path, GPtrArray *nodes, gboolean in_use)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "version");
    json_builder_add_int_value(b, 1);
    json_builder_set_member_name(b, "in-use");
    json_builder_add_boolean_value(b, in_use);
    json_builder_set_member_name(b, "bitmaps");
    json_builder_begin_array(b);
    guint count = 0;
    for (guint i = 0; i < nodes->len; i++) {
        MosaicBlkNode *n = g_ptr_array_index(nodes, i);
        if (blk_node_stores_bitmaps(n))
            continue;
        g_autoptr(GPtrArray) bms = blk_node_bitmaps(n);
        for (guint k = 0; k < bms->len; k++) {
            BlkBitmap *bm = g_ptr_array_index(bms, k);
            if (!blk_bitmap_persistent(bm))
                continue;
            count++;
            /* A busy bitmap is stored as if its job failed: frozen bits | successor. */
            BlkBitmap *view = blk_bitmap_copy_all(bm);
            gsize len = blk_bitmap_serialized_size(view);
            g_autofree guint8 *buf = g_malloc0(len + 1);
            blk_bitmap_serialize(view, buf);
            mosaic_blk_bitmap_free(view);
            g_autofree char *b64 = g_base64_encode(buf, len);
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "node");
            json_builder_add_string_value(b, n->label);
            json_builder_set_member_name(b, "name");
            json_builder_add_string_value(b, blk_bitmap_name(bm));
            json_builder_set_member_name(b, "granularity");
            json_builder_add_int_value(b, mosaic_blk_bitmap_granularity(bm));
            json_builder_set_member_name(b, "size");
            json_builder_add_int_value(b, blk_bitmap_length(bm));
            json_builder_set_member_name(b, "recording");
            json_builder_add_boolean_value(b, blk_bitmap_enabled(bm));
            json_builder_set_member_name(b, "inconsistent");
            json_builder_add_boolean_value(b, blk_bitmap_inconsistent(bm));
            json_builder_set_member_name(b, "data");
            json_builder_add_string_value(b, b64);
            json_builder_end_object(b);
        }
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    if (!count && !in_use) {
        /* Nothing to keep. */
        unlink(path);
        return TRUE;
    }
    g_autoptr(JsonGenerator) g = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    json_generator_set_root(g, root);
    gsize len;
    g_autofree char *text = json_generator_to_data(g, &len);
    GError *e = NULL;
    /* g_file_set_contents renames a temporary file over the old one: never half written. */
    if (!g_file_set_contents(path, text, len, &e)) {
        g_warning("persistent bitmaps: cannot write %s: %s (the bitmaps will be inconsistent "
                  "at the next start)", path, e->message);
        g_error_free(e);
        return FALSE;
    }
    return TRUE;
}

/* Nodes whose side file is `path`. */
static GPtrArray *nodes_of(const char *path)
{
    GPtrArray *out = g_ptr_array_new();
    g_autoptr(GPtrArray) all = blk_all_nodes();
    for (guint i = 0; i < all->len; i++) {
        MosaicBlkNode *n = g_ptr_array_index(all, i);
        g_autofree char *p = side_path(n);
        if (p && !strcmp(p, path))
            g_ptr_array_add(out, n);
    }
    return out;
}

void blk_bitmaps_store_node(MosaicBlkNode *node, gboolean in_use)
{
    if (blk_node_stores_bitmaps(node)) {
        /* The image gets their bits at clean close; which bitmaps exist is recorded now
         * (in use), so a kill leaves a bitmap added since the start inconsistent, not
         * missing. */
        blk_bitmaps_image_changed(node);
        return;
    }
    g_autofree char *path = side_path(node);
    if (!path) {
        g_warning("persistent bitmaps of node '%s': no host file under it (kept in memory only)",
                  node->label);
        return;
    }
    g_autoptr(GPtrArray) nodes = nodes_of(path);
    write_file(path, nodes, in_use);
}

static void load_one(const char *path, JsonObject *bo, gboolean was_in_use)
{
    const char *node = json_object_get_string_member_with_default(bo, "node", "");
    const char *name = json_object_get_string_member_with_default(bo, "name", "");
    guint64 gran = json_object_get_int_member_with_default(bo, "granularity", 0);
    guint64 size = json_object_get_int_member_with_default(bo, "size", 0);
    MosaicBlkNode *n = blk_node_find(node);
    if (!n) {
        g_warning("%s: bitmap '%s' of node '%s': no such node in this machine (dropped)", path,
                  name, node);
        return;
    }
    GError *e = NULL;
    BlkBitmap *bm = blk_bitmap_add(n, name, gran, FALSE,
                                   !json_object_get_boolean_member_with_default(bo, "recording", TRUE),
                                   &e);
    if (!bm) {
        g_warning("%s: bitmap '%s': %s (dropped)", path, name, e->message);
        g_error_free(e);
        return;
    }
    /* Persistent is set after add so that loading does not rewrite the file each time. */
    gsize len = 0;
    g_autofree guint8 *data = g_base64_decode(
        json_object_get_string_member_with_default(bo, "data", ""), &len);
    gboolean ok = size == blk_bitmap_length(bm) && blk_bitmap_deserialize(bm, data, len);
    if (!ok)
        g_warning("%s: bitmap '%s' of node '%s' does not match the node (size %" G_GUINT64_FORMAT
                  " vs %" G_GUINT64_FORMAT "): marked inconsistent", path, name, node, size,
                  blk_bitmap_length(bm));
    if (!ok || was_in_use || json_object_get_boolean_member_with_default(bo, "inconsistent", FALSE))
        blk_bitmap_set_inconsistent(bm);
    blk_bitmap_mark_persistent(bm);
}

static void load_file(const char *path)
{
    g_autoptr(JsonParser) p = json_parser_new();
    GError *e = NULL;
    if (!json_parser_load_from_file(p, path, &e)) {
        g_warning("persistent bitmaps: %s is unreadable: %s (ignored; delete it to silence "
                  "this)", path, e->message);
        g_error_free(e);
        return;
    }
    JsonNode *root = json_parser_get_root(p);
    if (!JSON_NODE_HOLDS_OBJECT(root))
        return;
    JsonObject *o = json_node_get_object(root);
    gboolean in_use = json_object_get_boolean_member_with_default(o, "in-use", FALSE);
    if (in_use)
        g_warning("persistent bitmaps: %s was in use by an emulator that did not shut down "
                  "cleanly: its bitmaps are inconsistent (next backup must be full)", path);
    JsonArray *a = json_object_has_member(o, "bitmaps") ?
                   json_object_get_array_member(o, "bitmaps") : NULL;
    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        JsonNode *el = json_array_get_element(a, i);
        if (JSON_NODE_HOLDS_OBJECT(el))
            load_one(path, json_node_get_object(el), in_use);
    }
}

/* The side files of the nodes, each once (several nodes may share an image file). */
static GPtrArray *side_files(GPtrArray *nodes)
{
    GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < nodes->len; i++) {
        char *path = side_path(g_ptr_array_index(nodes, i));
        if (!path || g_ptr_array_find_with_equal_func(paths, path, g_str_equal, NULL))
            g_free(path);
        else
            g_ptr_array_add(paths, path);
    }
    return paths;
}

void blk_bitmaps_graph_opened(void)
{
    g_autoptr(GPtrArray) all = blk_all_nodes();
    for (guint i = 0; i < all->len; i++)
        blk_bitmaps_image_load(g_ptr_array_index(all, i));
    g_autoptr(GPtrArray) paths = side_files(all);
    for (guint i = 0; i < paths->len; i++) {
        const char *path = g_ptr_array_index(paths, i);
        if (!g_file_test(path, G_FILE_TEST_EXISTS))
            continue;
        load_file(path);
        /* From now on a kill leaves the file saying in-use. */
        g_autoptr(GPtrArray) nodes = nodes_of(path);
        write_file(path, nodes, TRUE);
    }
}

void blk_bitmaps_graph_closing(void)
{
    g_autoptr(GPtrArray) all = blk_all_nodes();
    for (guint i = 0; i < all->len; i++)
        blk_bitmaps_image_store(g_ptr_array_index(all, i));
    g_autoptr(GPtrArray) paths = side_files(all);
    for (guint i = 0; i < paths->len; i++) {
        const char *path = g_ptr_array_index(paths, i);
        g_autoptr(GPtrArray) nodes = nodes_of(path);
        gboolean any = FALSE;
        for (guint k = 0; k < nodes->len && !any; k++) {
            g_autoptr(GPtrArray) bms = blk_node_bitmaps(g_ptr_array_index(nodes, k));
            for (guint j = 0; j < bms->len; j++)
                any |= blk_bitmap_persistent(g_ptr_array_index(bms, j));
        }
        if (any || g_file_test(path, G_FILE_TEST_EXISTS))
            write_file(path, nodes, FALSE);
    }
    blk_bitmaps_forget_all();
}
