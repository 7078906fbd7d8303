/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-kvm: the in-kernel PIC, IOAPIC and PIT as KVM created them, put back at every
 * machine reset.  A rebooting guest leaves them programmed: the 8259s masked, IOAPIC
 * pins routed (some with an interrupt in flight) and the PIT in the mode the old kernel
 * left it in.  Linux checks at boot that the timer interrupt reaches it through them,
 * so a second boot on the old state waits in a delay loop forever. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm-internal.h"

void kvm_chips_snapshot(Kvm *k)
{
    k->chips_saved = true;
    for (unsigned id = 0; id < 3; id++) { /* PIC master, PIC slave, IOAPIC */
        k->reset_chip[id].chip_id = id;
        if (ioctl(k->vm_fd, KVM_GET_IRQCHIP, &k->reset_chip[id]) < 0)
            k->chips_saved = false;
    }
    if (ioctl(k->vm_fd, KVM_GET_PIT2, &k->reset_pit) < 0)
        k->chips_saved = false;
    if (!k->chips_saved)
        mosaic_log(KVM_LOG, 1, "cannot read the interrupt controllers' initial state (%s): a "
                   "reset keeps what the guest left in them", strerror(errno));
}

void kvm_chips_reset(Kvm *k)
{
    if (!k->chips_saved)
        return;
    for (unsigned id = 0; id < 3; id++)
        if (ioctl(k->vm_fd, KVM_SET_IRQCHIP, &k->reset_chip[id]) < 0)
            mosaic_log(KVM_LOG, 1, "reset: KVM_SET_IRQCHIP %u: %s", id, strerror(errno));
    if (ioctl(k->vm_fd, KVM_SET_PIT2, &k->reset_pit) < 0)
        mosaic_log(KVM_LOG, 1, "reset: KVM_SET_PIT2: %s", strerror(errno));
}
