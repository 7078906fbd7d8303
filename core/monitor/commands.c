/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command table: core and plugin commands, argument checking, introspection. */
#include <stddef.h>
#include <string.h>
#include "monitor/monitor-internal.h"
#include "plugin/error.h"
#include "util/table.h"
#include "plugin/registry.h"

G_DEFINE_QUARK(mosaic-monitor-error-quark, monitor_error)

static GHashTable *commands; /* name -> MonitorCommand* (never freed: plugins never unload) */

const char *monitor_error_class_name(int cls)
{
    switch (cls) {
    case MOSAIC_ERRCLASS_NOT_FOUND: return "DeviceNotFound";
    case MONITOR_ERRCLASS_COMMAND_NOT_FOUND: return "CommandNotFound";
    default: return "GenericError"; /* also MOSAIC_ERRCLASS_BAD_STATE, as in QEMU */
    }
}

const char *monitor_arg_type_name(MosaicArgType t)
{
    switch (t) {
    case MOSAIC_ARG_STR: return "string";
    case MOSAIC_ARG_INT: return "int";
    case MOSAIC_ARG_BOOL: return "bool";
    case MOSAIC_ARG_NUMBER: return "number";
    case MOSAIC_ARG_ANY: return "any";
    }
    return NULL;
}

static gboolean valid_name(const char *s)
{
    if (!s || !g_ascii_isalpha(s[0]) || strlen(s) > 64)
        return FALSE;
    for (; *s; s++)
        if (!g_ascii_isalnum(*s) && *s != '-' && *s != '_')
            return FALSE;
    return TRUE;
}

static void table_init(void)
{
    if (!commands)
        commands = g_hash_table_new(g_str_hash, g_str_equal);
}

/* Argument tables are checked once, at registration, so a bad one is refused there
 * (with the plugin's name in the loader's message) instead of failing per call. */
static gboolean check_args(const char *cmd, const MosaicArgDesc *args, GError **err)
{
    for (guint i = 0; args && args[i].name; i++) {
        if (!valid_name(args[i].name) || !monitor_arg_type_name(args[i].type)) {
            g_set_error(err, MONITOR_ERROR, 0,
                        "command '%s': argument %u ('%s') has a bad name or type %d", cmd, i,
                        args[i].name, (int)args[i].type);
            return FALSE;
        }
        for (guint k = 0; k < i; k++)
            if (g_str_equal(args[k].name, args[i].name)) {
                g_set_error(err, MONITOR_ERROR, 0, "command '%s': argument '%s' declared twice",
                            cmd, args[i].name);
                return FALSE;
            }
    }
    return TRUE;
}

/* The command's argument table, by the element size it declares (util/table.h): every
 * way a command is added (plugins' included) goes through here. */
static gboolean copy_args(MonitorCommand *c, GError **err)
{
    const size_t size_1_0 = offsetof(MosaicArgDesc, help) + sizeof(const char *);
    size_t stride = table_stride(c->desc.arg_size, size_1_0);
    if (!stride) {
        g_set_error(err, MONITOR_ERROR, 0, "command '%s': .arg_size is %u, ABI 1.0's is %zu",
                    c->desc.name, c->desc.arg_size, size_1_0);
        return FALSE;
    }
    gssize n = table_count(c->desc.args, stride);
    if (n < 0) {
        g_set_error(err, MONITOR_ERROR, 0, "command '%s': more than %d arguments (no {NULL} end?)",
                    c->desc.name, TABLE_MAX_ENTRIES);
        return FALSE;
    }
    if (c->desc.args) {
        c->args_copy = g_new0(MosaicArgDesc, n + 1);
        table_copy(c->args_copy, c->desc.args, n, stride, sizeof(MosaicArgDesc));
        c->desc.args = c->args_copy;
    }
    c->desc.arg_size = sizeof(MosaicArgDesc);
    return TRUE;
}

static gboolean add(MonitorCommand *c, GError **err)
{
    table_init();
    const char *name = c->desc.name;
    if (!valid_name(name)) {
        g_set_error(err, MONITOR_ERROR, 0,
                    "bad command name '%s' (letters, digits, '-' and '_', starting with a letter)",
                    name ? name : "(null)");
        return FALSE;
    }
    if (g_hash_table_contains(commands, name)) {
        g_set_error(err, MONITOR_ERROR, 0, "command '%s' is already registered", name);
        return FALSE;
    }
    if (!copy_args(c, err) || !check_args(name, c->desc.args, err))
        return FALSE;
    g_hash_table_insert(commands, (gpointer)name, c);
    return TRUE;
}

void monitor_register_core(const char *name, const char *help, const MosaicArgDesc *args,
                           const char *returns, MonitorHandler *handler)
{
    MonitorCommand *c = g_new0(MonitorCommand, 1);
    c->desc = (MosaicCommandDesc){sizeof(MosaicCommandDesc), name, help, args, returns, NULL};
    c->owner = "core";
    c->core = handler;
    g_autoptr(GError) err = NULL;
    if (!add(c, &err)) {
        g_warning("%s", err->message);
        g_free(c->args_copy);
        g_free(c);
    }
}

/* A zero-filled copy of a plugin's command (min of its size and ours). */
static MonitorCommand *plugin_command(const MosaicCommandDesc *cmd)
{
    MonitorCommand *c = g_new0(MonitorCommand, 1);
    memcpy(&c->desc, cmd, MIN(cmd->size, sizeof(c->desc)));
    c->desc.size = sizeof(c->desc);
    c->owner = "plugin";
    return c;
}

MOSAIC_API bool mosaic_monitor_register(const MosaicCommandDesc *cmd, void *opaque, MosaicError *err)
{
    const size_t need = offsetof(MosaicCommandDesc, handler) + sizeof(cmd->handler);
    if (!cmd || cmd->size < need) {
        mosaic_error_set(err, "mosaic_monitor_register: MosaicCommandDesc too short (%u bytes, need %zu)",
                         cmd ? cmd->size : 0, need);
        return false;
    }
    MonitorCommand *c = plugin_command(cmd);
    c->opaque = opaque;
    g_autoptr(GError) e = NULL;
    if (!c->desc.handler)
        g_set_error(&e, MONITOR_ERROR, 0, "command '%s' has no handler",
                    c->desc.name ? c->desc.name : "(null)");
    if (e || !add(c, &e)) {
        mosaic_error_set(err, "mosaic_monitor_register: %s", e->message);
        g_free(c->args_copy);
        g_free(c);
        return false;
    }
    return true;
}

MOSAIC_API void mosaic_error_set_class(MosaicError *err, MosaicErrorClass cls, const char *fmt, ...)
{
    if (!err || err->error)
        return;
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    err->error = g_error_new_literal(MONITOR_ERROR, cls, msg);
}

/* Commands declared in plugin descriptors join the table when the plugin is found,
 * before it is loaded: listing them runs no plugin code. */
static void add_declared(const MosaicPluginDesc *plugin, const MosaicCommandDesc *cmd, void *opaque)
{
    if (g_hash_table_contains(commands, cmd->name))
        return;
    MonitorCommand *c = plugin_command(cmd);
    c->plugin = plugin;
    g_autoptr(GError) e = NULL;
    if (!add(c, &e)) {
        g_warning("plugin '%s': %s", plugin->name, e->message);
        g_free(c);
    }
}

static void add_all_declared(void)
{
    table_init();
    plugin_registry_foreach_command(add_declared, NULL);
}

const MonitorCommand *monitor_command_find(const char *name)
{
    if (!name)
        return NULL;
    add_all_declared();
    return g_hash_table_lookup(commands, name);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
    const MonitorCommand *x = *(MonitorCommand *const *)a, *y = *(MonitorCommand *const *)b;
    return strcmp(x->desc.name, y->desc.name);
}

GPtrArray *monitor_command_list(void)
{
    add_all_declared();
    GPtrArray *a = g_ptr_array_new();
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, commands);
    while (g_hash_table_iter_next(&it, NULL, &v))
        g_ptr_array_add(a, v);
    g_ptr_array_sort(a, by_name);
    return a;
}

static gboolean type_ok(MosaicArgType t, JsonNode *n)
{
    if (t == MOSAIC_ARG_ANY)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE(n))
        return FALSE;
    GType vt = json_node_get_value_type(n);
    switch (t) {
    case MOSAIC_ARG_STR: return vt == G_TYPE_STRING;
    case MOSAIC_ARG_INT: return vt == G_TYPE_INT64;
    case MOSAIC_ARG_BOOL: return vt == G_TYPE_BOOLEAN;
    case MOSAIC_ARG_NUMBER: return vt == G_TYPE_INT64 || vt == G_TYPE_DOUBLE;
    default: return FALSE;
    }
}

static gboolean check_call(const MonitorCommand *cmd, JsonObject *args, GError **err)
{
    const MosaicArgDesc *d = cmd->desc.args;
    g_autoptr(GList) members = args ? json_object_get_members(args) : NULL;
    for (GList *l = members; l; l = l->next) {
        const char *name = l->data;
        const MosaicArgDesc *a = NULL;
        for (guint i = 0; d && d[i].name; i++)
            if (g_str_equal(d[i].name, name))
                a = &d[i];
        if (!a) {
            g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC,
                        "Parameter '%s' is unexpected", name);
            return FALSE;
        }
        if (!type_ok(a->type, json_object_get_member(args, name))) {
            g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC,
                        "Invalid parameter type for '%s', expected: %s", name,
                        monitor_arg_type_name(a->type));
            return FALSE;
        }
    }
    for (guint i = 0; d && d[i].name; i++)
        if (!d[i].optional && !(args && json_object_has_member(args, d[i].name))) {
            g_set_error(err, MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC, "Parameter '%s' is missing",
                        d[i].name);
            return FALSE;
        }
    return TRUE;
}

JsonNode *monitor_command_run(const MonitorCommand *cmd, JsonObject *args, GError **err)
{
    if (!check_call(cmd, args, err))
        return NULL;
    g_autoptr(JsonObject) empty = json_object_new();
    MosaicArgs a = {args ? args : empty};
    if (cmd->core)
        return cmd->core(&a, err);
    if (cmd->plugin) {
        /* The deployment policy decides here, and init runs once, on the first call. */
        g_autofree char *by = g_strdup_printf("command '%s'", cmd->desc.name);
        if (!plugin_registry_require(cmd->plugin, by, err))
            return NULL;
    }

    MosaicJson *ret = monitor_json_new();
    MosaicError me = MOSAIC_ERROR_INIT;
    bool ok = cmd->desc.handler(cmd->opaque, &a, ret, &me);
    if (!ok) {
        monitor_json_free(ret);
        GError *e = me.error;
        me.error = NULL;
        if (!e)
            e = g_error_new(MONITOR_ERROR, MOSAIC_ERRCLASS_GENERIC,
                            "command '%s' failed without an error message", cmd->desc.name);
        g_propagate_error(err, e);
        return NULL;
    }
    if (me.error) {
        g_warning("command '%s' succeeded but set an error (ignored): %s", cmd->desc.name,
                  me.error->message);
        plugin_error_clear(&me);
    }
    return monitor_json_finish(ret);
}

/* ---- introspection ---- */

static void add_str(JsonBuilder *b, const char *k, const char *v)
{
    json_builder_set_member_name(b, k);
    if (v)
        json_builder_add_string_value(b, v);
    else
        json_builder_add_null_value(b);
}

JsonNode *monitor_schema(void)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_array(b);
    g_autoptr(GPtrArray) list = monitor_command_list();
    for (guint i = 0; i < list->len; i++) {
        const MonitorCommand *c = list->pdata[i];
        json_builder_begin_object(b);
        add_str(b, "name", c->desc.name);
        add_str(b, "meta-type", "command");
        add_str(b, "help", c->desc.help);
        add_str(b, "returns", c->desc.returns);
        json_builder_set_member_name(b, "arguments");
        json_builder_begin_array(b);
        for (const MosaicArgDesc *a = c->desc.args; a && a->name; a++) {
            json_builder_begin_object(b);
            add_str(b, "name", a->name);
            add_str(b, "type", monitor_arg_type_name(a->type));
            json_builder_set_member_name(b, "optional");
            json_builder_add_boolean_value(b, a->optional);
            add_str(b, "help", a->help);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    for (const MonitorEventDoc *e = monitor_event_docs; e->name; e++) {
        json_builder_begin_object(b);
        add_str(b, "name", e->name);
        add_str(b, "meta-type", "event");
        add_str(b, "help", e->help);
        add_str(b, "data", e->data);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    return json_builder_get_root(b);
}

static void md_escape(GString *s, const char *text)
{
    for (const char *p = text ? text : ""; *p; p++) {
        if (*p == '|')
            g_string_append(s, "\\|");
        else if (*p == '\n')
            g_string_append_c(s, ' ');
        else
            g_string_append_c(s, *p);
    }
}

char *monitor_commands_markdown(void)
{
    GString *s = g_string_new(
        "# Control commands\n\n"
        "<!-- Generated by `mosaic --list-commands` (core/monitor/commands.c); do not edit.\n"
        "     tests/system/test_monitor_docs.py checks that this file is up to date. -->\n\n"
        "Mosaic speaks QMP (QEMU's JSON control protocol): connect to a `--qmp` socket, read the\n"
        "greeting, send `{\"execute\": \"qmp_capabilities\"}`, then\n"
        "`{\"execute\": NAME, \"arguments\": {...}, \"id\": ANY}`. Replies are\n"
        "`{\"return\": VALUE, \"id\": ...}` or `{\"error\": {\"class\": ..., \"desc\": ...}, \"id\": ...}`.\n"
        "`tools/mosaic-ctl` is a command-line client. Plugins loaded by a machine add commands of\n"
        "their own; `query-commands` and `query-schema` of the running machine list them.\n\n"
        "Limits: a message of at most 1 MiB nested at most 64 deep; strings without NUL\n"
        "(`\\u0000`) and numbers that fit a double (`1e999` is refused), anywhere in a message;\n"
        "at most 64 clients at once (one more gets an error line and is closed); a client that\n"
        "leaves 16 MiB of replies and events unread is disconnected.\n\n"
        "## Commands\n\n");
    g_autoptr(GPtrArray) list = monitor_command_list();
    for (guint i = 0; i < list->len; i++) {
        const MonitorCommand *c = list->pdata[i];
        g_string_append_printf(s, "### %s\n\n%s\n\n", c->desc.name, c->desc.help ? c->desc.help : "");
        if (c->desc.args && c->desc.args[0].name) {
            g_string_append(s, "| argument | type | required | description |\n| --- | --- | --- | --- |\n");
            for (const MosaicArgDesc *a = c->desc.args; a->name; a++) {
                g_string_append_printf(s, "| `%s` | %s | %s | ", a->name,
                                       monitor_arg_type_name(a->type), a->optional ? "no" : "yes");
                md_escape(s, a->help);
                g_string_append(s, " |\n");
            }
            g_string_append_c(s, '\n');
        } else {
            g_string_append(s, "No arguments.\n\n");
        }
        g_string_append_printf(s, "Returns: %s\n\n", c->desc.returns ? c->desc.returns : "`{}`");
    }
    g_string_append(s, "## Events\n\n"
                       "`{\"event\": NAME, \"data\": {...}, \"timestamp\": {\"seconds\": S, \"microseconds\": US}}`\n\n");
    for (const MonitorEventDoc *e = monitor_event_docs; e->name; e++)
        g_string_append_printf(s, "### %s\n\n%s\n\nData: %s\n\n", e->name, e->help, e->data);
    g_string_truncate(s, s->len - 1); /* one newline at the end */
    return g_string_free(s, FALSE);
}

int monitor_list_commands(FILE *out, gboolean json)
{
    monitor_register_builtins();
    if (json) {
        g_autoptr(JsonNode) n = monitor_schema();
        g_autoptr(JsonGenerator) gen = json_generator_new();
        json_generator_set_pretty(gen, TRUE);
        json_generator_set_root(gen, n);
        g_autofree char *text = json_generator_to_data(gen, NULL);
        fprintf(out, "%s\n", text);
    } else {
        g_autofree char *md = monitor_commands_markdown();
        fputs(md, out);
    }
    return fflush(out) == 0 ? 0 : 1;
}
