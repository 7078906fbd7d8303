/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Monitor commands of block-throttle: throttle-set-limits and query-throttle. */
#include <string.h>

#include "throttle.h"

static const MosaicArgDesc set_args[] = {
    {"group", MOSAIC_ARG_STR, false, "throttle group (or the node label of a node's own limits)"},
    {"bps-total", MOSAIC_ARG_INT, true, NULL}, {"bps-read", MOSAIC_ARG_INT, true, NULL},
    {"bps-write", MOSAIC_ARG_INT, true, NULL}, {"iops-total", MOSAIC_ARG_INT, true, NULL},
    {"iops-read", MOSAIC_ARG_INT, true, NULL}, {"iops-write", MOSAIC_ARG_INT, true, NULL},
    {"bps-total-max", MOSAIC_ARG_INT, true, NULL}, {"bps-read-max", MOSAIC_ARG_INT, true, NULL},
    {"bps-write-max", MOSAIC_ARG_INT, true, NULL}, {"iops-total-max", MOSAIC_ARG_INT, true, NULL},
    {"iops-read-max", MOSAIC_ARG_INT, true, NULL}, {"iops-write-max", MOSAIC_ARG_INT, true, NULL},
    {"iops-size", MOSAIC_ARG_INT, true, NULL},
    {NULL},
};

static bool cmd_set(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    TGroup *g = tg_find(mosaic_args_get_str(a, "group"));
    if (!g) {
        mosaic_error_set(err, "no throttle group '%s'", mosaic_args_get_str(a, "group"));
        return false;
    }
    for (int i = 0; i < B_N; i++) {
        g_autofree char *mk = g_strdup_printf("%s-max", throttle_names[i]);
        if (mosaic_args_has(a, throttle_names[i]) && mosaic_args_get_int(a, throttle_names[i]) < 0) {
            mosaic_error_set(err, "'%s' must not be negative", throttle_names[i]);
            return false;
        }
        if (mosaic_args_has(a, mk) && mosaic_args_get_int(a, mk) < 0) {
            mosaic_error_set(err, "'%s' must not be negative", mk);
            return false;
        }
    }
    tg_leak(g, mosaic_clock_ns(MOSAIC_CLOCK_HOST));
    for (int i = 0; i < B_N; i++) {
        g_autofree char *mk = g_strdup_printf("%s-max", throttle_names[i]);
        if (mosaic_args_has(a, throttle_names[i]))
            g->b[i].avg = mosaic_args_get_int(a, throttle_names[i]);
        if (mosaic_args_has(a, mk))
            g->b[i].max = mosaic_args_get_int(a, mk);
        g->b[i].level = g->b[i].burst = 0; /* new limits start from empty buckets */
    }
    if (mosaic_args_has(a, "iops-size") && mosaic_args_get_int(a, "iops-size") >= 0)
        g->iops_size = mosaic_args_get_int(a, "iops-size");
    tg_schedule(g);
    return true;
}

static void row(TGroup *g, void *opaque)
{
    MosaicJson *j = opaque;
    mosaic_json_begin_object(j, NULL);
    mosaic_json_str(j, "group", g->name);
    for (int i = 0; i < B_N; i++)
        mosaic_json_int(j, throttle_names[i], (int64_t)g->b[i].avg);
    mosaic_json_begin_array(j, "members");
    for (guint k = 0; k < g->members->len; k++) {
        TNode *n = g_ptr_array_index(g->members, k);
        mosaic_json_begin_object(j, NULL);
        mosaic_json_str(j, "node-name", n->label);
        mosaic_json_int(j, "rd-bytes", n->bytes[0]);
        mosaic_json_int(j, "wr-bytes", n->bytes[1]);
        mosaic_json_int(j, "rd-ops", n->ops[0]);
        mosaic_json_int(j, "wr-ops", n->ops[1]);
        mosaic_json_int(j, "queued", g_queue_get_length(&n->queue[0]) + g_queue_get_length(&n->queue[1]));
        mosaic_json_end_object(j);
    }
    mosaic_json_end_array(j);
    mosaic_json_end_object(j);
}

static bool cmd_query(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    mosaic_json_begin_array(ret, "groups");
    tg_foreach(row, ret);
    mosaic_json_end_array(ret);
    return true;
}

static const MosaicArgDesc no_args[] = {{NULL}};
static const MosaicCommandDesc cmds[] = {
    {.size = sizeof(MosaicCommandDesc), .name = "throttle-set-limits",
     .help = "change a throttle group's limits at runtime (omitted keys keep their value)",
     .args = set_args, .returns = "{}", .handler = cmd_set},
    {.size = sizeof(MosaicCommandDesc), .name = "query-throttle",
     .help = "throttle groups: limits, members and what they dispatched", .args = no_args,
     .returns = "{groups: [{group, bps-total..., members: [{node-name, rd-bytes, ...}]}]}",
     .handler = cmd_query},
};

void throttle_monitor_register(void)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(cmds); i++)
        mosaic_monitor_register(&cmds[i], NULL, NULL);
}
