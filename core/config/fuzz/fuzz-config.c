/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the machine-file reader (core/config/parse.c and the section and
 * entry store it fills), fed whole files.  Includes are followed as in real use (so the
 * include bounds are fuzzed too); run it from an empty directory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = g_strndup((const char *)data, size); /* a NUL ends the text, as in a file */
    GError *err = NULL;
    MosaicConfig *cfg = config_load_string("fuzz.ini", text, NULL, &err);
    g_free(text);
    if (!cfg) {
        /* Every refusal is one line that says where ("file:line: ..."). */
        if (!err || !strchr(err->message, ':') || strchr(err->message, '\n'))
            abort();
        g_error_free(err);
        return 0;
    }
    /* The reader promised its bounds. */
    if (cfg->sections->len > CONFIG_MAX_SECTIONS)
        abort();
    for (guint i = 0; i < cfg->sections->len; i++) {
        ConfigSection *s = g_ptr_array_index(cfg->sections, i);
        if (s->index != i || s->entries->len > CONFIG_MAX_KEYS ||
            config_section_lookup(cfg, s->kind, s->label) != s)
            abort();
        for (guint j = 0; j < s->entries->len; j++) {
            ConfigEntry *e = g_ptr_array_index(s->entries, j);
            if (strlen(e->value) > CONFIG_MAX_VALUE_CHARS || config_section_entry(s, e->key) != e)
                abort();
        }
    }
    config_free(cfg);
    return 0;
}
