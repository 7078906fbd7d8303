/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The guest machine the emulator tests run against: guest-physical RAM (a host buffer),
 * a page of recording MMIO at TESTMEM_MMIO, and port I/O that logs every access. */
#ifndef X86EMU_TESTMEM_H
#define X86EMU_TESTMEM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "x86emu.h"

#define TESTMEM_MMIO 0xfee00000ull

typedef struct TestIo {
    bool out;
    uint16_t port;
    unsigned size;
    uint32_t val;
} TestIo;

typedef struct TestMem {
    uint8_t *ram;
    uint64_t ram_size;
    uint8_t mmio[4096];
    unsigned mmio_accesses;     /* reads and writes that reached the MMIO page */
    TestIo io[64];
    unsigned nio;
    uint32_t in_value;          /* what IN returns (in_value + access index ...) */
    bool in_constant;           /* (... or in_value every time) */
} TestMem;

static inline bool testmem_read(void *opaque, uint64_t gpa, void *buf, unsigned size)
{
    TestMem *m = opaque;
    if (gpa < m->ram_size && size <= m->ram_size - gpa) {
        memcpy(buf, m->ram + gpa, size);
        return true;
    }
    if (gpa >= TESTMEM_MMIO && gpa - TESTMEM_MMIO + size <= sizeof(m->mmio)) {
        m->mmio_accesses++;
        memcpy(buf, m->mmio + (gpa - TESTMEM_MMIO), size);
        return true;
    }
    return false;
}

static inline bool testmem_write(void *opaque, uint64_t gpa, const void *buf, unsigned size)
{
    TestMem *m = opaque;
    if (gpa < m->ram_size && size <= m->ram_size - gpa) {
        memcpy(m->ram + gpa, buf, size);
        return true;
    }
    if (gpa >= TESTMEM_MMIO && gpa - TESTMEM_MMIO + size <= sizeof(m->mmio)) {
        m->mmio_accesses++;
        memcpy(m->mmio + (gpa - TESTMEM_MMIO), buf, size);
        return true;
    }
    return false;
}

static inline bool testmem_in(void *opaque, uint16_t port, unsigned size, uint32_t *val)
{
    TestMem *m = opaque;
    if (port == 0xdead)
        return false;                     /* nothing answers there */
    *val = (m->in_value + (m->in_constant ? 0 : m->nio)) & (size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1);
    if (m->nio < 64)
        m->io[m->nio] = (TestIo){ false, port, size, *val };
    m->nio++;
    return true;
}

static inline bool testmem_out(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
    TestMem *m = opaque;
    if (port == 0xdead)
        return false;
    if (m->nio < 64)
        m->io[m->nio] = (TestIo){ true, port, size, val };
    m->nio++;
    return true;
}

static const X86EmuOps testmem_ops = { testmem_read, testmem_write, testmem_in, testmem_out };

#endif
