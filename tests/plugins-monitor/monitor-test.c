/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A misc plugin that adds control commands (tests of mosaic_monitor_register):
 *   x-monitor-test-add {a: int, b: int, note?: str, scale?: number, flag?: bool}
 *       -> {sum, note, scale, flag, items: [a, b]}
 *   x-monitor-test-fail {}  -> DeviceNotFound error
 *   x-monitor-test-events {count: int} -> {}; a new thread emits MONITOR_TEST {n} count times
 * Owns the section kind [monitor-test LABEL] so a machine file can ask for it. */
#include <pthread.h>
#include <stdlib.h>
#include <mosaic/mosaic.h>

static const MosaicArgDesc add_args[] = {
    {"a", MOSAIC_ARG_INT, false, "first addend"},
    {"b", MOSAIC_ARG_INT, false, "second addend"},
    {"note", MOSAIC_ARG_STR, true, "echoed back"},
    {"scale", MOSAIC_ARG_NUMBER, true, "multiplies the sum"},
    {"flag", MOSAIC_ARG_BOOL, true, "echoed back"},
    {NULL},
};

static bool add(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    int64_t sum = mosaic_args_get_int(a, "a") + mosaic_args_get_int(a, "b");
    mosaic_json_int(ret, "sum", sum);
    if (mosaic_args_has(a, "note"))
        mosaic_json_str(ret, "note", mosaic_args_get_str(a, "note"));
    if (mosaic_args_has(a, "scale"))
        mosaic_json_number(ret, "scale", sum * mosaic_args_get_number(a, "scale"));
    mosaic_json_bool(ret, "flag", mosaic_args_get_bool(a, "flag"));
    mosaic_json_begin_array(ret, "items");
    mosaic_json_int(ret, NULL, mosaic_args_get_int(a, "a"));
    mosaic_json_int(ret, NULL, mosaic_args_get_int(a, "b"));
    mosaic_json_end_array(ret);
    return true;
}

static bool fail(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    mosaic_error_set_class(err, MOSAIC_ERRCLASS_NOT_FOUND, "nothing called 'x' here");
    return false;
}

static void *emitter(void *arg)
{
    long n = (long)arg;
    for (long i = 0; i < n; i++) {
        MosaicJson *ev = mosaic_event_begin("MONITOR_TEST");
        mosaic_json_int(ev, "n", i);
        mosaic_event_emit(ev);
    }
    return NULL;
}

static const MosaicArgDesc events_args[] = {
    {"count", MOSAIC_ARG_INT, false, "how many MONITOR_TEST events to emit (from another thread)"},
    {NULL},
};

static bool events(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    int64_t n = mosaic_args_get_int(a, "count");
    if (n < 0 || n > 10000) {
        mosaic_error_set(err, "count must be in 0..10000");
        return false;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, emitter, (void *)(long)n) != 0) {
        mosaic_error_set(err, "cannot create a thread");
        return false;
    }
    pthread_detach(t);
    return true;
}

static const MosaicCommandDesc commands[] = {
    {sizeof(MosaicCommandDesc), "x-monitor-test-add", "Add two integers (test plugin).", add_args,
     "`{\"sum\", \"note\", \"scale\", \"flag\", \"items\"}`", add},
    {sizeof(MosaicCommandDesc), "x-monitor-test-fail", "Always fails with DeviceNotFound (test plugin).",
     NULL, NULL, fail},
    {sizeof(MosaicCommandDesc), "x-monitor-test-events", "Emit events from another thread (test plugin).",
     events_args, NULL, events},
};

static bool init(MosaicError *err)
{
    for (unsigned i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!mosaic_monitor_register(&commands[i], NULL, err))
            return false;
    return true;
}

static const MosaicPropDesc section_props[] = {
    {"greeting", MOSAIC_PROP_STRING, "hello", "unused"},
    {NULL},
};

static const MosaicSectionDesc sections[] = {
    {"monitor-test", "asks for the monitor-test plugin", section_props},
    {NULL},
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_MISC, .kind_abi = MOSAIC_MISC_ABI, .name = "monitor-test",
              .version = "1.0", .license = "MIT",
              .description = "test plugin: control commands and events",
              .sections = sections, .init = init);
