/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: the buffer generated host code lives in (jit.c writes into it).
 *
 * W^X: the buffer is one memfd mapped twice, writable at one address and executable at
 * another; no page is ever writable and executable in the same mapping.  Each hart has
 * its own buffer, reset together with its translation cache. */
#define _GNU_SOURCE /* memfd_create */
#include "cpu.h"
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__) && defined(__linux__)

bool tcg_jit_init(Hart *h)
{
    h->jit_rw = h->jit_rx = NULL;
    h->jit_used = 0;
    const char *env = getenv("MOSAIC_TCG_JIT");
    if ((env && !strcmp(env, "0")) || (h->acc && h->acc->no_jit))
        return false;
    int fd = memfd_create("mosaic-tcg-code", MFD_CLOEXEC);
    if (fd < 0)
        return false;
    void *rw = MAP_FAILED, *rx = MAP_FAILED;
    if (ftruncate(fd, JIT_BUF_SIZE) == 0) {
        rw = mmap(NULL, JIT_BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        rx = mmap(NULL, JIT_BUF_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    }
    close(fd);
    if (rw == MAP_FAILED || rx == MAP_FAILED) {
        if (rw != MAP_FAILED)
            munmap(rw, JIT_BUF_SIZE);
        if (rx != MAP_FAILED)
            munmap(rx, JIT_BUF_SIZE);
        return false; /* no executable memory (e.g. a hardened host): interpreter only */
    }
    h->jit_rw = rw;
    h->jit_rx = rx;
    return true;
}

void tcg_jit_destroy(Hart *h)
{
    if (h->jit_rw) {
        munmap(h->jit_rw, JIT_BUF_SIZE);
        munmap(h->jit_rx, JIT_BUF_SIZE);
    }
    h->jit_rw = h->jit_rx = NULL;
}

bool tcg_jit_room(Hart *h)
{
    return !h->jit_rw || h->jit_used + (MAX_TB_INSNS + 4) * JIT_MAX_INSN_BYTES <= JIT_BUF_SIZE;
}

#else /* no back-end for this host: no code buffer */

bool tcg_jit_init(Hart *h)
{
    h->jit_rw = h->jit_rx = NULL;
    h->jit_used = 0;
    return false;
}

void tcg_jit_destroy(Hart *h)
{
    (void)h;
}

bool tcg_jit_room(Hart *h)
{
    (void)h;
    return true;
}

#endif
