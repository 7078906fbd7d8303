/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mosaic-dirty CPU ADDR PAGES SECONDS: from CPU (pinned there), writes a word into each
 * of PAGES guest-physical pages from ADDR (a mapping of /dev/mem), round and round, for
 * SECONDS on the guest's CLOCK_MONOTONIC; prints "MOSAIC-DIRTY-CPU cpu=C writes=N".
 * The nested dirty-log test runs one per vCPU while the monitor switches the VMM's dirty
 * logging on and off: guest writes meet memory-slot flag changes and dirty-log fetches. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
    if (argc != 5) {
        fprintf(stderr, "usage: %s CPU ADDR PAGES SECONDS\n", argv[0]);
        return 2;
    }
    int cpu = atoi(argv[1]);
    unsigned long addr = strtoul(argv[2], NULL, 0);
    unsigned pages = (unsigned)strtoul(argv[3], NULL, 0);
    double secs = atof(argv[4]);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) < 0) {
        perror("sched_setaffinity");
        return 1;
    }
    int fd = open("/dev/mem", O_RDWR | O_SYNC);
    volatile uint32_t *p = fd < 0 ? MAP_FAILED
                                  : mmap(NULL, pages * 4096ul, PROT_READ | PROT_WRITE, MAP_SHARED,
                                         fd, (off_t)addr);
    if (p == MAP_FAILED) {
        perror("/dev/mem");
        return 1;
    }
    unsigned long n = 0;
    for (double end = now() + secs; now() < end;)
        for (unsigned i = 0; i < pages; i++, n++)
            p[i * 1024 + (unsigned)cpu] = (uint32_t)n; /* each CPU its own word */
    printf("MOSAIC-DIRTY-CPU cpu=%d writes=%lu\n", cpu, n);
    return 0;
}
