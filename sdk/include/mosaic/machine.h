/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Boards: memory layout, built-in devices, buses, boot. */
#ifndef MOSAIC_MACHINE_H
#define MOSAIC_MACHINE_H

#include <mosaic/accel.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MosaicMachineOps {
    uint32_t size;            /* sizeof(MosaicMachineOps) */
    const char *arch;         /* "riscv64"; the accelerator must list it */
    /* Builds RAM and built-in devices in mosaic_machine_memory(m), creates vCPUs with
     * mosaic_machine_create_vcpus(), loads boot images.  The [machine] section's props. */
    void *(*init)(MosaicMachine *m, const MosaicProps *props, MosaicError *err);
    void (*fini)(void *board);
    /* System reset: board devices and boot state (vCPUs are reset by the core first). */
    void (*reset)(void *board);
    /* A free slot of bus kind `bus` for a device from the machine file; false and err
     * when the board has none left or no such bus. */
    bool (*get_slot)(void *board, const char *bus, MosaicBusSlot *slot, MosaicError *err);
    /* Called after every device of the machine file was realized (e.g. to build the
     * device tree that describes them). */
    bool (*devices_done)(void *board, MosaicError *err);
    /* Optional: guest-visible power button. */
    void (*powerdown)(void *board);
    /* Since 1.1, optional: the accel plugin used when [machine] names none. */
    const char *default_accel;
} MosaicMachineOps;

/* The machine of this process, for code not handed one (monitor commands of plugins);
 * NULL before it exists.  Since 1.1. */
MOSAIC_API MosaicMachine *mosaic_machine_current(void);
MOSAIC_API MosaicRegion *mosaic_machine_memory(MosaicMachine *m);          /* root container */
MOSAIC_API MosaicAddressSpace *mosaic_machine_address_space(MosaicMachine *m);
/* The port I/O space of architectures that have one (x86: 64 KiB of ports), empty
 * until a board adds regions to its root container; accelerators dispatch port
 * accesses through it.  Since 1.1. */
MOSAIC_API MosaicRegion *mosaic_machine_io_memory(MosaicMachine *m);
MOSAIC_API MosaicAddressSpace *mosaic_machine_io_space(MosaicMachine *m);
MOSAIC_API uint64_t mosaic_machine_ram_size(MosaicMachine *m);             /* [machine] memory */
MOSAIC_API unsigned mosaic_machine_ncpus(MosaicMachine *m);                /* [machine] cpus */
MOSAIC_API bool mosaic_machine_create_vcpus(MosaicMachine *m, MosaicError *err);
MOSAIC_API MosaicVcpu *mosaic_machine_vcpu(MosaicMachine *m, unsigned index);
/* Interrupt line `line` of a vCPU (see accel.h for numbering). */
MOSAIC_API MosaicIrq mosaic_vcpu_irq(MosaicVcpu *vcpu, unsigned line);
MOSAIC_API bool mosaic_vcpu_set_reg(MosaicVcpu *vcpu, unsigned regno, uint64_t value);
MOSAIC_API bool mosaic_vcpu_get_reg(MosaicVcpu *vcpu, unsigned regno, uint64_t *value);

/* Devices realized from the machine file, in file order, for device-tree building. */
MOSAIC_API unsigned mosaic_machine_device_count(MosaicMachine *m);
MOSAIC_API MosaicDevice *mosaic_machine_device(MosaicMachine *m, unsigned index);
MOSAIC_API const MosaicBusSlot *mosaic_device_slot(const MosaicDevice *dev);
/* A device the board places itself (its UART), of a device plugin's `type`: `kv` are
 * NULL-terminated key, value pairs of the type's keys, checked like a [device] section
 * (values as a machine file writes them; the section stands alone: no references);
 * `slot` is where it sits (base, length, irq, container; bus NULL: "system").  Call it
 * from the board's init: the plugin is loaded (the deployment policy may deny it) and
 * realized now, reset and unrealized with the machine's devices, before the board's
 * fini.  It is not a peripheral: qom-list and device_del do not see it.  Since 1.1. */
MOSAIC_API MosaicDevice *mosaic_machine_add_device(MosaicMachine *m, const char *type,
                                                  const char *label, const char *const *kv,
                                                  const MosaicBusSlot *slot, MosaicError *err);
MOSAIC_API const char *mosaic_device_type(const MosaicDevice *dev);

/* Sections of the resolved machine file, e.g. every [throttle-group] for the plugin
 * that owns that kind. */
MOSAIC_API unsigned mosaic_config_count(MosaicMachine *m, const char *kind);
MOSAIC_API const MosaicProps *mosaic_config_section(MosaicMachine *m, const char *kind, unsigned index);
MOSAIC_API const MosaicProps *mosaic_config_find(MosaicMachine *m, const char *kind, const char *label);

typedef enum MosaicShutdownCause {
    MOSAIC_SHUTDOWN_GUEST_POWEROFF = 0,
    MOSAIC_SHUTDOWN_GUEST_RESET = 1,
    MOSAIC_SHUTDOWN_GUEST_PANIC = 2, /* exit_code is the guest's failure code */
} MosaicShutdownCause;
/* Any thread.  The emulator exits with exit_code (poweroff/panic) or resets.  Every
 * vCPU is asked to leave vcpu_run at once, and none enters it again until the main loop
 * has handled the request (after a reset, from the reset state): an accelerator's vCPU
 * that asked just returns from vcpu_run. */
MOSAIC_API void mosaic_machine_request_shutdown(MosaicMachine *m, MosaicShutdownCause cause,
                                                int exit_code);

/* Loading boot images into guest memory.  Returns false with err naming the file. */
MOSAIC_API bool mosaic_load_raw(MosaicMachine *m, const char *path, uint64_t addr, uint64_t max,
                                uint64_t *loaded, MosaicError *err);
MOSAIC_API bool mosaic_load_elf(MosaicMachine *m, const char *path, uint64_t *entry,
                                uint64_t *lowest, uint64_t *highest, MosaicError *err);

#ifdef __cplusplus
}
#endif
#endif
