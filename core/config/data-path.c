/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Where shipped machine files find firmware and kernels.  A machine file installed in
 * PREFIX/share/mosaic/configs cannot name a kernel beside itself, so a relative PATH
 * value that starts with "firmware/" or "kernels/" and does not exist relative to the
 * file is looked up, in this order, in:
 *   each directory of $MOSAIC_DATA_PATH (colon-separated),
 *   $XDG_DATA_HOME/mosaic (~/.local/share/mosaic),
 *   ../share/mosaic beside the running program's bin/ (a staged or moved install),
 *   PREFIX/share/mosaic (MOSAIC_DATADIR, compiled in), then /usr/share/mosaic.
 * The first existing file wins; if none exists the value stays relative to the machine
 * file, so the error on opening names the place the user wrote.  Only these two
 * prefixes: a missing disk image must never silently resolve to a file elsewhere. */
#include <string.h>

#include "config/config-internal.h"

static gboolean searched(const char *text)
{
    return g_str_has_prefix(text, "firmware/") || g_str_has_prefix(text, "kernels/");
}

char *config_resolve_path(const char *text, const char *basedir)
{
    char *beside = g_canonicalize_filename(text, basedir);
    if (g_path_is_absolute(text) || !searched(text) || g_file_test(beside, G_FILE_TEST_EXISTS))
        return beside;
    g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
    const char *env = g_getenv("MOSAIC_DATA_PATH");
    g_auto(GStrv) envdirs = env ? g_strsplit(env, ":", -1) : NULL;
    for (char **d = envdirs; d && *d; d++)
        if (**d)
            g_ptr_array_add(dirs, g_strdup(*d));
    g_ptr_array_add(dirs, g_build_filename(g_get_user_data_dir(), "mosaic", NULL));
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *bin = exe ? g_path_get_dirname(exe) : NULL;
    if (bin && g_str_has_suffix(bin, "/bin"))
        g_ptr_array_add(dirs, g_build_filename(bin, "..", "share", "mosaic", NULL));
    g_ptr_array_add(dirs, g_strdup(MOSAIC_DATADIR));
    g_ptr_array_add(dirs, g_strdup("/usr/share/mosaic"));
    for (guint i = 0; i < dirs->len; i++) {
        g_autofree char *cand = g_build_filename(g_ptr_array_index(dirs, i), text, NULL);
        if (g_file_test(cand, G_FILE_TEST_EXISTS)) {
            g_free(beside);
            return g_canonicalize_filename(cand, NULL);
        }
    }
    return beside;
}
