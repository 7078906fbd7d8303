/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the bare-metal virtio-gpu drivers (gpu.c, gpu3d.c) share: two polled queues, a
 * request buffer and its answer, and the commands both send. */
#ifndef GPU_CMD_H
#define GPU_CMD_H
#include <stdint.h>

extern uint8_t req[65536];   /* the request being built (hdr() clears its first 256 bytes) */
extern uint8_t resp[2048];   /* the last answer */

static inline void fence(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }
static inline void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = v >> (8 * i); }
static inline void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, v >> 32); }
static inline uint32_t get32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Queue q (0 control, 1 cursor) on fresh rings: a reset device starts them over. */
void vq_setup(unsigned q);
/* Sends req[0, len) on queue q and waits for the answer; returns the response type
 * (*written, when asked: the bytes the device wrote). */
uint32_t cmd_on(unsigned q, uint32_t len, uint32_t *written);
static inline uint32_t cmd(uint32_t len) { return cmd_on(0, len, 0); }
/* A request header of `type`; the body starts at req + 24. */
uint8_t *hdr(uint32_t type);
/* RESOURCE_CREATE_2D. */
uint32_t create(uint32_t id, uint32_t fmt, uint32_t w, uint32_t h);
/* RESOURCE_ATTACH_BACKING of `len` bytes at `base` in 4 KiB entries (the last one
 * shorter). */
uint32_t attach(uint32_t id, const uint8_t *base, uint32_t len);
#endif
