/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A polled virtio device on either transport, for the bare-metal test drivers:
 * virtio-mmio (riscv-virt's slots) or modern virtio-pci (ECAM at 0x30000000, the BAR
 * placed by the driver in the 32-bit window at 0x40000000). */
#ifndef VIRTIO_XPORT_H
#define VIRTIO_XPORT_H
#include <stdint.h>

/* Finds device `id`: first on virtio-mmio, then on PCI bus 0.  0 when neither has it. */
int vx_find(uint32_t id);
int vx_is_pci(void);
uint32_t vx_device_features(unsigned select);
void vx_driver_features(unsigned select, uint32_t bits);
void vx_set_status(uint32_t status);
uint32_t vx_status(void);
/* Writes status 0 and waits until the device reads 0 again: 1, or 0 if it never did. */
int vx_reset(void);
uint32_t vx_config32(unsigned off);
/* Queue q at the given rings with `size` entries; the device's maximum, 0 when absent. */
uint32_t vx_queue_max(unsigned q);
void vx_queue_setup(unsigned q, unsigned size, uint64_t desc, uint64_t avail, uint64_t used);
void vx_notify(unsigned q);
/* Shared memory region `id` (virtio 1.2 §2.10): its guest-physical base and length; 0
 * when the device has none.  On PCI the driver places the BAR it lives in at
 * VX_SHM_ADDR (riscv-virt's 64-bit window). */
#define VX_SHM_ADDR 0x400000000ul
int vx_shm(unsigned id, uint64_t *base, uint64_t *len);
#endif
