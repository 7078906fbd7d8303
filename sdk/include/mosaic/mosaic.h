/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Everything a plugin may use. */
#ifndef MOSAIC_MOSAIC_H
#define MOSAIC_MOSAIC_H
#include <mosaic/plugin.h>
#include <mosaic/props.h>
#include <mosaic/memory.h>
#include <mosaic/loop.h>
#include <mosaic/device.h>
#include <mosaic/accel.h>
#include <mosaic/machine.h>
#include <mosaic/monitor.h>
#include <mosaic/block.h>
#include <mosaic/virtio.h>
#include <mosaic/pci.h>
#include <mosaic/debug.h>
#include <mosaic/export.h>
#include <mosaic/audio.h>
#include <mosaic/net.h>
#include <mosaic/gpu.h>
#endif
