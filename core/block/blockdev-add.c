/* SPDX-License-Identifier: GPL-2.0-or-later */
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

/* Values reach the node without INI text, so ';', '#' and long file names are fine;
 * control characters would only garble messages. */
static gboolean is_value(const char *s)
{
    if (!s || strlen(s) > CONFIG_MAX_VALUE_CHARS)
        return FALSE;
    for (; *s; s++)
        if ((guchar)*s < 0x20 || *s == 0x7f)
            return FALSE;
    return TRUE;
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
    MosaicConfig *cfg = blk_node_config_new("blockdev-add", blk_main_config());
    ConfigSection *s = blk_node_config_add(cfg, label, driver);
    if (opts) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, opts);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            if (!is_word(k) || !is_value(v) || !strcmp(k, "driver")) {
                g_set_error(err, BLK_ERROR, 0, "option '%s' has an invalid name or value "
                            "(names: letters, digits, '-' and '_'; values: no control "
                            "characters, at most %d characters)", (char *)k,
                            CONFIG_MAX_VALUE_CHARS);
                config_free(cfg);
                return FALSE;
            }
            config_section_set(s, k, v, NULL, NULL);
        }
    }
    MosaicBlkNode *n = blk_node_open_config(cfg, label, err);
    if (!n)
        return FALSE;
    blk_bitmaps_image_load(n); /* bitmaps stored in the image (bitmap-image.c) */
    return TRUE;
}
