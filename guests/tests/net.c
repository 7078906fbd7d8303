/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A tiny virtio-net driver (virtio-mmio, polled, no interrupts) for the network tests
 * and the network bench.  What it does comes from the kernel command line:
 *
 *   mosaic.net=1  mergeable receive buffers against a socket peer (tests/system/
 *                 test_net_mrg.py): a zero-length buffer; a frame larger than the whole
 *                 ring; a 1500-byte frame over three chains; a frame that waits until
 *                 enough buffers are posted; a chain that loops (the device asks for a
 *                 reset; after it, frames arrive again).  The test sends each frame
 *                 when it reads "STEP x" and answers "STEP D" with a byte on the console.
 *   mosaic.net=2  a 64 KiB GSO frame from a TAP device over 4 KiB mergeable buffers,
 *                 then one frame out ("STEP F"; ends on a byte from the console).
 *   mosaic.net=3  bench sender: frames of mosaic.netsize bytes as fast as the device
 *                 takes them ("TX n" every 65536 frames).
 *   mosaic.net=4  bench receiver: counts frames ("RX frames bytes" every 16384).
 *
 * The program prints SIG lines for the tests, "FAILURES n" and PASS/FAILED. */
#include "harness.h"

static uint64_t VIRTIO;
#define REG(off) (*(volatile uint32_t *)(VIRTIO + (off)))
#define UART ((volatile uint8_t *)0x10000000ul)

#define QMAX 256
#define HDR 12
#define F_CSUM 0
#define F_GUEST_CSUM 1
#define F_GUEST_TSO4 7
#define F_MRG_RXBUF 15
#define F_STATUS 16
#define DESC_NEXT 1
#define DESC_WRITE 2

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct vq {
    struct desc desc[QMAX];
    struct { uint16_t flags, idx, ring[QMAX], event; } avail __attribute__((aligned(2)));
    struct { uint16_t flags, idx; struct { uint32_t id, len; } ring[QMAX]; uint16_t event; } used
        __attribute__((aligned(4096)));
    uint16_t seen, num, free_desc;
} __attribute__((aligned(4096)));

static struct vq vqs[2];
#define RXQ (&vqs[0])
#define TXQ (&vqs[1])
#define BUF 4096
static uint8_t rxbuf[QMAX][BUF] __attribute__((aligned(4096)));
static uint8_t txbuf[HDR + 1514] __attribute__((aligned(64)));
static uint8_t frame[70000];


static void fence(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }
static uint16_t used_idx(struct vq *v) { return *(volatile uint16_t *)&v->used.idx; }

static void find_net(void)
{
    for (uint64_t b = 0x10001000ul; b <= 0x10008000ul; b += 0x1000)
        if (*(volatile uint32_t *)b == 0x74726976 && *(volatile uint32_t *)(b + 8) == 1) {
            VIRTIO = b;
            return;
        }
    fail("no virtio-net device");
    test_exit();
}

static void vq_setup(unsigned q, unsigned num)
{
    struct vq *v = &vqs[q];
    REG(0x30) = q;
    if (REG(0x34) < num) {
        fail("queue too small");
        test_exit();
    }
    v->num = num;
    REG(0x38) = num;
    uint64_t d = (uint64_t)&v->desc, a = (uint64_t)&v->avail, u = (uint64_t)&v->used;
    REG(0x80) = (uint32_t)d; REG(0x84) = d >> 32;
    REG(0x90) = (uint32_t)a; REG(0x94) = a >> 32;
    REG(0xa0) = (uint32_t)u; REG(0xa4) = u >> 32;
    REG(0x44) = 1;
}

/* Negotiates VERSION_1, MAC, STATUS, CSUM and `want` (those the device offers);
 * returns the low 32 feature bits agreed. */
static uint32_t device_init(uint32_t want, unsigned qnum)
{
    for (uint64_t *p = (uint64_t *)vqs; p < (uint64_t *)(vqs + 2); p++)
        *p = 0; /* fresh rings (again after a reset) */
    find_net();
    REG(0x70) = 0;
    REG(0x70) = 1 | 2;
    REG(0x14) = 0;
    uint32_t offered = REG(0x10);
    uint32_t f = offered & (want | 1u << 5 | 1u << F_STATUS);
    REG(0x24) = 0; REG(0x20) = f;
    REG(0x24) = 1; REG(0x20) = 1; /* VERSION_1 */
    REG(0x70) = 1 | 2 | 8;
    if (!(REG(0x70) & 8)) {
        fail("FEATURES_OK refused");
        test_exit();
    }
    vq_setup(0, qnum);
    vq_setup(1, qnum);
    REG(0x70) = 1 | 2 | 8 | 4;
    return f;
}

static void kick(unsigned q) { fence(); REG(0x50) = q; }

/* Posts one receive chain of the given descriptor lengths, descriptors from `first`,
 * one after the other in rxbuf[first]. */
static void post(unsigned first, const uint32_t *lens, unsigned n)
{
    struct vq *v = RXQ;
    uint64_t at = (uint64_t)rxbuf[first % v->num];
    for (unsigned k = 0; k < n; k++) {
        unsigned i = (first + k) % v->num;
        v->desc[i] = (struct desc){at, lens[k], DESC_WRITE | (k + 1 < n ? DESC_NEXT : 0),
                                   (uint16_t)((first + k + 1) % v->num)};
        at += lens[k];
    }
    v->avail.ring[v->avail.idx % v->num] = first % v->num;
    fence();
    v->avail.idx++;
}

static void post1(unsigned d, uint32_t len) { post(d, &len, 1); }

static uint64_t now(void) { return *CLINT_MTIME; }

/* Waits for `n` more used entries on the receive queue (10 s of mtime at most). */
static int wait_used(unsigned n)
{
    uint64_t end = now() + 100000000ull;
    while ((uint16_t)(used_idx(RXQ) - RXQ->seen) < n)
        if (now() > end)
            return 0;
    fence();
    return 1;
}

static uint32_t fnv(const uint8_t *p, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* The next frame over mergeable buffers into frame[]: its length with the header, and
 * the buffers it took (num_buffers). */
static uint32_t take_frame(unsigned *nbuf)
{
    struct vq *v = RXQ;
    if (!wait_used(1))
        return 0;
    unsigned id = v->used.ring[v->seen % v->num].id;
    uint32_t len = v->used.ring[v->seen % v->num].len;
    v->seen++;
    const uint8_t *b = rxbuf[id];
    unsigned nb = b[10] | b[11] << 8;
    *nbuf = nb;
    uint32_t at = 0;
    for (unsigned k = 0;; k++) {
        for (uint32_t i = 0; i < len && at < sizeof frame; i++)
            frame[at++] = rxbuf[id][i];
        if (k + 1 >= nb)
            break;
        if (!wait_used(1))
            return 0;
        id = v->used.ring[v->seen % v->num].id;
        len = v->used.ring[v->seen % v->num].len;
        v->seen++;
    }
    return at;
}

static uint8_t pattern(uint32_t i) { return (uint8_t)(i * 7 + 3); }

static int frame_is_pattern(uint32_t len)
{
    for (uint32_t i = 14; i < len; i++)
        if (frame[HDR + i] != pattern(i))
            return 0;
    return 1;
}

static void mergeable_test(void)
{
    uint32_t f = device_init(1u << F_MRG_RXBUF | 1u << F_GUEST_CSUM, 16);
    check_eq("MRG_RXBUF negotiated", f >> F_MRG_RXBUF & 1, 1);
    struct vq *v = RXQ;
    /* the MAC address of the machine file and the link, from the config space */
    uint64_t mac = 0;
    for (unsigned i = 0; i < 6; i++)
        mac = mac << 8 | *(volatile uint8_t *)(VIRTIO + 0x100 + i);
    sig("mac", mac);
    sig("link-up", *(volatile uint8_t *)(VIRTIO + 0x106) & 1);

    /* A: a zero-length chain: the frame is dropped, the chain comes back empty. */
    post1(0, 0);
    kick(0);
    put_str("STEP A\n");
    check_eq("A: chain returned", wait_used(1), 1);
    sig("A-len", v->used.ring[v->seen % v->num].len);
    v->seen++;

    /* B: the whole ring (16 chains of 64 bytes) cannot hold 12 + 1500 bytes: dropped,
     * every chain back empty, nothing waits forever. */
    for (unsigned i = 0; i < 16; i++)
        post1(i, 64);
    kick(0);
    put_str("STEP B\n");
    check_eq("B: all returned", wait_used(16), 1);
    uint32_t sum = 0;
    for (unsigned i = 0; i < 16; i++)
        sum += v->used.ring[(v->seen + i) % v->num].len;
    v->seen += 16;
    sig("B-written", sum);

    /* C: 1500 bytes over chains of 512 (the first of two descriptors, 256 + 256). */
    static const uint32_t two[2] = {256, 256};
    post(0, two, 2);
    post1(2, 512);
    post1(3, 512);
    post1(4, 512);
    kick(0);
    put_str("STEP C\n");
    unsigned nb = 0;
    uint32_t len = take_frame(&nb);
    sig("C-len", len);
    sig("C-num-buffers", nb);
    check_eq("C: payload", frame_is_pattern(1500), 1);
    /* the fourth chain is still posted: D needs two more */

    /* D: one chain of 512 is not enough: the frame waits (nothing used) until two more
     * are posted. */
    uint16_t before = used_idx(v);
    put_str("STEP D\n");
    while (!(UART[5] & 1))
        ;
    (void)UART[0];
    sig("D-waited", used_idx(v) == before);
    post1(5, 512);
    post1(6, 512);
    kick(0);
    len = take_frame(&nb);
    sig("D-len", len);
    sig("D-num-buffers", nb);
    check_eq("D: payload", frame_is_pattern(1500), 1);

    /* G: a chain that loops (longer than the queue): the device stops the queue and
     * asks for a reset (DEVICE_NEEDS_RESET), nothing else; after the reset the next
     * frame arrives. */
    v->desc[7] = (struct desc){(uint64_t)rxbuf[7], 64, DESC_WRITE | DESC_NEXT, 7};
    v->avail.ring[v->avail.idx % v->num] = 7;
    fence();
    v->avail.idx++;
    kick(0);
    put_str("STEP G\n");
    uint64_t end = now() + 100000000ull;
    while (!(REG(0x70) & 0x40) && now() < end)
        ;
    sig("G-needs-reset", (REG(0x70) & 0x40) != 0);
    device_init(1u << F_MRG_RXBUF | 1u << F_GUEST_CSUM, 16);
    for (unsigned i = 0; i < 6; i++) /* room for G's frame and H's, 3 buffers each */
        post1(i, 512);
    kick(0);
    put_str("STEP H\n");
    /* G's frame may still be queued in the backend when the reset lands (whether the
     * device met the loop at the kick or at G's frame is timing): then it arrives first,
     * intact, and H's shorter frame follows. */
    len = take_frame(&nb);
    if (len == HDR + 1500) {
        check_eq("H: G's frame intact", frame_is_pattern(1500), 1);
        len = take_frame(&nb);
    }
    sig("H-len", len);
    check_eq("H: payload", frame_is_pattern(1400), 1);
}

/* F: one 1000-byte frame out (the pattern, ethertype 0x88b5, to the test's MAC). */
static void transmit_one(void)
{
    struct vq *v = TXQ;
    for (uint32_t i = 0; i < HDR; i++)
        txbuf[i] = 0;
    for (uint32_t i = 0; i < 1000; i++)
        txbuf[HDR + i] = pattern(i);
    static const uint8_t eth[14] = {0x52, 0x54, 0, 0, 0, 9, 0x52, 0x54, 0, 0, 0, 2, 0x88, 0xb5};
    for (int i = 0; i < 14; i++)
        txbuf[HDR + i] = eth[i];
    v->desc[0] = (struct desc){(uint64_t)txbuf, HDR + 1000, 0, 0};
    v->avail.ring[v->avail.idx % v->num] = 0;
    fence();
    v->avail.idx++;
    put_str("STEP F\n");
    kick(1);
    uint64_t end = now() + 100000000ull;
    while (used_idx(v) == v->seen && now() < end)
        ;
    check_eq("F: frame sent", used_idx(v) != v->seen, 1);
    v->seen = used_idx(v);
    put_str("SENT\n");
    while (!(UART[5] & 1)) /* the test has read it (the TAP device goes when we end) */
        ;
    (void)UART[0];
}

/* The GSO frame from a TAP device: IPv4 TCP, gso_type TCPV4; other frames the host
 * sends (IPv6 neighbour discovery) are skipped. */
static void gso_test(void)
{
    uint32_t f = device_init(1u << F_MRG_RXBUF | 1u << F_GUEST_CSUM | 1u << F_GUEST_TSO4 | 1u << F_CSUM, 64);
    check_eq("MRG_RXBUF negotiated", f >> F_MRG_RXBUF & 1, 1);
    check_eq("GUEST_TSO4 negotiated", f >> F_GUEST_TSO4 & 1, 1);
    struct vq *v = RXQ;
    for (unsigned i = 0; i < 64; i++)
        post1(i, BUF);
    kick(0);
    put_str("STEP E\n");
    for (unsigned tries = 0; tries < 64; tries++) {
        unsigned nb = 0;
        uint32_t len = take_frame(&nb);
        if (!len)
            break;
        /* give the chains back for whatever comes next */
        for (unsigned k = 0; k < nb; k++) {
            unsigned id = v->used.ring[(uint16_t)(v->seen - nb + k) % v->num].id;
            post1(id, BUF);
        }
        kick(0);
        if (frame[1] != 1 || frame[HDR + 12] != 0x08 || frame[HDR + 13] != 0)
            continue;
        sig("E-len", len);
        sig("E-num-buffers", nb);
        sig("E-gso-size", frame[4] | frame[5] << 8);
        uint32_t payload = HDR + 14 + 20 + 20;
        sig("E-payload-len", len - payload);
        sig("E-payload-hash", fnv(frame + payload, len - payload));
        transmit_one();
        return;
    }
    fail("no GSO frame arrived");
}

static void bench_send(uint32_t size)
{
    device_init(0, QMAX);
    for (uint32_t i = 0; i < size; i++)
        txbuf[HDR + i] = (uint8_t)i;
    for (int i = 0; i < 6; i++)
        txbuf[HDR + i] = 0xff;
    txbuf[HDR + 12] = 0x88; txbuf[HDR + 13] = 0xb5; /* local experimental ethertype */
    struct vq *v = TXQ;
    for (unsigned i = 0; i < QMAX; i++)
        v->desc[i] = (struct desc){(uint64_t)txbuf, HDR + size, 0, 0};
    put_str("SENDING\n");
    uint64_t sent = 0;
    unsigned outstanding = 0;
    for (;;) {
        uint16_t u = used_idx(v);
        unsigned done = (uint16_t)(u - v->seen);
        v->seen = u;
        outstanding -= done;
        sent += done;
        unsigned add = QMAX - outstanding;
        for (unsigned k = 0; k < add; k++)
            v->avail.ring[(uint16_t)(v->avail.idx + k) % QMAX] = (uint16_t)(v->avail.idx + k) % QMAX;
        if (add) {
            fence();
            v->avail.idx += add;
            outstanding += add;
            kick(1);
        }
        if ((sent >> 16) != ((sent - done) >> 16)) {
            put_str("TX ");
            put_dec(sent);
            put_char('\n');
        }
    }
}

static void bench_receive(void)
{
    device_init(1u << F_MRG_RXBUF, QMAX);
    struct vq *v = RXQ;
    for (unsigned i = 0; i < QMAX; i++)
        post1(i, 2048);
    kick(0);
    put_str("RECEIVING\n");
    uint64_t frames = 0, bytes = 0;
    for (;;) {
        uint16_t u = used_idx(v);
        if (u == v->seen)
            continue;
        fence();
        while (v->seen != u) {
            unsigned id = v->used.ring[v->seen % QMAX].id;
            bytes += v->used.ring[v->seen % QMAX].len - HDR;
            v->seen++;
            v->avail.ring[v->avail.idx % QMAX] = id;
            v->avail.idx++; /* the same descriptor goes back as it was */
            if (!(++frames & 16383)) {
                put_str("RX ");
                put_dec(frames);
                put_char(' ');
                put_dec(bytes);
                put_char('\n');
            }
        }
        kick(0);
    }
}

void test_main(void)
{
    switch (bootarg("mosaic.net=")) {
    case 2:
        gso_test();
        break;
    case 3:
        bench_send(bootarg("mosaic.netsize=") ? bootarg("mosaic.netsize=") : 64);
        break;
    case 4:
        bench_receive();
        break;
    default:
        mergeable_test();
    }
    put_str("FAILURES ");
    put_dec(failures);
    put_char('\n');
}
