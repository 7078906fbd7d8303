/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Control protocol (QMP-compatible): commands with a typed argument schema, and
 * events.  Plugins register commands from init(); the monitor checks argument names,
 * types and required arguments before the handler runs.  Handlers run on the main
 * loop thread with the core lock held. */
#ifndef MOSAIC_MONITOR_H
#define MOSAIC_MONITOR_H

#include <mosaic/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum MosaicArgType {
    MOSAIC_ARG_STR = 1,
    MOSAIC_ARG_INT,
    MOSAIC_ARG_BOOL,
    MOSAIC_ARG_NUMBER,
    MOSAIC_ARG_ANY,    /* any JSON value; read with mosaic_args_get_json */
} MosaicArgType;

typedef struct MosaicArgDesc {
    const char *name;
    MosaicArgType type;
    bool optional;
    const char *help;
} MosaicArgDesc;

typedef struct MosaicArgs MosaicArgs;
typedef struct MosaicJson MosaicJson; /* a JSON value being built (reply or event data) */

/* QMP error classes. */
typedef enum MosaicErrorClass {
    MOSAIC_ERRCLASS_GENERIC = 0,  /* GenericError */
    MOSAIC_ERRCLASS_NOT_FOUND,    /* DeviceNotFound */
    MOSAIC_ERRCLASS_BAD_STATE,    /* GenericError, with a state message */
} MosaicErrorClass;

typedef struct MosaicCommandDesc {
    uint32_t size;           /* sizeof(MosaicCommandDesc) */
    const char *name;        /* "block-export-add" */
    const char *help;        /* one line, for docs and query-commands */
    const MosaicArgDesc *args; /* terminated by {NULL} */
    const char *returns;     /* prose description of the return value, for docs */
    /* Fills `ret` (a JSON object, initially empty) or sets err. */
    bool (*handler)(void *opaque, const MosaicArgs *args, MosaicJson *ret, MosaicError *err);
    /* sizeof(MosaicArgDesc): the core steps through `args` by it, so MosaicArgDesc can
     * grow in a minor release.  0: the 1.0 size. */
    uint32_t arg_size;
} MosaicCommandDesc;

MOSAIC_API bool mosaic_monitor_register(const MosaicCommandDesc *cmd, void *opaque, MosaicError *err);

/* Runs a monitor command as a client would (arguments checked, the plugin that
 * declares it loaded on first use, the deployment policy applied): how a plugin uses
 * a service of another plugin without naming it.  args_json: a JSON object or NULL.
 * Returns the reply value as JSON text (free with mosaic_free) or NULL + err.  Main
 * loop thread, core lock held.  Since 1.1. */
MOSAIC_API char *mosaic_monitor_execute(const char *command, const char *args_json,
                                        MosaicError *err);

/* Like mosaic_error_set, with the QMP error class the client sees (mosaic_error_set
 * gives GenericError).  Added in ABI 1.0 (before the first release). */
MOSAIC_API void mosaic_error_set_class(MosaicError *err, MosaicErrorClass cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

MOSAIC_API bool mosaic_args_has(const MosaicArgs *a, const char *name);
MOSAIC_API const char *mosaic_args_get_str(const MosaicArgs *a, const char *name);
MOSAIC_API int64_t mosaic_args_get_int(const MosaicArgs *a, const char *name);
MOSAIC_API bool mosaic_args_get_bool(const MosaicArgs *a, const char *name);
MOSAIC_API double mosaic_args_get_number(const MosaicArgs *a, const char *name);
/* Serialized JSON of an argument (caller frees with mosaic_free). */
MOSAIC_API char *mosaic_args_get_json(const MosaicArgs *a, const char *name);
MOSAIC_API void mosaic_free(void *p);

/* Building JSON objects: members are added to the innermost open object or array
 * (name is ignored inside arrays). */
MOSAIC_API void mosaic_json_str(MosaicJson *j, const char *name, const char *value);
MOSAIC_API void mosaic_json_int(MosaicJson *j, const char *name, int64_t value);
MOSAIC_API void mosaic_json_bool(MosaicJson *j, const char *name, bool value);
MOSAIC_API void mosaic_json_number(MosaicJson *j, const char *name, double value);
MOSAIC_API void mosaic_json_begin_object(MosaicJson *j, const char *name);
MOSAIC_API void mosaic_json_end_object(MosaicJson *j);
MOSAIC_API void mosaic_json_begin_array(MosaicJson *j, const char *name);
MOSAIC_API void mosaic_json_end_array(MosaicJson *j);

/* Events: begin, add members to the event's "data", then emit (to every client that
 * finished negotiation). Any thread. */
MOSAIC_API MosaicJson *mosaic_event_begin(const char *name);
MOSAIC_API void mosaic_event_emit(MosaicJson *event);

#ifdef __cplusplus
}
#endif
#endif
