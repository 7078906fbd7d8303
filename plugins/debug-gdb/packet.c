/* SPDX-License-Identifier: GPL-2.0-or-later */
/* GDB remote serial protocol framing: "$payload#cs" packets, acks and Ctrl-C.
 * A client may send anything; the parser never reads or writes past its buffer and
 * reports oversize packets instead of truncating them silently. */
#include "gdb-packet.h"

enum { ST_IDLE, ST_DATA, ST_CSUM1, ST_CSUM2 };

void gdb_parser_init(GdbParser *p)
{
    p->state = ST_IDLE;
    p->len = 0;
    p->overflow = FALSE;
    p->sum = 0;
    p->csum_hi = 0;
    p->buf[0] = 0;
}

int gdb_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

GdbEvent gdb_parser_feed(GdbParser *p, uint8_t c)
{
    switch (p->state) {
    case ST_IDLE:
        if (c == '$') {
            p->state = ST_DATA;
            p->len = 0;
            p->overflow = FALSE;
            p->sum = 0;
        } else if (c == 0x03) {
            return GDB_EV_INTERRUPT;
        } else if (c == '+') {
            return GDB_EV_ACK;
        } else if (c == '-') {
            return GDB_EV_NAK;
        }
        return GDB_EV_NONE; /* noise between packets is ignored, as gdbserver does */
    case ST_DATA:
        if (c == '#') {
            p->state = ST_CSUM1;
        } else if (c == '$') {
            /* A new packet start inside a packet: the client gave up on the old one. */
            p->len = 0;
            p->overflow = FALSE;
            p->sum = 0;
        } else {
            p->sum += c;
            if (p->len < GDB_PACKET_MAX)
                p->buf[p->len++] = (char)c;
            else
                p->overflow = TRUE;
        }
        return GDB_EV_NONE;
    case ST_CSUM1: {
        int d = gdb_hex_digit((char)c);
        p->csum_hi = d;
        p->state = ST_CSUM2;
        return GDB_EV_NONE;
    }
    default: { /* ST_CSUM2 */
        int d = gdb_hex_digit((char)c);
        p->state = ST_IDLE;
        p->buf[p->len] = 0;
        if (p->overflow)
            return GDB_EV_TOO_LONG;
        if (p->csum_hi < 0 || d < 0 || (uint8_t)(p->csum_hi << 4 | d) != p->sum)
            return GDB_EV_BAD_PACKET;
        return GDB_EV_PACKET;
    }
    }
}

void gdb_packet_frame(GString *out, const char *payload, gsize len)
{
    uint8_t sum = 0;
    for (gsize i = 0; i < len; i++)
        sum += (uint8_t)payload[i];
    g_string_append_c(out, '$');
    g_string_append_len(out, payload, (gssize)len);
    g_string_append_printf(out, "#%02x", sum);
}

gboolean gdb_parse_hex(const char **s, uint64_t *value)
{
    const char *p = *s;
    uint64_t v = 0;
    int n = 0, d;
    while ((d = gdb_hex_digit(*p)) >= 0) {
        if (++n > 16)
            return FALSE; /* more than 64 bits */
        v = v << 4 | (uint64_t)d;
        p++;
    }
    if (!n)
        return FALSE;
    *s = p;
    *value = v;
    return TRUE;
}

gboolean gdb_hex_decode(const char *hex, uint8_t *out, gsize n)
{
    for (gsize i = 0; i < n; i++) {
        int hi = gdb_hex_digit(hex[2 * i]);
        int lo = hi < 0 ? -1 : gdb_hex_digit(hex[2 * i + 1]);
        if (lo < 0)
            return FALSE;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return TRUE;
}

void gdb_hex_append(GString *out, const uint8_t *data, gsize n)
{
    static const char digits[] = "0123456789abcdef";
    for (gsize i = 0; i < n; i++) {
        g_string_append_c(out, digits[data[i] >> 4]);
        g_string_append_c(out, digits[data[i] & 15]);
    }
}

void gdb_hex_append_le(GString *out, uint64_t value, unsigned bytes)
{
    uint8_t b[8];
    for (unsigned i = 0; i < 8; i++)
        b[i] = (uint8_t)(value >> (8 * i));
    gdb_hex_append(out, b, MIN(bytes, 8u));
}

gboolean gdb_hex_decode_le(const char *hex, gsize avail, unsigned bytes, uint64_t *value)
{
    uint8_t b[8] = {0};
    if (bytes > 8 || avail < 2 * (gsize)bytes || !gdb_hex_decode(hex, b, bytes))
        return FALSE;
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)b[i] << (8 * i);
    *value = v;
    return TRUE;
}
