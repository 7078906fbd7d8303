/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Typed values of machine files: parsing, canonical text, ranges, suggestions. */
#include <errno.h>
#include <string.h>

#include "config/config-internal.h"

const char *config_prop_type_name(MosaicPropType t)
{
    switch (t) {
    case MOSAIC_PROP_BOOL: return "bool";
    case MOSAIC_PROP_INT: return "int";
    case MOSAIC_PROP_UINT: return "uint";
    case MOSAIC_PROP_SIZE: return "size";
    case MOSAIC_PROP_RATE: return "rate";
    case MOSAIC_PROP_STRING: return "string";
    case MOSAIC_PROP_ENUM: return "enum";
    case MOSAIC_PROP_REF: return "ref";
    case MOSAIC_PROP_PATH: return "path";
    }
    return "?";
}

/* Labels end up in "kind.label.key" (--set) and in monitor commands: keep them simple. */
gboolean config_is_label(const char *s)
{
    if (!s || !*s)
        return FALSE;
    for (; *s; s++)
        if (!g_ascii_isalnum(*s) && *s != '_' && *s != '-')
            return FALSE;
    return TRUE;
}

gboolean config_is_name(const char *s)
{
    if (!s || !*s || !g_ascii_isalpha(*s))
        return FALSE;
    for (; *s; s++)
        if (!g_ascii_isalnum(*s) && *s != '_' && *s != '-')
            return FALSE;
    return TRUE;
}

/* A key: names joined by single dots ("out.pipeline": a key of one side of a device). */
gboolean config_is_key(const char *s)
{
    if (!s || !*s)
        return FALSE;
    g_auto(GStrv) parts = g_strsplit(s, ".", -1);
    for (guint i = 0; parts[i]; i++)
        if (!config_is_name(parts[i]))
            return FALSE;
    return TRUE;
}

/* "name = ..." with blanks around '=' (unlike "root=/dev/vda" in a command line): an
 * indented key, which inih would silently append to the previous value. */
gboolean config_looks_like_key(const char *s)
{
    const char *p = s;
    if (!g_ascii_isalpha(*p))
        return FALSE;
    while (g_ascii_isalnum(*p) || *p == '-' || *p == '_' || *p == '.')
        p++;
    if (!g_ascii_isspace(*p))
        return FALSE;
    while (g_ascii_isspace(*p))
        p++;
    return (*p == '=' || *p == ':') && (!p[1] || g_ascii_isspace(p[1]));
}

/* Decimal or 0x hexadecimal, no sign, no leading blanks. */
static gboolean parse_u64(const char *s, const char **end, guint64 *out)
{
    guint base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (!g_ascii_isxdigit(*s))
            return FALSE;
    } else if (!g_ascii_isdigit(*s)) {
        return FALSE;
    }
    char *e;
    errno = 0;
    guint64 v = g_ascii_strtoull(s, &e, base);
    if (errno)
        return FALSE;
    *out = v;
    *end = e;
    return TRUE;
}

static const char suffixes[] = "KMGT";

/* "512M", "1G", "4096", "2KiB", "2kb": binary multiples. */
static gboolean parse_scaled(const char *s, const char **end, guint64 *out)
{
    guint64 v;
    if (!parse_u64(s, &s, &v))
        return FALSE;
    const char *p = *s ? strchr(suffixes, g_ascii_toupper(*s)) : NULL;
    if (p) {
        guint shift = 10 * (guint)(p - suffixes + 1);
        if (v > (G_MAXUINT64 >> shift))
            return FALSE;
        v <<= shift;
        s++;
        if (s[0] == 'i' && (s[1] == 'B' || s[1] == 'b'))
            s += 2;
        else if (*s == 'B' || *s == 'b')
            s++;
    }
    *out = v;
    *end = s;
    return TRUE;
}

char *config_format_size(guint64 bytes)
{
    guint i = 0;
    while (i < 4 && bytes && (bytes & 1023) == 0) {
        bytes >>= 10;
        i++;
    }
    return i ? g_strdup_printf("%" G_GUINT64_FORMAT "%c", bytes, suffixes[i - 1])
             : g_strdup_printf("%" G_GUINT64_FORMAT, bytes);
}

static gboolean parse_bool(const char *s, gboolean *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (guint i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (!g_ascii_strcasecmp(s, yes[i])) {
            *out = TRUE;
            return TRUE;
        }
        if (!g_ascii_strcasecmp(s, no[i])) {
            *out = FALSE;
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean has_range(const MosaicPropDesc *d)
{
    return d->min < d->max;
}

static char *format_bound(const MosaicPropDesc *d, gint64 b)
{
    if (d->type == MOSAIC_PROP_SIZE && b >= 0)
        return config_format_size((guint64)b);
    if (d->type == MOSAIC_PROP_RATE && b >= 0) {
        g_autofree char *s = config_format_size((guint64)b);
        return g_strconcat(s, "/s", NULL);
    }
    return g_strdup_printf("%" G_GINT64_FORMAT, b);
}

static char *range_msg(const MosaicPropDesc *d, const char *text)
{
    g_autofree char *lo = format_bound(d, d->min);
    g_autofree char *hi = format_bound(d, d->max);
    return g_strdup_printf("%s = %s is out of range (allowed: %s..%s)", d->key, text, lo, hi);
}

static gboolean unsigned_in_range(const MosaicPropDesc *d, guint64 u)
{
    if (!has_range(d))
        return TRUE;
    if (d->max < 0)
        return FALSE;
    guint64 lo = d->min < 0 ? 0 : (guint64)d->min;
    return u >= lo && u <= (guint64)d->max;
}

static gboolean enum_has(const char *choices, const char *s)
{
    g_auto(GStrv) v = g_strsplit(choices ? choices : "", "|", -1);
    return g_strv_contains((const char *const *)v, s);
}

static char *enum_list(const char *choices)
{
    g_auto(GStrv) v = g_strsplit(choices ? choices : "", "|", -1);
    return g_strjoinv(", ", v);
}

gboolean config_parse_value(const MosaicPropDesc *d, const char *text, const char *basedir,
                            PropValue *pv, char **msg)
{
    const char *end = NULL;
    guint64 u;
    const char *tn = config_prop_type_name(d->type);

    switch (d->type) {
    case MOSAIC_PROP_BOOL:
        if (!parse_bool(text, &pv->v.b)) {
            *msg = g_strdup_printf("%s = %s is not a bool (use true/false, yes/no, on/off or 1/0)",
                                   d->key, text);
            return FALSE;
        }
        pv->text = g_strdup(pv->v.b ? "true" : "false");
        return TRUE;
    case MOSAIC_PROP_INT: {
        gboolean neg = text[0] == '-';
        const char *p = neg || text[0] == '+' ? text + 1 : text;
        if (!parse_u64(p, &end, &u) || *end || u > (guint64)G_MAXINT64 + neg) {
            *msg = g_strdup_printf("%s = %s is not an %s (expected a decimal or 0x number)",
                                   d->key, text, tn);
            return FALSE;
        }
        pv->v.i = neg ? (gint64)(0 - u) : (gint64)u;
        if (has_range(d) && (pv->v.i < d->min || pv->v.i > d->max)) {
            *msg = range_msg(d, text);
            return FALSE;
        }
        pv->text = g_strdup_printf("%" G_GINT64_FORMAT, pv->v.i);
        return TRUE;
    }
    case MOSAIC_PROP_UINT:
        if (!parse_u64(text, &end, &u) || *end) {
            *msg = g_strdup_printf("%s = %s is not a %s (expected a decimal or 0x number >= 0)",
                                   d->key, text, tn);
            return FALSE;
        }
        pv->text = g_strdup_printf("%" G_GUINT64_FORMAT, u);
        break;
    case MOSAIC_PROP_SIZE:
        if (!parse_scaled(text, &end, &u) || *end) {
            *msg = g_strdup_printf("%s = %s is not a size (expected bytes with an optional "
                                   "K, M, G or T suffix, e.g. 512M)", d->key, text);
            return FALSE;
        }
        pv->text = config_format_size(u);
        break;
    case MOSAIC_PROP_RATE:
        if (!parse_scaled(text, &end, &u) || (*end && strcmp(end, "/s"))) {
            *msg = g_strdup_printf("%s = %s is not a rate (expected units per second with an "
                                   "optional K, M, G or T suffix, e.g. 10M/s or 500/s)",
                                   d->key, text);
            return FALSE;
        }
        {
            g_autofree char *s = config_format_size(u);
            pv->text = g_strconcat(s, "/s", NULL);
        }
        break;
    case MOSAIC_PROP_STRING:
        pv->text = g_strdup(text);
        return TRUE;
    case MOSAIC_PROP_ENUM:
        if (!enum_has(d->choices, text)) {
            g_autofree char *l = enum_list(d->choices);
            *msg = g_strdup_printf("%s = %s is not one of: %s", d->key, text, l);
            return FALSE;
        }
        pv->text = g_strdup(text);
        return TRUE;
    case MOSAIC_PROP_REF:
        if (!config_is_label(text)) {
            *msg = g_strdup_printf("%s = %s is not a label of a [%s LABEL] section (letters, "
                                   "digits, '-' and '_')", d->key, text, d->choices);
            return FALSE;
        }
        pv->text = g_strdup(text);
        return TRUE;
    case MOSAIC_PROP_PATH:
        /* Existence is checked by whoever opens it, so errors name the real use. */
        pv->text = config_resolve_path(text, basedir);
        return TRUE;
    default:
        *msg = g_strdup_printf("%s has an unknown property type %d (plugin bug)", d->key, d->type);
        return FALSE;
    }
    /* UINT, SIZE, RATE */
    pv->v.u = u;
    if (!unsigned_in_range(d, u)) {
        *msg = range_msg(d, text);
        return FALSE;
    }
    return TRUE;
}

/* Optimal string alignment distance: like Levenshtein, but a swap of two neighbours
 * ("memroy") costs 1. */
static guint edit_distance(const char *a, const char *b)
{
    gsize n = strlen(a), m = strlen(b);
    g_autofree guint *d = g_new0(guint, (n + 1) * (m + 1));
#define D(i, j) d[(i) * (m + 1) + (j)]
    for (gsize i = 0; i <= n; i++)
        D(i, 0) = i;
    for (gsize j = 0; j <= m; j++)
        D(0, j) = j;
    for (gsize i = 1; i <= n; i++) {
        for (gsize j = 1; j <= m; j++) {
            guint cost = a[i - 1] != b[j - 1];
            guint v = MIN(MIN(D(i - 1, j) + 1, D(i, j - 1) + 1), D(i - 1, j - 1) + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                v = MIN(v, D(i - 2, j - 2) + 1);
            D(i, j) = v;
        }
    }
    guint r = D(n, m);
#undef D
    return r;
}

const char *config_closest(const char *word, const char *const *candidates, guint n)
{
    gsize len = strlen(word);
    guint limit = len <= 3 ? 1 : MAX(2, len / 3);
    const char *best = NULL;
    guint bestd = G_MAXUINT;
    for (guint i = 0; i < n; i++) {
        guint dd = edit_distance(word, candidates[i]);
        if (dd < bestd) {
            bestd = dd;
            best = candidates[i];
        }
    }
    return bestd <= limit ? best : NULL;
}
