/* Temporary nodes of jobs (backup targets, pull-backup views) are described as INI text
 * and go through the same validation as machine files. */
#include "block/block-internal.h"
#include "config/config.h"

MosaicBlkNode *blk_node_open_text(const char *what, const char *text, const char *const *existing,
                                  const char *label, GError **err)
{
    /* Sections for labels that already exist are stubs that only satisfy validation:
     * blk_node_open finds the existing node first. */
    GString *t = g_string_new("[machine]\ntype = none\n");
    for (guint i = 0; existing[i]; i++)
        g_string_append_printf(t, "[blockdev %s]\ndriver = file\nfilename = /dev/null\n",
                               existing[i]);
    g_string_append(t, text);
    g_autofree char *all = g_string_free(t, FALSE);
    g_autofree char *name = g_strdup_printf("(%s %s)", what, label);
    MosaicConfig *cfg = config_load_string(name, all, NULL, err);
    if (!cfg)
        return NULL;
    if (!config_validate(cfg, err)) {
        config_free(cfg);
        return NULL;
    }
    MosaicBlkNode *n = blk_node_open(cfg, label, err);
    if (!n) {
        config_free(cfg);
        return NULL;
    }
    n->own_cfg = cfg;
    return n;
}
