/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Boot image loaders.  Files are untrusted input: every offset and size in an ELF is
 * checked against the file before use, and guest addresses go through mosaic_as_rw,
 * so a bad image is an error naming the file, never a crash. */
#include <elf.h>
#include <string.h>
#include "machine/machine-internal.h"

static gboolean read_file(const char *path, char **data, gsize *len, MosaicError *err)
{
    g_autoptr(GError) e = NULL;
    if (!g_file_get_contents(path, data, len, &e)) {
        mosaic_error_set(err, "cannot read boot image: %s", e->message);
        return FALSE;
    }
    return TRUE;
}

static gboolean write_guest(MosaicMachine *m, const char *path, uint64_t addr, const void *buf,
                            uint64_t len, MosaicError *err)
{
    if (len == 0)
        return TRUE;
    if (mosaic_as_rw(m->as, addr, (void *)buf, len, true) != MOSAIC_MEM_OK) {
        mosaic_error_set(err, "%s: %" G_GUINT64_FORMAT " bytes at 0x%" G_GINT64_MODIFIER
                         "x do not fit in guest RAM/ROM", path, len, addr);
        return FALSE;
    }
    return TRUE;
}

MOSAIC_API bool mosaic_load_raw(MosaicMachine *m, const char *path, uint64_t addr, uint64_t max,
                                uint64_t *loaded, MosaicError *err)
{
    g_autofree char *data = NULL;
    gsize len;
    if (!read_file(path, &data, &len, err))
        return false;
    if (max && len > max) {
        mosaic_error_set(err, "%s: image is %" G_GSIZE_FORMAT " bytes, at most %" G_GUINT64_FORMAT
                         " fit at 0x%" G_GINT64_MODIFIER "x", path, len, max, addr);
        return false;
    }
    if (!write_guest(m, path, addr, data, len, err))
        return false;
    if (loaded)
        *loaded = len;
    return true;
}

static gboolean in_file(gsize flen, uint64_t off, uint64_t len)
{
    return off <= flen && len <= flen - off;
}

MOSAIC_API bool mosaic_load_elf(MosaicMachine *m, const char *path, uint64_t *entry,
                                uint64_t *lowest, uint64_t *highest, MosaicError *err)
{
    g_autofree char *data = NULL;
    gsize flen;
    if (!read_file(path, &data, &flen, err))
        return false;
    Elf64_Ehdr eh;
    if (flen < sizeof(eh) || memcmp(data, ELFMAG, SELFMAG) != 0) {
        mosaic_error_set(err, "%s: not an ELF file", path);
        return false;
    }
    memcpy(&eh, data, sizeof(eh));
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
        mosaic_error_set(err, "%s: not a 64-bit little-endian ELF file", path);
        return false;
    }
    if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
        !in_file(flen, eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr))) {
        mosaic_error_set(err, "%s: program headers lie outside the file", path);
        return false;
    }
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        if (ph.p_filesz > ph.p_memsz || !in_file(flen, ph.p_offset, ph.p_filesz) ||
            ph.p_paddr + ph.p_memsz < ph.p_paddr) {
            mosaic_error_set(err, "%s: segment %u is malformed", path, i);
            return false;
        }
        if (!write_guest(m, path, ph.p_paddr, data + ph.p_offset, ph.p_filesz, err))
            return false;
        uint64_t zeros = ph.p_memsz - ph.p_filesz;
        if (zeros) {
            if (zeros > (1ull << 32)) {
                mosaic_error_set(err, "%s: segment %u has an absurd size", path, i);
                return false;
            }
            g_autofree void *z = g_malloc0(zeros);
            if (!write_guest(m, path, ph.p_paddr + ph.p_filesz, z, zeros, err))
                return false;
        }
        lo = MIN(lo, ph.p_paddr);
        hi = MAX(hi, ph.p_paddr + ph.p_memsz);
    }
    if (lo == UINT64_MAX) {
        mosaic_error_set(err, "%s: ELF file has no loadable segment", path);
        return false;
    }
    if (entry)
        *entry = eh.e_entry;
    if (lowest)
        *lowest = lo;
    if (highest)
        *highest = hi;
    return true;
}
