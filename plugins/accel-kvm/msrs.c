/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: the MSRs a vCPU was created with, written back at every reset.
 *
 * A guest that reboots leaves its MSRs behind, and some of them point KVM into guest
 * memory: kvmclock and steal time (KVM keeps writing there), async page faults and
 * PV EOI (KVM reads and writes a flag there on every interrupt).  The new kernel's
 * memory is at those addresses now, so a reset without this corrupts it and the
 * second boot hangs.  Every MSR KVM lists (KVM_GET_MSR_INDEX_LIST) goes back to its
 * value at creation, except the time stamp counter, which keeps running as on
 * hardware (a TSC written back would no longer agree across vCPUs). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm-internal.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_ADJUST 0x3b

static struct kvm_msr_list *index_list(Kvm *k)
{
    struct kvm_msr_list probe = {.nmsrs = 0};
    if (ioctl(k->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
        return NULL;
    if (!probe.nmsrs || probe.nmsrs > 65536)
        return NULL;
    struct kvm_msr_list *l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
    if (!l)
        return NULL;
    l->nmsrs = probe.nmsrs;
    if (ioctl(k->kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
        free(l);
        return NULL;
    }
    return l;
}

void kvm_msrs_snapshot(KvmCpu *c)
{
    struct kvm_msr_list *l = index_list(c->k);
    if (!l) {
        mosaic_log(KVM_LOG, 1, "vCPU %u: no MSR list from KVM: a reset keeps the guest's MSRs",
                   c->index);
        return;
    }
    struct kvm_msrs *m = calloc(1, sizeof(*m) + l->nmsrs * sizeof(m->entries[0]));
    for (unsigned i = 0; m && i < l->nmsrs; i++) {
        if (l->indices[i] == MSR_IA32_TSC || l->indices[i] == MSR_IA32_TSC_ADJUST)
            continue;
        struct {
            struct kvm_msrs hdr;
            struct kvm_msr_entry e;
        } one = {.hdr.nmsrs = 1, .e.index = l->indices[i]};
        if (ioctl(c->fd, KVM_GET_MSRS, &one) == 1) /* not every listed MSR exists here */
            m->entries[m->nmsrs++] = one.e;
    }
    free(l);
    c->reset_msrs = m;
}

void kvm_msrs_reset(KvmCpu *c)
{
    struct kvm_msrs *m = c->reset_msrs;
    if (!m || !m->nmsrs)
        return;
    /* KVM_SET_MSRS stops at the first MSR it refuses: skip that one and go on. */
    struct kvm_msrs *rest = malloc(sizeof(*rest) + m->nmsrs * sizeof(rest->entries[0]));
    if (!rest)
        return;
    for (unsigned i = 0; i < m->nmsrs;) {
        rest->nmsrs = m->nmsrs - i;
        rest->pad = 0;
        memcpy(rest->entries, m->entries + i, rest->nmsrs * sizeof(rest->entries[0]));
        int n = ioctl(c->fd, KVM_SET_MSRS, rest);
        if (n < 0) {
            mosaic_log(KVM_LOG, 1, "vCPU %u: reset: KVM_SET_MSRS: %s", c->index, strerror(errno));
            break;
        }
        i += (unsigned)n;
        if (i < m->nmsrs) {
            mosaic_log(KVM_LOG, 2, "vCPU %u: reset: KVM refuses MSR 0x%x", c->index,
                       m->entries[i].index);
            i++;
        }
    }
    free(rest);
}
