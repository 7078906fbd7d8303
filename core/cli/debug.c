/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Debug front ends requested on the command line (see cli/debug.h). */
#include <string.h>
#include <mosaic/mosaic.h>
#include "cli/debug.h"
#include "plugin/registry.h"
#include "plugin/error.h"

typedef struct DebugRequest {
    char *name, *spec;
    const MosaicPluginDesc *plugin; /* set by debug_check_options */
    gboolean started;
} DebugRequest;

static GArray *requests; /* DebugRequest */

gboolean debug_take_options(int *argc, char **argv, GError **err)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (g_str_equal(a, "--")) { /* the rest are not options */
            while (++i < *argc)
                argv[out++] = argv[i];
            break;
        }
        if (a[0] != '-' || g_str_equal(a, "-")) {
            argv[out++] = argv[i];
            continue;
        }
        if (a[1] != '-' || !a[2]) {
            g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION, "Unknown option %s", a);
            return FALSE;
        }
        const char *eq = strchr(a, '=');
        DebugRequest r = {0};
        r.name = eq ? g_strndup(a + 2, eq - a - 2) : g_strdup(a + 2);
        if (eq) {
            r.spec = g_strdup(eq + 1);
        } else if (i + 1 < *argc) {
            r.spec = g_strdup(argv[++i]);
        } else {
            g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "Missing argument for %s", a);
            g_free(r.name);
            return FALSE;
        }
        if (!requests)
            requests = g_array_new(FALSE, TRUE, sizeof(DebugRequest));
        g_array_append_val(requests, r);
    }
    argv[out] = NULL;
    *argc = out;
    return TRUE;
}

static DebugRequest *req(guint i)
{
    return &g_array_index(requests, DebugRequest, i);
}

gboolean debug_check_options(GError **err)
{
    for (guint i = 0; requests && i < requests->len; i++) {
        g_autoptr(GError) e = NULL;
        req(i)->plugin = plugin_registry_find(MOSAIC_KIND_DEBUG, req(i)->name, &e);
        if (!req(i)->plugin) {
            g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION,
                        "Unknown option --%s (not an option of mosaic, and %s)", req(i)->name,
                        e->message);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean debug_requested(void)
{
    return requests && requests->len > 0;
}

static const MosaicDebugOps *ops_of(const MosaicPluginDesc *d)
{
    return d->ops;
}

gboolean debug_start_all(MosaicMachine *m, GError **err)
{
    for (guint i = 0; requests && i < requests->len; i++) {
        DebugRequest *r = req(i);
        g_autofree char *opt = g_strdup_printf("--%s", r->name);
        if (!plugin_registry_require(r->plugin, opt, err))
            return FALSE;
        MosaicError me = MOSAIC_ERROR_INIT;
        if (!ops_of(r->plugin)->start(m, r->spec, &me)) {
            g_propagate_error(err, plugin_error_take(&me, opt));
            return FALSE;
        }
        r->started = TRUE;
    }
    return TRUE;
}

void debug_stop_all(void)
{
    for (guint i = 0; requests && i < requests->len; i++)
        if (req(i)->started) {
            ops_of(req(i)->plugin)->stop();
            req(i)->started = FALSE;
        }
}
