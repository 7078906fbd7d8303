/* SPDX-License-Identifier: GPL-2.0-or-later */
/* query-accel-stats: the accelerator's counters (for TCG: translations, flushes,
 * retranslations, TLB misses, instructions), registered through the same SDK call a
 * plugin would use. */
#include "machine/machine-internal.h"

typedef struct StatsCtx {
    MosaicJson *ret;
} StatsCtx;

static void add_stat(void *opaque, const char *name, uint64_t value)
{
    StatsCtx *c = opaque;
    mosaic_json_int(c->ret, name, (int64_t)MIN(value, (uint64_t)INT64_MAX));
}

static bool query_accel_stats(void *opaque, const MosaicArgs *args, MosaicJson *ret,
                              MosaicError *err)
{
    MosaicMachine *m = machine_current();
    if (!m || !m->aops) {
        mosaic_error_set(err, "the machine has no accelerator (type none)");
        return false;
    }
    mosaic_json_str(ret, "accel", m->accel_desc->name);
    mosaic_json_begin_object(ret, "stats");
    StatsCtx c = {ret};
    machine_query_accel_stats(m, add_stat, &c);
    mosaic_json_end_object(ret);
    return true;
}

static const MosaicArgDesc no_args[] = {{NULL}};

static const MosaicCommandDesc cmd_query_accel_stats = {
    .size = sizeof(MosaicCommandDesc),
    .name = "query-accel-stats",
    .help = "Counters of the accelerator (TCG: translations, flushes, retranslations, TLB misses).",
    .args = no_args,
    .returns = "{accel: name, stats: {counter: value}}",
    .handler = query_accel_stats,
};

void machine_register_accel_commands(void)
{
    mosaic_monitor_register(&cmd_query_accel_stats, NULL, NULL);
}
