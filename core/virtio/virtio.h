/* virtio (internal): split virtqueues, the virtio-mmio transport and the devices the
 * core builds in (virtio-blk).  The SDK part is sdk/include/mosaic/virtio.h. */
#ifndef MOSAIC_CORE_VIRTIO_H
#define MOSAIC_CORE_VIRTIO_H

/* Registers the builtin virtio device types (virtio-blk).  Called by
 * blk_register_builtins(); calling it again does nothing. */
void virtio_register_builtins(void);

#endif
