/* Nodes created while running (blockdev-add): the new [blockdev] section is validated
 * together with the machine file, so it can reference its nodes and throttle groups. */
#include <string.h>

#include "block/block-internal.h"
#include "block/bitmap.h"

static gboolean is_word(const char *s)
{
    if (!s || !*s || strlen(s) > 48)
        return FALSE;
    for (; *s; s++)
        if (!g_ascii_isalnum(*s) && *s != '-' && *s != '_')
            return FALSE;
    return TRUE;
}

static gboolean is_value(const char *s)
{
    /* One INI line: nothing that ends it, starts a comment or continues it. */
    return s && strlen(s) < 150 && !strpbrk(s, "\n\r;#") && !g_ascii_isspace(*s);
}

gboolean blk_node_add(const char *label, const char *driver, GHashTable *opts, GError **err)
{
    if (!is_word(label) || !is_word(driver)) {
        g_set_error(err, BLK_ERROR, 0, "node-name and driver must be words of letters, digits, "
                    "'-' and '_'");
        return FALSE;
    }
    if (blk_node_find(label)) {
        g_set_error(err, BLK_ERROR, 0, "node '%s' already exists", label);
        return FALSE;
    }
    const MosaicConfig *base = blk_main_config();
    g_autofree char *dump = base ? config_dump(base) : NULL;
    GString *t = g_string_new(dump ? dump : "[machine]\ntype = none\n");
    g_string_append_printf(t, "\n[blockdev %s]\ndriver = %s\n", label, driver);
    if (opts) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, opts);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            if (!is_word(k) || !is_value(v) || !strcmp(k, "driver")) {
                g_set_error(err, BLK_ERROR, 0, "option '%s' has an invalid name or value", (char *)k);
                g_string_free(t, TRUE);
                return FALSE;
            }
            g_string_append_printf(t, "%s = %s\n", (char *)k, (char *)v);
        }
    }
    g_autofree char *text = g_string_free(t, FALSE);
    GError *e = NULL;
    MosaicConfig *cfg = config_load_string("blockdev-add", text, NULL, &e);
    if (!cfg || !config_validate(cfg, &e)) {
        g_propagate_error(err, e);
        if (cfg)
            config_free(cfg);
        return FALSE;
    }
    MosaicBlkNode *n = blk_node_open(cfg, label, err);
    if (!n) {
        config_free(cfg);
        return FALSE;
    }
    n->own_cfg = cfg;
    blk_bitmaps_image_load(n); /* bitmaps stored in the image (bitmap-image.c) */
    return TRUE;
}
