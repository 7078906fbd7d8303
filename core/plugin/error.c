/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SDK's error object (mosaic_error_set) and how the core reads it back. */
#include "plugin/error.h"
#include "plugin/registry.h"

G_DEFINE_QUARK(mosaic-plugin-error-quark, plugin_error)

MOSAIC_API void mosaic_error_set(MosaicError *err, const char *fmt, ...)
{
    if (!err || err->error)
        return; /* the first error is the one that explains the failure */
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    err->error = g_error_new_literal(PLUGIN_ERROR, PLUGIN_ERROR_REFUSED, msg);
}

MOSAIC_API bool mosaic_error_is_set(const MosaicError *err)
{
    return err && err->error;
}

MOSAIC_API MosaicError *mosaic_error_new(void)
{
    return g_new0(MosaicError, 1);
}

MOSAIC_API const char *mosaic_error_message(const MosaicError *err)
{
    return err && err->error ? err->error->message : NULL;
}

MOSAIC_API void mosaic_error_free(MosaicError *err)
{
    if (err)
        g_clear_error(&err->error);
    g_free(err);
}

MOSAIC_API void mosaic_error_prefix(MosaicError *err, const char *fmt, ...)
{
    if (!err || !err->error)
        return;
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *prefix = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_prefix_error(&err->error, "%s", prefix);
}

GError *plugin_error_take(MosaicError *e, const char *what)
{
    GError *ret = e->error;
    e->error = NULL;
    if (!ret)
        ret = g_error_new(PLUGIN_ERROR, PLUGIN_ERROR_REFUSED,
                          "plugin failed without an error message (in %s)", what);
    return ret;
}

void plugin_error_clear(MosaicError *e)
{
    g_clear_error(&e->error);
}
