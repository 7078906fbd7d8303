/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <glib.h>
#include <mosaic/plugin.h>

MOSAIC_API void mosaic_log(const char *domain, int level, const char *fmt, ...)
{
    /* Errors from plugins are reported, not fatal: g_critical would abort under G_DEBUG. */
    static const GLogLevelFlags levels[] = {G_LOG_LEVEL_WARNING, G_LOG_LEVEL_WARNING,
                                            G_LOG_LEVEL_INFO, G_LOG_LEVEL_DEBUG};
    level = CLAMP(level, 0, 3);
    va_list ap;
    va_start(ap, fmt);
    g_logv(domain, levels[level], fmt, ap);
    va_end(ap);
}
