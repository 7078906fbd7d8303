/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: CPUID passed through (what the host's KVM supports), with the topology
 * of `cpus = N`: one core per vCPU, APIC ID = vCPU index. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm-internal.h"

bool kvm_cpuid_init(Kvm *k, MosaicError *err)
{
    for (unsigned n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
        if (!c) {
            mosaic_error_set(err, "accel kvm: out of memory");
            return false;
        }
        c->nent = n;
        if (ioctl(k->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            k->cpuid = c;
            return true;
        }
        int e = errno;
        free(c);
        if (e != E2BIG) {
            mosaic_error_set(err, "accel kvm: KVM_GET_SUPPORTED_CPUID: %s", strerror(e));
            return false;
        }
    }
    mosaic_error_set(err, "accel kvm: KVM_GET_SUPPORTED_CPUID: too many entries");
    return false;
}

static unsigned bits_for(unsigned n)
{
    unsigned b = 0;
    while ((1u << b) < n)
        b++;
    return b;
}

bool kvm_cpuid_set(KvmCpu *c, MosaicError *err)
{
    Kvm *k = c->k;
    unsigned ncpus = mosaic_machine_ncpus(k->m);
    size_t bytes = sizeof(struct kvm_cpuid2) + k->cpuid->nent * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *cp = malloc(bytes);
    if (!cp) {
        mosaic_error_set(err, "accel kvm: out of memory");
        return false;
    }
    memcpy(cp, k->cpuid, bytes);
    for (unsigned i = 0; i < cp->nent; i++) {
        struct kvm_cpuid_entry2 *e = &cp->entries[i];
        switch (e->function) {
        case 1:
            e->ebx = (e->ebx & 0xffffu) | (ncpus & 0xff) << 16 | c->index << 24;
            if (ncpus > 1)
                e->edx |= 1u << 28; /* HTT: the count in ebx[23:16] is valid */
            e->ecx |= 1u << 31;     /* running under a hypervisor */
            break;
        case 0xb:
        case 0x1f:
            /* Level 0: one thread per core; level 1: ncpus cores per package. */
            if (e->index == 0) {
                e->eax = 0;
                e->ebx = 1;
                e->ecx = 1u << 8;
            } else if (e->index == 1) {
                e->eax = bits_for(ncpus);
                e->ebx = ncpus;
                e->ecx = 1 | 2u << 8;
            } else {
                e->eax = e->ebx = 0;
                e->ecx = e->index;
            }
            e->edx = c->index;
            break;
        case 0x80000008:
            e->ecx = (e->ecx & ~0xf0ffu) | (ncpus - 1) | bits_for(ncpus) << 12;
            break;
        case 0x8000001e:
            e->eax = c->index;
            e->ebx = (e->ebx & ~0xffu) | c->index; /* core id, one thread per core */
            e->ecx = 0;
            break;
        }
    }
    int rc = ioctl(c->fd, KVM_SET_CPUID2, cp);
    int e = errno;
    free(cp);
    if (rc < 0) {
        mosaic_error_set(err, "accel kvm: vCPU %u: KVM_SET_CPUID2: %s", c->index, strerror(e));
        return false;
    }
    return true;
}
