/* SPDX-License-Identifier: GPL-2.0-or-later */
/* DIR/in-progress.json (see pending.h). */
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>
#include "pending.h"

#define NAME "in-progress.json"

static void add_strings(JsonBuilder *b, const char *name, GPtrArray *a)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (guint i = 0; a && i < a->len; i++)
        json_builder_add_string_value(b, g_ptr_array_index(a, i));
    json_builder_end_array(b);
}

gboolean pending_save(const char *dir, const Pending *p, GError **err)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "pid");
    json_builder_add_int_value(b, p->pid);
    json_builder_set_member_name(b, "point");
    json_builder_add_int_value(b, p->point);
    add_strings(b, "jobs", p->jobs);
    add_strings(b, "files", p->files);
    json_builder_end_object(b);
    g_autoptr(JsonGenerator) g = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    json_generator_set_root(g, root);
    g_autofree char *text = json_generator_to_data(g, NULL);
    g_autofree char *path = g_build_filename(dir, NAME, NULL);
    return g_file_set_contents(path, text, -1, err);
}

static GPtrArray *get_strings(JsonObject *o, const char *name)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    JsonArray *ja = json_object_has_member(o, name) ? json_object_get_array_member(o, name) : NULL;
    for (guint i = 0; ja && i < json_array_get_length(ja); i++)
        g_ptr_array_add(a, g_strdup(json_array_get_string_element(ja, i)));
    return a;
}

Pending *pending_load(const char *dir, GError **err)
{
    g_autofree char *path = g_build_filename(dir, NAME, NULL);
    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        return NULL;
    g_autoptr(JsonParser) jp = json_parser_new();
    if (!json_parser_load_from_file(jp, path, err))
        return NULL;
    JsonNode *root = json_parser_get_root(jp);
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a mosaic-backup record "
                    "(delete it if no backup runs)", path);
        return NULL;
    }
    JsonObject *o = json_node_get_object(root);
    Pending *p = g_new0(Pending, 1);
    p->pid = json_object_get_int_member_with_default(o, "pid", 0);
    p->point = json_object_get_int_member_with_default(o, "point", 0);
    p->jobs = get_strings(o, "jobs");
    p->files = get_strings(o, "files");
    return p;
}

void pending_remove(const char *dir)
{
    g_autofree char *path = g_build_filename(dir, NAME, NULL);
    unlink(path);
}

void pending_free(Pending *p)
{
    if (!p)
        return;
    if (p->jobs)
        g_ptr_array_free(p->jobs, TRUE);
    if (p->files)
        g_ptr_array_free(p->files, TRUE);
    g_free(p);
}

gboolean pending_owner_alive(gint64 pid)
{
    if (pid <= 0 || pid == getpid())
        return FALSE;
    g_autofree char *path = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/comm", pid);
    g_autofree char *comm = NULL;
    if (!g_file_get_contents(path, &comm, NULL, NULL))
        return FALSE;
    return g_str_has_prefix(g_strstrip(comm), "mosaic-backup");
}
