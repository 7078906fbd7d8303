/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading machine files with inih: our own line reader (file:line, overlong lines,
 * section headers inih would not report), continuation lines, includes, --set. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config/config-internal.h"
#include "util/file-type.h"

/* inih's buffers for "[section]" and key names (MAX_SECTION, MAX_NAME in ini.c): longer
 * ones are cut silently, so we refuse them first. */
#define INIH_MAX_SECTION 50
#define INIH_MAX_NAME 50
#define MAX_INCLUDE_DEPTH 32

typedef struct ParseCtx {
    MosaicConfig *cfg;
    GPtrArray *stack; /* real paths of the files being read, outermost first */
    GPtrArray *names; /* their display names */
    guint files;      /* files read so far (CONFIG_MAX_FILES) */
    guint64 bytes;    /* bytes read so far (CONFIG_MAX_BYTES) */
    GError *error;    /* the first error; parsing stops there */
} ParseCtx;

/* One file being read.  inih calls reader() for a line, then handler() for it, so the
 * state the reader records describes the line the handler is called for. */
typedef struct FileReader {
    ParseCtx *ctx;
    FILE *f;             /* either a file ... */
    const char *text;    /* ... or text in memory */
    gsize pos;
    char *name;          /* as shown in messages */
    char *basedir;       /* absolute directory of the file */
    int lineno;
    ConfigSection *section;
    gboolean prev_name;  /* inih remembers a key, so an indented line continues it */
    gboolean continuation;
    ConfigEntry *last;   /* what a continuation appends to (NULL after include) */
    GString *value;      /* last's value while continuations are appended (linear time) */
    /* Whether messages may quote this file's text: the file the user named is theirs;
     * an included file only once it has shown a valid [kind label] header (so an
     * include of /etc/shadow reports file:line without echoing an account name). */
    gboolean trusted;
    const char *included_at; /* "file:line" of the include (NULL for the top file) */
} FileReader;

static void fail(ParseCtx *ctx, const char *name, int line, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static void fail(ParseCtx *ctx, const char *name, int line, const char *fmt, ...)
{
    if (ctx->error)
        return;
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (line > 0)
        g_set_error(&ctx->error, CONFIG_ERROR, CONFIG_ERROR_SYNTAX, "%s:%d: %s", name, line, msg);
    else
        g_set_error(&ctx->error, CONFIG_ERROR, CONFIG_ERROR_SYNTAX, "%s: %s", name, msg);
}

/* An error on a line whose text the message would quote: from a file not known to be
 * a machine file, only where it is. */
static void fail_line(FileReader *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void fail_line(FileReader *r, const char *fmt, ...)
{
    if (!r->trusted) {
        fail(r->ctx, r->name, r->lineno, "not a line of a machine file (this file is included "
             "at %s and has no [kind label] header before this line; its text is not shown)",
             r->included_at);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fail(r->ctx, r->name, r->lineno, "%s", msg);
}

/* One physical line without its line end (cut after 4 KiB); NULL at end of input. */
static GString *read_physical_line(FileReader *r)
{
    GString *s = g_string_new(NULL);
    if (r->f) {
        /* getc, not fgets: NUL bytes must count, and a line without an end (/dev/zero)
         * is cut once it is surely too long; the reader refuses it then. */
        int c = EOF;
        while (s->len <= 4096 && (c = getc(r->f)) != EOF && c != '\n')
            g_string_append_c(s, (char)c);
        if (c == EOF && !s->len) {
            g_string_free(s, TRUE);
            return NULL;
        }
        r->ctx->bytes += c == '\n'; /* the line end counts too */
    } else {
        if (!r->text[r->pos]) {
            g_string_free(s, TRUE);
            return NULL;
        }
        const char *nl = strchr(r->text + r->pos, '\n');
        gsize n = nl ? (gsize)(nl - (r->text + r->pos)) + 1 : strlen(r->text + r->pos);
        g_string_append_len(s, r->text + r->pos, n);
        r->pos += n;
    }
    r->ctx->bytes += s->len;
    if (s->len && s->str[s->len - 1] == '\n')
        g_string_truncate(s, s->len - 1);
    if (s->len && s->str[s->len - 1] == '\r')
        g_string_truncate(s, s->len - 1);
    return s;
}

/* Like inih's ini_find_chars_or_comment: the first of `chars`, or an inline ';' comment
 * (one that follows whitespace), or the end. */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
    gboolean was_space = FALSE;
    while (*s && !(chars && strchr(chars, *s)) && !(was_space && *s == ';')) {
        was_space = g_ascii_isspace(*s);
        s++;
    }
    return s;
}

static void where_fmt(FileReader *r, char *buf, gsize size)
{
    g_snprintf(buf, size, "%s:%d", r->name, r->lineno);
}

static gboolean parse_header(FileReader *r, const char *start)
{
    ParseCtx *ctx = r->ctx;
    const char *end = find_chars_or_comment(start + 1, "]");
    if (*end != ']') {
        fail_line(r, "section header has no closing ']' (write [kind label])");
        return FALSE;
    }
    const char *rest = end + 1;
    while (g_ascii_isspace(*rest))
        rest++;
    if (*rest && *rest != ';' && *rest != '#') {
        fail_line(r, "unexpected text '%s' after the section header", rest);
        return FALSE;
    }
    g_autofree char *inner = g_strndup(start + 1, end - start - 1);
    if (strlen(inner) >= INIH_MAX_SECTION) {
        fail_line(r, "section header is longer than %d characters (the INI "
             "parser's limit); use a shorter label", INIH_MAX_SECTION - 1);
        return FALSE;
    }
    g_auto(GStrv) tok = g_strsplit_set(g_strstrip(inner), " \t", -1);
    /* g_strsplit_set keeps empty tokens between repeated blanks: drop them. */
    const char *words[3] = {NULL, NULL, NULL};
    guint n = 0;
    for (guint i = 0; tok[i]; i++) {
        if (!*tok[i])
            continue;
        if (n == 2) {
            fail_line(r, "section header [%s] has more than a kind and a label",
                 inner);
            return FALSE;
        }
        words[n++] = tok[i];
    }
    if (n == 0) {
        fail_line(r, "empty section header (write [kind label])");
        return FALSE;
    }
    if (!config_is_name(words[0])) {
        fail_line(r, "bad section kind '%s' (letters, digits, '-' and '_')",
             words[0]);
        return FALSE;
    }
    if (words[1] && !config_is_label(words[1])) {
        fail_line(r, "bad label '%s' in [%s %s] (letters, digits, '-' and '_')",
             words[1], words[0], words[1]);
        return FALSE;
    }
    if (!config_section_lookup(ctx->cfg, words[0], words[1]) &&
        ctx->cfg->sections->len >= CONFIG_MAX_SECTIONS) {
        fail(ctx, r->name, r->lineno, "more than %d sections (the limit)", CONFIG_MAX_SECTIONS);
        return FALSE;
    }
    char where[PATH_MAX + 32];
    where_fmt(r, where, sizeof(where));
    r->section = config_section_get(ctx->cfg, words[0], words[1], where, r->basedir);
    r->trusted = TRUE;
    return TRUE;
}

/* Mirrors inih's classification of the line so we know what inih is about to do. */
static gboolean classify(FileReader *r, const char *line)
{
    const char *start = line;
    if (r->lineno == 1 && !strncmp(start, "\xEF\xBB\xBF", 3))
        start += 3;
    while (g_ascii_isspace(*start))
        start++;
    gboolean indented = start > line;

    r->continuation = FALSE;
    if (!*start || *start == ';' || *start == '#')
        return TRUE;
    if (r->prev_name && indented) {
        r->continuation = TRUE;
        return TRUE;
    }
    if (*start == '[') {
        r->prev_name = FALSE;
        return parse_header(r, start);
    }
    const char *end = find_chars_or_comment(start, "=:");
    if (*end != '=' && *end != ':') {
        fail_line(r, "expected 'key = value', a '[kind label]' header or a ';' comment");
        return FALSE;
    }
    const char *name_end = end;
    while (name_end > start && g_ascii_isspace(name_end[-1]))
        name_end--;
    if (name_end == start) {
        fail_line(r, "missing key before '%c'", *end);
        return FALSE;
    }
    if (name_end - start >= INIH_MAX_NAME) {
        fail_line(r, "key is longer than %d characters (the INI parser's limit)",
             INIH_MAX_NAME - 1);
        return FALSE;
    }
    r->prev_name = TRUE;
    return TRUE;
}

static char *reader(char *buf, int num, void *stream)
{
    FileReader *r = stream;
    if (r->ctx->error)
        return NULL;
    g_autoptr(GString) line = read_physical_line(r);
    if (!line)
        return NULL;
    if (r->ctx->bytes > CONFIG_MAX_BYTES) {
        fail(r->ctx, r->name, r->lineno + 1, "the machine file and its includes are longer "
             "than %d MiB (the limit)", CONFIG_MAX_BYTES >> 20);
        return NULL;
    }
    r->lineno++;
    if (strlen(line->str) != line->len) {
        fail(r->ctx, r->name, r->lineno, "NUL byte in line (not a text file?)");
        return NULL;
    }
    /* inih needs room for the line, '\n' and '\0'; a longer line would be cut and its
     * rest read as a line of its own. */
    gsize limit = num > 2 ? (gsize)num - 2 : 0;
    if (line->len > limit) {
        fail(r->ctx, r->name, r->lineno, "line is %zu characters long, the limit is %zu (split "
             "a long value over indented continuation lines)", line->len, limit);
        return NULL;
    }
    if (!classify(r, line->str))
        return NULL;
    memcpy(buf, line->str, line->len);
    buf[line->len] = '\n';
    buf[line->len + 1] = '\0';
    return buf;
}

static gboolean parse_reader(FileReader *r);

static char *real_path(const char *path)
{
    char *rp = realpath(path, NULL);
    if (rp) {
        char *g = g_strdup(rp);
        free(rp);
        return g;
    }
    return g_canonicalize_filename(path, NULL);
}

static char *display_path(const char *includer, const char *path)
{
    if (g_path_is_absolute(path))
        return g_strdup(path);
    g_autofree char *dir = g_path_get_dirname(includer);
    if (!strcmp(dir, "."))
        return g_strdup(path);
    return g_build_filename(dir, path, NULL);
}

/* The top file as the user named it (a pipe such as <(...) is fine: the user chose to
 * wait for it); an include only as a regular file, opened without blocking so a FIFO
 * cannot stall start-up.  NULL + error. */
static FILE *open_machine_file(ParseCtx *ctx, const char *name, const char *at_name,
                               int at_line)
{
    int fd = open(name, O_RDONLY | O_NOCTTY | O_CLOEXEC | (at_name ? O_NONBLOCK : 0));
    struct stat st;
    int e = fd < 0 || fstat(fd, &st) < 0 ? errno : 0;
    const char *bad = !e && (at_name ? !S_ISREG(st.st_mode) : S_ISDIR(st.st_mode))
                          ? util_file_type_name(st.st_mode) : NULL;
    if (!e && !bad && at_name && fcntl(fd, F_SETFL, O_RDONLY) < 0)
        e = errno;
    FILE *f = !e && !bad ? fdopen(fd, "r") : NULL;
    if (f)
        return f;
    if (!e && !bad)
        e = errno;
    if (fd >= 0)
        close(fd);
    if (at_name && bad)
        fail(ctx, at_name, at_line, "cannot include '%s': it is %s, not a regular file", name,
             bad);
    else if (at_name)
        fail(ctx, at_name, at_line, "cannot include '%s': %s", name, g_strerror(e));
    else
        fail(ctx, name, 0, "cannot read machine file: %s", bad ? bad : g_strerror(e));
    return NULL;
}

static gboolean parse_file(ParseCtx *ctx, const char *name, const char *at_name, int at_line)
{
    g_autofree char *abs = g_canonicalize_filename(name, NULL);
    g_autofree char *rp = real_path(abs);
    for (guint i = 0; i < ctx->stack->len; i++) {
        if (!strcmp(g_ptr_array_index(ctx->stack, i), rp)) {
            g_autoptr(GString) chain = g_string_new(NULL);
            for (guint j = i; j < ctx->names->len; j++)
                g_string_append_printf(chain, "%s -> ", (char *)g_ptr_array_index(ctx->names, j));
            g_string_append(chain, name);
            fail(ctx, at_name, at_line, "include cycle: %s", chain->str);
            return FALSE;
        }
    }
    if (ctx->stack->len >= MAX_INCLUDE_DEPTH) {
        fail(ctx, at_name, at_line, "includes nested more than %d deep", MAX_INCLUDE_DEPTH);
        return FALSE;
    }
    if (++ctx->files > CONFIG_MAX_FILES) {
        fail(ctx, at_name, at_line, "more than %d files read with their includes (the limit)",
             CONFIG_MAX_FILES);
        return FALSE;
    }
    FILE *f = open_machine_file(ctx, name, at_name, at_line);
    if (!f)
        return FALSE;
    g_autofree char *at = at_name ? g_strdup_printf("%s:%d", at_name, at_line) : NULL;
    FileReader r = {.ctx = ctx, .f = f, .name = g_strdup(name), .trusted = !at_name,
                    .included_at = at};
    r.basedir = g_path_get_dirname(abs);
    g_ptr_array_add(ctx->stack, g_strdup(rp));
    g_ptr_array_add(ctx->names, g_strdup(name));
    gboolean ok = parse_reader(&r);
    if (ok && ferror(f)) {
        fail(ctx, name, r.lineno + 1, "read error: %s", g_strerror(errno));
        ok = FALSE;
    }
    g_ptr_array_remove_index(ctx->stack, ctx->stack->len - 1);
    g_ptr_array_remove_index(ctx->names, ctx->names->len - 1);
    fclose(f);
    g_free(r.name);
    g_free(r.basedir);
    return ok;
}

/* The value being continued is complete. */
static void end_value(FileReader *r)
{
    if (r->value) {
        g_free(r->last->value);
        r->last->value = g_string_free(r->value, FALSE);
        r->value = NULL;
    }
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    FileReader *r = user;
    ParseCtx *ctx = r->ctx;
    if (ctx->error)
        return 0;
    if (r->continuation) {
        if (!r->last) {
            fail(ctx, r->name, r->lineno, "an include path cannot continue on the next line");
            return 0;
        }
        if (config_looks_like_key(value)) {
            fail(ctx, r->name, r->lineno, "this indented line continues the value of '%s'; "
                 "keys must start at the beginning of the line", r->last->key);
            return 0;
        }
        if (!r->value)
            r->value = g_string_new(r->last->value);
        if (r->value->len + 1 + strlen(value) > CONFIG_MAX_VALUE_CHARS) {
            fail(ctx, r->name, r->lineno, "the value of '%s' is longer than %d characters (the "
                 "limit)", r->last->key, CONFIG_MAX_VALUE_CHARS);
            return 0;
        }
        g_string_append_c(r->value, ' ');
        g_string_append(r->value, value);
        return 1;
    }
    end_value(r);
    char where[PATH_MAX + 32];
    where_fmt(r, where, sizeof(where));
    if (!strcmp(name, "include")) {
        r->last = NULL;
        if (!*value) {
            fail(ctx, r->name, r->lineno, "include needs a file name");
            return 0;
        }
        g_autofree char *path = display_path(r->name, value);
        return parse_file(ctx, path, r->name, r->lineno) ? 1 : 0;
    }
    if (!r->section) {
        fail_line(r, "key '%s' is outside any section (put it after a [kind label] header, "
                  "e.g. [machine])", name);
        return 0;
    }
    if (!config_is_key(name)) {
        fail(ctx, r->name, r->lineno, "bad key name '%s' (letters, digits, '-' and '_'; "
             "dots between names)", name);
        return 0;
    }
    if (!config_section_entry(r->section, name) &&
        r->section->entries->len >= CONFIG_MAX_KEYS) {
        fail(ctx, r->name, r->lineno, "more than %d keys in one section (the limit)",
             CONFIG_MAX_KEYS);
        return 0;
    }
    config_section_set(r->section, name, value, where, r->basedir);
    r->last = config_section_entry(r->section, name);
    return 1;
}

static gboolean parse_reader(FileReader *r)
{
    int rc = ini_parse_stream(reader, r, handler, r);
    if (r->value && !r->ctx->error)
        end_value(r);
    if (r->value)
        g_string_free(r->value, TRUE);
    if (r->ctx->error)
        return FALSE;
    if (rc != 0) {
        /* Our reader refuses every line inih would not accept; just in case. */
        fail(r->ctx, r->name, rc > 0 ? rc : 0, "syntax error");
        return FALSE;
    }
    return TRUE;
}

/* "kind.key=value" or "kind.label.key=value"; a key may itself hold dots
 * (audiodev.snd0.out.pipeline=...), so everything after the label is the key. */
static gboolean apply_set(MosaicConfig *cfg, const char *set, guint index, const char *cwd,
                          GError **err)
{
    g_autofree char *where = g_strdup_printf("--set:%u", index);
    const char *eq = strchr(set, '=');
    g_autofree char *lhs = eq ? g_strndup(set, eq - set) : NULL;
    g_auto(GStrv) parts = lhs ? g_strsplit(g_strstrip(lhs), ".", -1) : NULL;
    guint n = parts ? g_strv_length(parts) : 0;
    if (n < 2) {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_SYNTAX,
                    "%s: '%s' is not kind.key=value or kind.label.key=value "
                    "(e.g. machine.memory=1G, blockdev.disk0.file=disk.img)", where, set);
        return FALSE;
    }
    const char *kind = parts[0], *label = n >= 3 ? parts[1] : NULL;
    g_autofree char *key = g_strjoinv(".", parts + (n >= 3 ? 2 : 1));
    if (!config_is_name(kind) || (label && !config_is_label(label)) || !config_is_key(key)) {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_SYNTAX,
                    "%s: bad section kind, label or key in '%s' (letters, digits, '-' and '_')",
                    where, set);
        return FALSE;
    }
    if (!strcmp(key, "include")) {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_SYNTAX,
                    "%s: --set cannot include files; put the include in the machine file", where);
        return FALSE;
    }
    g_autofree char *value = g_strstrip(g_strdup(eq + 1));
    for (const char *p = value; *p; p++) {
        /* The value must survive being written back by --dump-config. */
        if ((guchar)*p < 0x20 || (p > value && *p == ';' && g_ascii_isspace(p[-1]))) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_SYNTAX,
                        "%s: the value of '%s' contains a control character or ' ;' "
                        "(which starts a comment in machine files)", where, lhs);
            return FALSE;
        }
    }
    ConfigSection *s = config_section_get(cfg, kind, label, where, cwd);
    config_section_set(s, key, value, where, cwd);
    return TRUE;
}

static MosaicConfig *load(const char *name, const char *text, const char *const *sets,
                          GError **err)
{
    g_return_val_if_fail(name != NULL, NULL);
    config_sections_init();
    MosaicConfig *cfg = config_new(name);
    ParseCtx ctx = {.cfg = cfg,
                    .stack = g_ptr_array_new_with_free_func(g_free),
                    .names = g_ptr_array_new_with_free_func(g_free)};
    gboolean ok;
    if (text) {
        g_autofree char *abs = g_canonicalize_filename(name, NULL);
        FileReader r = {.ctx = &ctx, .text = text, .name = (char *)name, .trusted = TRUE};
        r.basedir = g_path_get_dirname(abs);
        g_ptr_array_add(ctx.stack, real_path(abs));
        g_ptr_array_add(ctx.names, g_strdup(name));
        ok = parse_reader(&r);
        g_free(r.basedir);
    } else {
        ok = parse_file(&ctx, name, NULL, 0);
    }
    g_ptr_array_unref(ctx.stack);
    g_ptr_array_unref(ctx.names);
    if (!ok) {
        g_propagate_error(err, ctx.error);
        config_free(cfg);
        return NULL;
    }
    g_autofree char *cwd = g_get_current_dir();
    for (guint i = 0; sets && sets[i]; i++) {
        if (!apply_set(cfg, sets[i], i + 1, cwd, err)) {
            config_free(cfg);
            return NULL;
        }
    }
    return cfg;
}

MosaicConfig *config_load(const char *path, const char *const *sets, GError **err)
{
    return load(path, NULL, sets, err);
}

MosaicConfig *config_load_string(const char *name, const char *text, const char *const *sets,
                                 GError **err)
{
    g_return_val_if_fail(text != NULL, NULL);
    return load(name, text, sets, err);
}
