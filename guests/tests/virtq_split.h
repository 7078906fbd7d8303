/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The split virtqueue (virtio 1.2, 2.7) as the bare-metal drivers lay it out: QSIZE
 * entries (the includer defines QSIZE), the descriptor table 16-byte aligned, the used
 * ring 4-byte aligned, and the driver's count of used entries it has seen. */
#ifndef VIRTQ_SPLIT_H
#define VIRTQ_SPLIT_H
#include <stdint.h>

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct vq {
    struct desc desc[QSIZE];
    struct { uint16_t flags, idx, ring[QSIZE], event; } avail __attribute__((aligned(2)));
    struct { uint16_t flags, idx; struct { uint32_t id, len; } ring[QSIZE]; uint16_t event; } used
        __attribute__((aligned(4)));
    uint16_t seen;
} __attribute__((aligned(16)));

#endif
