/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checksums of backup files (see checksum.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <xxhash.h>
#include "checksum.h"

typedef struct Hasher {
    XXH3_state_t *xxh;
    EVP_MD_CTX *sha;
} Hasher;

static void hex(GString *out, const unsigned char *md, unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        g_string_append_printf(out, "%02x", md[i]);
}

static void finish(Hasher *h, GString *out)
{
    if (h->xxh) {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h->xxh));
        hex(out, c.digest, sizeof c.digest);
        XXH3_freeState(h->xxh);
    } else {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        EVP_DigestFinal_ex(h->sha, md, &len);
        hex(out, md, len);
        EVP_MD_CTX_free(h->sha);
    }
}

char *checksum_file(const char *path, const char *algo, GError **err)
{
    Hasher h = {0};
    if (!strcmp(algo, "xxh128")) {
        h.xxh = XXH3_createState();
        XXH3_128bits_reset(h.xxh);
    } else if (!strcmp(algo, "sha256")) {
        /* OpenSSL's uses the CPU's SHA instructions where there are some. */
        h.sha = EVP_MD_CTX_new();
        EVP_DigestInit_ex(h.sha, EVP_sha256(), NULL);
    } else {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: checksum algorithm '%s' is "
                    "unknown (xxh128 or sha256)", path, algo);
        return NULL;
    }
    GString *out = g_string_new(algo);
    g_string_append_c(out, ':');
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        finish(&h, out);
        g_string_free(out, TRUE);
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path,
                    g_strerror(e));
        return NULL;
    }
    /* The file is usually still in the page cache: reads the size of the CPU's L2 cache
     * leave each piece in the cache for the hash (4 MiB reads made the copy from the
     * page cache and the hash each stream through memory: twice the checksum's time). */
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    enum { BUF = 256 << 10 };
    g_autofree guchar *buf = g_malloc(BUF);
    ssize_t n;
    while ((n = read(fd, buf, BUF)) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0 && h.xxh)
            XXH3_128bits_update(h.xxh, buf, n);
        else if (n > 0)
            EVP_DigestUpdate(h.sha, buf, n);
    }
    int e = errno;
    close(fd);
    finish(&h, out);
    if (n < 0) {
        g_string_free(out, TRUE);
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_IO, "%s: read error: %s", path, g_strerror(e));
        return NULL;
    }
    return g_string_free(out, FALSE);
}

char *checksum_file_like(const char *path, const char *expected, GError **err)
{
    const char *colon = strchr(expected, ':');
    g_autofree char *algo = colon ? g_strndup(expected, colon - expected)
                                  : g_strdup(CHECKSUM_DEFAULT);
    return checksum_file(path, algo, err);
}
