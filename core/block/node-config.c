/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Nodes described in code (jobs' temporary nodes, backing files, blockdev-add) are built
 * with the configuration builder (config/config.h) and validated like machine files;
 * their values never pass through INI text, so a file name may hold any character. */
#include "block/block-internal.h"

MosaicConfig *blk_node_config_new(const char *what, const MosaicConfig *base)
{
    MosaicConfig *cfg = base ? config_copy(base, what) : config_new(what);
    if (!base) {
        ConfigSection *m = config_section_get(cfg, "machine", NULL, NULL, NULL);
        config_section_set(m, "type", "none", NULL, NULL);
    }
    /* Nodes already in the graph may be referenced: blk_node_open finds them first. */
    g_autoptr(GPtrArray) all = blk_all_nodes();
    for (guint i = 0; i < all->len; i++) {
        MosaicBlkNode *n = g_ptr_array_index(all, i);
        if (!config_where(cfg, "blockdev", n->label, NULL))
            config_section_external(cfg, "blockdev", n->label);
    }
    return cfg;
}

ConfigSection *blk_node_config_add(MosaicConfig *cfg, const char *label, const char *driver)
{
    ConfigSection *s = config_section_get(cfg, "blockdev", label, NULL, NULL);
    config_section_set(s, "driver", driver, NULL, NULL);
    return s;
}

MosaicBlkNode *blk_node_open_config(MosaicConfig *cfg, const char *label, GError **err)
{
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

MosaicBlkNode *blk_node_open_new(const char *what, const char *label, const char *driver,
                                 GError **err, ...)
{
    MosaicConfig *cfg = blk_node_config_new(what, NULL);
    ConfigSection *s = blk_node_config_add(cfg, label, driver);
    va_list ap;
    va_start(ap, err);
    for (const char *k; (k = va_arg(ap, const char *));)
        config_section_set(s, k, va_arg(ap, const char *), NULL, NULL);
    va_end(ap);
    return blk_node_open_config(cfg, label, err);
}
