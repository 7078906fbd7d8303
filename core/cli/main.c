/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The `mosaic` program: command line -> configuration -> machine -> main loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <locale.h>
#include <signal.h>
#include "machine/machine.h"
#include "config/config.h"
#include "plugin/registry.h"
#include "plugin/policy.h"
#include "loop/loop.h"
#include "cli/startup.h"
#include "cli/debug.h"
#include "cli/notify.h"

static char **opt_sets, **opt_plugin_paths, **opt_enable, **opt_disable, **opt_qmp;
static char *opt_describe, *opt_dump, *opt_log, *opt_logfile, *opt_pidfile;
static gboolean opt_list, opt_json, opt_version, opt_paused, opt_daemonize, opt_list_commands;

static const GOptionEntry options[] = {
    {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_sets,
     "Override a machine-file key: kind[.label].key=value", "KEY=VALUE"},
    {"plugin-path", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_plugin_paths,
     "Look for plugins in DIR first", "DIR"},
    {"enable-plugin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_enable, "Allow a plugin (pattern)", "NAME"},
    {"disable-plugin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_disable, "Deny a plugin (pattern)", "NAME"},
    {"list-plugins", 0, 0, G_OPTION_ARG_NONE, &opt_list, "List every plugin found and its state", NULL},
    {"json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "JSON output for --list-plugins, --list-commands and --describe", NULL},
    {"describe", 0, 0, G_OPTION_ARG_STRING, &opt_describe, "Print the keys of a section kind or plugin type (all: every one)", "NAME"},
    {"dump-config", 0, 0, G_OPTION_ARG_FILENAME, &opt_dump, "Print the resolved machine file", "FILE"},
    {"list-commands", 0, 0, G_OPTION_ARG_NONE, &opt_list_commands,
     "Print every control command as Markdown (or JSON with --json)", NULL},
    {"qmp", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_qmp,
     "Control socket: unix:PATH[,server,wait=off] or tcp:127.0.0.1:PORT", "SPEC"},
    {"paused", 'S', 0, G_OPTION_ARG_NONE, &opt_paused, "Start with the vCPUs paused", NULL},
    {"daemonize", 0, 0, G_OPTION_ARG_NONE, &opt_daemonize, "Detach from the terminal once started", NULL},
    {"pidfile", 0, 0, G_OPTION_ARG_FILENAME, &opt_pidfile, "Write the process id to FILE", "FILE"},
    {"log", 0, 0, G_OPTION_ARG_STRING, &opt_log, "Enable debug logs of DOMAINS (comma list, or all)", "DOMAINS"},
    {"logfile", 0, 0, G_OPTION_ARG_FILENAME, &opt_logfile, "Write logs to FILE", "FILE"},
    {"version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version", NULL},
    {NULL},
};

static int fail(GError *err)
{
    fprintf(stderr, "mosaic: %s\n", err->message);
    g_error_free(err);
    return 1;
}

static gboolean setup_plugins(GError **err)
{
    if (!plugin_policy_load_defaults(err))
        return FALSE;
    for (char **p = opt_enable; p && *p; p++)
        plugin_policy_cmdline(*p, TRUE);
    for (char **p = opt_disable; p && *p; p++)
        plugin_policy_cmdline(*p, FALSE);
    startup_register_builtins();
    plugin_registry_init((const char *const *)opt_plugin_paths);
    return debug_check_options(err);
}

static int run_machine(const char *path)
{
    GError *err = NULL;
    g_autoptr(MosaicConfig) cfg = config_load(path, (const char *const *)opt_sets, &err);
    if (!cfg || !config_validate(cfg, &err))
        return fail(err);
    StartupOptions so = {
        .qmp = (const char *const *)opt_qmp, .daemonize = opt_daemonize,
        .pidfile = opt_pidfile, .log = opt_log, .logfile = opt_logfile,
    };
    if (!startup_before_machine(&so, &err))
        return fail(err);
    mosaic_lock();
    MosaicMachine *m = machine_create(cfg, &err);
    if (!m) {
        mosaic_unlock();
        return fail(err);
    }
    if (!startup_after_machine(m, &so, &err)) {
        machine_destroy(m);
        mosaic_unlock();
        return fail(err);
    }
    gboolean paused = opt_paused || debug_requested();
    machine_start(m, paused);
    /* The control sockets listen (startup_after_machine): a supervisor told "ready"
     * can connect at once. */
    notify_ready(paused ? "paused" : "running");
    mosaic_unlock();
    int code = machine_run(m);
    notify_stopping();
    mosaic_lock();
    startup_shutdown(m, &so);
    machine_destroy(m);
    mosaic_unlock();
    return code;
}

/* The whole program lives in the library so that the plugins it loads and the program
 * share one core; core/main.c only calls this. */
MOSAIC_EXPORT int mosaic_main(int argc, char **argv);

MOSAIC_EXPORT int mosaic_main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    /* A peer closing a socket must be an error return, never a signal. */
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && g_str_equal(argv[1], "plugins"))
        return plugin_cli_main(argc - 1, argv + 1);

    g_autoptr(GOptionContext) ctx = g_option_context_new("[MACHINE.ini]");
    g_option_context_set_summary(ctx, "Mosaic machine emulator.\n\n"
                                 "  mosaic MACHINE.ini            run a machine\n"
                                 "  mosaic plugins enable|disable|list [NAME]   per-user plugin policy");
    g_option_context_set_description(ctx,
        "Any other --NAME SPEC starts the debug plugin NAME (kind debug in --list-plugins) on "
        "the machine, which then starts paused.\n\n"
        "Plugin policy: /etc/mosaic/plugins.ini, ~/.config/mosaic/plugins.ini, "
        "$MOSAIC_PLUGINS_CONF, then --enable-plugin/--disable-plugin (mosaic-plugins.ini(5)).\n"
        "Plugins are searched in --plugin-path, $MOSAIC_PLUGIN_PATH, the build tree when run "
        "from it (else ../lib/mosaic/1 beside this program's bin/), then " MOSAIC_PLUGINDIR ".\n"
        "Machine files' firmware/... and kernels/... paths are looked up in $MOSAIC_DATA_PATH, "
        "~/.local/share/mosaic, then " MOSAIC_DATADIR " (mosaic-machine.ini(5)).\n"
        "With $NOTIFY_SOCKET set (systemd Type=notify, or any supervisor speaking sd_notify), "
        "READY=1 is sent once the machine runs and its control sockets listen.\n\n"
        "See mosaic(1) and mosaic-machine.ini(5).");
    g_option_context_add_main_entries(ctx, options, NULL);
    g_option_context_set_ignore_unknown_options(ctx, TRUE);
    GError *err = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || !debug_take_options(&argc, argv, &err))
        return fail(err);
    if (opt_version) {
        printf("mosaic %s (plugin ABI %d.%d)\n", MOSAIC_VERSION, MOSAIC_ABI_MAJOR, MOSAIC_ABI_MINOR);
        return 0;
    }
    if (!setup_plugins(&err))
        return fail(err);
    if (opt_list) {
        plugin_registry_list(stdout, opt_json);
        return 0;
    }
    if (opt_list_commands)
        return startup_list_commands(opt_json);
    if (opt_describe) {
        g_autofree char *text = opt_json ? config_describe_json(opt_describe, &err)
                                         : config_describe(opt_describe, &err);
        if (!text)
            return fail(err);
        fputs(text, stdout);
        return 0;
    }
    if (opt_dump) {
        g_autoptr(MosaicConfig) cfg = config_load(opt_dump, (const char *const *)opt_sets, &err);
        if (!cfg || !config_validate(cfg, &err))
            return fail(err);
        g_autofree char *text = config_dump(cfg);
        fputs(text, stdout);
        return 0;
    }
    if (argc != 2) {
        g_autofree char *help = g_option_context_get_help(ctx, TRUE, NULL);
        fprintf(stderr, "mosaic: expected one machine file\n%s", help);
        return 2;
    }
    return run_machine(argv[1]);
}
