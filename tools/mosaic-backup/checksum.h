/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checksums of backup files, kept in the manifest as "ALGO:HEX".
 *
 * New files get XXH3-128 ("xxh128:..."): the manifest sits beside the files, so a
 * cryptographic hash would protect against nothing more than damage, and XXH3 reads a
 * file as fast as the page cache delivers it, where SHA-256 cost about as much as the
 * whole copy.  Manifests of older versions hold SHA-256 sums ("sha256:..." once loaded):
 * they are still verified with SHA-256. */
#ifndef MOSAIC_BACKUP_CHECKSUM_H
#define MOSAIC_BACKUP_CHECKSUM_H

#include <glib.h>

#define CHECKSUM_DEFAULT "xxh128"

/* "ALGO:HEX" of the file, ALGO "xxh128" or "sha256"; NULL + err on a read error or an
 * unknown algorithm. */
char *checksum_file(const char *path, const char *algo, GError **err);
/* The same algorithm as `expected` ("ALGO:HEX") over `path`. */
char *checksum_file_like(const char *path, const char *expected, GError **err);

#endif
