/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A tiny virtio-snd driver (virtio-mmio, polled): plays a tone or captures PCM, with the
 * parameters given on the kernel command line (riscv-virt `append`, /chosen/bootargs):
 *
 *   mosaic.snd=MODE,FORMAT,RATE,CHANNELS,FRAMES,PERIOD,FREQ,AMP[,SLEEP,INFLIGHT]
 *
 * MODE 2 sends malformed requests and checks each gets its error (and that the device
 * still works after them), then prepares, starts and releases the output 20 times.
 * MODE 0 plays FRAMES frames of a FREQ Hz sine at AMP percent of full scale on every
 * channel; MODE 1 captures FRAMES frames and prints their FNV-1a hash.  FORMAT and RATE
 * are virtio-snd codes, PERIOD is in frames.  SLEEP 1 waits for the device's interrupt
 * with WFI instead of polling (for CPU measurements); INFLIGHT (1..4, default 4) is how
 * many periods are queued at once; the time from queueing a period to its completion
 * is reported (SIG latency-us-mean, latency-us-max).  Output: SIG lines (periods completed, bad
 * statuses, the capture hash), then PASS or FAILED n.  The device must be the first
 * virtio-mmio slot (0x10001000). */
#include "harness.h"

#define VIRTIO 0x10001000ul
#define REG(off) (*(volatile uint32_t *)(VIRTIO + (off)))
#define QSIZE 16 /* 4 buffers of 3 descriptors */
#define NBUF 4
#define MAX_PERIOD_BYTES 65536

enum { Q_CTL, Q_EVT, Q_TX, Q_RX, NQ };
enum { S_OK = 0x8000 };

extern uint64_t boot_a1;

#include "virtq_split.h"

static struct vq vqs[NQ] __attribute__((aligned(4096)));
static uint8_t bufs[NBUF][MAX_PERIOD_BYTES] __attribute__((aligned(16)));
static struct { uint32_t stream; } hdrs[NBUF];
static struct { uint32_t status, latency; } status[NBUF];
static uint8_t ctl_req[64], ctl_resp[256];

static uint64_t params[10];
static uint64_t posted_at[NBUF], lat_sum, lat_max, lat_n;

#define PLIC 0xc000000ul
#define VIRTIO_IRQ 1 /* the first virtio-mmio slot */

/* No libgcc helpers: the default multilib's are built for another float ABI. */
static int msb(uint64_t m)
{
    int p = 0;
    while (m >>= 1)
        p++;
    return p;
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
}

static void parse_args(void)
{
    const char *dtb = (const char *)boot_a1;
    uint32_t size = be32((const uint8_t *)dtb + 4);
    static const char key[] = "mosaic.snd=";
    for (uint32_t i = 0; i + sizeof key < size; i++) {
        unsigned k = 0;
        while (k < sizeof key - 1 && dtb[i + k] == key[k])
            k++;
        if (k < sizeof key - 1)
            continue;
        const char *p = dtb + i + k;
        for (unsigned n = 0; n < 10; n++) {
            uint64_t v = 0;
            while (*p >= '0' && *p <= '9')
                v = v * 10 + (uint64_t)(*p++ - '0');
            params[n] = v;
            if (*p != ',')
                break;
            p++;
        }
        return;
    }
    fail("no mosaic.snd= on the command line");
    test_exit();
}

static void fence(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }

static void vq_setup(unsigned q)
{
    REG(0x30) = q;
    if (REG(0x34) < QSIZE) {
        fail("queue too small");
        test_exit();
    }
    REG(0x38) = QSIZE;
    uint64_t d = (uint64_t)&vqs[q].desc, a = (uint64_t)&vqs[q].avail, u = (uint64_t)&vqs[q].used;
    REG(0x80) = (uint32_t)d; REG(0x84) = d >> 32;
    REG(0x90) = (uint32_t)a; REG(0x94) = a >> 32;
    REG(0xa0) = (uint32_t)u; REG(0xa4) = u >> 32;
    REG(0x44) = 1;
}

static void device_init(void)
{
    check_eq("magic", REG(0), 0x74726976);
    check_eq("version", REG(4), 2);
    check_eq("device id (sound)", REG(8), 25);
    REG(0x70) = 0;
    REG(0x70) = 1 | 2;
    REG(0x14) = 1;
    check_eq("VERSION_1 offered", REG(0x10) & 1, 1);
    REG(0x24) = 0; REG(0x20) = 0;
    REG(0x24) = 1; REG(0x20) = 1; /* VERSION_1 only */
    REG(0x70) = 1 | 2 | 8;
    check_eq("FEATURES_OK", REG(0x70) & 8, 8);
    for (unsigned q = 0; q < NQ; q++)
        vq_setup(q);
    REG(0x70) = 1 | 2 | 8 | 4;
    sig("jacks", REG(0x100));
    sig("streams", REG(0x104));
    sig("chmaps", REG(0x108));
}

/* Posts a chain of up to 3 buffers starting at descriptor `head`. */
static void post(unsigned q, unsigned head, const struct desc *chain, unsigned n)
{
    struct vq *v = &vqs[q];
    for (unsigned i = 0; i < n; i++) {
        v->desc[head + i] = chain[i];
        v->desc[head + i].flags |= i + 1 < n ? 1 : 0;
        v->desc[head + i].next = head + i + 1;
    }
    v->avail.ring[v->avail.idx % QSIZE] = head;
    fence();
    v->avail.idx++;
    fence();
    REG(0x50) = q;
}

/* Sleeps until the device interrupts (PLIC claim/complete, virtio ack); MIE stays off:
 * WFI wakes for a pending interrupt enabled in mie without taking it. */
static void wait_irq(void)
{
    __asm__ volatile("wfi");
    volatile uint32_t *claim = (volatile uint32_t *)(PLIC + 0x200004);
    uint32_t id = *claim;
    if (id) {
        REG(0x64) = REG(0x60);
        *claim = id;
    }
}

static void irq_setup(void)
{
    *(volatile uint32_t *)(PLIC + 4 * VIRTIO_IRQ) = 1;
    *(volatile uint32_t *)(PLIC + 0x2000) = 1u << VIRTIO_IRQ;
    *(volatile uint32_t *)(PLIC + 0x200000) = 0;
    csr_set(mie, 1u << 11);
}

/* The next used entry of queue q (spins, or sleeps with SLEEP). */
static uint32_t reap(unsigned q, uint32_t *len)
{
    struct vq *v = &vqs[q];
    while (*(volatile uint16_t *)&v->used.idx == v->seen)
        if (params[8])
            wait_irq();
    fence();
    uint32_t id = v->used.ring[v->seen % QSIZE].id;
    if (len)
        *len = v->used.ring[v->seen % QSIZE].len;
    v->seen++;
    return id;
}

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = v >> (8 * i); }
static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static uint32_t control(unsigned reqlen, unsigned resplen)
{
    struct desc c[2] = {{(uint64_t)ctl_req, reqlen, 0, 0}, {(uint64_t)ctl_resp, resplen, 2, 0}};
    post(Q_CTL, 0, c, 2);
    reap(Q_CTL, 0);
    return get32(ctl_resp);
}

static uint32_t pcm_cmd(uint32_t code, uint32_t stream)
{
    put32(ctl_req, code);
    put32(ctl_req + 4, stream);
    return control(8, 4);
}

/* sin(2 pi k / 4096) in Q30, by its Taylor series on the first quarter (integer only:
 * the program needs no FPU). */
static int32_t table[4096];

static int64_t sin_q30(int64_t x /* radians, Q30, |x| <= pi/2 */)
{
    int64_t x2 = (x * x) >> 30, term = x, sum = x;
    for (int n = 1; n < 12; n++) {
        term = -((term * x2) >> 30) / ((2 * n) * (2 * n + 1));
        sum += term;
    }
    return sum;
}

static void make_table(void)
{
    const int64_t two_pi_q30 = 6746518852ll; /* 2 pi * 2^30 */
    for (int k = 0; k <= 1024; k++) {
        int64_t s = sin_q30(two_pi_q30 * k / 4096);
        if (s > (1 << 30) - 1)
            s = (1 << 30) - 1;
        table[k] = s;
        table[2048 - k] = s;
        table[(2048 + k) % 4096] = -s;
        table[(4096 - k) % 4096] = -s;
    }
}

static uint64_t phase, step;

/* Next sample, full scale = 2^31. */
static int32_t next_sample(uint32_t amp_pct)
{
    uint32_t i = phase >> 52, frac = (phase >> 20) & 0xffffffff;
    int64_t a = table[i], b = table[(i + 1) % 4096];
    int64_t s = a + (((b - a) * frac) >> 32); /* Q30 */
    phase += step;
    s = (s * 2 * amp_pct) / 100;
    return s > INT32_MAX ? INT32_MAX : s < INT32_MIN ? INT32_MIN : (int32_t)s;
}

static uint32_t f32_bits(int32_t v)
{
    if (!v)
        return 0;
    uint32_t sign = v < 0 ? 0x80000000u : 0;
    uint64_t m = v < 0 ? -(int64_t)v : v;
    int p = msb(m);
    uint32_t mant = p >= 23 ? (uint32_t)(m >> (p - 23)) : (uint32_t)(m << (23 - p));
    return sign | (uint32_t)(p - 31 + 127) << 23 | (mant & 0x7fffff);
}

static uint64_t f64_bits(int32_t v)
{
    if (!v)
        return 0;
    uint64_t sign = v < 0 ? 1ull << 63 : 0;
    uint64_t m = v < 0 ? -(int64_t)v : v;
    int p = msb(m);
    uint64_t mant = m << (52 - p);
    return sign | (uint64_t)(p - 31 + 1023) << 52 | (mant & ((1ull << 52) - 1));
}

/* virtio-snd format codes: bytes per sample. */
static unsigned fmt_bytes(unsigned f)
{
    static const uint8_t b[21] = {[3] = 1, [4] = 1, [5] = 2, [6] = 2, [7] = 3, [8] = 3, [9] = 3,
                                  [10] = 3, [11] = 3, [12] = 3, [15] = 4, [16] = 4, [17] = 4,
                                  [18] = 4, [19] = 4, [20] = 8};
    return f < 21 ? b[f] : 0;
}

static void store(uint8_t *p, unsigned f, int32_t v)
{
    uint64_t x;
    unsigned n = fmt_bytes(f);
    switch (f) {
    case 3: x = (uint32_t)(v >> 24); break;
    case 4: x = (uint32_t)(v >> 24) ^ 0x80; break;
    case 5: x = (uint32_t)(v >> 16); break;
    case 6: x = (uint32_t)(v >> 16) ^ 0x8000; break;
    case 7: x = (uint32_t)(v >> 14); break;
    case 8: x = (uint32_t)((v >> 14) ^ 0x20000) & 0x3ffff; break;
    case 9: x = (uint32_t)(v >> 12); break;
    case 10: x = (uint32_t)((v >> 12) ^ 0x80000) & 0xfffff; break;
    case 11: x = (uint32_t)(v >> 8); break;
    case 12: x = (uint32_t)((v >> 8) ^ 0x800000) & 0xffffff; break;
    case 15: x = (uint32_t)(v >> 8); break;
    case 16: x = (uint32_t)((v >> 8) ^ 0x800000) & 0xffffff; break;
    case 17: x = (uint32_t)v; break;
    case 18: x = (uint32_t)v ^ 0x80000000u; break;
    case 19: x = f32_bits(v); break;
    default: x = f64_bits(v); break;
    }
    for (unsigned i = 0; i < n; i++)
        p[i] = x >> (8 * i);
}

static const uint32_t rates[] = {5512, 8000, 11025, 16000, 22050, 32000, 44100,
                                 48000, 64000, 88200, 96000, 176400, 192000, 384000};

static unsigned frame_bytes, period_bytes, bad;

static void set_params(uint32_t stream)
{
    put32(ctl_req, 0x101);
    put32(ctl_req + 4, stream);
    put32(ctl_req + 8, period_bytes * NBUF);
    put32(ctl_req + 12, period_bytes);
    put32(ctl_req + 16, 0);
    ctl_req[20] = params[3];
    ctl_req[21] = params[1];
    ctl_req[22] = params[2];
    ctl_req[23] = 0;
    check_eq("SET_PARAMS", control(24, 4), S_OK);
    check_eq("PREPARE", pcm_cmd(0x102, stream), S_OK);
}

static void xfer(unsigned q, unsigned slot, unsigned bytes)
{
    hdrs[slot].stream = q == Q_TX ? 0 : 1;
    struct desc c[3] = {{(uint64_t)&hdrs[slot], 4, 0, 0},
                        {(uint64_t)bufs[slot], bytes, q == Q_TX ? 0 : 2, 0},
                        {(uint64_t)&status[slot], 8, 2, 0}};
    posted_at[slot] = *CLINT_MTIME;
    post(q, slot * 3, c, 3);
}

static void latency(unsigned slot)
{
    uint64_t us = (*CLINT_MTIME - posted_at[slot]) / 10; /* mtime: 10 MHz */
    lat_sum += us;
    lat_n++;
    if (us > lat_max)
        lat_max = us;
}

static void fill(unsigned slot, unsigned frames)
{
    uint8_t *p = bufs[slot];
    unsigned b = fmt_bytes(params[1]);
    for (unsigned i = 0; i < frames; i++) {
        int32_t s = next_sample(params[7]);
        for (unsigned c = 0; c < params[3]; c++, p += b)
            store(p, params[1], s);
    }
}

static void play(void)
{
    uint64_t frames = params[4], period = params[5];
    uint64_t periods = (frames + period - 1) / period, queued = 0, done = 0;
    make_table();
    step = (params[6] << 52) / rates[params[2]] << 12; /* cycles per sample, Q64 */
    unsigned inflight = params[9] && params[9] <= NBUF ? params[9] : NBUF;
    set_params(0);
    for (; queued < inflight && queued < periods; queued++) {
        fill(queued, period);
        xfer(Q_TX, queued, period_bytes);
    }
    check_eq("START", pcm_cmd(0x104, 0), S_OK);
    while (done < periods) {
        uint32_t head = reap(Q_TX, 0);
        unsigned slot = head / 3;
        done++;
        latency(slot);
        if (status[slot].status != S_OK)
            bad++;
        if (queued < periods) {
            fill(slot, period);
            xfer(Q_TX, slot, period_bytes);
            queued++;
        }
    }
    check_eq("STOP", pcm_cmd(0x105, 0), S_OK);
    check_eq("RELEASE", pcm_cmd(0x103, 0), S_OK);
    sig("periods", done);
    sig("latency-us-mean", lat_n ? lat_sum / lat_n : 0);
    sig("latency-us-max", lat_max);
}

static void capture(void)
{
    uint64_t frames = params[4], period = params[5];
    uint64_t periods = (frames + period - 1) / period, queued = 0, done = 0;
    uint64_t hash = 0xcbf29ce484222325ull, left = frames * frame_bytes;
    set_params(1);
    for (; queued < NBUF && queued < periods; queued++)
        xfer(Q_RX, queued, period_bytes);
    check_eq("START", pcm_cmd(0x104, 1), S_OK);
    while (done < periods) {
        uint32_t len;
        uint32_t head = reap(Q_RX, &len);
        unsigned slot = head / 3;
        done++;
        if (status[slot].status != S_OK || len != period_bytes + 8)
            bad++;
        for (unsigned i = 0; i < period_bytes && left; i++, left--)
            hash = (hash ^ bufs[slot][i]) * 0x100000001b3ull;
        if (queued < periods) {
            xfer(Q_RX, slot, period_bytes);
            queued++;
        }
    }
    check_eq("STOP", pcm_cmd(0x105, 1), S_OK);
    check_eq("RELEASE", pcm_cmd(0x103, 1), S_OK);
    sig("periods", done);
    put_str("SIG hash ");
    put_hex(hash);
    put_str("\n");
}

/* A control request of `len` bytes whose answer has room for `resp` bytes. */
static uint32_t raw_control(const uint32_t *words, unsigned len, unsigned resp)
{
    for (unsigned i = 0; i < len; i++)
        ctl_req[i] = ((const uint8_t *)words)[i];
    return control(len, resp);
}

/* A transfer on queue q for stream `id` with `data` payload bytes and `status_len`
 * device-writable status bytes; returns the status word (0xdead if none written). */
static uint32_t raw_xfer(unsigned q, uint32_t id, unsigned data, unsigned status_len)
{
    hdrs[0].stream = id;
    status[0].status = 0xdead;
    struct desc c[3] = {{(uint64_t)&hdrs[0], 4, 0, 0},
                        {(uint64_t)bufs[0], data, q == Q_TX ? 0 : 2, 0},
                        {(uint64_t)&status[0], status_len, 2, 0}};
    post(q, 0, c, 3);
    reap(q, 0);
    return status[0].status;
}

static void abuse(void)
{
    enum { BAD_MSG = 0x8001, NOT_SUPP = 0x8002 };
    uint32_t w[8] = {0};
    check_eq("short request", raw_control(w, 2, 4), BAD_MSG);
    w[0] = 0x100; w[1] = 0; w[2] = 3; w[3] = 32; /* PCM_INFO of 3 streams: only 2 */
    check_eq("query past the end", raw_control(w, 16, 4 + 96), BAD_MSG);
    w[2] = 2; w[3] = 100000;                      /* huge item size */
    check_eq("query item too large", raw_control(w, 16, 4 + 64), BAD_MSG);
    w[3] = 32;
    check_eq("query answer too small", raw_control(w, 16, 4 + 63), BAD_MSG);
    w[0] = 0x1ff;
    check_eq("unknown request", raw_control(w, 16, 4), NOT_SUPP);
    w[0] = 0x102; w[1] = 7;
    check_eq("bad stream id", raw_control(w, 8, 4), BAD_MSG);
    w[0] = 0x104; w[1] = 0;
    check_eq("start before set_params", raw_control(w, 8, 4), BAD_MSG);
    w[0] = 0x101; w[1] = 0; w[2] = 4 * 1920; w[3] = 1920; w[4] = 0; w[5] = 2 | 1 << 8 | 7 << 16;
    check_eq("ADPCM not offered", raw_control(w, 24, 4), NOT_SUPP);
    w[5] = 2 | 5 << 8 | 14 << 16;
    check_eq("rate code past the table", raw_control(w, 24, 4), NOT_SUPP);
    w[5] = 2 | 5 << 8 | 7 << 16; w[3] = 1921;
    check_eq("period not whole frames", raw_control(w, 24, 4), BAD_MSG);
    w[3] = 1920; w[2] = 64u << 20;
    check_eq("buffer too large", raw_control(w, 24, 4), BAD_MSG);
    w[2] = 4 * 1920;
    check_eq("short set_params", raw_control(w, 20, 4), BAD_MSG);
    check_eq("tx before prepare", raw_xfer(Q_TX, 0, 1920, 8), BAD_MSG);
    check_eq("tx to the input stream", raw_xfer(Q_TX, 1, 1920, 8), BAD_MSG);
    check_eq("rx from the output stream", raw_xfer(Q_RX, 0, 1920, 8), BAD_MSG);
    check_eq("tx to no stream", raw_xfer(Q_TX, 99, 1920, 8), BAD_MSG);
    check_eq("tx without room for a status", raw_xfer(Q_TX, 0, 1920, 4), 0xdead);
    /* Still works: 20 rounds of set_params, prepare, start, one period, stop, release. */
    period_bytes = 1920;
    frame_bytes = 4;
    params[1] = 5; params[2] = 7; params[3] = 2;
    for (int i = 0; i < 20; i++) {
        set_params(0);
        check_eq("START", pcm_cmd(0x104, 0), S_OK);
        check_eq("one period plays", raw_xfer(Q_TX, 0, 1920, 8), S_OK);
        check_eq("STOP", pcm_cmd(0x105, 0), S_OK);
        check_eq("RELEASE", pcm_cmd(0x103, 0), S_OK);
    }
    check_eq("release twice", pcm_cmd(0x103, 0), BAD_MSG);
}

void test_main(void)
{
    parse_args();
    if (params[8])
        irq_setup();
    device_init();
    /* PCM_INFO for both streams: output first, then input. */
    put32(ctl_req, 0x100);
    put32(ctl_req + 4, 0);
    put32(ctl_req + 8, 2);
    put32(ctl_req + 12, 32);
    check_eq("PCM_INFO", control(16, 4 + 64), S_OK);
    check_eq("stream 0 is output", ctl_resp[4 + 24], 0);
    check_eq("stream 1 is input", ctl_resp[4 + 32 + 24], 1);
    if (params[0] == 2) {
        abuse();
        return;
    }
    frame_bytes = fmt_bytes(params[1]) * params[3];
    period_bytes = params[5] * frame_bytes;
    if (!frame_bytes || period_bytes > MAX_PERIOD_BYTES || params[2] >= 14) {
        fail("bad mosaic.snd= parameters");
        return;
    }
    if (params[0] == 0)
        play();
    else
        capture();
    sig("bad-status", bad);
}
