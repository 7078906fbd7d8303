/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Data shared by the files of core/config/ (not for other subsystems). */
#ifndef MOSAIC_CORE_CONFIG_INTERNAL_H
#define MOSAIC_CORE_CONFIG_INTERNAL_H

#include "config/config.h"

/* One `key = value` as written (continuations joined), last assignment wins. */
typedef struct ConfigEntry {
    char *key;
    char *value;
    char *where;   /* "file:line" */
    char *basedir; /* PATH values are relative to this directory */
} ConfigEntry;

/* One resolved key of a section. */
typedef struct PropValue {
    const MosaicPropDesc *desc;
    gboolean set;       /* explicit or defaulted */
    gboolean defaulted;
    char *text;         /* canonical text (resolved path, "true", label...) */
    union {
        gboolean b;
        gint64 i;
        guint64 u;
    } v;
    const char *where;  /* points into the ConfigEntry or the section */
} PropValue;

struct MosaicProps {
    const char *kind;
    const char *label;
    const char *where;
    const MosaicPluginDesc *plugin;
    GPtrArray *values;  /* PropValue*, in declaration order (common, then plugin) */
};

struct ConfigSection {
    char *kind;
    char *label;   /* NULL for [kind] */
    char *where;   /* header of the first appearance */
    char *basedir;
    guint index;   /* in MosaicConfig.sections */
    gboolean external; /* stands for a node that exists elsewhere: not validated */
    GPtrArray *entries; /* ConfigEntry* in order of first assignment */
    GHashTable *by_key; /* key -> ConfigEntry* (lookups stay O(1) in long sections) */
    MosaicProps *props; /* after validation */
};

struct MosaicConfig {
    char *path;
    GPtrArray *sections; /* ConfigSection*, in order of first appearance */
    GHashTable *by_name; /* "kind label" -> ConfigSection* */
    gboolean validated;
};

/* A registered section kind (sections.c). */
typedef struct SectionKind {
    char *kind;
    char *selector_key;
    int plugin_kind;
    const MosaicPropDesc *common_props;
    gboolean singleton;
} SectionKind;

/* sections.c */
const SectionKind *config_section_kind(const char *kind);
GPtrArray *config_section_kind_names(void); /* char* (owned), sorted */
const SectionKind *config_section_kind_for_plugin(int plugin_kind);
void config_sections_init(void);

/* config.c (the builder calls are in config.h) */
ConfigSection *config_section_lookup(const MosaicConfig *cfg, const char *kind, const char *label);
ConfigEntry *config_section_entry(const ConfigSection *s, const char *key);
void config_section_free(ConfigSection *s);

/* values.c: parse `text` of type desc->type into pv (text, v); FALSE + *msg on error. */
gboolean config_parse_value(const MosaicPropDesc *desc, const char *text, const char *basedir,
                            PropValue *pv, char **msg);
char *config_format_size(guint64 bytes);
const char *config_prop_type_name(MosaicPropType t);
/* The closest of `candidates` to `word` if it is close enough, else NULL. */
const char *config_closest(const char *word, const char *const *candidates, guint n);
gboolean config_is_label(const char *s);
gboolean config_is_name(const char *s);
gboolean config_is_key(const char *s); /* names joined by dots: out.pipeline */
/* An indented "name = ..." line: refused as a continuation (see parse.c). */
gboolean config_looks_like_key(const char *s);

/* data-path.c: a PATH value made absolute: relative to basedir, or for firmware/... and
 * kernels/... not found there, the first match in the data directories. */
char *config_resolve_path(const char *text, const char *basedir);

/* props.c */
MosaicProps *config_props_new(const char *kind, const char *label, const char *where,
                              const MosaicPluginDesc *plugin);
void config_props_free(MosaicProps *p);
PropValue *config_props_lookup(const MosaicProps *p, const char *key);

#endif
