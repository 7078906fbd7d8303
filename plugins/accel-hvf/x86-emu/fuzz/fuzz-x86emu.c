/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer entry for the x86 instruction emulator: the input is a vCPU state (mode,
 * registers, flags, segment bases, CR0/CR3/CR4/EFER, CPL) and guest memory holding the
 * instruction bytes and whatever page tables CR3 points at.  Decode + execute must end
 * in DONE, a fault or an error, never a crash, a hang or an access outside guest memory
 * (ASan and UBSan watch).
 *
 *   fuzz/build.sh OUTDIR  (clang -fsanitize=fuzzer,address,undefined)
 * With -DFUZZ_STANDALONE a main() runs N random inputs from a seed, for the test suite
 * (tests/system/test_x86emu_fuzz.py) where libFuzzer is not needed:
 *   fuzz-x86emu-standalone ITERATIONS SEED */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/testmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long outcomes[3];   /* DONE, FAULT, ERROR: the standalone driver prints them */

#define FUZZ_RAM (1u << 20)
#define HDR 256

static uint64_t word(const uint8_t *h, unsigned i)
{
    uint64_t v;
    memcpy(&v, h + 8 * i, 8);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static TestMem *m;
    if (!m) {
        m = calloc(1, sizeof(*m));
        m->ram = calloc(1, FUZZ_RAM);
        m->ram_size = FUZZ_RAM;
    }
    uint8_t h[HDR] = { 0 };
    memcpy(h, data, size < HDR ? size : HDR);
    const uint8_t *img = data + (size < HDR ? size : HDR);
    size_t imglen = size > HDR ? size - HDR : 0;
    /* Memory: the image repeated over the first 64 KiB (page tables and code come from
     * it), the rest zero; the MMIO page from the header. */
    memset(m->ram, 0, 65536);
    for (size_t off = 0; imglen && off < 65536; off += imglen)
        memcpy(m->ram + off, img, off + imglen > 65536 ? 65536 - off : imglen);
    memcpy(m->mmio, h, HDR);
    m->nio = 0;

    X86EmuCpu cpu = { 0 };
    for (int i = 0; i < 16; i++)
        cpu.gpr[i] = word(h, i);
    uint64_t ctl = word(h, 16);
    cpu.rip = word(h, 17) & (h[200] & 1 ? ~0ull : 0xffff);
    cpu.rflags = (word(h, 18) & 0x3f0fd5) | 2;
    for (int s = 0; s < 6; s++) {
        cpu.seg[s].base = h[201 + s] & 1 ? word(h, 19 + s) : (uint64_t)h[207 + s] << 12;
        cpu.seg[s].limit = 0xffffffff;
        cpu.seg[s].db = (h[213] >> s) & 1;
        cpu.seg[s].l = s == X86_CS && ((h[213] >> 6) & 1);
    }
    /* Control registers: mostly consistent modes, sometimes anything. */
    switch (ctl & 7) {
    case 0: cpu.cr0 = 0; break;
    case 1: cpu.cr0 = X86_CR0_PE; break;
    case 2: cpu.cr0 = X86_CR0_PE | X86_CR0_PG; cpu.cr4 = X86_CR4_PSE; break;
    case 3: cpu.cr0 = X86_CR0_PE | X86_CR0_PG; cpu.cr4 = X86_CR4_PAE; break;
    case 4: case 5: case 6:
        cpu.cr0 = X86_CR0_PE | X86_CR0_PG;
        cpu.cr4 = X86_CR4_PAE;
        cpu.efer = X86_EFER_LME | X86_EFER_LMA;
        cpu.seg[X86_CS].l = (ctl & 7) != 6;
        break;
    default:
        cpu.cr0 = word(h, 25), cpu.cr4 = word(h, 26), cpu.efer = word(h, 27);
        break;
    }
    cpu.cr0 |= (ctl >> 8) & X86_CR0_WP;
    cpu.cr4 |= (ctl >> 16) & (X86_CR4_SMEP | X86_CR4_SMAP);
    cpu.efer |= (ctl >> 24) & X86_EFER_NXE;
    cpu.cr3 = (ctl >> 32) & 0xff000 & (FUZZ_RAM - 1);
    cpu.cpl = (ctl >> 40) & 3;
    /* A few instructions in a row, as a vCPU taking exits would. */
    for (int n = 0; n < 4; n++) {
        X86EmuResult res;
        X86EmuCpu before = cpu;
        X86EmuStatus s = x86emu_step(&cpu, &testmem_ops, m, &res);
        outcomes[s]++;
        if (s == X86EMU_ERROR && res.message[0] == 0)
            abort();                       /* every error says what it is */
        if (s == X86EMU_FAULT && res.vector != X86_EXC_PF && res.vector != X86_EXC_GP &&
            res.vector != X86_EXC_SS && res.vector != X86_EXC_UD)
            abort();
        if (s != X86EMU_DONE && cpu.rip != before.rip)
            abort();                       /* a fault or error never moves RIP */
        if (s != X86EMU_DONE)
            break;
    }
    /* And bytes handed over by the caller (a hypervisor's exit information), any length. */
    X86EmuResult res;
    size_t n = imglen < 15 ? imglen : h[214] % 16;
    x86emu_step_bytes(&cpu, &testmem_ops, m, img, n < imglen ? n : imglen, &res);
    return 0;
}

#ifdef FUZZ_STANDALONE
/* Random inputs, biased towards the instructions the emulator implements so that runs
 * get past the decoder: a prefix mix, an opcode from the supported set, random ModRM,
 * SIB, displacement and immediate bytes. */
static uint64_t rng;
static uint32_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

int main(int argc, char **argv)
{
    unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;
    rng = (argc > 2 ? strtoull(argv[2], NULL, 0) : 1) * 0x9e3779b97f4a7c15ull | 1;
    static const uint8_t ops[] = {
        0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29,
        0x30, 0x31, 0x38, 0x39, 0x63, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
        0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x90, 0x91, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xaa,
        0xab, 0xac, 0xad, 0xae, 0xb0, 0xb8, 0xc0, 0xc1, 0xc6, 0xc7, 0xd0, 0xd1, 0xd2, 0xd3,
        0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed, 0xee, 0xef, 0x6c, 0x6d, 0x6e, 0x6f, 0xf6, 0xf7,
        0xfe, 0xff, 0x0f,
    };
    static const uint8_t ops0f[] = { 0xa3, 0xab, 0xb3, 0xbb, 0xba, 0xb6, 0xb7, 0xbe, 0xbf,
                                     0xc0, 0xc1, 0xb0, 0xb1, 0x0b, 0xa2, 0x22, 0x10 };
    static const uint8_t pre[] = { 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x48, 0x41, 0x4f };
    uint8_t *buf = malloc(HDR + 8192);
    for (unsigned long it = 0; it < iters; it++) {
        size_t len = HDR + 16 + (next() % 8176);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)next();
        if (next() % 4) {
            /* Make the code at RIP (offset in the image) an instruction we implement. */
            uint64_t rip = next() % 60000;
            memcpy(buf + 17 * 8, &rip, 8);
            buf[200] &= ~1;
            for (int s = 0; s < 6; s++)
                buf[201 + s] &= ~1, buf[207 + s] = 0;
            if (next() % 2)                  /* paging off often: the code is then found */
                buf[16 * 8] = (uint8_t)(next() % 2);
            size_t at = rip % (len - HDR);
            uint8_t insn[15];
            unsigned n = 0, np = next() % 4;
            for (unsigned i = 0; i < np; i++)
                insn[n++] = pre[next() % sizeof(pre)];
            insn[n] = ops[next() % sizeof(ops)];
            if (insn[n++] == 0x0f)
                insn[n++] = ops0f[next() % sizeof(ops0f)];
            while (n < 15)
                insn[n++] = (uint8_t)next();
            for (unsigned i = 0; i < 15 && at + i < len - HDR; i++)
                buf[HDR + at + i] = insn[i];
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    free(buf);
    printf("%lu inputs ran: %lu steps done, %lu faults, %lu errors\n", iters, outcomes[0],
           outcomes[1], outcomes[2]);
    return 0;
}
#endif
