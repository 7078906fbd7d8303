/* SPDX-License-Identifier: GPL-2.0-or-later */
/* coremark-lite: an integer workload in the spirit of CoreMark (our own code): linked
 * list search and reversal, a small matrix multiply, a byte state machine and CRC16,
 * for ITERATIONS rounds.  Prints the guest's own timing (CLINT mtime, 10 MHz) and a
 * checksum: "BENCH iterations=N ticks=T" and "SIG crc 0x...". */
#include "harness.h"

#ifndef ITERATIONS
#define ITERATIONS 3000
#endif

#define N_LIST 64
#define N_MAT 12

typedef struct Node {
    struct Node *next;
    int32_t value;
    int32_t index;
} Node;

static Node nodes[N_LIST];
static int32_t ma[N_MAT][N_MAT], mb[N_MAT][N_MAT], mc[N_MAT][N_MAT];
static uint8_t text[256];

static uint16_t crc16(uint16_t crc, uint32_t v, unsigned bytes)
{
    for (unsigned b = 0; b < bytes; b++) {
        uint8_t d = (uint8_t)(v >> (8 * b));
        for (int i = 0; i < 8; i++) {
            unsigned x = (d ^ crc) & 1;
            crc >>= 1;
            d >>= 1;
            if (x)
                crc ^= 0xa001;
        }
    }
    return crc;
}

static Node *list_build(uint32_t seed)
{
    for (int i = 0; i < N_LIST; i++) {
        nodes[i].value = (int32_t)((seed * (i + 7)) ^ (seed >> 3)) & 0xffff;
        nodes[i].index = i;
        nodes[i].next = i + 1 < N_LIST ? &nodes[i + 1] : 0;
    }
    return &nodes[0];
}

static Node *list_reverse(Node *h)
{
    Node *p = 0;
    while (h) {
        Node *n = h->next;
        h->next = p;
        p = h;
        h = n;
    }
    return p;
}

static int32_t list_find(Node *h, int32_t v)
{
    for (int32_t pos = 0; h; h = h->next, pos++)
        if ((h->value & 0xff) == (v & 0xff))
            return pos;
    return -1;
}

static uint32_t matrix(uint32_t seed)
{
    for (int i = 0; i < N_MAT; i++)
        for (int j = 0; j < N_MAT; j++) {
            ma[i][j] = (int32_t)(seed + i * 3 + j) % 97 - 48;
            mb[i][j] = (int32_t)(seed ^ (i * 5 + j * 7)) % 89 - 44;
        }
    uint32_t sum = 0;
    for (int i = 0; i < N_MAT; i++)
        for (int j = 0; j < N_MAT; j++) {
            int32_t acc = 0;
            for (int k = 0; k < N_MAT; k++)
                acc += ma[i][k] * mb[k][j];
            mc[i][j] = acc;
            sum += (uint32_t)acc * (uint32_t)(i + 1);
        }
    return sum;
}

/* Counts numbers, identifiers and others in a byte stream with a tiny state machine. */
static uint32_t states(uint32_t seed)
{
    for (unsigned i = 0; i < sizeof text; i++) {
        seed = seed * 1103515245u + 12345u;
        static const char alphabet[] = "0123456789abcxyz.,+- ";
        text[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
    }
    enum { START, NUM, IDENT, OTHER } st = START;
    uint32_t counts[4] = {0};
    for (unsigned i = 0; i < sizeof text; i++) {
        uint8_t c = text[i];
        int digit = c >= '0' && c <= '9', alpha = c >= 'a' && c <= 'z';
        switch (st) {
        case START: st = digit ? NUM : alpha ? IDENT : OTHER; break;
        case NUM: if (!digit) { counts[NUM]++; st = alpha ? IDENT : START; } break;
        case IDENT: if (!alpha && !digit) { counts[IDENT]++; st = START; } break;
        case OTHER: counts[OTHER]++; st = START; break;
        }
    }
    return counts[NUM] * 65536 + counts[IDENT] * 256 + counts[OTHER];
}

void test_main(void)
{
    put_str("coremark-lite\n");
    uint16_t crc = 0;
    uint64_t t0 = *CLINT_MTIME;
    for (uint32_t it = 0; it < ITERATIONS; it++) {
        Node *h = list_build(it * 2654435761u);
        h = list_reverse(h);
        crc = crc16(crc, (uint32_t)list_find(h, (int32_t)it), 4);
        h = list_reverse(h);
        crc = crc16(crc, (uint32_t)list_find(h, (int32_t)(it * 7)), 4);
        crc = crc16(crc, matrix(it), 4);
        crc = crc16(crc, states(it), 4);
    }
    uint64_t t1 = *CLINT_MTIME;
    put_str("BENCH iterations=");
    put_dec(ITERATIONS);
    put_str(" ticks=");
    put_dec(t1 - t0);
    put_char('\n');
    sig("crc", crc);
}
