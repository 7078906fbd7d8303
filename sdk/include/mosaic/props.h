/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading the resolved, validated properties of an INI section. */
#ifndef MOSAIC_PROPS_H
#define MOSAIC_PROPS_H

#include <mosaic/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One resolved section: values already checked against the MosaicPropDesc table,
 * defaults filled in.  Getters of a key that was not declared abort in debug builds
 * and return 0/NULL otherwise: that is a plugin bug, not a user error. */
typedef struct MosaicProps MosaicProps;

MOSAIC_API const char *mosaic_props_label(const MosaicProps *p);  /* "disk0" */
MOSAIC_API const char *mosaic_props_kind(const MosaicProps *p);   /* "blockdev" */
MOSAIC_API bool mosaic_props_has(const MosaicProps *p, const char *key); /* set or defaulted */
MOSAIC_API bool mosaic_props_get_bool(const MosaicProps *p, const char *key);
MOSAIC_API int64_t mosaic_props_get_int(const MosaicProps *p, const char *key);
MOSAIC_API uint64_t mosaic_props_get_uint(const MosaicProps *p, const char *key); /* also SIZE, RATE */
MOSAIC_API const char *mosaic_props_get_str(const MosaicProps *p, const char *key); /* STRING, ENUM, REF, PATH */
/* "file:line" where the key was set, or the section header when defaulted. */
MOSAIC_API const char *mosaic_props_where(const MosaicProps *p, const char *key);

#ifdef __cplusplus
}
#endif
#endif
