/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checksums of backup files, kept in the manifest as "ALGO:HEX".
 *
 * New files get "xxh128t:...": XXH3-128 over the XXH3-128 of each 64 KiB block of the
 * file and its length.  The machine makes it while it writes the file (the job's
 * checksum-file; core/block/tree-hash.h), so the tool does not read a new file again;
 * verify reads the file and computes the same.  Points of earlier versions hold plain
 * XXH3-128 of the file ("xxh128:..."), still verified as such.  Why XXH3: the manifest
 * sits beside the files, so a cryptographic hash would protect against nothing more than damage, and XXH3 reads a
 * file as fast as the page cache delivers it, where SHA-256 cost about as much as the
 * whole copy.  Manifests of older versions hold SHA-256 sums ("sha256:..." once loaded):
 * they are still verified with SHA-256. */
#ifndef MOSAIC_BACKUP_CHECKSUM_H
#define MOSAIC_BACKUP_CHECKSUM_H

#include <glib.h>

#define CHECKSUM_DEFAULT "xxh128t"

/* "ALGO:HEX" of the file, ALGO "xxh128t", "xxh128" or "sha256"; NULL + err on a read error or an
 * unknown algorithm. */
char *checksum_file(const char *path, const char *algo, GError **err);
/* The checksum the machine wrote to `sum_path` while it wrote the file (the job's
 * checksum-file), removed once read; NULL if there is none or it is not a checksum. */
char *checksum_take_made(const char *sum_path);
/* The same algorithm as `expected` ("ALGO:HEX") over `path`. */
char *checksum_file_like(const char *path, const char *expected, GError **err);

#endif
