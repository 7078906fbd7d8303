/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Split virtqueue bounds at exactly the queue size (virtio 1.2 §2.7): the last valid
 * descriptor index (num-1) as head and as next, num and beyond refused; a chain of num
 * descriptors taken, one longer refused; num buffers made available at once taken, more
 * refused; the used ring written only inside its num entries; buffers up to the last
 * byte of guest RAM and not one byte beyond; ROM readable, never device-writable.  Each case runs for several queue sizes,
 * 1 (where num-1 is 0) included. */
#include <string.h>

#include <glib.h>
#include <mosaic/mosaic.h>

#include "virtio/virtio-internal.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (1u << 20)
#define DESC (RAM_BASE + 0x00000)
#define AVAIL (RAM_BASE + 0x10000)
#define USED (RAM_BASE + 0x20000)
#define BUF (RAM_BASE + 0x40000)
#define GUARD 0xa5
#define ROM_BASE 0x1000ull
#define ROM_SIZE 0x1000u

static MosaicAddressSpace *as;
static uint8_t *host;

typedef struct {
    MosaicVirtio v;
    MosaicVirtQueue q;
    uint16_t avail_idx;
} Vq;

static void *gpa(uint64_t a) { return host + (a - RAM_BASE); }

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    if (DESC + 16 * (uint64_t)(i + 1) > AVAIL)
        return; /* an index far past the table: nothing to plant there */
    uint8_t *d = gpa(DESC + 16 * (uint64_t)i);
    uint64_t a = GUINT64_TO_LE(addr);
    uint32_t l = GUINT32_TO_LE(len);
    flags = GUINT16_TO_LE(flags);
    next = GUINT16_TO_LE(next);
    memcpy(d, &a, 8);
    memcpy(d + 8, &l, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

/* A ready queue of `num` entries over freshly guarded rings. */
static void vq_init(Vq *t, uint16_t num)
{
    memset(host, GUARD, RAM_SIZE);
    memset(gpa(AVAIL), 0, 4 + 2 * (size_t)num);
    memset(gpa(USED), 0, 4 + 8 * (size_t)num);
    memset(t, 0, sizeof *t);
    t->v.dma = as;
    t->v.status = VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                  VIRTIO_STATUS_DRIVER_OK;
    t->v.queues = &t->q;
    t->v.ops.num_queues = 1;
    t->q.v = &t->v;
    t->q.num = num;
    t->q.desc = DESC;
    t->q.avail = AVAIL;
    t->q.used = USED;
    t->q.ready = true;
}

static void make_available(Vq *t, uint16_t head)
{
    uint16_t h = GUINT16_TO_LE(head);
    memcpy(gpa(AVAIL + 4 + 2 * (uint64_t)(t->avail_idx % t->q.num)), &h, 2);
    t->avail_idx++;
    uint16_t idx = GUINT16_TO_LE(t->avail_idx);
    memcpy(gpa(AVAIL + 2), &idx, 2);
}

static bool needs_reset(Vq *t)
{
    return t->q.broken && (t->v.status & VIRTIO_STATUS_NEEDS_RESET);
}

/* Pops one element and checks it is the chain at `head` with `descs` buffers of 16
 * bytes each; returns it (pushed back by the caller). */
static MosaicVirtqElem *pop_ok(Vq *t, uint16_t head, unsigned descs)
{
    MosaicVirtqElem *e = mosaic_virtq_pop(&t->q);
    g_assert_nonnull(e);
    g_assert_false(needs_reset(t));
    g_assert_cmpuint(e->head, ==, head);
    g_assert_cmpuint(e->out_num + e->in_num, ==, descs);
    g_assert_cmpuint(e->out_len + e->in_len, ==, 16 * descs);
    return e;
}

static void pop_refused(Vq *t)
{
    g_assert_null(mosaic_virtq_pop(&t->q));
    g_assert_true(needs_reset(t));
}

static const uint16_t sizes[] = {1, 2, 8, 256};

static void test_head_last_valid(void)
{
    for (unsigned s = 0; s < G_N_ELEMENTS(sizes); s++) {
        Vq t;
        uint16_t num = sizes[s];
        vq_init(&t, num);
        set_desc(num - 1, BUF, 16, 0, 0);
        make_available(&t, num - 1);
        mosaic_virtq_push(&t.q, pop_ok(&t, num - 1, 1), 0);
    }
}

static void test_head_out_of_range(void)
{
    for (unsigned s = 0; s < G_N_ELEMENTS(sizes); s++) {
        const uint16_t num = sizes[s], bad[] = {num, num + 1, 0xffff};
        for (unsigned b = 0; b < G_N_ELEMENTS(bad); b++) {
            Vq t;
            vq_init(&t, num);
            set_desc(bad[b], BUF, 16, 0, 0); /* a plausible descriptor past the table */
            make_available(&t, bad[b]);
            pop_refused(&t);
        }
    }
}

static void test_next_last_valid(void)
{
    for (unsigned s = 1; s < G_N_ELEMENTS(sizes); s++) {
        Vq t;
        uint16_t num = sizes[s];
        vq_init(&t, num);
        set_desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, num - 1);
        set_desc(num - 1, BUF + 16, 16, VIRTQ_DESC_F_WRITE, 0);
        make_available(&t, 0);
        MosaicVirtqElem *e = pop_ok(&t, 0, 2);
        g_assert_cmpuint(e->out_num, ==, 1);
        g_assert_cmpuint(e->in_num, ==, 1);
        mosaic_virtq_push(&t.q, e, 16);
    }
}

static void test_next_out_of_range(void)
{
    for (unsigned s = 0; s < G_N_ELEMENTS(sizes); s++) {
        const uint16_t num = sizes[s], bad[] = {num, num + 1, 0xffff};
        for (unsigned b = 0; b < G_N_ELEMENTS(bad); b++) {
            Vq t;
            vq_init(&t, num);
            set_desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, bad[b]);
            set_desc(bad[b], BUF + 16, 16, 0, 0);
            make_available(&t, 0);
            pop_refused(&t);
        }
    }
}

/* 0 -> 1 -> ... -> num-1: the longest chain a table of num descriptors holds. */
static void chain_all(uint16_t num, bool loop_back)
{
    for (unsigned i = 0; i < num; i++) {
        bool last = i == num - 1u;
        set_desc(i, BUF + 16 * i, 16, (last && !loop_back) ? 0 : VIRTQ_DESC_F_NEXT,
                 last ? 0 : i + 1);
    }
}

static void test_chain_of_num(void)
{
    for (unsigned s = 0; s < G_N_ELEMENTS(sizes); s++) {
        Vq t;
        uint16_t num = sizes[s];
        vq_init(&t, num);
        chain_all(num, false);
        make_available(&t, 0);
        mosaic_virtq_push(&t.q, pop_ok(&t, 0, num), 0);
    }
}

static void test_chain_longer_than_num(void)
{
    for (unsigned s = 0; s < G_N_ELEMENTS(sizes); s++) {
        Vq t;
        uint16_t num = sizes[s];
        vq_init(&t, num);
        chain_all(num, true); /* the num+1-th descriptor is the head again */
        make_available(&t, 0);
        pop_refused(&t);
    }
}

/* The driver may make all num entries available at once; num+1 is a broken driver. */
static void test_num_available_at_once(void)
{
    for (unsigned s = 0; s < G_N_ELEMENTS(sizes); s++) {
        Vq t;
        uint16_t num = sizes[s];
        vq_init(&t, num);
        for (unsigned i = 0; i < num; i++) {
            set_desc(i, BUF + 16 * i, 16, VIRTQ_DESC_F_WRITE, 0);
            make_available(&t, i);
        }
        g_autofree MosaicVirtqElem **e = g_new(MosaicVirtqElem *, num);
        for (unsigned i = 0; i < num; i++)
            e[i] = pop_ok(&t, i, 1);
        g_assert_null(mosaic_virtq_pop(&t.q)); /* nothing more, and nothing wrong */
        g_assert_false(needs_reset(&t));
        /* Pushed in reverse: used entries fill slots 0..num-1 and never slot num. */
        for (unsigned i = num; i-- > 0;)
            mosaic_virtq_push(&t.q, e[i], 16);
        uint16_t used_idx;
        memcpy(&used_idx, gpa(USED + 2), 2);
        g_assert_cmpuint(GUINT16_FROM_LE(used_idx), ==, num);
        for (unsigned k = 0; k < num; k++) {
            uint32_t id;
            memcpy(&id, gpa(USED + 4 + 8 * k), 4);
            g_assert_cmpuint(GUINT32_FROM_LE(id), ==, num - 1 - k);
        }
        g_assert_cmpuint(*(uint8_t *)gpa(USED + 4 + 8 * (uint64_t)num), ==, GUARD);
        g_assert_cmpuint(*(uint8_t *)gpa(AVAIL + 4 + 2 * (uint64_t)num), ==, GUARD);
    }
}

static void test_more_than_num_available(void)
{
    for (unsigned s = 0; s < G_N_ELEMENTS(sizes); s++) {
        Vq t;
        uint16_t num = sizes[s];
        vq_init(&t, num);
        set_desc(0, BUF, 16, 0, 0);
        t.avail_idx = num + 1; /* the index moved past every slot */
        uint16_t idx = GUINT16_TO_LE(t.avail_idx);
        memcpy(gpa(AVAIL + 2), &idx, 2);
        pop_refused(&t);
    }
}

/* With all num buffers in flight, one more can only reuse a descriptor the device holds. */
static void test_more_than_num_in_flight(void)
{
    for (unsigned s = 0; s < G_N_ELEMENTS(sizes); s++) {
        Vq t;
        uint16_t num = sizes[s];
        vq_init(&t, num);
        g_autofree MosaicVirtqElem **e = g_new(MosaicVirtqElem *, num);
        for (unsigned i = 0; i < num; i++) {
            set_desc(i, BUF + 16 * i, 16, 0, 0);
            make_available(&t, i);
            e[i] = pop_ok(&t, i, 1);
        }
        make_available(&t, 0);
        pop_refused(&t);
        for (unsigned i = 0; i < num; i++)
            mosaic_virtq_push(&t.q, e[i], 0); /* dropped: the queue needs a reset */
        uint16_t used_idx;
        memcpy(&used_idx, gpa(USED + 2), 2);
        g_assert_cmpuint(used_idx, ==, 0);
    }
}

/* The ring indexes are free-running 16-bit counters: slots follow them across 65535. */
static void test_index_wraps(void)
{
    Vq t;
    vq_init(&t, 8);
    t.q.last_avail = t.q.used_idx = t.avail_idx = 0xfffe;
    uint16_t idx = GUINT16_TO_LE(0xfffe);
    memcpy(gpa(USED + 2), &idx, 2);
    for (unsigned i = 0; i < 4; i++) {
        set_desc(i, BUF + 16 * i, 16, 0, 0);
        make_available(&t, i);
        mosaic_virtq_push(&t.q, pop_ok(&t, i, 1), 0);
    }
    memcpy(&idx, gpa(USED + 2), 2);
    g_assert_cmpuint(GUINT16_FROM_LE(idx), ==, 2);
    uint32_t id;
    memcpy(&id, gpa(USED + 4 + 8 * 7), 4); /* 0xffff % 8 */
    g_assert_cmpuint(GUINT32_FROM_LE(id), ==, 1);
}

/* VIRTIO_F_INDIRECT_DESC is not offered: an indirect descriptor is a driver bug. */
static void test_indirect_refused(void)
{
    Vq t;
    vq_init(&t, 8);
    set_desc(8, BUF, 16, 0, 0);
    set_desc(0, DESC + 16 * 8, 16, VIRTQ_DESC_F_INDIRECT, 0);
    make_available(&t, 0);
    pop_refused(&t);
}

static void test_buffer_at_end_of_ram(void)
{
    const uint64_t end = RAM_BASE + RAM_SIZE;
    Vq t;
    vq_init(&t, 8);
    set_desc(0, end - 16, 16, VIRTQ_DESC_F_WRITE, 0);
    make_available(&t, 0);
    mosaic_virtq_push(&t.q, pop_ok(&t, 0, 1), 16);
    vq_init(&t, 8);
    set_desc(0, end - 15, 16, VIRTQ_DESC_F_WRITE, 0);
    make_available(&t, 0);
    pop_refused(&t);
    vq_init(&t, 8);
    set_desc(0, UINT64_MAX - 7, 16, 0, 0); /* wraps the address space */
    make_available(&t, 0);
    pop_refused(&t);
}

/* ROM may be read by the device (a device-readable buffer) but never written. */
static void test_rom_buffer(void)
{
    Vq t;
    vq_init(&t, 8);
    set_desc(0, ROM_BASE, 16, 0, 0);
    make_available(&t, 0);
    mosaic_virtq_push(&t.q, pop_ok(&t, 0, 1), 0);
    vq_init(&t, 8);
    set_desc(0, ROM_BASE, 16, VIRTQ_DESC_F_WRITE, 0);
    make_available(&t, 0);
    pop_refused(&t);
}

static uint16_t used_index(void)
{
    uint16_t idx;
    memcpy(&idx, gpa(USED + 2), 2);
    return GUINT16_FROM_LE(idx);
}

/* Several chains returned at once: every entry in place, the index moved once by n. */
static void test_push_many(void)
{
    Vq t;
    vq_init(&t, 8);
    MosaicVirtqElem *e[3];
    uint32_t written[3] = {16, 7, 0};
    for (unsigned i = 0; i < 3; i++) {
        set_desc(i, BUF + 16 * i, 16, VIRTQ_DESC_F_WRITE, 0);
        make_available(&t, i);
        e[i] = pop_ok(&t, i, 1);
    }
    g_assert_cmpuint(used_index(), ==, 0);
    mosaic_virtq_push_many(&t.q, e, written, 3);
    g_assert_cmpuint(used_index(), ==, 3);
    g_assert_cmpuint(t.q.inflight, ==, 0);
    for (unsigned i = 0; i < 3; i++) {
        uint32_t u[2];
        memcpy(u, gpa(USED + 4 + 8 * i), 8);
        g_assert_cmpuint(GUINT32_FROM_LE(u[0]), ==, i);
        g_assert_cmpuint(GUINT32_FROM_LE(u[1]), ==, written[i]);
    }
}

/* Chains given back unused come again, in order, and count as not in flight. */
static void test_unpop(void)
{
    Vq t;
    vq_init(&t, 4);
    for (unsigned i = 0; i < 2; i++) {
        set_desc(i, BUF + 16 * i, 16, VIRTQ_DESC_F_WRITE, 0);
        make_available(&t, i);
    }
    MosaicVirtqElem *a = pop_ok(&t, 0, 1), *b = pop_ok(&t, 1, 1);
    g_assert_null(mosaic_virtq_pop(&t.q));
    mosaic_virtq_unpop(&t.q, b);
    mosaic_virtq_unpop(&t.q, a);
    g_assert_cmpuint(t.q.inflight, ==, 0);
    g_assert_cmpuint(used_index(), ==, 0);
    a = pop_ok(&t, 0, 1);
    b = pop_ok(&t, 1, 1);
    mosaic_virtq_push(&t.q, a, 0);
    mosaic_virtq_push(&t.q, b, 0);
    g_assert_cmpuint(used_index(), ==, 2);
    g_assert_false(needs_reset(&t));
}

/* The size and the ring of a ready queue; nothing for one that is not. */
static void test_size_and_ring(void)
{
    Vq t;
    vq_init(&t, 8);
    g_assert_cmpuint(mosaic_virtq_size(&t.q), ==, 8);
    MosaicVirtqRing r = {.struct_size = sizeof r};
    g_assert_true(mosaic_virtq_ring(&t.q, &r));
    g_assert_cmpuint(r.num, ==, 8);
    g_assert_cmpuint(r.desc, ==, DESC);
    g_assert_cmpuint(r.avail, ==, AVAIL);
    g_assert_cmpuint(r.used, ==, USED);
    t.q.ready = false;
    g_assert_cmpuint(mosaic_virtq_size(&t.q), ==, 0);
    g_assert_false(mosaic_virtq_ring(&t.q, &r));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL); /* guest-error warnings expected */
    MosaicRegion *root = mosaic_region_new_container("root", 1ull << 40);
    MosaicRegion *ram = mosaic_region_new_ram("ram", RAM_SIZE, NULL);
    mosaic_region_add(root, RAM_BASE, ram, 0, NULL);
    mosaic_region_add(root, ROM_BASE, mosaic_region_new_rom("rom", ROM_SIZE, NULL), 0, NULL);
    as = mosaic_address_space_new("as", root);
    host = mosaic_region_host_ptr(ram);
    g_test_add_func("/virtqueue/head/last-valid", test_head_last_valid);
    g_test_add_func("/virtqueue/head/out-of-range", test_head_out_of_range);
    g_test_add_func("/virtqueue/next/last-valid", test_next_last_valid);
    g_test_add_func("/virtqueue/next/out-of-range", test_next_out_of_range);
    g_test_add_func("/virtqueue/chain/num", test_chain_of_num);
    g_test_add_func("/virtqueue/chain/longer-than-num", test_chain_longer_than_num);
    g_test_add_func("/virtqueue/avail/num-at-once", test_num_available_at_once);
    g_test_add_func("/virtqueue/avail/more-than-num", test_more_than_num_available);
    g_test_add_func("/virtqueue/avail/more-than-num-in-flight", test_more_than_num_in_flight);
    g_test_add_func("/virtqueue/index-wraps", test_index_wraps);
    g_test_add_func("/virtqueue/indirect-refused", test_indirect_refused);
    g_test_add_func("/virtqueue/buffer-at-end-of-ram", test_buffer_at_end_of_ram);
    g_test_add_func("/virtqueue/rom-buffer", test_rom_buffer);
    g_test_add_func("/virtqueue/push-many", test_push_many);
    g_test_add_func("/virtqueue/unpop", test_unpop);
    g_test_add_func("/virtqueue/size-and-ring", test_size_and_ring);
    return g_test_run();
}
