/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Byte ranges of a request's iovecs (pure; fuzzed by fuzz/fuzz-q2-iov.c). */
#ifndef Q2_IOV_H
#define Q2_IOV_H

#include <stdint.h>
#include <sys/uio.h>

/* Up to `max` iovecs covering the start of [off, off+len) of iov; *got: bytes covered. */
unsigned q2_iov_slice(const struct iovec *iov, unsigned n, uint64_t off, uint64_t len,
                      struct iovec *out, unsigned max, uint64_t *got);

#endif
