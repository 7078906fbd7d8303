/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Scatter-gather lists (struct iovec): the helpers every driver and device that moves
 * request data needs, so none writes its own.  Offsets and lengths are in bytes from
 * the start of the list; ranges past its end are cut at the end.
 *
 * Changelog
 *   1.0  first ABI (mosaic_iov_to_buf/from_buf moved here from virtio.h; the others
 *        added before the first release).
 */
#ifndef MOSAIC_IOV_H
#define MOSAIC_IOV_H

#include <stddef.h>
#include <sys/uio.h>
#include <mosaic/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Total bytes of the list. */
MOSAIC_API size_t mosaic_iov_size(const struct iovec *iov, unsigned n);

/* Describes [off, off+len) of the list with at most `max` entries of `out` (pointing
 * into the same buffers).  Returns the number of entries, or 0 when more than `max`
 * would be needed (or len is 0). */
MOSAIC_API unsigned mosaic_iov_slice(const struct iovec *iov, unsigned n, size_t off,
                                     size_t len, struct iovec *out, unsigned max);

/* Copies [off, off+len) of the list to dst / from src into it, or fills it with the
 * byte c.  Return the bytes done (less than len when the list ends first). */
MOSAIC_API size_t mosaic_iov_to_buf(const struct iovec *iov, unsigned n, size_t off,
                                      void *dst, size_t len);
MOSAIC_API size_t mosaic_iov_from_buf(const struct iovec *iov, unsigned n, size_t off,
                                        const void *src, size_t len);
MOSAIC_API size_t mosaic_iov_memset(const struct iovec *iov, unsigned n, size_t off, int c,
                                      size_t len);

#ifdef __cplusplus
}
#endif
#endif
