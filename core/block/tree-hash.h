/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The checksum of a file as it is written ("xxh128t:HEX"), for a backup's new target.
 *
 * The file is cut into 64 KiB blocks; the checksum is XXH3-128 over the XXH3-128 of
 * every block in order, then the file's length (8 bytes, little endian).  It is a
 * checksum of the file's bytes like a plain hash (any changed byte changes it), but
 * it can be made from blocks hashed in any order: a write that covers a whole block
 * hashes it while the data is in hand, so the file need not be read again after the
 * copy.  A block written more than once, or in part (a format's metadata), or never,
 * is read back at the end; mosaic-backup verify computes the same by reading the file
 * (tools/mosaic-backup/checksum.c). */
#ifndef MOSAIC_CORE_BLOCK_TREE_HASH_H
#define MOSAIC_CORE_BLOCK_TREE_HASH_H

#include <sys/uio.h>
#include "block/block-internal.h"

typedef struct BlkTreeHash BlkTreeHash;

BlkTreeHash *blk_tree_hash_new(void);
void blk_tree_hash_free(BlkTreeHash *h);
/* After a write of `bytes` at `offset` from `iov` succeeded (any thread). */
void blk_tree_hash_written(BlkTreeHash *h, guint64 offset, const struct iovec *iov,
                           unsigned niov, guint64 bytes);
/* After anything else that may have changed [offset, offset + bytes) (any thread). */
void blk_tree_hash_touched(BlkTreeHash *h, guint64 offset, guint64 bytes);
/* "xxh128t:HEX" of the `length` bytes of `file` now (blocks not hashed while written
 * are read from it); NULL (a reason in *why) when it cannot be made within the bounds:
 * the caller then leaves the checksum to a reader of the file. */
char *blk_tree_hash_finish(BlkTreeHash *h, MosaicBlkChild *file, guint64 length,
                           const char **why);

#endif
