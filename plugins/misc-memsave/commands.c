/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mosaic-misc-memsave.so: pmemsave and memsave, guest memory to a file, declared in the
 * descriptor (loaded by the first call).  They read through the machine's address
 * space (mosaic_as_rw), as the bus sees it: RAM, ROM and device registers alike. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <glib.h>
#include <mosaic/machine.h>
#include <mosaic/memory.h>
#include <mosaic/monitor.h>

static MosaicMachine *need_machine(MosaicError *err)
{
    MosaicMachine *m = mosaic_machine_current();
    if (!m)
        mosaic_error_set_class(err, MOSAIC_ERRCLASS_BAD_STATE, "no machine is running");
    return m;
}

/* [addr, addr+size) through the address space into fd. */
static bool dump_to(MosaicAddressSpace *as, uint64_t addr, int64_t size, int fd,
                    const char *file, MosaicError *err)
{
    g_autofree guint8 *buf = g_malloc(65536);
    for (int64_t done = 0; done < size;) {
        uint64_t n = MIN((uint64_t)(size - done), 65536u);
        MosaicMemResult r = mosaic_as_rw(as, addr + done, buf, n, false);
        if (r != MOSAIC_MEM_OK) {
            mosaic_error_set(err, "Invalid addr 0x%016" G_GINT64_MODIFIER "x/size %"
                             G_GINT64_FORMAT " specified (%s near 0x%" G_GINT64_MODIFIER "x)",
                             addr, size,
                             r == MOSAIC_MEM_UNASSIGNED ? "nothing mapped" : "access refused",
                             addr + done);
            return false;
        }
        for (uint64_t w = 0; w < n;) {
            ssize_t k = write(fd, buf + w, n - w);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                mosaic_error_set(err, "writing '%s': %s", file,
                                 k < 0 ? g_strerror(errno) : "short write");
                return false;
            }
            w += k;
        }
        done += n;
    }
    return true;
}

/* Guest memory to a file, 64 KiB at a time through the address space (RAM, ROM and
 * device registers alike, as the bus sees them).  Runs on the main loop: a huge dump
 * holds the loop for its duration, as it does in QEMU. */
static bool cmd_pmemsave(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    MosaicMachine *m = need_machine(err);
    if (!m)
        return false;
    MosaicAddressSpace *as = mosaic_machine_address_space(m);
    if (!as) {
        mosaic_error_set(err, "the machine has no address space");
        return false;
    }
    uint64_t addr = (uint64_t)mosaic_args_get_int(a, "val");
    int64_t size = mosaic_args_get_int(a, "size");
    const char *file = mosaic_args_get_str(a, "filename");
    if (size < 0 || addr + (uint64_t)size < addr) {
        mosaic_error_set(err, "Invalid addr 0x%016" G_GINT64_MODIFIER "x/size %" G_GINT64_FORMAT
                         " specified", addr, size);
        return false;
    }
    if (!*file) {
        mosaic_error_set(err, "Parameter 'filename' is empty: name the file to write");
        return false;
    }
    /* Into a new temporary beside the target (O_EXCL: never through a planted link),
     * renamed over it only when complete: a failed dump leaves no file and an existing
     * one untouched. */
    g_autofree char *tmp = g_strdup_printf("%s.XXXXXX", file);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) {
        mosaic_error_set(err, "could not create '%s': %s", file, g_strerror(errno));
        return false;
    }
    bool ok = dump_to(as, addr, size, fd, file, err);
    if (close(fd) != 0 && ok) {
        mosaic_error_set(err, "writing '%s': %s", file, g_strerror(errno));
        ok = false;
    }
    if (ok && rename(tmp, file) != 0) {
        mosaic_error_set(err, "could not replace '%s': %s", file, g_strerror(errno));
        ok = false;
    }
    if (!ok)
        unlink(tmp);
    return ok;
}

static bool cmd_memsave(void *o, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    MosaicMachine *m = need_machine(err);
    if (!m)
        return false;
    if (mosaic_args_has(a, "cpu-index")) {
        int64_t i = mosaic_args_get_int(a, "cpu-index");
        unsigned n = mosaic_machine_ncpus(m);
        if (i < 0 || (uint64_t)i >= n) {
            mosaic_error_set(err, "Parameter 'cpu-index' expects a CPU index below %u", n);
            return false;
        }
    }
    return cmd_pmemsave(o, a, ret, err);
}

static const MosaicArgDesc pmemsave_args[] = {
    {"val", MOSAIC_ARG_INT, false, "guest physical start address"},
    {"size", MOSAIC_ARG_INT, false, "number of bytes"},
    {"filename", MOSAIC_ARG_STR, false, "file to write (relative to the emulator's directory)"},
    {NULL},
};

static const MosaicArgDesc memsave_args[] = {
    {"val", MOSAIC_ARG_INT, false, "guest virtual start address (see above: read as physical)"},
    {"size", MOSAIC_ARG_INT, false, "number of bytes"},
    {"filename", MOSAIC_ARG_STR, false, "file to write (relative to the emulator's directory)"},
    {"cpu-index", MOSAIC_ARG_INT, true, "vCPU whose view to use (checked; all share one view)"},
    {NULL},
};

#define CMD(n, h, a, f) {.size = sizeof(MosaicCommandDesc), .name = n, .help = h, .args = a, \
                         .handler = f, .arg_size = sizeof(MosaicArgDesc)}
static const MosaicCommandDesc commands[] = {
    CMD("pmemsave", "Save guest physical memory [val, val+size) to a file.", pmemsave_args,
        cmd_pmemsave),
    CMD("memsave", "Save guest memory to a file. The core has no MMU model, so `val` is read "
        "as a guest physical address (identical to pmemsave); cpu-index is only checked.",
        memsave_args, cmd_memsave),
    {0},
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_MISC, .kind_abi = MOSAIC_MISC_ABI, .name = "memsave",
              .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "pmemsave and memsave: guest memory to a file",
              .commands = commands);
