/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer entry for accel-tcg: the input is guest memory and initial state.  The
 * emulator must trap on everything (random instructions, random page tables, random
 * CSR values) and never crash or touch memory outside the guest.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DHARNESS_FUZZ -I../../../sdk/include \
 *         -o fuzz-tcg fuzz-tcg.c ../[a-z]*.c -lm -lpthread   (see Makefile)
 * Without libFuzzer, -DFUZZ_STANDALONE adds a main that runs random inputs. */
#include "../test-harness/harness.c"
#include "../cpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Kicks the hart every millisecond so each input runs for a bounded time. */
static void *kicker(void *arg)
{
    for (;;) {
        usleep(1000);
        ops->vcpu_kick(vcpus[0].cpu);
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool inited;
    if (!inited) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ram.size = 1 << 20; /* 1 MiB: page tables point anywhere, most of it unmapped */
        ram.host = calloc(1, ram.size);
        ops = mosaic_plugin.ops;
        accel = ops->create(NULL, NULL, NULL);
        vcpus[0].cpu = ops->vcpu_create(accel, &vcpus[0], 0, NULL);
        pthread_mutex_init(&vcpus[0].lock, NULL);
        pthread_cond_init(&vcpus[0].cond, NULL);
        inited = true;
        pthread_t t;
        pthread_create(&t, NULL, kicker, NULL);
    }
    if (size < 64)
        return 0;
    /* Header: 8 words of state, then memory (repeated to fill the first 64 KiB). */
    uint64_t hdr[8];
    memcpy(hdr, data, sizeof(hdr));
    memset(ram.host, 0, 65536);
    for (size_t off = 0; off < 65536; off += size - 64)
        memcpy(ram.host + off, data + 64, off + size - 64 > 65536 ? 65536 - off : size - 64);
    void *cpu = vcpus[0].cpu;
    ops->vcpu_reset(cpu);
    ops->vcpu_set_reg(cpu, MOSAIC_RISCV_REG_PC, 0x80000000 + (hdr[0] & 0xfffe));
    for (int r = 1; r < 32; r++)
        ops->vcpu_set_reg(cpu, r, hdr[r & 7] * (r + 1) ^ (0x80000000ull + (hdr[1] & 0xffff)));
    ops->vcpu_set_reg(cpu, MOSAIC_RISCV_REG_CSR0 + 0x305, 0x80000000 + (hdr[2] & 0xfffc)); /* mtvec */
    ops->vcpu_set_reg(cpu, MOSAIC_RISCV_REG_CSR0 + 0x105, 0x80000000 + (hdr[3] & 0xfffc)); /* stvec */
    ops->vcpu_set_reg(cpu, MOSAIC_RISCV_REG_CSR0 + 0x300, hdr[4]);                         /* mstatus */
    ops->vcpu_set_reg(cpu, MOSAIC_RISCV_REG_CSR0 + 0x302, hdr[5]);                         /* medeleg */
    ops->vcpu_set_reg(cpu, MOSAIC_RISCV_REG_CSR0 + 0x180,                                   /* satp */
                      (hdr[6] & (0xfull << 60)) | (0x80000 + (hdr[6] & 0xff)));
    ops->vcpu_set_reg(cpu, MOSAIC_REG_PRIV, (hdr[7] & 3) == 2 ? 3 : hdr[7] & 3);
    fuzz_polls = 0;
    atomic_store(&((Hart *)cpu)->kicked, 0);
    ops->vcpu_run(cpu);
    return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? atoi(argv[1]) : 1000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
    static uint8_t buf[4096 + 64];
    for (unsigned k = 0; k < n; k++) {
        size_t size = 64 + (seed % 4096);
        for (size_t i = 0; i < size; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            buf[i] = seed >> 56;
            /* Bias toward valid-looking encodings now and then. */
            if ((i & 3) == 0 && (seed >> 20) % 4 == 0)
                buf[i] |= 3;
        }
        LLVMFuzzerTestOneInput(buf, size);
    }
    ops->query_stats(accel, print_stat, NULL);
    printf("fuzz: %u inputs ok\n", n);
    return 0;
}
#endif
