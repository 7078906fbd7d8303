/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /init of the Mosaic test initramfs: static, no libc, raw riscv64 Linux syscalls.
 *
 * Mounts proc, sysfs and devtmpfs, prints MOSAIC-INIT-OK, reports what the kernel
 * found (harts, virtio devices, disks, PCI functions, an external initrd's
 * /mosaic-initrd), runs the
 * command named by `mosaic.cmd=` on the
 * kernel command line (report | blk-write-pattern | blk-read-check | blk-all |
 * blk-bench | hotplug-loop | reboot | net-stream, see net_stream | snd-play | snd-capture, see snd_play)
 * and powers off
 * (hotplug-loop never ends: the test quits the machine).
 * Built soft-float (rv64imac/lp64) so it runs under kernels with and without FPU.
 * Every line the tests look for starts with "MOSAIC-".
 */
typedef unsigned long size_t;
typedef long ssize_t;

#define SYS_mkdirat 34
#define SYS_mount 40
#define SYS_openat 56
#define SYS_close 57
#define SYS_getdents64 61
#define SYS_lseek 62
#define SYS_read 63
#define SYS_write 64
#define SYS_pread64 67
#define SYS_nanosleep 101
#define SYS_clock_gettime 113
#define SYS_sync 81
#define SYS_fsync 82
#define SYS_exit 93
#define SYS_reboot 142
#define SYS_ioctl 29
#define SYS_fcntl 25
#define SYS_ppoll 73
#define SYS_nanosleep 101
#define SYS_socket 198
#define SYS_bind 200
#define SYS_listen 201
#define SYS_accept 202
#define SYS_connect 203
#define SYS_sendto 206
#define SYS_recvfrom 207
#define SYS_setsockopt 208
#define SYS_shutdown 210

#define AT_FDCWD (-100)
#define O_RDONLY 0
#define O_RDWR 2
#define O_DIRECTORY 0200000
#define O_DIRECT 040000

static long sc6(long n, long a, long b, long c, long d, long e, long f)
{
    register long a7 __asm__("a7") = n;
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    register long a3 __asm__("a3") = d;
    register long a4 __asm__("a4") = e;
    register long a5 __asm__("a5") = f;
    __asm__ volatile("ecall"
                     : "+r"(a0)
                     : "r"(a7), "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5)
                     : "memory");
    return a0;
}
#define sc(n, a, b, c) sc6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static size_t slen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* Whole lines in one write: the kernel's console messages (another CPU's printk) can
 * land between two writes and split a report line the tests look for. */
static char out_line[256];
static size_t out_len;

static void out(const char *s)
{
    for (; *s; s++) {
        out_line[out_len++] = *s;
        if (*s == '\n' || out_len == sizeof out_line) {
            sc(SYS_write, 1, out_line, out_len);
            out_len = 0;
        }
    }
}

static void out_num(unsigned long v)
{
    char buf[24];
    int i = 23;
    buf[i] = 0;
    do {
        buf[--i] = '0' + v % 10;
        v /= 10;
    } while (v);
    out(buf + i);
}

static int starts(const char *s, const char *p)
{
    while (*p)
        if (*s++ != *p++)
            return 0;
    return 1;
}

/* Reads a small file into buf (NUL-terminated, trailing newline dropped). */
static long read_file(const char *path, char *buf, size_t cap)
{
    long fd = sc(SYS_openat, AT_FDCWD, path, O_RDONLY);
    if (fd < 0)
        return fd;
    size_t n = 0;
    for (;;) {
        long r = sc(SYS_read, fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += r;
        if (n >= cap - 1)
            break;
    }
    sc(SYS_close, fd, 0, 0);
    while (n && buf[n - 1] == '\n')
        n--;
    buf[n] = 0;
    return n;
}

static void restart(void)
{
    sc(SYS_sync, 0, 0, 0);
    out("MOSAIC-REBOOT\n");
    sc6(SYS_reboot, 0xfee1dead, 672274793, 0x01234567, 0, 0, 0);
}

static void power_off(void)
{
    sc(SYS_sync, 0, 0, 0);
    out("MOSAIC-POWEROFF\n");
    sc6(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, 0, 0, 0);
    for (;;)
        sc(SYS_exit, 0, 0, 0);
}

static char big[16384] __attribute__((aligned(4096))); /* O_DIRECT wants alignment */

static void report_cpus(void)
{
    char buf[128];
    if (read_file("/sys/devices/system/cpu/online", buf, sizeof buf) > 0) {
        out("MOSAIC-CPUS-ONLINE ");
        out(buf);
        out("\n");
    }
    long n = read_file("/proc/cpuinfo", big, sizeof big);
    unsigned count = 0;
    const char *isa = 0;
    for (long i = 0; i < n; i++) {
        if ((i == 0 || big[i - 1] == '\n') && starts(big + i, "processor"))
            count++;
        if ((i == 0 || big[i - 1] == '\n') && !isa && starts(big + i, "isa"))
            isa = big + i;
    }
    out("MOSAIC-NCPUS ");
    out_num(count);
    out("\n");
    if (isa) {
        out("MOSAIC-ISA ");
        const char *p = isa;
        while (*p && *p != ':')
            p++;
        if (*p)
            p += 2;
        char line[128];
        int k = 0;
        while (*p && *p != '\n' && k < 127)
            line[k++] = *p++;
        line[k] = 0;
        out(line);
        out("\n");
    }
}

struct dirent64 {
    unsigned long d_ino;
    long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Calls fn(name) for each entry of dir except . and .. */
static void each_entry(const char *dir, void (*fn)(const char *dir, const char *name))
{
    long fd = sc(SYS_openat, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return;
    static char dbuf[4096];
    for (;;) {
        long n = sc(SYS_getdents64, fd, dbuf, sizeof dbuf);
        if (n <= 0)
            break;
        for (long off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(dbuf + off);
            if (d->d_name[0] != '.')
                fn(dir, d->d_name);
            off += d->d_reclen;
        }
    }
    sc(SYS_close, fd, 0, 0);
}

static void path3(char *dst, const char *a, const char *b, const char *c)
{
    while (*a)
        *dst++ = *a++;
    *dst++ = '/';
    while (*b)
        *dst++ = *b++;
    if (c) {
        *dst++ = '/';
        while (*c)
            *dst++ = *c++;
    }
    *dst = 0;
}

static void show_virtio(const char *dir, const char *name)
{
    char p[256], v[64];
    path3(p, dir, name, "device");
    out("MOSAIC-VIRTIO ");
    out(name);
    if (read_file(p, v, sizeof v) > 0) {
        out(" device=");
        out(v);
    }
    out("\n");
}

static void out_hex2(unsigned v)
{
    char b[3] = {"0123456789abcdef"[(v >> 4) & 15], "0123456789abcdef"[v & 15], 0};
    out(b);
}

static void show_pci(const char *dir, const char *name)
{
    char p[256], v[64];
    out("MOSAIC-PCI ");
    out(name);
    static const char *const attrs[] = {"vendor", "device", "class"};
    for (int i = 0; i < 3; i++) {
        path3(p, dir, name, attrs[i]);
        if (read_file(p, v, sizeof v) > 0) {
            out(" ");
            out(attrs[i]);
            out("=");
            out(v);
        }
    }
    /* A bridge (header type 1): the bus numbers the guest gave it. */
    unsigned char cfg[64];
    path3(p, dir, name, "config");
    long fd = sc(SYS_openat, AT_FDCWD, p, O_RDONLY);
    if (fd >= 0) {
        if (sc(SYS_read, fd, cfg, sizeof cfg) == (long)sizeof cfg && (cfg[0x0e] & 0x7f) == 1) {
            out(" secondary=");
            out_hex2(cfg[0x19]);
            out(" subordinate=");
            out_hex2(cfg[0x1a]);
        }
        sc(SYS_close, fd, 0, 0);
    }
    out("\n");
}

static void show_disk(const char *dir, const char *name)
{
    char p[256], v[64];
    path3(p, dir, name, "size");
    out("MOSAIC-DISK ");
    out(name);
    if (read_file(p, v, sizeof v) > 0) {
        out(" sectors=");
        out(v);
    }
    out("\n");
}

/* The pattern: byte i of the first 64 KiB of /dev/vda. */
#define PATTERN_LEN 65536
static unsigned char pattern_byte(unsigned long i) { return (unsigned char)(i * 7 + (i >> 9) + 0x5a); }

static int blk_write_dev(const char *dev, unsigned seed)
{
    long fd = sc(SYS_openat, AT_FDCWD, dev, O_RDWR);
    if (fd < 0)
        return 0;
    for (unsigned long off = 0; off < PATTERN_LEN; off += sizeof big) {
        for (unsigned long i = 0; i < sizeof big; i++)
            big[i] = pattern_byte(off + i) + seed;
        if (sc(SYS_write, fd, big, sizeof big) != (long)sizeof big)
            return 0;
    }
    long r = sc(SYS_fsync, fd, 0, 0);
    sc(SYS_close, fd, 0, 0);
    return r == 0;
}

static int blk_check_dev(const char *dev, unsigned seed)
{
    /* O_DIRECT: the data comes from the device, not from what the write left cached. */
    long fd = sc(SYS_openat, AT_FDCWD, dev, O_RDONLY | O_DIRECT);
    if (fd < 0)
        return 0;
    for (unsigned long off = 0; off < PATTERN_LEN; off += sizeof big) {
        if (sc(SYS_read, fd, big, sizeof big) != (long)sizeof big) {
            sc(SYS_close, fd, 0, 0);
            return 0;
        }
        for (unsigned long i = 0; i < sizeof big; i++)
            if ((unsigned char)big[i] != (unsigned char)(pattern_byte(off + i) + seed)) {
                sc(SYS_close, fd, 0, 0);
                return 0;
            }
    }
    sc(SYS_close, fd, 0, 0);
    return 1;
}

static int blk_write(void) { return blk_write_dev("/dev/vda", 0); }
static int blk_check(void) { return blk_check_dev("/dev/vda", 0); }

/* Every virtio disk: its own pattern (seed: the disk's letter) written, then read back
 * from the device. */
static void blk_one(const char *dir, const char *name)
{
    (void)dir;
    if (!starts(name, "vd"))
        return;
    static char dev[32];
    path3(dev, "/dev", name, 0);
    int ok = blk_write_dev(dev, name[2]) && blk_check_dev(dev, name[2]);
    out("MOSAIC-BLK ");
    out(name);
    out(ok ? " OK\n" : " FAIL\n");
}

struct timespec64 { long sec, nsec; };

static unsigned long now_ns(void)
{
    struct timespec64 t;
    sc(SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, &t, 0);
    return (unsigned long)t.sec * 1000000000ul + t.nsec;
}

static void sleep_ms(long ms)
{
    struct timespec64 t = {ms / 1000, (ms % 1000) * 1000000};
    sc(SYS_nanosleep, &t, 0, 0);
}

static unsigned long bench_ns = 5000000000ul; /* mosaic.bench-secs= (default 5) */

/* Requests per second of 4 KiB direct reads for bench_ns (guest time) on each disk;
 * MOSAIC-BENCH-START marks where each disk's run begins (hosts time their side). */
static void bench_one(const char *dir, const char *name)
{
    (void)dir;
    if (!starts(name, "vd"))
        return;
    static char dev[32];
    path3(dev, "/dev", name, 0);
    long fd = sc(SYS_openat, AT_FDCWD, dev, O_RDONLY | O_DIRECT);
    if (fd < 0)
        return;
    out("MOSAIC-BENCH-START ");
    out(name);
    out("\n");
    unsigned long start = now_ns(), end = start, n = 0;
    while (end - start < bench_ns) {
        if (sc6(SYS_pread64, fd, (long)big, 4096, (long)((n % 4096) * 4096), 0, 0) != 4096)
            break;
        n++;
        end = now_ns();
    }
    sc(SYS_close, fd, 0, 0);
    out("MOSAIC-BENCH ");
    out(name);
    out(" reqs=");
    out_num(n);
    out(" ns=");
    out_num(end - start);
    out("\n");
}

static unsigned pci_count;
static void count_pci(const char *dir, const char *name) { (void)dir; (void)name; pci_count++; }

/* Reports disks as they come and go (hot-plug): a new one is written and read back.
 * When the set of PCI functions changes, lists them (MOSAIC-PCI lines, bridges with
 * the bus numbers the guest gave them). */
static void hotplug_loop(void)
{
    static char seen[26];
    unsigned pci_last = 0;
    out("MOSAIC-HOTPLUG ready\n");
    for (;;) {
        pci_count = 0;
        each_entry("/sys/bus/pci/devices", count_pci);
        if (pci_count != pci_last) {
            pci_last = pci_count;
            out("MOSAIC-HOTPLUG pci ");
            out_num(pci_count);
            out("\n");
            each_entry("/sys/bus/pci/devices", show_pci);
            out("MOSAIC-HOTPLUG pci end\n");
        }
        for (int c = 0; c < 26; c++) {
            static char sys[] = "/sys/block/vd?", name[] = "vd?";
            sys[13] = name[2] = 'a' + c;
            long fd = sc(SYS_openat, AT_FDCWD, sys, O_RDONLY | O_DIRECTORY);
            if (fd >= 0)
                sc(SYS_close, fd, 0, 0);
            if (fd >= 0 && !seen[c]) {
                seen[c] = 1;
                static char dev[] = "/dev/vd?";
                dev[7] = 'a' + c;
                int ok = 0;
                for (int tries = 0; tries < 50 && !ok; tries++) { /* devtmpfs may lag */
                    ok = blk_write_dev(dev, c) && blk_check_dev(dev, c);
                    if (!ok)
                        sleep_ms(20);
                }
                out("MOSAIC-HOTPLUG add ");
                out(name);
                out(ok ? " OK\n" : " FAIL\n");
            } else if (fd < 0 && seen[c]) {
                seen[c] = 0;
                out("MOSAIC-HOTPLUG del ");
                out(name);
                out("\n");
            }
        }
        sleep_ms(50);
    }
}

/* Finds NAME=VALUE (NAME with its "mosaic." prefix) in /proc/cmdline; "" if absent. */
static void get_param(const char *name, char *val, size_t cap)
{
    char line[1024];
    size_t nl = slen(name);
    val[0] = 0;
    long n = read_file("/proc/cmdline", line, sizeof line);
    for (long i = 0; i < n; i++) {
        if ((i == 0 || line[i - 1] == ' ') && starts(line + i, name) && line[i + nl] == '=') {
            const char *p = line + i + nl + 1;
            size_t k = 0;
            while (*p && *p != ' ' && k < cap - 1)
                val[k++] = *p++;
            val[k] = 0;
        }
    }
}

static void get_cmd(char *cmd, size_t cap) { get_param("mosaic.cmd", cmd, cap); }

/* ---- net-stream: TCP both ways over eth0, checked by hash ----
 * mosaic.ip=A.B.C.D (eth0, /24)  mosaic.role=listen|connect  mosaic.peer=A.B.C.D (connect)
 * mosaic.port=N  mosaic.bytes=N (each way)  mosaic.seed=N (this side's pattern)
 * mosaic.count=N (listen: connections served one after another)  mosaic.hold=1 (stay up)
 * Prints MOSAIC-NET-STREAM sent=N sent-hash=H recv=N recv-hash=H per connection (FNV-1a
 * 32, hex); byte i sent is (i * 131 + (i >> 11) + seed * 29) & 0xff. */
static int streq(const char *a, const char *b);

struct sockaddr_in4 {
    unsigned short family, port;
    unsigned int addr;
    unsigned char zero[8];
};
struct ifreq4 {
    char name[16];
    union {
        struct sockaddr_in4 addr;
        short flags;
        char pad[24];
    } u;
};
struct pollfd4 {
    int fd;
    short events, revents;
};

static unsigned long parse_num(const char *s)
{
    unsigned long v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    return v;
}

/* "10.0.2.15" -> network byte order; 0 when malformed. */
static unsigned int parse_ip(const char *s)
{
    unsigned int v = 0;
    for (int i = 0; i < 4; i++) {
        if (*s < '0' || *s > '9')
            return 0;
        unsigned long b = parse_num(s);
        while (*s >= '0' && *s <= '9')
            s++;
        if (b > 255 || (i < 3 && *s++ != '.'))
            return 0;
        v |= (unsigned int)b << (8 * i);
    }
    return v;
}

static unsigned short be16(unsigned v) { return (unsigned short)((v >> 8 & 0xff) | (v & 0xff) << 8); }

static void out_hex(unsigned int v)
{
    char b[9];
    for (int i = 7; i >= 0; i--, v >>= 4)
        b[i] = "0123456789abcdef"[v & 15];
    b[8] = 0;
    out(b);
}

static int if_up(unsigned int ip)
{
    long s = sc(SYS_socket, 2, 2, 0);
    struct ifreq4 r;
    if (s < 0)
        return 0;
    for (unsigned i = 0; i < sizeof r; i++)
        ((char *)&r)[i] = 0;
    r.name[0] = 'e', r.name[1] = 't', r.name[2] = 'h', r.name[3] = '0';
    r.u.addr.family = 2;
    r.u.addr.addr = ip;
    if (sc(SYS_ioctl, s, 0x8916, &r) < 0) /* SIOCSIFADDR */
        return 0;
    r.u.addr.addr = 0x00ffffff;            /* 255.255.255.0 */
    if (sc(SYS_ioctl, s, 0x891c, &r) < 0) /* SIOCSIFNETMASK */
        return 0;
    if (sc(SYS_ioctl, s, 0x8913, &r) < 0) /* SIOCGIFFLAGS */
        return 0;
    r.u.flags |= 1;                        /* IFF_UP */
    if (sc(SYS_ioctl, s, 0x8914, &r) < 0) /* SIOCSIFFLAGS */
        return 0;
    sc(SYS_close, s, 0, 0);
    return 1;
}

static unsigned char stream_byte(unsigned long i, unsigned long seed)
{
    return (unsigned char)(i * 131 + (i >> 11) + seed * 29);
}

static unsigned int fnv(unsigned int h, const unsigned char *p, long n)
{
    for (long i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Sends `bytes` of the pattern while receiving `bytes`; 1 when both completed. */
static int exchange(long fd, unsigned long bytes, unsigned long seed)
{
    static unsigned char tx[4096], rx[4096];
    unsigned long sent = 0, got = 0;
    unsigned int hs = 2166136261u, hr = 2166136261u;
    int idle = 0;
    sc(SYS_fcntl, fd, 4, 04000); /* F_SETFL O_NONBLOCK */
    while ((sent < bytes || got < bytes) && idle < 60) {
        struct pollfd4 p = {(int)fd, (short)(1 | (sent < bytes ? 4 : 0)), 0};
        long ts[2] = {1, 0};
        long r = sc6(SYS_ppoll, (long)&p, 1, (long)ts, 0, 0, 0);
        if (r <= 0) {
            idle++;
            continue;
        }
        idle = 0;
        if (p.revents & 1) {
            long n = sc6(SYS_recvfrom, fd, (long)rx, sizeof rx, 0, 0, 0);
            if (n == 0)
                break;
            if (n > 0) {
                hr = fnv(hr, rx, n);
                got += n;
            }
        }
        if ((p.revents & 4) && sent < bytes) {
            unsigned long k = bytes - sent < sizeof tx ? bytes - sent : sizeof tx;
            for (unsigned long i = 0; i < k; i++)
                tx[i] = stream_byte(sent + i, seed);
            long n = sc6(SYS_sendto, fd, (long)tx, k, 0, 0, 0);
            if (n > 0) {
                hs = fnv(hs, tx, n);
                sent += n;
            }
        }
        if (p.revents & 8 && !(p.revents & 1))
            break;
    }
    /* Our data may still sit in the socket: half-close and wait for the peer's end,
     * which it sends once it has everything, before powering off. */
    if (sent == bytes && got == bytes) {
        sc(SYS_shutdown, fd, 1, 0); /* SHUT_WR */
        for (int i = 0; i < 30; i++) {
            struct pollfd4 p = {(int)fd, 1, 0};
            long ts[2] = {1, 0};
            if (sc6(SYS_ppoll, (long)&p, 1, (long)ts, 0, 0, 0) > 0 &&
                sc6(SYS_recvfrom, fd, (long)rx, sizeof rx, 0, 0, 0) <= 0)
                break;
        }
    }
    out("MOSAIC-NET-STREAM sent=");
    out_num(sent);
    out(" sent-hash=");
    out_hex(hs);
    out(" recv=");
    out_num(got);
    out(" recv-hash=");
    out_hex(hr);
    out("\n");
    sc(SYS_close, fd, 0, 0);
    return sent == bytes && got == bytes;
}

static int net_stream(void)
{
    char v[64];
    get_param("mosaic.ip", v, sizeof v);
    unsigned int ip = parse_ip(v);
    get_param("mosaic.port", v, sizeof v);
    unsigned port = parse_num(v);
    get_param("mosaic.bytes", v, sizeof v);
    unsigned long bytes = parse_num(v);
    get_param("mosaic.seed", v, sizeof v);
    unsigned long seed = parse_num(v);
    get_param("mosaic.count", v, sizeof v);
    unsigned long count = v[0] ? parse_num(v) : 1;
    if (!ip || !port || !if_up(ip)) {
        out("MOSAIC-NET cannot configure eth0\n");
        return 0;
    }
    out("MOSAIC-NET-UP eth0\n");
    char role[16];
    get_param("mosaic.role", role, sizeof role);
    struct sockaddr_in4 sa = {2, be16(port), 0, {0}};
    int ok = 1;
    if (streq(role, "listen")) {
        long ls = sc(SYS_socket, 2, 1, 0);
        int one = 1;
        sc6(SYS_setsockopt, ls, 1, 2, (long)&one, sizeof one, 0); /* SO_REUSEADDR */
        if (ls < 0 || sc(SYS_bind, ls, &sa, sizeof sa) < 0 || sc(SYS_listen, ls, 4, 0) < 0)
            return 0;
        out("MOSAIC-NET-LISTENING\n");
        for (unsigned long i = 0; i < count; i++) {
            long fd = sc(SYS_accept, ls, 0, 0);
            if (fd < 0)
                return 0;
            ok &= exchange(fd, bytes, seed);
        }
        return ok;
    }
    get_param("mosaic.peer", v, sizeof v);
    sa.addr = parse_ip(v);
    for (int tries = 0; tries < 300; tries++) {
        long fd = sc(SYS_socket, 2, 1, 0);
        long tv[2] = {2, 0};
        sc6(SYS_setsockopt, fd, 1, 21, (long)tv, sizeof tv, 0); /* SO_SNDTIMEO: connect */
        if (sc(SYS_connect, fd, &sa, sizeof sa) == 0)
            return exchange(fd, bytes, seed);
        sc(SYS_close, fd, 0, 0);
        sleep_ms(500);
    }
    out("MOSAIC-NET cannot connect\n");
    return 0;
}

/* ---- snd-play: a tone through Linux's virtio_snd driver, with raw ALSA ioctls ----
 * mosaic.freq=HZ (440) mosaic.ms=N (1000) mosaic.amp=PERCENT (50): N ms of a sine at
 * 48 kHz S16_LE stereo on /dev/snd/pcmC0D0p, then a buffer of silence (whatever the
 * device reads past the end of the data is silence), then DRAIN.  An xrun (WRITEI
 * answering -EPIPE) is counted, the stream prepared again and the write retried;
 * prints MOSAIC-SND ... xruns=N. */
struct snd_interval { unsigned int min, max, flags; /* openmin:1 openmax:1 integer:1 empty:1 */ };
struct snd_hw_params {
    unsigned int flags;
    unsigned int masks[3][8]; /* access, format, subformat */
    unsigned int mres[5][8];
    struct snd_interval iv[12]; /* SNDRV_PCM_HW_PARAM_SAMPLE_BITS (8) .. TICK_TIME (19) */
    struct snd_interval ires[9];
    unsigned int rmask, cmask, info, msbits, rate_num, rate_den;
    unsigned long fifo_size;
    unsigned char reserved[64];
};
_Static_assert(sizeof(struct snd_hw_params) == 608, "struct snd_pcm_hw_params");
struct snd_xferi { long result; void *buf; unsigned long frames; };

#define SND_HW_PARAMS 0xc2604111u  /* _IOWR('A', 0x11, struct snd_pcm_hw_params) */
#define SND_PREPARE 0x4140u        /* _IO('A', 0x40) */
#define SND_DRAIN 0x4144u          /* _IO('A', 0x44) */
#define SND_WRITEI 0x40184150u     /* _IOW('A', 0x50, struct snd_xferi) */
#define SND_READI 0x80184151u      /* _IOR('A', 0x51, struct snd_xferi) */
#define EPIPE 32
enum { IV_CHANNELS = 10 - 8, IV_RATE = 11 - 8, IV_PERIOD_SIZE = 13 - 8, IV_PERIODS = 15 - 8,
       IV_BUFFER_SIZE = 17 - 8 };

#define SND_RATE 48000
#define SND_PERIOD 960 /* frames: 20 ms */
#define SND_PERIODS 8

static struct snd_hw_params hwp;
static short snd_buf[SND_PERIOD * SND_PERIODS * 2];

/* Everything allowed, then access RW_INTERLEAVED, S16_LE, 2 channels, 48 kHz, the period
 * and the period count fixed; the kernel chooses the rest (there is nothing left). */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
static long snd_setup(long fd, unsigned periods)
{
    for (int m = 0; m < 3; m++)
        for (int w = 0; w < 8; w++)
            hwp.masks[m][w] = 0;
    hwp.masks[0][0] = 1u << 3; /* SNDRV_PCM_ACCESS_RW_INTERLEAVED */
    hwp.masks[1][0] = 1u << 2; /* SNDRV_PCM_FORMAT_S16_LE */
    hwp.masks[2][0] = 1u << 0; /* SNDRV_PCM_SUBFORMAT_STD */
    for (int i = 0; i < 12; i++)
        hwp.iv[i] = (struct snd_interval){0, ~0u, 0};
    hwp.iv[IV_CHANNELS] = (struct snd_interval){2, 2, 4};
    hwp.iv[IV_RATE] = (struct snd_interval){SND_RATE, SND_RATE, 4};
    hwp.iv[IV_PERIOD_SIZE] = (struct snd_interval){SND_PERIOD, SND_PERIOD, 4};
    hwp.iv[IV_PERIODS] = (struct snd_interval){periods, periods, 4};
    hwp.rmask = ~0u;
    long r = sc(SYS_ioctl, fd, SND_HW_PARAMS, &hwp);
    if (r < 0)
        return r;
    return sc(SYS_ioctl, fd, SND_PREPARE, 0);
}

/* sin(2 pi k / 1024) in Q30 for k in 0..1024, from the Taylor series (no FPU needed). */
static int sine_q30[1025];

static void make_sine(void)
{
    const long two_pi_q30 = 6746518852l;
    for (int k = 0; k <= 256; k++) {
        long x = two_pi_q30 * k / 1024, x2 = (x * x) >> 30, term = x, sum = x;
        for (int n = 1; n < 12; n++) {
            term = -((term * x2) >> 30) / ((2 * n) * (2 * n + 1));
            sum += term;
        }
        if (sum > (1l << 30) - 1)
            sum = (1l << 30) - 1;
        sine_q30[k] = sine_q30[512 - k] = (int)sum;
        sine_q30[512 + k] = sine_q30[1024 - k] = (int)-sum;
    }
}

/* Frames of the tone into snd_buf (zeros once `left` runs out); phase is Q32 cycles. */
static void tone_fill(unsigned long frames, unsigned long *phase, unsigned long step,
                      unsigned long amp, unsigned long *left)
{
    for (unsigned long i = 0; i < frames; i++) {
        long v = 0;
        if (*left) {
            unsigned long k = (*phase >> 22) & 1023, frac = (*phase >> 6) & 0xffff;
            long a = sine_q30[k], b = sine_q30[k + 1];
            v = ((a + (((b - a) * (long)frac) >> 16)) * (long)amp / 100) >> 15; /* Q30 -> S16 */
            if (v > 32767)
                v = 32767;
            *phase += step;
            (*left)--;
        }
        snd_buf[2 * i] = snd_buf[2 * i + 1] = (short)v;
    }
}

/* WRITEI all of `frames`, recovering from xruns. */
static long snd_write(long fd, unsigned long frames, unsigned long *xruns)
{
    unsigned long done = 0;
    while (done < frames) {
        struct snd_xferi x = {0, snd_buf + 2 * done, frames - done};
        long r = sc(SYS_ioctl, fd, SND_WRITEI, &x);
        if (r == -EPIPE) {
            (*xruns)++;
            if ((r = sc(SYS_ioctl, fd, SND_PREPARE, 0)) < 0)
                return r;
            continue;
        }
        if (r < 0)
            return r;
        done += x.result;
    }
    return 0;
}

static void snd_fail(const char *what, long err)
{
    out("MOSAIC-SND ");
    out(what);
    out(" failed: errno ");
    out_num(-err);
    out("\n");
}

static int snd_play(void)
{
    char v[32];
    get_param("mosaic.freq", v, sizeof v);
    unsigned long freq = v[0] ? parse_num(v) : 440;
    get_param("mosaic.ms", v, sizeof v);
    unsigned long ms = v[0] ? parse_num(v) : 1000;
    get_param("mosaic.amp", v, sizeof v);
    unsigned long amp = v[0] ? parse_num(v) : 50;
    long fd = sc(SYS_openat, AT_FDCWD, "/dev/snd/pcmC0D0p", O_RDWR);
    if (fd < 0) {
        snd_fail("open /dev/snd/pcmC0D0p", fd);
        return 0;
    }
    long r = snd_setup(fd, SND_PERIODS);
    if (r < 0) {
        snd_fail("HW_PARAMS/PREPARE", r);
        return 0;
    }
    out("MOSAIC-SND period=");
    out_num(hwp.iv[IV_PERIOD_SIZE].min);
    out(" periods=");
    out_num(hwp.iv[IV_PERIODS].min);
    out(" buffer=");
    out_num(hwp.iv[IV_BUFFER_SIZE].min);
    out("\n");
    make_sine();
    unsigned long phase = 0, step = (freq << 32) / SND_RATE, xruns = 0;
    unsigned long left = ms * SND_RATE / 1000, total = left + SND_PERIOD * SND_PERIODS;
    /* The whole buffer first (the stream starts with data in every period), then a
     * period at a time. */
    for (unsigned long sent = 0, n; sent < total; sent += n) {
        n = sent ? SND_PERIOD : SND_PERIOD * SND_PERIODS;
        if (n > total - sent)
            n = total - sent;
        tone_fill(n, &phase, step, amp, &left);
        if ((r = snd_write(fd, n, &xruns)) < 0) {
            snd_fail("WRITEI", r);
            return 0;
        }
    }
    r = sc(SYS_ioctl, fd, SND_DRAIN, 0);
    sc(SYS_close, fd, 0, 0);
    out("MOSAIC-SND played=");
    out_num(total);
    out(" xruns=");
    out_num(xruns);
    out("\n");
    if (r < 0)
        snd_fail("DRAIN", r);
    return r == 0;
}

/* ---- snd-capture: mosaic.frames=N frames of 48 kHz S16_LE stereo from
 * /dev/snd/pcmC0D0c (READI_FRAMES), hashed with FNV-1a (64-bit) as they arrive; prints
 * MOSAIC-SND captured=N hash=HEX xruns=N (an overrun: READI answering -EPIPE). */
static void out_hex64(unsigned long v)
{
    char buf[17];
    for (int i = 15; i >= 0; i--, v >>= 4)
        buf[i] = "0123456789abcdef"[v & 15];
    buf[16] = 0;
    out(buf);
}

static int snd_capture(void)
{
    char v[32];
    get_param("mosaic.frames", v, sizeof v);
    unsigned long frames = v[0] ? parse_num(v) : 48000, got = 0, xruns = 0;
    unsigned long hash = 0xcbf29ce484222325ul;
    long fd = sc(SYS_openat, AT_FDCWD, "/dev/snd/pcmC0D0c", O_RDWR);
    if (fd < 0) {
        snd_fail("open /dev/snd/pcmC0D0c", fd);
        return 0;
    }
    long r = snd_setup(fd, SND_PERIODS);
    if (r < 0) {
        snd_fail("HW_PARAMS/PREPARE", r);
        return 0;
    }
    while (got < frames) {
        unsigned long n = frames - got < SND_PERIOD ? frames - got : SND_PERIOD;
        struct snd_xferi x = {0, snd_buf, n};
        r = sc(SYS_ioctl, fd, SND_READI, &x);
        if (r == -EPIPE) {
            xruns++;
            if ((r = sc(SYS_ioctl, fd, SND_PREPARE, 0)) < 0)
                break;
            continue;
        }
        if (r < 0)
            break;
        const unsigned char *b = (const unsigned char *)snd_buf;
        for (long i = 0; i < x.result * 4; i++)
            hash = (hash ^ b[i]) * 0x100000001b3ul;
        got += x.result;
    }
    sc(SYS_close, fd, 0, 0);
    if (r < 0)
        snd_fail("READI", r);
    out("MOSAIC-SND captured=");
    out_num(got);
    out(" hash=");
    out_hex64(hash);
    out(" xruns=");
    out_num(xruns);
    out("\n");
    return r >= 0;
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

int main(void)
{
    sc(SYS_mkdirat, AT_FDCWD, "/proc", 0755);
    sc(SYS_mkdirat, AT_FDCWD, "/sys", 0755);
    sc(SYS_mkdirat, AT_FDCWD, "/dev", 0755);
    sc6(SYS_mount, (long)"proc", (long)"/proc", (long)"proc", 0, 0, 0);
    sc6(SYS_mount, (long)"sysfs", (long)"/sys", (long)"sysfs", 0, 0, 0);
    sc6(SYS_mount, (long)"devtmpfs", (long)"/dev", (long)"devtmpfs", 0, 0, 0);
    out("MOSAIC-INIT-OK\n");

    report_cpus();
    /* An external initrd (machine key `initrd`) unpacked over the built-in one. */
    char marker[128];
    if (read_file("/mosaic-initrd", marker, sizeof marker) > 0) {
        out("MOSAIC-INITRD ");
        out(marker);
        out("\n");
    }
    each_entry("/sys/bus/virtio/devices", show_virtio);
    each_entry("/sys/block", show_disk);
    each_entry("/sys/bus/pci/devices", show_pci);

    char cmd[64];
    get_cmd(cmd, sizeof cmd);
    if (!cmd[0] || streq(cmd, "report")) {
        out("MOSAIC-CMD report OK\n");
    } else if (streq(cmd, "reboot")) {
        restart(); /* every boot reboots again: the caller stops the machine */
    } else if (streq(cmd, "blk-write-pattern")) {
        out(blk_write() ? "MOSAIC-CMD blk-write-pattern OK\n" : "MOSAIC-CMD blk-write-pattern FAIL\n");
    } else if (streq(cmd, "net-stream")) {
        int ok = net_stream();
        out(ok ? "MOSAIC-CMD net-stream OK\n" : "MOSAIC-CMD net-stream FAIL\n");
        char hold[8];
        get_param("mosaic.hold", hold, sizeof hold);
        while (hold[0] == '1') { /* stay up until the test kills the machine */
            long ts[2] = {3600, 0};
            sc(SYS_nanosleep, ts, 0, 0);
        }
    } else if (streq(cmd, "blk-read-check")) {
        out(blk_check() ? "MOSAIC-CMD blk-read-check OK\n" : "MOSAIC-CMD blk-read-check FAIL\n");
    } else if (streq(cmd, "blk-all")) {
        each_entry("/sys/block", blk_one);
        out("MOSAIC-CMD blk-all OK\n");
    } else if (streq(cmd, "blk-bench")) {
        char secs[16];
        get_param("mosaic.bench-secs", secs, sizeof secs);
        unsigned long v = 0;
        for (const char *c = secs; *c >= '0' && *c <= '9' && v < 3600; c++)
            v = v * 10 + (unsigned long)(*c - '0');
        if (v)
            bench_ns = v * 1000000000ul;
        each_entry("/sys/block", bench_one);
        out("MOSAIC-CMD blk-bench OK\n");
    } else if (streq(cmd, "snd-play")) {
        out(snd_play() ? "MOSAIC-CMD snd-play OK\n" : "MOSAIC-CMD snd-play FAIL\n");
    } else if (streq(cmd, "snd-capture")) {
        out(snd_capture() ? "MOSAIC-CMD snd-capture OK\n" : "MOSAIC-CMD snd-capture FAIL\n");
    } else if (streq(cmd, "hotplug-loop")) {
        hotplug_loop();
    } else {
        out("MOSAIC-CMD ");
        out(cmd);
        out(" UNKNOWN\n");
    }
    power_off();
    return 0;
}

__asm__(".section .text._start\n"
        ".global _start\n"
        "_start:\n"
        "  .option push\n"
        "  .option norelax\n"
        "  la gp, __global_pointer$\n"
        "  .option pop\n"
        "  andi sp, sp, -16\n"
        "  call main\n"
        "  li a7, 93\n"
        "  ecall\n");
