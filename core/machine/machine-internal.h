/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Private layout of MosaicMachine and MosaicVcpu, shared by the core's machine and
 * device code. */
#ifndef MOSAIC_CORE_MACHINE_INTERNAL_H
#define MOSAIC_CORE_MACHINE_INTERNAL_H

#include "machine/machine.h"

struct MosaicVcpu {
    MosaicMachine *m;
    unsigned index;
    void *state;            /* the accelerator's */
    GThread *thread;
    /* @lock protects @wake_pending and the halt wait; @exit_request is atomic. */
    GMutex lock;
    GCond cond;
    gboolean wake_pending;
    gint exit_request;
    gboolean parked;        /* under m->run_lock */
    gboolean debug_hold;    /* under m->run_lock: stopped for the debugger, don't re-enter
                             * vcpu_run before the pause; cleared when the machine runs */
    gint64 tid;             /* host thread id, set by the thread itself */
};

struct MosaicMachine {
    MosaicConfig *cfg;
    const MosaicPluginDesc *machine_desc;
    const MosaicPluginDesc *accel_desc;
    MosaicMachineOps *mops;  /* zero-filled copies (util/ops.h) */
    MosaicAccelOps *aops;
    void *board;
    void *accel;
    MosaicRegion *sysmem;
    MosaicAddressSpace *as;
    MosaicRegion *iomem;     /* port I/O (x86), empty on other boards */
    MosaicAddressSpace *io_as;
    uint64_t ram_size;
    unsigned ncpus;
    MosaicVcpu **vcpus;      /* ncpus entries once created */
    GPtrArray *devices;      /* MosaicDevice *, in file order */
    MosaicPciHost *pci_host; /* the board's, when it has one (core/pci/) */

    /* @run_lock + @run_cond: run state and vCPU parking. */
    GMutex run_lock;
    GCond run_cond;
    MachineRunState state;
    gboolean quitting;
    int exit_code;

    /* Requests from any thread, handled by @request_bh on the main loop. */
    MosaicBH *request_bh;
    gint req_shutdown;   /* 1 + MosaicShutdownCause, 0: none */
    gint req_exit_code;
    gint req_debug_stop;
    /* Under run_lock: a guest asked for a reset, poweroff or stop (req_shutdown) and the
     * main loop has not handled it yet.  No vCPU enters vcpu_run meanwhile: the one that
     * asked may be in a state only the reset makes good (KVM after a triple fault). */
    gboolean req_hold;

    GArray *observers;

    /* memsync.c: run-time map changes */
    gboolean started;        /* machine_start ran: map changes reach the accelerator */
    unsigned hold;           /* under run_lock: > 0 keeps vCPUs parked (memsync) */
    MosaicBH *memsync_bh;
};

void vcpu_threads_start(MosaicMachine *m);
void vcpu_threads_park(MosaicMachine *m);    /* waits until every vCPU left vcpu_run */
void vcpu_threads_unpark(MosaicMachine *m);
void vcpu_threads_join(MosaicMachine *m);
void vcpu_free(MosaicVcpu *v);
/* The vCPU whose thread this is, or NULL on any other thread. */
MosaicVcpu *vcpu_current(void);

void machine_memsync_init(MosaicMachine *m);
void machine_memsync_fini(MosaicMachine *m);

/* The monitor commands of each part (machine_register_commands calls them). */
void machine_register_accel_commands(void);
void machine_register_dirty_commands(void);  /* dirty-cmds.c */
void machine_register_run_commands(void);
void machine_register_config_commands(void);
void device_register_commands(void);

gboolean devices_create(MosaicMachine *m, GError **err);
void devices_reset(MosaicMachine *m);
void devices_destroy(MosaicMachine *m);

#endif
