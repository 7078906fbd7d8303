/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Partial checksums (VIRTIO_NET_HDR_F_NEEDS_CSUM): the sender put the pseudo-header sum
 * at csum_start + csum_offset; the Internet checksum of [csum_start, end) completes it.
 * The device does it when the other side cannot take partial checksums. */
#include <string.h>
#include "vnet.h"

void hdr_read(NetHdr *h, const uint8_t *raw)
{
    h->flags = raw[0];
    h->gso_type = raw[1];
    h->hdr_len = raw[2] | raw[3] << 8;
    h->gso_size = raw[4] | raw[5] << 8;
    h->csum_start = raw[6] | raw[7] << 8;
    h->csum_offset = raw[8] | raw[9] << 8;
    h->num_buffers = raw[10] | raw[11] << 8;
}

bool csum_finish(uint8_t *f, size_t len)
{
    NetHdr h;
    hdr_read(&h, f);
    if (!(h.flags & HDR_F_NEEDS_CSUM))
        return true;
    uint8_t *p = f + MOSAIC_NET_HDR_LEN;
    size_t n = len - MOSAIC_NET_HDR_LEN;
    size_t start = h.csum_start, at = (size_t)h.csum_start + h.csum_offset;
    if (start > n || at + 2 > n)
        return false;
    uint32_t sum = 0;
    for (size_t i = start; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if ((n - start) & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    uint16_t c = ~sum & 0xffff;
    if (!c)
        c = 0xffff; /* as Linux: for UDP 0 means "no checksum", and 0xffff equals 0 */
    p[at] = c >> 8;
    p[at + 1] = c & 0xff;
    f[0] &= ~HDR_F_NEEDS_CSUM;
    return true;
}
