/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Finding plugin files and reading their descriptors with libltdl.
 *
 * Opening a shared object runs its ELF constructors before we can look at it; the
 * ABI forbids plugins to have any (sdk/README.md), so scanning runs no plugin code of
 * a well-formed plugin.  Objects are opened local (their symbols never satisfy other
 * objects) and resident: nothing is ever unloaded. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <ltdl.h>
#include <stdlib.h>
#include <string.h>
#include "plugin/plugin-internal.h"

static gboolean ltdl_ready;

static void ltdl_init(void)
{
    if (!ltdl_ready && lt_dlinit() == 0)
        ltdl_ready = TRUE;
}

/* Best-effort kind and name from mosaic-<kind>-<name>.so, for refusals that happen
 * before the descriptor could be read.  Longer kind names first (block-filter). */
static void guess_from_file_name(PluginEntry *e, const char *base)
{
    static const char *const kinds[] = { "block-filter", "accel", "machine", "device", "block",
                                         "audio", "net", "gpu", "misc" };
    g_autofree char *stem = g_strdup(base + strlen("mosaic-"));
    stem[strlen(stem) - strlen(".so")] = '\0';
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        size_t n = strlen(kinds[i]);
        if (strncmp(stem, kinds[i], n) == 0 && stem[n] == '-' && stem[n + 1]) {
            e->kind_str = g_strdup(kinds[i]);
            e->kind = plugin_kind_from_name(kinds[i]);
            e->name = g_strdup(stem + n + 1);
            return;
        }
    }
    e->kind_str = g_strdup("unknown");
    e->name = g_strdup(stem);
}

/* glibc's dlopen maps segments without checking them against the file size: a
 * truncated .so kills the process with SIGBUS.  So check the ELF header and program
 * headers ourselves before dlopen sees the file. */
static gboolean elf_check(const char *path, char **reason)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GMappedFile) map = g_mapped_file_new(path, FALSE, &err);
    if (!map) {
        *reason = g_strdup_printf("cannot read: %s", err->message);
        return FALSE;
    }
    const char *data = g_mapped_file_get_contents(map);
    gsize len = g_mapped_file_get_length(map);
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)data;
    if (!data || len < SELFMAG || memcmp(data, ELFMAG, SELFMAG) != 0) {
        *reason = g_strdup("not an ELF shared object");
        return FALSE;
    }
    if (len < sizeof(*eh) || eh->e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32)) {
        *reason = g_strdup("truncated ELF file or another word size than this host's");
        return FALSE;
    }
    if (eh->e_type != ET_DYN) {
        *reason = g_strdup_printf("not an ELF shared object (ELF type %u)", eh->e_type);
        return FALSE;
    }
    if (eh->e_phentsize != sizeof(ElfW(Phdr)) || eh->e_phoff > len ||
        (guint64)eh->e_phnum * sizeof(ElfW(Phdr)) > len - eh->e_phoff) {
        *reason = g_strdup_printf("truncated ELF file (%" G_GSIZE_FORMAT " bytes)", len);
        return FALSE;
    }
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(data + eh->e_phoff);
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD && ph[i].p_type != PT_DYNAMIC)
            continue;
        if (ph[i].p_offset > len || ph[i].p_filesz > len - ph[i].p_offset) {
            *reason = g_strdup_printf("truncated ELF file (%" G_GSIZE_FORMAT " bytes, a segment "
                                      "ends at %" G_GUINT64_FORMAT ")",
                                      len, (guint64)ph[i].p_offset + ph[i].p_filesz);
            return FALSE;
        }
    }
    return TRUE;
}

static lt_dlhandle open_local(const char *path, char **reason)
{
    lt_dladvise advise;
    if (lt_dladvise_init(&advise) != 0) {
        *reason = g_strdup_printf("cannot open: %s", lt_dlerror());
        return NULL;
    }
    lt_dladvise_local(&advise);
    lt_dladvise_resident(&advise);
    lt_dlhandle h = lt_dlopenadvise(path, advise);
    lt_dladvise_destroy(&advise);
    if (h)
        return h;
    /* libltdl reports every failure as "file not found"; dlopen says why. */
    void *dl = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
    *reason = g_strdup_printf("cannot open: %s", dl ? "libltdl refused it" : dlerror());
    return NULL;
}

static gboolean same_file(const char *a, const char *b)
{
    g_autofree char *ra = realpath(a, NULL);
    g_autofree char *rb = realpath(b, NULL);
    return ra && rb && strcmp(ra, rb) == 0;
}

/* The descriptor and its size as the ELF symbol table records it, so a short symbol
 * is never read past its end.  NULL when the file itself does not define it (dlsym
 * also searches the file's dependencies). */
static const void *find_descriptor(lt_dlhandle h, const char *path, size_t *size)
{
    const void *sym = lt_dlsym(h, "mosaic_plugin");
    if (!sym)
        return NULL;
    Dl_info info;
    const ElfW(Sym) *esym = NULL;
    if (!dladdr1(sym, &info, (void **)&esym, RTLD_DL_SYMENT) || !info.dli_fname ||
        !same_file(info.dli_fname, path))
        return NULL;
    *size = (esym && esym->st_size) ? (size_t)esym->st_size : G_MAXSIZE;
    return sym;
}

/* Opens the file and checks its descriptor; fills e or sets its reason/hint. */
static gboolean read_plugin(PluginEntry *e, const char *base)
{
    char *reason = NULL, *hint = NULL;
    if (!elf_check(e->path, &reason)) {
        e->reason = reason;
        e->hint = g_strdup("remove it from the plugin directory");
        return FALSE;
    }
    lt_dlhandle h = open_local(e->path, &reason);
    if (!h) {
        e->reason = reason;
        e->hint = g_strdup_printf("check that the libraries it needs are installed: ldd %s",
                                  e->path);
        return FALSE;
    }
    size_t size = 0;
    const void *sym = find_descriptor(h, e->path, &size);
    if (!sym) {
        e->reason = g_strdup("not a mosaic plugin (no 'mosaic_plugin' symbol)");
        e->hint = g_strdup("define the descriptor with MOSAIC_PLUGIN(...) from <mosaic/plugin.h>");
        return FALSE;
    }
    gboolean ok = plugin_desc_check(sym, size, base, &e->desc, &e->ops_copy, &e->tables_copy,
                                    &reason, &hint);
    if (e->desc.abi_major || e->desc.abi_minor) {
        e->abi_major = e->desc.abi_major;
        e->abi_minor = e->desc.abi_minor;
        e->abi_known = TRUE;
    }
    if (e->desc.kind && plugin_kind_info(e->desc.kind) && e->desc.name &&
        plugin_name_valid(e->desc.name)) {
        e->kind = e->desc.kind;
        g_free(e->kind_str);
        e->kind_str = g_strdup(plugin_kind_name(e->kind));
        g_free(e->name);
        e->name = g_strdup(e->desc.name);
    }
    if (ok) {
        e->version = g_strdup(e->desc.version);
        if (e->ops_copy)
            e->desc.ops = e->ops_copy;
        return TRUE;
    }
    e->reason = reason;
    e->hint = hint;
    return FALSE;
}

PluginEntry *plugin_entry_from_file(const char *path)
{
    ltdl_init();
    g_autofree char *base = g_path_get_basename(path);
    PluginEntry *e = g_new0(PluginEntry, 1);
    e->path = g_strdup(path);
    guess_from_file_name(e, base);
    e->state = read_plugin(e, base) ? PLUGIN_AVAILABLE : PLUGIN_REFUSED;
    return e;
}

static gboolean plugin_file_name(const char *base)
{
    return g_str_has_prefix(base, "mosaic-") && g_str_has_suffix(base, ".so") &&
           strlen(base) > strlen("mosaic-.so");
}

static gint compare_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* mosaic-*.so in one directory, sorted so the scan order never depends on the file
 * system.  Other files are not ours and are ignored. */
static void scan_dir(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    if (!d)
        return;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    while ((n = g_dir_read_name(d)))
        if (plugin_file_name(n))
            g_ptr_array_add(names, g_strdup(n));
    g_ptr_array_sort(names, compare_str);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(dir, names->pdata[i], NULL);
        plugin_registry_scan_file(path);
    }
}

void plugin_registry_scan_dirs(const char *const *dirs)
{
    for (; dirs && *dirs; dirs++)
        scan_dir(*dirs);
}

/* The build tree's plugins count only for a binary that lives in that build tree
 * (build/<variant>/...), never for an installed one. */
static gboolean running_from_build_tree(void)
{
#ifdef MOSAIC_BUILD_PLUGINDIR
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *root_dir = g_path_get_dirname(MOSAIC_BUILD_PLUGINDIR);
    g_autofree char *root = realpath(root_dir, NULL);
    if (!exe || !root)
        return FALSE;
    g_autofree char *prefix = g_strconcat(root, "/", NULL);
    return g_str_has_prefix(exe, prefix);
#else
    return FALSE;
#endif
}

/* PREFIX/bin/mosaic -> PREFIX/lib/mosaic/<major>: an install that was staged (DESTDIR)
 * or moved finds its own plugins, as its RPATH finds its library. */
static char *plugindir_beside_exe(void)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    if (!exe)
        return NULL;
    g_autofree char *bin = g_path_get_dirname(exe);
    if (!g_str_has_suffix(bin, "/bin"))
        return NULL;
    g_autofree char *prefix = g_path_get_dirname(bin);
    g_autofree char *major = g_strdup_printf("%d", MOSAIC_ABI_MAJOR);
    return g_build_filename(prefix, "lib", "mosaic", major, NULL);
}

static void add_dir(GPtrArray *dirs, const char *dir)
{
    if (!dir || !*dir)
        return;
    for (guint i = 0; i < dirs->len; i++)
        if (strcmp(dirs->pdata[i], dir) == 0 || same_file(dirs->pdata[i], dir))
            return; /* scanning a directory twice would make each plugin its own duplicate */
    g_ptr_array_add(dirs, g_strdup(dir));
}

char **plugin_registry_search_path(const char *const *extra_paths)
{
    GPtrArray *dirs = g_ptr_array_new();
    for (; extra_paths && *extra_paths; extra_paths++)
        add_dir(dirs, *extra_paths);
    const char *env = g_getenv("MOSAIC_PLUGIN_PATH");
    if (env) {
        g_auto(GStrv) parts = g_strsplit(env, ":", -1);
        for (char **p = parts; *p; p++)
            add_dir(dirs, *p);
    }
#ifdef MOSAIC_BUILD_PLUGINDIR
    if (running_from_build_tree())
        add_dir(dirs, MOSAIC_BUILD_PLUGINDIR);
#endif
    g_autofree char *beside = running_from_build_tree() ? NULL : plugindir_beside_exe();
    if (beside && g_file_test(beside, G_FILE_TEST_IS_DIR))
        add_dir(dirs, beside);
#ifdef MOSAIC_PLUGINDIR
    add_dir(dirs, MOSAIC_PLUGINDIR);
#endif
    g_ptr_array_add(dirs, NULL);
    return (char **)g_ptr_array_free(dirs, FALSE);
}
