/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Process-level start-up: what the core registers before reading a machine file, and
 * the services started around the machine. */
#include <errno.h>
#include <stdio.h>
#include "cli/startup.h"
#include "config/config.h"
#include "chardev/chardev.h"
#include "block/block.h"
#include "monitor/monitor.h"
#include "monitor/headless.h"
#include "cli/debug.h"

static char **log_domains;
static FILE *log_file;

static gboolean domain_enabled(const char *domain)
{
    if (!log_domains || !domain)
        return FALSE;
    for (char **d = log_domains; *d; d++)
        if (g_str_equal(*d, "all") || g_str_equal(*d, domain) ||
            (g_str_has_prefix(domain, "mosaic-") && g_str_equal(*d, domain + 7)))
            return TRUE;
    return FALSE;
}

static void log_handler(const char *domain, GLogLevelFlags level, const char *msg, gpointer data)
{
    if ((level & (G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG)) && !domain_enabled(domain))
        return;
    FILE *out = log_file ? log_file : stderr;
    const char *what = (level & G_LOG_LEVEL_ERROR) ? "error"
                     : (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) ? "warning"
                     : (level & G_LOG_LEVEL_MESSAGE) ? "note" : "debug";
    fprintf(out, "mosaic: %s%s%s: %s\n", domain ? domain : "", domain ? ": " : "", what, msg);
    fflush(out);
}

static gboolean setup_logging(const StartupOptions *o, GError **err)
{
    if (o->log)
        log_domains = g_strsplit(o->log, ",", -1);
    if (o->logfile) {
        log_file = fopen(o->logfile, "a");
        if (!log_file) {
            g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
                        "--logfile %s: %s", o->logfile, g_strerror(errno));
            return FALSE;
        }
    }
    g_log_set_default_handler(log_handler, NULL);
    return TRUE;
}

void startup_register_builtins(void)
{
    blk_register_builtins();
    monitor_register_builtins();
    blk_monitor_register();
    machine_register_commands();
}

gboolean startup_before_machine(const StartupOptions *o, GError **err)
{
    if (!setup_logging(o, err))
        return FALSE;
    if (o->daemonize && !headless_daemonize(err))
        return FALSE;
    if (o->pidfile && !headless_write_pidfile(o->pidfile, err))
        return FALSE;
    headless_install_signals(machine_host_quit);
    return TRUE;
}

gboolean startup_after_machine(MosaicMachine *m, const StartupOptions *o, GError **err)
{
    machine_attach_events(m);
    if (!monitor_start(o->qmp, machine_config(m), err))
        return FALSE;
    if (!debug_start_all(m, err))
        return FALSE;
    headless_daemon_ready();
    return TRUE;
}

void startup_shutdown(MosaicMachine *m, const StartupOptions *o)
{
    monitor_stop();
    debug_stop_all();
    headless_remove_pidfile();
    if (log_file) {
        fclose(log_file);
        log_file = NULL;
    }
}

int startup_list_commands(gboolean json)
{
    return monitor_list_commands(stdout, json);
}
