/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Split virtqueues (virtio 1.2 §2.7) with every guest value checked.  Ring fields are
 * read and written through the device's DMA address space; buffers must be guest RAM. */
#include <string.h>

#include "virtio/virtio-internal.h"

static bool rd(MosaicVirtQueue *q, uint64_t addr, void *buf, uint64_t len)
{
    return mosaic_as_rw(q->v->dma, addr, buf, len, false) == MOSAIC_MEM_OK;
}

static bool wr(MosaicVirtQueue *q, uint64_t addr, const void *buf, uint64_t len)
{
    return mosaic_as_rw(q->v->dma, addr, (void *)buf, len, true) == MOSAIC_MEM_OK;
}

void virtq_reset(MosaicVirtQueue *q)
{
    q->num = 0;
    q->ready = false;
    q->broken = false;
    q->desc = q->avail = q->used = 0;
    q->last_avail = q->used_idx = 0;
    q->inflight = 0;
}

static void fail(MosaicVirtQueue *q, const char *why)
{
    q->broken = true;
    virtio_set_needs_reset(q->v, why);
}

/* A guest buffer [addr, addr+len) as host iovecs; every byte must be RAM (and writable
 * RAM for device-writable buffers).  Appends to `iov` (growing arrays). */
static bool map_buf(MosaicVirtQueue *q, uint64_t addr, uint32_t len, bool write, GArray *iov,
                    GArray *regions, GArray *offsets)
{
    while (len) {
        MosaicMemSection s;
        if (!mosaic_as_lookup(q->v->dma, addr, &s) || !s.host || (write && s.readonly))
            return false;
        uint64_t n = MIN((uint64_t)len, s.base + s.size - addr);
        struct iovec v = {s.host + (addr - s.base), n};
        g_array_append_val(iov, v);
        if (write) {
            uint64_t off = s.region_offset + (addr - s.base);
            g_array_append_val(regions, s.region);
            g_array_append_val(offsets, off);
        }
        addr += n;
        len -= n;
        if (addr == 0 && len)
            return false; /* wrapped around the address space */
    }
    return true;
}

MOSAIC_API MosaicVirtqElem *mosaic_virtq_pop(MosaicVirtQueue *q)
{
    if (!q || !q->ready || q->broken || !(q->v->status & VIRTIO_STATUS_DRIVER_OK) ||
        (q->v->status & VIRTIO_STATUS_NEEDS_RESET))
        return NULL;
    uint16_t avail_idx;
    if (!rd(q, q->avail + 2, &avail_idx, 2)) {
        fail(q, "avail ring outside guest memory");
        return NULL;
    }
    avail_idx = GUINT16_FROM_LE(avail_idx);
    uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
    if (pending == 0)
        return NULL;
    if (pending > q->num) {
        fail(q, "avail index moved by more than the queue size");
        return NULL;
    }
    if (q->inflight >= q->num) {
        fail(q, "more buffers made available than the queue holds");
        return NULL;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE); /* ring entries after the index */
    uint16_t head;
    if (!rd(q, q->avail + 4 + 2 * (uint64_t)(q->last_avail % q->num), &head, 2)) {
        fail(q, "avail ring outside guest memory");
        return NULL;
    }
    head = GUINT16_FROM_LE(head);
    if (head >= q->num) {
        fail(q, "descriptor index out of range");
        return NULL;
    }
    g_autoptr(GArray) out = g_array_new(FALSE, FALSE, sizeof(struct iovec));
    g_autoptr(GArray) in = g_array_new(FALSE, FALSE, sizeof(struct iovec));
    g_autoptr(GArray) regions = g_array_new(FALSE, FALSE, sizeof(MosaicRegion *));
    g_autoptr(GArray) offsets = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    uint64_t out_len = 0, in_len = 0;
    uint16_t i = head;
    /* A chain visits at most num descriptors: anything longer loops. */
    for (unsigned count = 0;; count++) {
        if (count >= q->num) {
            fail(q, "descriptor chain loops or is longer than the queue");
            return NULL;
        }
        uint8_t d[16];
        if (!rd(q, q->desc + 16 * (uint64_t)i, d, 16)) {
            fail(q, "descriptor table outside guest memory");
            return NULL;
        }
        uint64_t addr;
        uint32_t len;
        uint16_t flags, next;
        memcpy(&addr, d, 8);
        memcpy(&len, d + 8, 4);
        memcpy(&flags, d + 12, 2);
        memcpy(&next, d + 14, 2);
        addr = GUINT64_FROM_LE(addr);
        len = GUINT32_FROM_LE(len);
        flags = GUINT16_FROM_LE(flags);
        next = GUINT16_FROM_LE(next);
        if (flags & VIRTQ_DESC_F_INDIRECT) {
            fail(q, "indirect descriptor (not negotiated)");
            return NULL;
        }
        bool w = flags & VIRTQ_DESC_F_WRITE;
        if (!w && in->len) {
            fail(q, "device-readable descriptor after a device-writable one");
            return NULL;
        }
        if (!map_buf(q, addr, len, w, w ? in : out, regions, offsets)) {
            fail(q, "descriptor buffer is not in guest RAM");
            return NULL;
        }
        if (w)
            in_len += len;
        else
            out_len += len;
        if (!(flags & VIRTQ_DESC_F_NEXT))
            break;
        if (next >= q->num) {
            fail(q, "next descriptor index out of range");
            return NULL;
        }
        i = next;
    }
    q->last_avail++;
    q->inflight++;
    VqElem *e = g_new0(VqElem, 1);
    e->pub.head = head;
    e->pub.out_num = out->len;
    e->pub.in_num = in->len;
    e->pub.out = (struct iovec *)g_array_free(g_steal_pointer(&out), FALSE);
    e->pub.in = (struct iovec *)g_array_free(g_steal_pointer(&in), FALSE);
    e->pub.out_len = out_len;
    e->pub.in_len = in_len;
    e->in_region = (MosaicRegion **)g_array_free(g_steal_pointer(&regions), FALSE);
    e->in_offset = (uint64_t *)g_array_free(g_steal_pointer(&offsets), FALSE);
    return &e->pub;
}

static void elem_free(VqElem *e)
{
    g_free(e->pub.out);
    g_free(e->pub.in);
    g_free(e->in_region);
    g_free(e->in_offset);
    g_free(e);
}

/* Dirty tracking for what the device wrote into `elem`. */
static void mark_written(VqElem *e, uint32_t written)
{
    uint64_t left = MIN(written, e->pub.in_len);
    for (unsigned k = 0; k < e->pub.in_num && left; k++) {
        uint64_t n = MIN(left, e->pub.in[k].iov_len);
        mosaic_ram_set_dirty(e->in_region[k], e->in_offset[k], n);
        left -= n;
    }
}

MOSAIC_API void mosaic_virtq_push_many(MosaicVirtQueue *q, MosaicVirtqElem *const *elems,
                                       const uint32_t *written, unsigned n)
{
    /* A reset since the pops: the ring is gone, drop the elements. */
    bool live = q->ready && !q->broken && q->inflight >= n;
    uint16_t idx = q->used_idx;
    for (unsigned k = 0; k < n; k++) {
        VqElem *e = (VqElem *)elems[k];
        mark_written(e, written[k]);
        if (live) {
            uint32_t u[2] = {GUINT32_TO_LE(e->pub.head), GUINT32_TO_LE(MIN(written[k], e->pub.in_len))};
            if (!wr(q, q->used + 4 + 8 * (uint64_t)(idx % q->num), u, 8)) {
                fail(q, "used ring outside guest memory");
                live = false;
            }
            idx++;
        }
        elem_free(e);
    }
    if (!live)
        return;
    q->inflight -= n;
    __atomic_thread_fence(__ATOMIC_RELEASE); /* entries before index */
    q->used_idx = idx;
    uint16_t le = GUINT16_TO_LE(q->used_idx);
    if (!wr(q, q->used + 2, &le, 2))
        fail(q, "used ring outside guest memory");
}

MOSAIC_API void mosaic_virtq_push(MosaicVirtQueue *q, MosaicVirtqElem *elem, uint32_t written)
{
    mosaic_virtq_push_many(q, &elem, &written, 1);
}

MOSAIC_API void mosaic_virtq_unpop(MosaicVirtQueue *q, MosaicVirtqElem *elem)
{
    /* A reset since the pop: nothing to give back. */
    if (q->ready && !q->broken && q->inflight) {
        q->inflight--;
        q->last_avail--;
    }
    elem_free((VqElem *)elem);
}

MOSAIC_API unsigned mosaic_virtq_size(const MosaicVirtQueue *q)
{
    return q && q->ready ? q->num : 0;
}

MOSAIC_API void mosaic_virtq_notify(MosaicVirtQueue *q)
{
    if (!q->ready)
        return;
    uint16_t flags = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!q->broken && rd(q, q->avail, &flags, 2) &&
        (GUINT16_FROM_LE(flags) & VIRTQ_AVAIL_F_NO_INTERRUPT))
        return;
    virtio_interrupt(q->v, q->index);
}

MOSAIC_API bool mosaic_virtq_ring(const MosaicVirtQueue *q, MosaicVirtqRing *out)
{
    if (!q || !q->ready || q->broken || !out || out->struct_size < sizeof(MosaicVirtqRing))
        return false;
    *out = (MosaicVirtqRing){.struct_size = sizeof(MosaicVirtqRing), .num = q->num,
                             .last_avail = q->last_avail, .used_idx = q->used_idx,
                             .desc = q->desc, .avail = q->avail, .used = q->used};
    return true;
}
