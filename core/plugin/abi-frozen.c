/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Compile-time proof that the ABI 1.0 layout of what plugins hand the core never moves:
 * the descriptor's fields (plugin.h freezes its header for every target) and the end of
 * each kind's 1.0 ops table, which the loader takes as the smallest table it accepts.
 * Appending fields is allowed (a minor bump); moving one fails the build here.
 * Offsets are those of LP64 targets, the only ones built today. */
#include <mosaic/mosaic.h>
#include <mosaic/socket.h>

#define END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))
#define FROZEN(e) _Static_assert(e, "ABI 1.0 layout moved: " #e)

#if UINTPTR_MAX == UINT64_MAX
FROZEN(offsetof(MosaicPluginDesc, name) == 24);
FROZEN(offsetof(MosaicPluginDesc, version) == 32);
FROZEN(offsetof(MosaicPluginDesc, license) == 40);
FROZEN(offsetof(MosaicPluginDesc, description) == 48);
FROZEN(offsetof(MosaicPluginDesc, props) == 56);
FROZEN(offsetof(MosaicPluginDesc, sections) == 64);
FROZEN(offsetof(MosaicPluginDesc, init) == 72);
FROZEN(offsetof(MosaicPluginDesc, fini) == 80);
FROZEN(offsetof(MosaicPluginDesc, ops) == 88);
FROZEN(END(MosaicAccelOps, breakpoint) == 128);
FROZEN(END(MosaicMachineOps, powerdown) == 64);
FROZEN(END(MosaicDeviceOps, set_prop) == 56);
FROZEN(END(MosaicBlkDriverOps, submit) == 40);
FROZEN(END(MosaicAudioBackendOps, stream_set_volume) == 72); /* kind audio, since 1.1 */
/* The elements of the tables the core steps through (props, sections, arguments). */
FROZEN(END(MosaicPropDesc, max) == 64);
FROZEN(END(MosaicSectionDesc, props) == 24);
FROZEN(END(MosaicArgDesc, help) == 24);
/* What the core writes into (mosaic_as_lookup): struct_size went into 1.0's padding. */
FROZEN(offsetof(MosaicMemSection, region) == 32);
FROZEN(END(MosaicMemSection, region_offset) == 48 && sizeof(MosaicMemSection) == 48);
FROZEN(offsetof(MosaicMemSection, struct_size) >= END(MosaicMemSection, dirty_tracking));
FROZEN(offsetof(MosaicMemSection, dirty_clients) == 26); /* 1.1, in 1.0's padding too */
FROZEN(offsetof(MosaicSocketFile, dev) == 8 && END(MosaicSocketFile, ino) == 24); /* 1.1 */
/* What plugins hand the core by pointer with their size in front. */
FROZEN(END(MosaicBlkReq, status_bytes) == 56);
/* Value types embedded in sized structs (MosaicBusSlot.irq, MosaicPciHostDesc.intx[4])
 * or in arrays: they cannot grow without moving what follows them, so they never grow;
 * a new need gets a new sized struct.  MosaicVirtqElem is allocated by the core only
 * (mosaic_virtq_pop), so it grows at its end without a size. */
FROZEN(sizeof(MosaicIrq) == 24);
FROZEN(sizeof(MosaicGpuBox) == 24);
#endif
