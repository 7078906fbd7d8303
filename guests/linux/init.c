/* /init of the Mosaic test initramfs: static, no libc, raw riscv64 Linux syscalls.
 *
 * Mounts proc, sysfs and devtmpfs, prints MOSAIC-INIT-OK, reports what the kernel
 * found (harts, virtio devices, disks, PCI functions, an external initrd's
 * /mosaic-initrd), runs the
 * command named by `mosaic.cmd=` on the
 * kernel command line (report | blk-write-pattern | blk-read-check | blk-all |
 * blk-bench | hotplug-loop | reboot) and powers off (hotplug-loop never ends: the test
 * quits the machine).
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

static void out(const char *s) { sc(SYS_write, 1, s, slen(s)); }

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

/* Requests per second of 4 KiB direct reads for 5 s (guest time) on each disk. */
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
    unsigned long start = now_ns(), end = start, n = 0;
    while (end - start < 5000000000ul) {
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

/* Reports disks as they come and go (hot-plug): a new one is written and read back. */
static void hotplug_loop(void)
{
    static char seen[26];
    out("MOSAIC-HOTPLUG ready\n");
    for (;;) {
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

/* Finds mosaic.cmd=VALUE in /proc/cmdline. */
static void get_cmd(char *cmd, size_t cap)
{
    char line[1024];
    cmd[0] = 0;
    long n = read_file("/proc/cmdline", line, sizeof line);
    for (long i = 0; i < n; i++) {
        if ((i == 0 || line[i - 1] == ' ') && starts(line + i, "mosaic.cmd=")) {
            const char *p = line + i + 11;
            size_t k = 0;
            while (*p && *p != ' ' && k < cap - 1)
                cmd[k++] = *p++;
            cmd[k] = 0;
        }
    }
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
    } else if (streq(cmd, "blk-read-check")) {
        out(blk_check() ? "MOSAIC-CMD blk-read-check OK\n" : "MOSAIC-CMD blk-read-check FAIL\n");
    } else if (streq(cmd, "blk-all")) {
        each_entry("/sys/block", blk_one);
        out("MOSAIC-CMD blk-all OK\n");
    } else if (streq(cmd, "blk-bench")) {
        each_entry("/sys/block", bench_one);
        out("MOSAIC-CMD blk-bench OK\n");
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
