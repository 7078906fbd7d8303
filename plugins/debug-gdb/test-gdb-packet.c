/* SPDX-License-Identifier: GPL-2.0-or-later */
/* GDB stub packet framing and hex helpers against well-formed and hostile input. */
#include <string.h>
#include "gdb-packet.h"

static GdbEvent feed_str(GdbParser *p, const char *s, gsize n, int *packets)
{
    GdbEvent last = GDB_EV_NONE;
    for (gsize i = 0; i < n; i++) {
        GdbEvent e = gdb_parser_feed(p, (uint8_t)s[i]);
        if (e != GDB_EV_NONE)
            last = e;
        if (e == GDB_EV_PACKET && packets)
            (*packets)++;
    }
    return last;
}

static void test_good_packet(void)
{
    GdbParser p;
    gdb_parser_init(&p);
    g_autoptr(GString) f = g_string_new(NULL);
    gdb_packet_frame(f, "qSupported:multiprocess+", 24);
    int n = 0;
    g_assert_cmpint(feed_str(&p, f->str, f->len, &n), ==, GDB_EV_PACKET);
    g_assert_cmpint(n, ==, 1);
    g_assert_cmpstr(p.buf, ==, "qSupported:multiprocess+");
    /* Empty packet "$#00". */
    g_assert_cmpint(feed_str(&p, "$#00", 4, NULL), ==, GDB_EV_PACKET);
    g_assert_cmpuint(p.len, ==, 0);
    /* Upper-case checksum digits are accepted. */
    g_assert_cmpint(feed_str(&p, "$g#67", 5, NULL), ==, GDB_EV_PACKET);
}

static void test_bad_input(void)
{
    GdbParser p;
    gdb_parser_init(&p);
    g_assert_cmpint(feed_str(&p, "$g#66", 5, NULL), ==, GDB_EV_BAD_PACKET); /* wrong sum */
    g_assert_cmpint(feed_str(&p, "$g#zz", 5, NULL), ==, GDB_EV_BAD_PACKET); /* not hex */
    g_assert_cmpint(feed_str(&p, "$g#6", 4, NULL), ==, GDB_EV_NONE);       /* incomplete */
    g_assert_cmpint(feed_str(&p, "7", 1, NULL), ==, GDB_EV_PACKET);
    /* Noise between packets, acks and Ctrl-C. */
    g_assert_cmpint(feed_str(&p, "garbage", 7, NULL), ==, GDB_EV_NONE);
    g_assert_cmpint(gdb_parser_feed(&p, '+'), ==, GDB_EV_ACK);
    g_assert_cmpint(gdb_parser_feed(&p, '-'), ==, GDB_EV_NAK);
    g_assert_cmpint(gdb_parser_feed(&p, 0x03), ==, GDB_EV_INTERRUPT);
    /* 0x03 inside a packet is data, not an interrupt. */
    g_assert_cmpint(feed_str(&p, "$\x03#03", 5, NULL), ==, GDB_EV_PACKET);
    /* A '$' restarts a packet. */
    g_assert_cmpint(feed_str(&p, "$abc$g#67", 9, NULL), ==, GDB_EV_PACKET);
    g_assert_cmpstr(p.buf, ==, "g");
    /* NUL bytes are kept (len says so), the buffer stays terminated. */
    g_assert_cmpint(feed_str(&p, "$a\0b#c3", 7, NULL), ==, GDB_EV_PACKET);
    g_assert_cmpuint(p.len, ==, 3);
}

static void test_oversize(void)
{
    GdbParser p;
    gdb_parser_init(&p);
    gdb_parser_feed(&p, '$');
    for (int i = 0; i < GDB_PACKET_MAX * 3; i++)
        g_assert_cmpint(gdb_parser_feed(&p, 'A'), ==, GDB_EV_NONE);
    g_assert_cmpuint(p.len, ==, GDB_PACKET_MAX);
    g_assert_cmpint(feed_str(&p, "#00", 3, NULL), ==, GDB_EV_TOO_LONG);
    /* The parser recovers for the next packet. */
    g_assert_cmpint(feed_str(&p, "$g#67", 5, NULL), ==, GDB_EV_PACKET);
}

static void test_random_bytes(void)
{
    GdbParser p;
    gdb_parser_init(&p);
    GRand *r = g_rand_new_with_seed(42);
    for (int i = 0; i < 2000000; i++) {
        /* Bias toward framing characters so every state is visited. */
        static const char special[] = "$#+-\x03" "0123456789abcdef";
        uint8_t c = g_rand_boolean(r) ? (uint8_t)special[g_rand_int_range(r, 0, sizeof(special) - 1)]
                                      : (uint8_t)g_rand_int_range(r, 0, 256);
        GdbEvent e = gdb_parser_feed(&p, c);
        g_assert_cmpuint(p.len, <=, GDB_PACKET_MAX);
        if (e == GDB_EV_PACKET)
            g_assert_cmpint(p.buf[p.len], ==, 0);
    }
    g_rand_free(r);
}

static void test_hex(void)
{
    const char *s = "ffffffffffffffff,";
    uint64_t v;
    g_assert_true(gdb_parse_hex(&s, &v));
    g_assert_cmphex(v, ==, UINT64_MAX);
    g_assert_cmpint(*s, ==, ',');
    s = "10000000000000000"; /* 65 bits */
    g_assert_false(gdb_parse_hex(&s, &v));
    s = ",1";
    g_assert_false(gdb_parse_hex(&s, &v));
    s = "";
    g_assert_false(gdb_parse_hex(&s, &v));

    uint8_t b[4];
    g_assert_true(gdb_hex_decode("deadBEEF", b, 4));
    g_assert_cmphex(b[0], ==, 0xde);
    g_assert_cmphex(b[3], ==, 0xef);
    g_assert_false(gdb_hex_decode("dead", b, 4)); /* stops at the NUL, never reads past */
    g_assert_false(gdb_hex_decode("de-d", b, 2));

    g_assert_true(gdb_hex_decode_le("0100000000000080", 16, 8, &v));
    g_assert_cmphex(v, ==, 0x8000000000000001ull);
    g_assert_false(gdb_hex_decode_le("01000000", 8, 8, &v));
    g_assert_false(gdb_hex_decode_le("0100000000000080", 16, 9, &v));
    g_autoptr(GString) out = g_string_new(NULL);
    gdb_hex_append_le(out, 0x80001234, 8);
    g_assert_cmpstr(out->str, ==, "3412008000000000");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/gdb/packet/good", test_good_packet);
    g_test_add_func("/gdb/packet/bad-input", test_bad_input);
    g_test_add_func("/gdb/packet/oversize", test_oversize);
    g_test_add_func("/gdb/packet/random-bytes", test_random_bytes);
    g_test_add_func("/gdb/hex", test_hex);
    return g_test_run();
}
