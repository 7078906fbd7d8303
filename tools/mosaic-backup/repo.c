/* SPDX-License-Identifier: GPL-2.0-or-later */
/* manifest.json of a mosaic-backup directory (see repo.h). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include "repo.h"

void repo_disk_free(RepoDisk *d)
{
    if (!d)
        return;
    g_free(d->node);
    g_free(d->file);
    g_free(d->backing);
    g_free(d->checksum);
    g_free(d);
}

void repo_point_free(RepoPoint *p)
{
    if (!p)
        return;
    g_free(p->kind);
    g_free(p->time);
    g_ptr_array_free(p->disks, TRUE);
    g_free(p);
}

void repo_free(Repo *r)
{
    if (!r)
        return;
    g_ptr_array_free(r->points, TRUE);
    g_free(r->uuid);
    g_free(r->dir);
    g_free(r);
}

static RepoPoint *point_alloc(void)
{
    RepoPoint *p = g_new0(RepoPoint, 1);
    p->disks = g_ptr_array_new_with_free_func((GDestroyNotify)repo_disk_free);
    return p;
}

Repo *repo_load(const char *dir, gboolean create, GError **err)
{
    Repo *r = g_new0(Repo, 1);
    r->dir = g_canonicalize_filename(dir, NULL);
    r->points = g_ptr_array_new_with_free_func((GDestroyNotify)repo_point_free);
    g_autofree char *path = g_build_filename(r->dir, "manifest.json", NULL);
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        if (create && g_mkdir_with_parents(r->dir, 0755) == 0) {
            r->uuid = g_uuid_string_random();
            return r;
        }
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no backups here (%s)", dir,
                    create ? g_strerror(errno) : "no manifest.json; run `mosaic-backup full` first");
        repo_free(r);
        return NULL;
    }
    g_autoptr(JsonParser) jp = json_parser_new();
    if (!json_parser_load_from_file(jp, path, err)) {
        repo_free(r);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(jp);
    JsonArray *pts = JSON_NODE_HOLDS_OBJECT(root) &&
                     json_object_has_member(json_node_get_object(root), "points") ?
                     json_object_get_array_member(json_node_get_object(root), "points") : NULL;
    if (!pts) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a mosaic-backup manifest", path);
        repo_free(r);
        return NULL;
    }
    const char *uuid = json_object_get_string_member_with_default(json_node_get_object(root),
                                                                  "repository", NULL);
    /* Older manifests have none: a new one, so their incrementals ask for a full first. */
    r->uuid = uuid && g_uuid_string_is_valid(uuid) ? g_strdup(uuid) : g_uuid_string_random();
    for (guint i = 0; i < json_array_get_length(pts); i++) {
        JsonObject *po = json_array_get_object_element(pts, i);
        RepoPoint *p = point_alloc();
        p->id = json_object_get_int_member_with_default(po, "id", 0);
        p->kind = g_strdup(json_object_get_string_member_with_default(po, "kind", "full"));
        p->time = g_strdup(json_object_get_string_member_with_default(po, "time", ""));
        JsonArray *ds = json_object_get_array_member(po, "disks");
        for (guint k = 0; ds && k < json_array_get_length(ds); k++) {
            JsonObject *dobj = json_array_get_object_element(ds, k);
            RepoDisk *d = g_new0(RepoDisk, 1);
            d->node = g_strdup(json_object_get_string_member_with_default(dobj, "node", ""));
            d->file = g_strdup(json_object_get_string_member_with_default(dobj, "file", ""));
            const char *b = json_object_get_string_member_with_default(dobj, "backing", NULL);
            d->backing = b ? g_strdup(b) : NULL;
            d->size = json_object_get_int_member_with_default(dobj, "size", 0);
            const char *sum = json_object_get_string_member_with_default(dobj, "checksum", NULL);
            const char *sha = json_object_get_string_member_with_default(dobj, "sha256", "");
            /* Older manifests: "sha256" (empty: taken with --no-checksum or remote). */
            d->checksum = sum ? g_strdup(sum) : *sha ? g_strconcat("sha256:", sha, NULL)
                                                     : g_strdup("");
            g_ptr_array_add(p->disks, d);
        }
        g_ptr_array_add(r->points, p);
    }
    return r;
}

gboolean repo_save(Repo *r, GError **err)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "version");
    json_builder_add_int_value(b, 1);
    json_builder_set_member_name(b, "repository");
    json_builder_add_string_value(b, r->uuid);
    json_builder_set_member_name(b, "points");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->points->len; i++) {
        RepoPoint *p = g_ptr_array_index(r->points, i);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "id");
        json_builder_add_int_value(b, p->id);
        json_builder_set_member_name(b, "kind");
        json_builder_add_string_value(b, p->kind);
        json_builder_set_member_name(b, "time");
        json_builder_add_string_value(b, p->time);
        json_builder_set_member_name(b, "disks");
        json_builder_begin_array(b);
        for (guint k = 0; k < p->disks->len; k++) {
            RepoDisk *d = g_ptr_array_index(p->disks, k);
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "node");
            json_builder_add_string_value(b, d->node);
            json_builder_set_member_name(b, "file");
            json_builder_add_string_value(b, d->file);
            json_builder_set_member_name(b, "backing");
            if (d->backing)
                json_builder_add_string_value(b, d->backing);
            else
                json_builder_add_null_value(b);
            json_builder_set_member_name(b, "size");
            json_builder_add_int_value(b, d->size);
            json_builder_set_member_name(b, "checksum");
            json_builder_add_string_value(b, d->checksum);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    g_autoptr(JsonGenerator) g = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    json_generator_set_root(g, root);
    json_generator_set_pretty(g, TRUE);
    g_autofree char *text = json_generator_to_data(g, NULL);
    g_autofree char *path = g_build_filename(r->dir, "manifest.json", NULL);
    return g_file_set_contents(path, text, -1, err);
}

RepoPoint *repo_point_new(Repo *r, const char *kind)
{
    RepoPoint *p = point_alloc();
    guint last = r->points->len ? ((RepoPoint *)g_ptr_array_index(r->points, r->points->len - 1))->id : 0;
    p->id = last + 1;
    p->kind = g_strdup(kind);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    p->time = g_date_time_format_iso8601(now);
    return p;
}

RepoPoint *repo_find_point(Repo *r, const char *at, GError **err)
{
    if (!r->points->len) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s has no backup points", r->dir);
        return NULL;
    }
    if (!at || !strcmp(at, "latest"))
        return g_ptr_array_index(r->points, r->points->len - 1);
    char *end = NULL;
    guint64 id = g_ascii_strtoull(at, &end, 10);
    for (guint i = 0; end && !*end && i < r->points->len; i++) {
        RepoPoint *p = g_ptr_array_index(r->points, i);
        if (p->id == id)
            return p;
    }
    g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no backup point '%s' in %s (see "
                "`mosaic-backup list`)", at, r->dir);
    return NULL;
}

RepoDisk *repo_point_disk(RepoPoint *p, const char *node)
{
    for (guint k = 0; k < p->disks->len; k++) {
        RepoDisk *d = g_ptr_array_index(p->disks, k);
        if (!strcmp(d->node, node))
            return d;
    }
    return NULL;
}

RepoDisk *repo_last_disk(Repo *r, const char *node, RepoPoint **point)
{
    for (guint i = r->points->len; i-- > 0;) {
        RepoDisk *d = repo_point_disk(g_ptr_array_index(r->points, i), node);
        if (d) {
            if (point)
                *point = g_ptr_array_index(r->points, i);
            return d;
        }
    }
    return NULL;
}

char *repo_path(Repo *r, const char *rel)
{
    return g_build_filename(r->dir, rel, NULL);
}
