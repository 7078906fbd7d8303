/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Mosaic plugin ABI: the descriptor every plugin exports.
 *
 * A plugin is one shared object named mosaic-<kind>-<name>.so that exports exactly
 * one symbol, `mosaic_plugin`, a const MosaicPluginDesc.  The loader reads the
 * descriptor without running plugin code (scanning, --list-plugins, INI key checks)
 * and calls init() only for plugins a machine needs.
 *
 * Version rule: the core accepts a plugin when abi_major equals MOSAIC_ABI_MAJOR and
 * abi_minor <= MOSAIC_ABI_MINOR.  Adding a field at the end of a struct that carries
 * its own size, or adding a function, bumps the minor.  Changing an existing
 * signature or moving a field bumps the major.  The core copies min(sizes) of every
 * sized struct and zero-fills the rest, so a NULL op always means "not supported".
 *
 * Services are functions exported by libmosaic-core (all named mosaic_*, declared in
 * these headers and nowhere else); the core's library exports nothing else.
 *
 * Changelog
 *   1.0  first ABI (until the first release, additions stay in 1.0: the element
 *        sizes .prop_size/.section_size of the descriptor's tables were added so).
 *   1.1  MosaicPluginDesc.commands (monitor commands declared in the descriptor, listed
 *        without running plugin code, the plugin loaded on the first call); kinds
 *        debug and export; mosaic_error_new/message/free/prefix; mosaic_fd_watch_backoff/
 *        recovered (listeners out of file descriptors); mosaic/socket.h (with
 *        mosaic_socket_listen);
 *        mosaic_blk_bitmap_next_dirty; the job service (mosaic/job.h: mosaic_job_*,
 *        MosaicJobOps); graph services for jobs (mosaic/block.h: mosaic_blk_node_find/
 *        _at/_new/_delete/_submit/_in_use/_child, mosaic_blk_drain_begin/_end,
 *        mosaic_blk_insert_filter/_remove_filter, mosaic_blk_driver_with_cap/_for_uri,
 *        mosaic_blk_format_exists, mosaic_blk_defer_flush_release); named bitmaps for
 *        jobs (mosaic/bitmap.h: mosaic_blk_bitmap_add/lookup/remove/clear/enable/merge/
 *        copy/check_usable/frozen/freeze/abdicate/reclaim/claims/at/persistent/owner); MosaicMemSection
 *        .struct_size (in 1.0's padding: no field moved); mosaic_machine_current;
 *        mosaic/audio.h (audio backends: the ops table MosaicAudioBackendOps, mandatory
 *        for kind audio; streams for devices; [audiodev LABEL] sections);
 *        mosaic_as_next_section; the port I/O space (mosaic_machine_io_memory/
 *        io_space); mosaic/x86.h; MosaicAccelOps.notify_fd, .irq_fast (irqfd) and
 *        .dirty_sync with mosaic_machine_dirty_sync (hypervisor dirty logs), .msi with
 *        mosaic_machine_msi (MSIs into in-kernel interrupt controllers), .vcpu_virt_to_phys
 *        with mosaic_vcpu_virt_to_phys (debuggers reading guest virtual memory);
 *        mosaic/net.h (net backends: MosaicNetBackendOps, mandatory for kind net;
 *        mosaic_net_* for devices and backends);
 *        mosaic/pci.h (PCI hosts and functions; MosaicPciHostDesc.io_container;
 *        mosaic_pci_unregister_bar,
 *        mosaic_pci_bridge_reserve_buses), MosaicBusSlot.pci, device ops .bus as
 *        a list, mosaic_virtio_new (a virtio device on whichever transport its slot is:
 *        virtio-mmio or PCI);
 *        mosaic/gpu.h (gpu backends: MosaicGpuBackendOps, mandatory for kind gpu;
 *        mosaic_gpu_backend_find);
 *        MosaicSocketFile.size (MOSAIC_SOCKET_FILE_INIT; the core writes no byte past
 *        it), MosaicGpuResource3d.size and MosaicGpuTransfer.size (set by the device,
 *        checked by the backend); MosaicBlkReq.size is checked (below the 1.0 layout:
 *        -EINVAL); mosaic_machine_add_device (devices a board places itself);
 *        mosaic_region_new_ram_ptr (RAM over an owner's memory, added and removed while
 *        the machine runs; the core calls MosaicAccelOps.memory_changed on every
 *        run-time map change); MosaicVirtioDeviceOps.shm_id/.shm_size/.shm_base with
 *        mosaic_virtio_shm (a virtio shared memory region); MosaicGpuBackendOps
 *        .resource_map/.resource_unmap (host-visible blobs, MAP_BLOB);
 *        MosaicGpuBackendOps.create_context_fence with MosaicGpuCallbacks
 *        .context_fence_done and MOSAIC_GPU_MAX_RINGS (fences on a context's ring);
 *        mosaic_virtio_reset_defer/_done (a reset that finishes on the main loop);
 *        MosaicAccelOps.vcpu_get_reg_bytes/.vcpu_set_reg_bytes with
 *        mosaic_vcpu_get_reg_bytes/_set_reg_bytes (registers wider than 8 bytes for
 *        debuggers: x87 st0-7, SSE xmm0-15);
 *        MosaicMemSection.dirty_clients (which dirty clients track a RAM section, in
 *        1.0's padding: an accelerator that is the only client can skip logging).
 */
#ifndef MOSAIC_PLUGIN_H
#define MOSAIC_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MOSAIC_PLUGIN_MAGIC 0x4d4f5341u /* "MOSA" */
#define MOSAIC_ABI_MAJOR 1
#define MOSAIC_ABI_MINOR 1

#if defined(_WIN32)
#define MOSAIC_EXPORT __declspec(dllexport)
#else
#define MOSAIC_EXPORT __attribute__((visibility("default")))
#endif

/* Functions of the core that plugins may call. */
#ifndef MOSAIC_API
#define MOSAIC_API MOSAIC_EXPORT
#endif

typedef enum MosaicPluginKind {
    MOSAIC_KIND_ACCEL = 1,
    MOSAIC_KIND_MACHINE = 2,
    MOSAIC_KIND_DEVICE = 3,
    MOSAIC_KIND_BLOCK = 4,        /* protocol or format driver */
    MOSAIC_KIND_BLOCK_FILTER = 5, /* filter node: fails closed, see block.h */
    MOSAIC_KIND_AUDIO = 6,
    MOSAIC_KIND_NET = 7,
    MOSAIC_KIND_GPU = 8,
    MOSAIC_KIND_MISC = 9,         /* monitor commands and other services only */
    MOSAIC_KIND_DEBUG = 10,       /* a debugger front end (debug.h); since 1.1 */
    MOSAIC_KIND_EXPORT = 11,      /* serves block nodes outside the machine; since 1.1 */
} MosaicPluginKind;

/* Each kind's ops table has its own version, checked like the ABI version: a plugin
 * sets .kind_abi to its kind's constant.  Every kind has one, ops table or not yet. */
#define MOSAIC_ACCEL_ABI 1
#define MOSAIC_MACHINE_ABI 1
#define MOSAIC_DEVICE_ABI 1
#define MOSAIC_BLOCK_ABI 1 /* block and block-filter */
#define MOSAIC_AUDIO_ABI 1
#define MOSAIC_NET_ABI 1
#define MOSAIC_GPU_ABI 1
#define MOSAIC_MISC_ABI 1
#define MOSAIC_DEBUG_ABI 1
#define MOSAIC_EXPORT_ABI 1

typedef struct MosaicError MosaicError;
typedef struct MosaicCommandDesc MosaicCommandDesc; /* monitor.h */

/* Typed properties.  A plugin declares the INI keys of its section here, so the core
 * validates a machine file (types, ranges, references) before any plugin code runs,
 * and `mosaic --describe NAME` can list them. */
typedef enum MosaicPropType {
    MOSAIC_PROP_BOOL = 1,
    MOSAIC_PROP_INT,    /* signed 64-bit, decimal or 0x */
    MOSAIC_PROP_UINT,   /* unsigned 64-bit */
    MOSAIC_PROP_SIZE,   /* bytes, suffixes K M G T (binary) */
    MOSAIC_PROP_RATE,   /* per second: 10M/s, 500/s; value in units per second */
    MOSAIC_PROP_STRING,
    MOSAIC_PROP_ENUM,   /* one of `choices`, separated by '|' */
    MOSAIC_PROP_REF,    /* label of a section of kind `choices` (e.g. "blockdev") */
    MOSAIC_PROP_PATH,   /* file name, resolved relative to the INI file that set it */
} MosaicPropType;

enum {
    MOSAIC_PROP_REQUIRED = 1u << 0,
    MOSAIC_PROP_RUNTIME = 1u << 1, /* may be changed while running (qom-set) */
};

typedef struct MosaicPropDesc {
    const char *key;
    MosaicPropType type;
    const char *defval; /* NULL: no default */
    const char *help;
    const char *choices; /* ENUM: "a|b|c"; REF: kind of the section referenced */
    uint32_t flags;
    int64_t min, max;    /* INT/UINT/SIZE/RATE: range when min < max */
} MosaicPropDesc;

/* A section kind owned by a plugin, e.g. block-throttle owns [throttle-group LABEL]. */
typedef struct MosaicSectionDesc {
    const char *kind;
    const char *help;
    const MosaicPropDesc *props;
} MosaicSectionDesc;

typedef struct MosaicPluginDesc {
    /* These four fields never move. */
    uint32_t magic;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t size; /* sizeof(MosaicPluginDesc) the plugin was built with */

    uint32_t kind;     /* MosaicPluginKind */
    uint32_t kind_abi; /* MOSAIC_<KIND>_ABI the plugin was built with */
    const char *name;  /* type name used in INI: "tcg", "riscv-virt", "qcow2" */
    const char *version;
    const char *license;
    const char *description;
    const MosaicPropDesc *props; /* terminated by an entry with key == NULL */
    const MosaicSectionDesc *sections; /* extra section kinds; NULL or {NULL}-terminated */

    /* Called once, on the main thread, before the first use.  Returns false and sets
     * err on failure; the plugin is then refused and never called again. */
    bool (*init)(MosaicError *err);
    void (*fini)(void);

    /* Per-kind ops table; its first field is its own uint32_t size. */
    const void *ops;

    /* Element sizes of `props` (and of every section's props) and of `sections`, set
     * by MOSAIC_PLUGIN: the core steps through the tables by these and copies
     * min(sizes) of each element, so MosaicPropDesc and MosaicSectionDesc can grow in a
     * minor release.  0 (a descriptor from before these fields): the 1.0 sizes. */
    uint32_t prop_size;
    uint32_t section_size;
    /* Since 1.1 (a 1.0 plugin reads as NULL here). */
    /* Monitor commands of the plugin, terminated by an entry with name == NULL.  The
     * core lists them (query-commands, --list-commands) from the descriptor alone;
     * the first call checks the deployment policy, runs init(), then the handler
     * (with a NULL opaque).  Do not also register them with mosaic_monitor_register. */
    const MosaicCommandDesc *commands;
} MosaicPluginDesc;

/* The four header fields never move, whatever the ABI version: a core of any version
 * reads them to decide whether it can read the rest. */
#ifdef __cplusplus
#define MOSAIC_STATIC_ASSERT(e, msg) static_assert(e, msg)
#else
#define MOSAIC_STATIC_ASSERT(e, msg) _Static_assert(e, msg)
#endif
MOSAIC_STATIC_ASSERT(offsetof(MosaicPluginDesc, magic) == 0, "frozen: magic at 0");
MOSAIC_STATIC_ASSERT(offsetof(MosaicPluginDesc, abi_major) == 4, "frozen: abi_major at 4");
MOSAIC_STATIC_ASSERT(offsetof(MosaicPluginDesc, abi_minor) == 6, "frozen: abi_minor at 6");
MOSAIC_STATIC_ASSERT(offsetof(MosaicPluginDesc, size) == 8, "frozen: size at 8");
MOSAIC_STATIC_ASSERT(offsetof(MosaicPluginDesc, kind) == 12, "frozen: kind at 12");
MOSAIC_STATIC_ASSERT(offsetof(MosaicPluginDesc, kind_abi) == 16, "frozen: kind_abi at 16");

/* Defines the exported descriptor.  Use once per plugin:
 *   MOSAIC_PLUGIN(.kind = MOSAIC_KIND_DEVICE, .kind_abi = MOSAIC_DEVICE_ABI,
 *                 .name = "hello", ...);
 */
#define MOSAIC_PLUGIN(...)                                                     \
    MOSAIC_EXPORT const MosaicPluginDesc mosaic_plugin = {                     \
        .magic = MOSAIC_PLUGIN_MAGIC,                                          \
        .abi_major = MOSAIC_ABI_MAJOR,                                         \
        .abi_minor = MOSAIC_ABI_MINOR,                                         \
        .size = sizeof(MosaicPluginDesc),                                      \
        .prop_size = sizeof(MosaicPropDesc),                                   \
        .section_size = sizeof(MosaicSectionDesc),                             \
        __VA_ARGS__}

/* Errors: a failure the user can cause is reported through a MosaicError with a
 * message that says what, where and what to do.  A NULL err is allowed. */
MOSAIC_API void mosaic_error_set(MosaicError *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
MOSAIC_API bool mosaic_error_is_set(const MosaicError *err);
/* An error object of the plugin's own, for calling services from code that does not
 * run under a core callback's err (timers, workers); message NULL when not set. */
MOSAIC_API MosaicError *mosaic_error_new(void);
MOSAIC_API const char *mosaic_error_message(const MosaicError *err);
MOSAIC_API void mosaic_error_free(MosaicError *err);
/* Puts "PREFIX" before the message of an error already set (no-op otherwise), e.g.
 * the file:line of the section that failed.  Since 1.1. */
MOSAIC_API void mosaic_error_prefix(MosaicError *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Logging through the core's domains (--log DOMAIN,...). level: 0 error, 1 warning,
 * 2 info, 3 debug. */
MOSAIC_API void mosaic_log(const char *domain, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
