/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checkpoint bitmaps of a repository (see checkpoint.h). */
#include <string.h>
#include "checkpoint.h"

#define PREFIX "mosaic-backup."

char *checkpoint_name(const char *uuid, guint point)
{
    return g_strdup_printf(PREFIX "%s.%u", uuid, point);
}

static void checkpoint_free(Checkpoint *cp)
{
    g_free(cp->node);
    g_free(cp->name);
    g_free(cp->owner);
    g_free(cp);
}

static gint by_point(gconstpointer a, gconstpointer b)
{
    guint pa = (*(Checkpoint *const *)a)->point, pb = (*(Checkpoint *const *)b)->point;
    return pa < pb ? -1 : pa > pb;
}

GPtrArray *checkpoints_list(QmpClient *c, const char *node, const char *uuid, GError **err)
{
    g_autoptr(JsonObject) a = json_object_new();
    if (node)
        json_object_set_string_member(a, "node", node);
    g_autoptr(JsonNode) r = qmp_client_execute(c, "query-dirty-bitmaps", a, err);
    if (!r)
        return NULL;
    g_autofree char *prefix = g_strdup_printf(PREFIX "%s.", uuid);
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)checkpoint_free);
    JsonArray *bms = json_object_get_array_member(json_node_get_object(r), "bitmaps");
    for (guint i = 0; i < json_array_get_length(bms); i++) {
        JsonObject *b = json_array_get_object_element(bms, i);
        const char *name = json_object_get_string_member_with_default(b, "name", "");
        char *end = NULL;
        if (!g_str_has_prefix(name, prefix))
            continue;
        guint64 point = g_ascii_strtoull(name + strlen(prefix), &end, 10);
        if (!end || *end || !point || point > G_MAXUINT)
            continue;
        Checkpoint *cp = g_new0(Checkpoint, 1);
        cp->point = point;
        cp->node = g_strdup(json_object_get_string_member_with_default(b, "node", ""));
        cp->name = g_strdup(name);
        cp->inconsistent = json_object_get_boolean_member_with_default(b, "inconsistent", FALSE);
        cp->busy = json_object_get_boolean_member_with_default(b, "busy", FALSE);
        cp->owner = g_strdup(json_object_get_string_member_with_default(b, "busy-owner", NULL));
        g_ptr_array_add(out, cp);
    }
    g_ptr_array_sort(out, by_point);
    return out;
}

Checkpoint *checkpoints_find(GPtrArray *cps, guint point)
{
    for (guint i = 0; i < cps->len; i++)
        if (((Checkpoint *)g_ptr_array_index(cps, i))->point == point)
            return g_ptr_array_index(cps, i);
    return NULL;
}

gboolean checkpoint_remove(QmpClient *c, const char *node, const char *name, GError **err)
{
    g_autoptr(JsonObject) a = json_object_new();
    json_object_set_string_member(a, "node", node);
    json_object_set_string_member(a, "name", name);
    g_autoptr(JsonNode) r = qmp_client_execute(c, "block-dirty-bitmap-remove", a, err);
    return r != NULL;
}
