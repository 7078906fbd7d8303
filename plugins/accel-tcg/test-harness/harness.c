/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Standalone test harness for accel-tcg: a minimal fake of the core services the
 * plugin uses (address space, clocks, vCPU halt/wake) plus a tiny virt-like board:
 * RAM at 0x80000000, NS16550 at 0x10000000 (TX only), sifive,test at 0x100000,
 * CLINT at 0x2000000 and a catch-all MMIO hole elsewhere (reads 0, ECAM reads ~0).
 * Not part of the plugin build; see Makefile here.
 *
 *   harness [-n harts] [-m MiB] [-s] [-l max_seconds] FILE[@addr] [FILE@addr...]
 *     first ELF (or raw file with @addr) gives the entry; -d DTB@addr sets a1.
 */
#define _GNU_SOURCE
#include <mosaic/mosaic.h>
#include <mosaic/riscv.h>
#include <elf.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

extern const MosaicPluginDesc mosaic_plugin;

struct MosaicError { char msg[512]; bool set; };
struct MosaicRegion { uint8_t *host; uint64_t size; uint8_t dirty[1 << 18]; bool dirty_on; };
struct MosaicVcpu {
    unsigned index;
    void *cpu;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool wake;
};
struct MosaicAddressSpace { int dummy; };

static MosaicRegion ram;
static uint64_t ram_base = 0x80000000ull;
static MosaicAddressSpace the_as;
static volatile bool stop_all;
static int exit_code;
static struct MosaicVcpu vcpus[64];
static unsigned nharts = 1;
static const MosaicAccelOps *ops;
static void *accel;
static uint64_t mtimecmp[64];
static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct timespec t0;

void mosaic_error_set(MosaicError *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err) {
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        err->set = true;
    } else {
        vfprintf(stderr, fmt, ap);
    }
    va_end(ap);
}
bool mosaic_error_is_set(const MosaicError *err) { return err && err->set; }
/* The harness passes no [accel] props (NULL): every key is at its default. */
bool mosaic_props_has(const MosaicProps *p, const char *key) { return false; }
bool mosaic_props_get_bool(const MosaicProps *p, const char *key) { return false; }
uint64_t mosaic_props_get_uint(const MosaicProps *p, const char *key) { return 0; }
void mosaic_log(const char *domain, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", domain);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int64_t mosaic_clock_ns(MosaicClock clock)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)(t.tv_sec - t0.tv_sec) * 1000000000 + (t.tv_nsec - t0.tv_nsec);
}

MosaicAddressSpace *mosaic_machine_address_space(MosaicMachine *m) { return &the_as; }
uint64_t mosaic_address_space_generation(const MosaicAddressSpace *as) { return 1; }

bool mosaic_as_lookup(MosaicAddressSpace *as, uint64_t addr, MosaicMemSection *out)
{
    memset(out, 0, sizeof(*out));
    if (addr >= ram_base && addr - ram_base < ram.size) {
        out->base = ram_base;
        out->size = ram.size;
        out->host = ram.host;
        out->region = &ram;
        out->region_offset = 0;
        out->dirty_tracking = ram.dirty_on;
        out->dirty_clients = ram.dirty_on ? 1u << MOSAIC_DIRTY_CODE : 0; /* only the accelerator enables it here */
        return true;
    }
    if (addr < ram_base) { /* MMIO hole */
        out->base = 0;
        out->size = ram_base;
        return true;
    }
    return false;
}

static uint64_t mtime(void)
{
    return (uint64_t)mosaic_clock_ns(MOSAIC_CLOCK_VIRTUAL) / 100;
}

static void update_timer_irqs(void)
{
    uint64_t now = mtime();
    for (unsigned i = 0; i < nharts; i++)
        ops->vcpu_set_irq(vcpus[i].cpu, MOSAIC_RISCV_IRQ_MTIP, now >= mtimecmp[i]);
}

static MosaicMemResult mmio_read(uint64_t addr, unsigned size, uint64_t *v)
{
    *v = 0;
    if (addr >= 0x10000000 && addr < 0x10000100) {
        if (addr == 0x10000005)
            *v = 0x60; /* LSR: transmitter empty */
        return MOSAIC_MEM_OK;
    }
    if (addr >= 0x2000000 && addr < 0x2010000) {
        uint64_t off = addr - 0x2000000;
        if (off >= 0xbff8) {
            uint64_t t = mtime();
            *v = size == 8 ? t : (off == 0xbff8 ? (uint32_t)t : t >> 32);
        } else if (off >= 0x4000 && off < 0x4000 + 8 * nharts) {
            unsigned h = (off - 0x4000) / 8;
            *v = mtimecmp[h] >> ((off & 4) * 8);
            if (size == 4)
                *v = (uint32_t)*v;
        } else if (off < 4 * nharts) {
            uint64_t mip;
            ops->vcpu_get_reg(vcpus[off / 4].cpu, MOSAIC_RISCV_REG_CSR0 + 0x344, &mip);
            *v = (mip >> 3) & 1;
        }
        return MOSAIC_MEM_OK;
    }
    if (addr >= 0x30000000 && addr < 0x40000000) {
        *v = ~0ull >> (64 - 8 * size);
        return MOSAIC_MEM_OK;
    }
    return MOSAIC_MEM_OK;
}

static MosaicMemResult mmio_write(uint64_t addr, unsigned size, uint64_t v)
{
    if (addr == 0x10000000) {
        putchar((int)(v & 0xff));
        fflush(stdout);
        return MOSAIC_MEM_OK;
    }
    if (addr == 0x100000) {
        unsigned code = v & 0xffff;
        if (code == 0x5555 || code == 0x3333 || code == 0x7777) {
            exit_code = code == 0x5555 ? 0 : code == 0x7777 ? 0 : (int)((v >> 16) ? v >> 16 : 1);
            stop_all = true;
            for (unsigned i = 0; i < nharts; i++)
                ops->vcpu_kick(vcpus[i].cpu);
        }
        return MOSAIC_MEM_OK;
    }
    if (addr >= 0x2000000 && addr < 0x2010000) {
        uint64_t off = addr - 0x2000000;
        if (off >= 0x4000 && off < 0x4000 + 8 * nharts) {
            unsigned h = (off - 0x4000) / 8;
            if (size == 8)
                mtimecmp[h] = v;
            else if (off & 4)
                mtimecmp[h] = (mtimecmp[h] & 0xffffffffull) | (v << 32);
            else
                mtimecmp[h] = (mtimecmp[h] & ~0xffffffffull) | (uint32_t)v;
            update_timer_irqs();
        } else if (off < 4 * nharts) {
            ops->vcpu_set_irq(vcpus[off / 4].cpu, MOSAIC_RISCV_IRQ_MSIP, v & 1);
        }
        return MOSAIC_MEM_OK;
    }
    return MOSAIC_MEM_OK;
}

MosaicMemResult mosaic_as_read(MosaicAddressSpace *as, uint64_t addr, unsigned size, uint64_t *value)
{
    if (addr >= ram_base && addr - ram_base + size <= ram.size) {
        *value = 0;
        memcpy(value, ram.host + (addr - ram_base), size);
        return MOSAIC_MEM_OK;
    }
    if (addr >= ram_base)
        return MOSAIC_MEM_UNASSIGNED;
    pthread_mutex_lock(&dev_lock);
    MosaicMemResult r = mmio_read(addr, size, value);
    pthread_mutex_unlock(&dev_lock);
    return r;
}

MosaicMemResult mosaic_as_write(MosaicAddressSpace *as, uint64_t addr, unsigned size, uint64_t value)
{
    if (addr >= ram_base && addr - ram_base + size <= ram.size) {
        memcpy(ram.host + (addr - ram_base), &value, size);
        return MOSAIC_MEM_OK;
    }
    if (addr >= ram_base)
        return MOSAIC_MEM_UNASSIGNED;
    pthread_mutex_lock(&dev_lock);
    MosaicMemResult r = mmio_write(addr, size, value);
    pthread_mutex_unlock(&dev_lock);
    return r;
}

/* The harness has one RAM region and one MMIO hole: the cached section only says
 * which, so an access by address is the same access. */
MosaicMemResult mosaic_as_access_section(MosaicAddressSpace *as, uint64_t gen,
                                         const MosaicMemSection *s, uint64_t addr,
                                         unsigned size, uint64_t *value, bool is_write)
{
    return is_write ? mosaic_as_write(as, addr, size, *value) : mosaic_as_read(as, addr, size, value);
}

void mosaic_region_dirty_enable(MosaicRegion *mr, MosaicDirtyClient client, bool on)
{
    mr->dirty_on = on;
}
void mosaic_ram_set_dirty(MosaicRegion *mr, uint64_t offset, uint64_t len)
{
    for (uint64_t p = offset >> 12; p <= (offset + len - 1) >> 12 && p < sizeof(mr->dirty); p++)
        __atomic_store_n(&mr->dirty[p], 1, __ATOMIC_RELAXED);
}
bool mosaic_ram_test_and_clear_dirty(MosaicRegion *mr, MosaicDirtyClient client, uint64_t offset, uint64_t len)
{
    bool any = false;
    for (uint64_t p = offset >> 12; p <= (offset + len - 1) >> 12 && p < sizeof(mr->dirty); p++)
        any |= __atomic_exchange_n(&mr->dirty[p], 0, __ATOMIC_RELAXED);
    return any;
}

#ifdef HARNESS_FUZZ
static unsigned fuzz_polls;
bool mosaic_vcpu_exit_requested(const MosaicVcpu *vcpu) { return stop_all || ++fuzz_polls > 8; }
#else
bool mosaic_vcpu_exit_requested(const MosaicVcpu *vcpu) { return stop_all; }
#endif
bool mosaic_vcpu_halt(MosaicVcpu *v)
{
    pthread_mutex_lock(&v->lock);
    if (!v->wake && !stop_all) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 2000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&v->cond, &v->lock, &ts);
    }
    v->wake = false;
    pthread_mutex_unlock(&v->lock);
    return !stop_all;
}
void mosaic_vcpu_wake(MosaicVcpu *v)
{
    pthread_mutex_lock(&v->lock);
    v->wake = true;
    pthread_cond_signal(&v->cond);
    pthread_mutex_unlock(&v->lock);
}
void mosaic_vcpu_debug_stop(MosaicVcpu *vcpu) {}

static uint64_t load_elf(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    Elf64_Ehdr eh;
    if (fread(&eh, sizeof(eh), 1, f) != 1) { fprintf(stderr, "%s: short\n", path); exit(2); }
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        fseek(f, eh.e_phoff + i * sizeof(ph), SEEK_SET);
        if (fread(&ph, sizeof(ph), 1, f) != 1) exit(2);
        if (ph.p_type != PT_LOAD || !ph.p_memsz)
            continue;
        if (ph.p_paddr < ram_base || ph.p_paddr + ph.p_memsz > ram_base + ram.size) {
            fprintf(stderr, "%s: segment outside RAM\n", path);
            exit(2);
        }
        uint8_t *dst = ram.host + (ph.p_paddr - ram_base);
        memset(dst, 0, ph.p_memsz);
        fseek(f, ph.p_offset, SEEK_SET);
        if (ph.p_filesz && fread(dst, ph.p_filesz, 1, f) != 1) exit(2);
    }
    fclose(f);
    return eh.e_entry;
}

static void load_raw(const char *path, uint64_t addr)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    size_t n = fread(ram.host + (addr - ram_base), 1, ram.size - (addr - ram_base), f);
    (void)n;
    fclose(f);
}

static void *hart_thread(void *arg)
{
    struct MosaicVcpu *v = arg;
    while (!stop_all)
        ops->vcpu_run(v->cpu);
    return NULL;
}

static void *timer_thread(void *arg)
{
    while (!stop_all) {
        pthread_mutex_lock(&dev_lock);
        update_timer_irqs();
        pthread_mutex_unlock(&dev_lock);
        usleep(200);
    }
    return NULL;
}

static void print_stat(void *opaque, const char *name, uint64_t value)
{
    fprintf(stderr, "  %s: %llu\n", name, (unsigned long long)value);
}

#ifndef HARNESS_FUZZ
int main(int argc, char **argv)
{
    uint64_t mem_mb = 256, entry = 0, dtb = 0;
    bool stats = false, have_entry = false;
    double limit = 0;
    int opt;
    while ((opt = getopt(argc, argv, "n:m:sl:")) != -1) {
        if (opt == 'n') nharts = atoi(optarg);
        else if (opt == 'm') mem_mb = strtoull(optarg, NULL, 0);
        else if (opt == 's') stats = true;
        else if (opt == 'l') limit = atof(optarg);
        else { fprintf(stderr, "usage: harness [-n harts] [-m MiB] [-s] [-l secs] FILE[@addr][:dtb]...\n"); return 2; }
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ram.size = mem_mb << 20;
    ram.host = mmap(NULL, ram.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    for (int i = optind; i < argc; i++) {
        char *p = strdup(argv[i]), *at = strchr(p, '@');
        bool is_dtb = false;
        if (at) {
            *at++ = 0;
            char *c = strchr(at, ':');
            if (c && !strcmp(c, ":dtb")) { *c = 0; is_dtb = true; }
            uint64_t addr = strtoull(at, NULL, 0);
            load_raw(p, addr);
            if (is_dtb)
                dtb = addr;
            else if (!have_entry)
                entry = addr, have_entry = true;
        } else {
            uint64_t e = load_elf(p);
            if (!have_entry)
                entry = e, have_entry = true;
        }
    }
    for (unsigned i = 0; i < 64; i++)
        mtimecmp[i] = ~0ull;
    ops = mosaic_plugin.ops;
    MosaicError err = {0};
    accel = ops->create(NULL, NULL, &err);
    for (unsigned i = 0; i < nharts; i++) {
        vcpus[i].index = i;
        pthread_mutex_init(&vcpus[i].lock, NULL);
        pthread_cond_init(&vcpus[i].cond, NULL);
        vcpus[i].cpu = ops->vcpu_create(accel, &vcpus[i], i, &err);
        ops->vcpu_reset(vcpus[i].cpu);
        ops->vcpu_set_reg(vcpus[i].cpu, MOSAIC_RISCV_REG_PC, entry);
        ops->vcpu_set_reg(vcpus[i].cpu, 10, i);
        ops->vcpu_set_reg(vcpus[i].cpu, 11, dtb);
    }
    pthread_t th[64], tt;
    pthread_create(&tt, NULL, timer_thread, NULL);
    for (unsigned i = 0; i < nharts; i++)
        pthread_create(&th[i], NULL, hart_thread, &vcpus[i]);
    if (limit > 0) {
        while (!stop_all && mosaic_clock_ns(MOSAIC_CLOCK_HOST) < limit * 1e9)
            usleep(10000);
        if (!stop_all) {
            fprintf(stderr, "harness: time limit reached\n");
            exit_code = 124;
            stop_all = true;
            for (unsigned i = 0; i < nharts; i++)
                ops->vcpu_kick(vcpus[i].cpu);
        }
    }
    for (unsigned i = 0; i < nharts; i++)
        pthread_join(th[i], NULL);
    pthread_join(tt, NULL);
    double secs = mosaic_clock_ns(MOSAIC_CLOCK_HOST) / 1e9;
    if (getenv("HARNESS_DUMP")) { /* RAM image for post-mortem (e.g. the printk buffer) */
        FILE *f = fopen(getenv("HARNESS_DUMP"), "wb");
        if (f) {
            fwrite(ram.host, 1, ram.size, f);
            fclose(f);
        }
    }
    if (stats) {
        fprintf(stderr, "harness: %.3f s\n", secs);
        ops->query_stats(accel, print_stat, NULL);
        for (unsigned i = 0; i < nharts; i++) {
            uint64_t pc;
            ops->vcpu_get_reg(vcpus[i].cpu, MOSAIC_RISCV_REG_PC, &pc);
            fprintf(stderr, "  hart%u pc=%#llx\n", i, (unsigned long long)pc);
        }
    }
    return exit_code;
}
#endif
