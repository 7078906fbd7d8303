/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the unit tests of the block layer share: the core's registry with the built-in
 * block drivers and a stand-in accelerator (config validation wants the [machine]
 * accel plugin even for type = none), a request run to completion on the main loop,
 * scratch images, and the peak RSS for the bounded-memory checks.  Header only: each
 * test program is one .c file (tests/unit/SConscript). */
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <mosaic/mosaic.h>

#include "block/block-internal.h"
#include "block/block.h"
#include "loop/loop.h"
#include "plugin/registry.h"

static const MosaicAccelOps harness_accel_ops = {.size = sizeof(MosaicAccelOps)};
static const MosaicPluginDesc harness_accel = {
    .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
    .size = sizeof(MosaicPluginDesc), .kind = MOSAIC_KIND_ACCEL, .kind_abi = MOSAIC_ACCEL_ABI,
    .name = "tcg", .version = "1", .license = "MIT", .description = "config validation wants one",
    .ops = &harness_accel_ops,
};

/* No plugin directories: only what is built in, and the stand-in accelerator. */
static inline void blk_harness_init(void)
{
    const char *none[] = {NULL};
    plugin_registry_init_dirs(none);
    blk_register_builtins();
    plugin_registry_add_builtin(&harness_accel);
}

typedef struct Sync {
    int done, ret;
} Sync;

static inline void sync_cb(void *opaque, int ret)
{
    Sync *s = opaque;
    s->ret = ret;
    s->done = 1;
}

/* Submits req and runs the main loop until it completed; its result. */
static inline int blk_harness_wait(MosaicBlk *b, MosaicBlkReq *req)
{
    Sync s = {0};
    mosaic_blk_submit(b, req, sync_cb, &s);
    while (!s.done)
        loop_iterate(true);
    return s.ret;
}

/* A new sparse file of `size` bytes in dir (g_free the path). */
static inline char *blk_harness_image(const char *dir, const char *name, guint64 size)
{
    char *path = g_build_filename(dir, name, NULL);
    int fd = g_open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    close(fd);
    return path;
}

static inline long peak_rss_kib(void)
{
    struct rusage ru;
    g_assert_cmpint(getrusage(RUSAGE_SELF, &ru), ==, 0);
    return ru.ru_maxrss;
}
