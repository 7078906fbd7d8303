/* SPDX-License-Identifier: GPL-2.0-or-later */
/* GDB remote serial protocol framing (internal to plugins/debug-gdb/): a byte-at-a-time parser
 * of client input and the helpers that build and check packet contents.  Everything
 * here treats the input as hostile: bounded sizes, validated hex, no allocation. */
#ifndef MOSAIC_GDB_PACKET_H
#define MOSAIC_GDB_PACKET_H

#include <glib.h>
#include <stdint.h>

/* Largest packet payload we accept and send (advertised as PacketSize). */
#define GDB_PACKET_MAX 4096

typedef enum GdbEvent {
    GDB_EV_NONE = 0,     /* byte consumed, nothing complete yet */
    GDB_EV_PACKET,       /* p->buf holds a complete, checksum-verified payload */
    GDB_EV_BAD_PACKET,   /* bad checksum or non-hex checksum digits: NAK it */
    GDB_EV_TOO_LONG,     /* payload exceeded GDB_PACKET_MAX: answered with an error */
    GDB_EV_INTERRUPT,    /* Ctrl-C (0x03) outside a packet */
    GDB_EV_ACK,          /* '+' */
    GDB_EV_NAK,          /* '-': resend the last packet */
} GdbEvent;

typedef struct GdbParser {
    int state;
    gsize len;
    gboolean overflow;
    uint8_t sum;
    int csum_hi;
    char buf[GDB_PACKET_MAX + 1]; /* NUL-terminated payload on GDB_EV_PACKET */
} GdbParser;

void gdb_parser_init(GdbParser *p);
GdbEvent gdb_parser_feed(GdbParser *p, uint8_t c);

/* Appends "$payload#xx" to out. */
void gdb_packet_frame(GString *out, const char *payload, gsize len);

int gdb_hex_digit(char c); /* -1 when not hex */
/* Parses up to 16 hex digits at *s (at least one), advancing *s. */
gboolean gdb_parse_hex(const char **s, uint64_t *value);
/* Decodes exactly n bytes from 2n hex digits; false on any non-hex digit. */
gboolean gdb_hex_decode(const char *hex, uint8_t *out, gsize n);
void gdb_hex_append(GString *out, const uint8_t *data, gsize n);
/* A register as GDB wants it: target byte order (little-endian), `bytes` wide. */
void gdb_hex_append_le(GString *out, uint64_t value, unsigned bytes);
/* Parses 2*bytes hex digits of a little-endian value; false on bad input. */
gboolean gdb_hex_decode_le(const char *hex, gsize avail, unsigned bytes, uint64_t *value);

#endif
