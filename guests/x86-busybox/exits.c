/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mosaic-exits: round trips to the VMM from inside the x86 busybox guest, for
 * bench/x86/bench_kvm.py.  Each access below is exactly one exit to the VMM:
 *   mosaic-exits pio PORT N    N one-byte reads of I/O port PORT (iopl)
 *   mosaic-exits mmio ADDR N   N four-byte reads of guest-physical ADDR (mmap of /dev/mem;
 *                              read(2) of /dev/mem refuses addresses above RAM)
 * and prints "count=N seconds=S" on the guest's CLOCK_MONOTONIC. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s pio PORT N | mmio ADDR N\n", argv[0]);
        return 2;
    }
    unsigned long where = strtoul(argv[2], NULL, 0), n = strtoul(argv[3], NULL, 0);
    double t0, t1;
    if (!strcmp(argv[1], "pio")) {
        if (where > 0xffff || iopl(3) < 0) {
            perror("iopl");
            return 1;
        }
        t0 = now();
        for (unsigned long i = 0; i < n; i++)
            (void)inb((unsigned short)where);
        t1 = now();
    } else if (!strcmp(argv[1], "mmio")) {
        int fd = open("/dev/mem", O_RDONLY | O_SYNC);
        long page = sysconf(_SC_PAGESIZE);
        void *p = fd < 0 ? MAP_FAILED
                         : mmap(NULL, page, PROT_READ, MAP_SHARED, fd, (off_t)(where & ~(page - 1)));
        if (p == MAP_FAILED) {
            perror("/dev/mem");
            return 1;
        }
        volatile uint32_t *r = (volatile uint32_t *)((char *)p + (where & (page - 1)));
        t0 = now();
        for (unsigned long i = 0; i < n; i++)
            (void)*r;
        t1 = now();
    } else {
        fprintf(stderr, "%s: pio or mmio\n", argv[0]);
        return 2;
    }
    printf("count=%lu seconds=%.6f\n", n, t1 - t0);
    return 0;
}
