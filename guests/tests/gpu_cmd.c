/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The queues and commands the bare-metal virtio-gpu drivers share (gpu_cmd.h). */
#include "harness.h"
#include "virtio_xport.h"
#include "gpu_cmd.h"

#define QSIZE 16

#include "virtq_split.h"

static struct vq vqs[2] __attribute__((aligned(4096)));
uint8_t req[65536] __attribute__((aligned(16)));
uint8_t resp[2048] __attribute__((aligned(16)));

void vq_setup(unsigned q)
{
    if (vx_queue_max(q) < QSIZE) {
        fail("queue too small");
        test_exit();
    }
    struct vq *v = &vqs[q];
    for (unsigned i = 0; i < sizeof *v; i++)
        ((volatile uint8_t *)v)[i] = 0;
    vx_queue_setup(q, QSIZE, (uint64_t)&v->desc, (uint64_t)&v->avail, (uint64_t)&v->used);
}

uint32_t cmd_on(unsigned q, uint32_t len, uint32_t *written)
{
    struct vq *v = &vqs[q];
    v->desc[0] = (struct desc){(uint64_t)req, len, 1, 1};
    v->desc[1] = (struct desc){(uint64_t)resp, sizeof resp, 2, 0};
    for (unsigned i = 0; i < sizeof resp; i++)
        resp[i] = 0xee;
    v->avail.ring[v->avail.idx % QSIZE] = 0;
    fence();
    v->avail.idx++;
    fence();
    vx_notify(q);
    while (*(volatile uint16_t *)&v->used.idx == v->seen)
        ;
    fence();
    if (written)
        *written = v->used.ring[v->seen % QSIZE].len;
    v->seen++;
    return get32(resp);
}

uint8_t *hdr(uint32_t type)
{
    for (unsigned i = 0; i < 256; i++)
        req[i] = 0;
    put32(req, type);
    return req + 24;
}

uint32_t create(uint32_t id, uint32_t fmt, uint32_t w, uint32_t h)
{
    uint8_t *p = hdr(0x101);
    put32(p, id); put32(p + 4, fmt); put32(p + 8, w); put32(p + 12, h);
    return cmd(40);
}

uint32_t attach(uint32_t id, const uint8_t *base, uint32_t len)
{
    uint8_t *p = hdr(0x106);
    uint32_t n = 0;
    for (uint32_t off = 0; off < len; off += 4096, n++) {
        put64(p + 8 + 16 * n, (uint64_t)base + off);
        put32(p + 16 + 16 * n, len - off < 4096 ? len - off : 4096);
        put32(p + 20 + 16 * n, 0);
    }
    put32(p, id);
    put32(p + 4, n);
    return cmd(24 + 8 + 16 * n);
}
