/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tables a descriptor points to and the core steps through (props, sections and
 * each section's props), copied into one block laid out with the core's own element
 * sizes.  The plugin's elements are .prop_size/.section_size bytes (0: the 1.0 sizes):
 * each is copied min(sizes) and zero-filled, so a field newer than the plugin reads as
 * 0/NULL.  Scanning reads these tables without running plugin code; a table that never
 * ends or has an impossible element size refuses the plugin. */
#include "plugin/plugin-internal.h"
#include "util/table.h"

#define END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))
#define PROP_SIZE_1_0 END(MosaicPropDesc, max)
#define SECTION_SIZE_1_0 END(MosaicSectionDesc, props)

typedef struct Table {
    const char *src;
    size_t stride, n; /* n entries before the terminator */
} Table;

static gboolean stride_of(uint32_t declared, size_t size_1_0, const char *field, size_t *out,
                          char **reason, char **hint)
{
    *out = table_stride(declared, size_1_0);
    if (*out)
        return TRUE;
    *reason = g_strdup_printf(".%s is %u, ABI 1.0 elements are %zu bytes", field,
                              declared ? declared : (unsigned)size_1_0, size_1_0);
    *hint = g_strdup("define the descriptor with MOSAIC_PLUGIN(...), which sets it");
    return FALSE;
}

static gboolean measure(Table *t, const void *table, size_t stride, const char *what,
                        char **reason, char **hint)
{
    gssize n = table_count(table, stride);
    *t = (Table){table, stride, n < 0 ? 0 : (size_t)n};
    if (n >= 0)
        return TRUE;
    *reason = g_strdup_printf("%s table has more than %d entries", what, TABLE_MAX_ENTRIES);
    *hint = g_strdup("end it with an entry whose first field is NULL: {NULL}");
    return FALSE;
}

/* Copies t at *dst (zero-filled, with room for the terminator) and moves *dst on. */
static void *copy(char **dst, const Table *t, size_t elem)
{
    if (!t->src)
        return NULL;
    void *start = *dst;
    table_copy(start, t->src, t->n, t->stride, elem);
    *dst += (t->n + 1) * elem;
    return start;
}

gboolean plugin_tables_copy(MosaicPluginDesc *d, void **block, char **reason, char **hint)
{
    *block = NULL;
    size_t ps, ss;
    Table props, sections;
    if (!stride_of(d->prop_size, PROP_SIZE_1_0, "prop_size", &ps, reason, hint) ||
        !stride_of(d->section_size, SECTION_SIZE_1_0, "section_size", &ss, reason, hint) ||
        !measure(&props, d->props, ps, "props", reason, hint) ||
        !measure(&sections, d->sections, ss, "sections", reason, hint))
        return FALSE;
    g_autofree Table *sprops = g_new0(Table, sections.n + 1);
    size_t total = (props.n + 1) * sizeof(MosaicPropDesc) +
                   (sections.n + 1) * sizeof(MosaicSectionDesc);
    for (size_t i = 0; i < sections.n; i++) {
        const MosaicPropDesc *sp;
        memcpy(&sp, sections.src + i * ss + offsetof(MosaicSectionDesc, props), sizeof(sp));
        if (!measure(&sprops[i], sp, ps, "section props", reason, hint))
            return FALSE;
        total += (sprops[i].n + 1) * sizeof(MosaicPropDesc);
    }
    char *at = *block = g_malloc0(total);
    d->props = copy(&at, &props, sizeof(MosaicPropDesc));
    MosaicSectionDesc *sec = copy(&at, &sections, sizeof(MosaicSectionDesc));
    d->sections = sec;
    for (size_t i = 0; i < sections.n; i++)
        sec[i].props = copy(&at, &sprops[i], sizeof(MosaicPropDesc));
    d->prop_size = sizeof(MosaicPropDesc);
    d->section_size = sizeof(MosaicSectionDesc);
    return TRUE;
}
