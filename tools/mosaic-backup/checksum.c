/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checksums of backup files (see checksum.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <xxhash.h>
#if defined(__x86_64__) || defined(__i386__)
/* The plain XXH3 entry points of libxxhash use SSE2 only; these pick AVX2 or AVX-512 at
 * run time (1.6x the throughput here): hashing is most of a checksummed backup's cost. */
#include <xxh_x86dispatch.h>
#endif
#include "checksum.h"

/* xxh128t: XXH3-128 over the XXH3-128 of every 64 KiB block of the file, then its length
 * (8 bytes little endian): what the machine computes while it writes a backup's file
 * (core/block/tree-hash.c, the same definition). */
#define TREE_BLOCK (64u << 10)

typedef struct Hasher {
    XXH3_state_t *xxh;      /* xxh128; xxh128t: the outer hash */
    XXH3_state_t *block;    /* xxh128t: the hash of the current block */
    guint64 in_block, length;
    EVP_MD_CTX *sha;
} Hasher;

static void block_end(Hasher *h)
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h->block));
    XXH3_128bits_update(h->xxh, c.digest, sizeof c.digest);
    XXH3_128bits_reset(h->block);
    h->in_block = 0;
}

static void hex(GString *out, const unsigned char *md, unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        g_string_append_printf(out, "%02x", md[i]);
}

static void finish(Hasher *h, GString *out)
{
    if (h->block) {
        if (h->in_block)
            block_end(h);
        guint8 le[8];
        for (int k = 0; k < 8; k++)
            le[k] = h->length >> (8 * k);
        XXH3_128bits_update(h->xxh, le, sizeof le);
        XXH3_freeState(h->block);
    }
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

static void update(Hasher *h, const void *p, size_t len)
{
    const guint8 *b = p;
    if (h->block) {
        h->length += len;
        while (len) {
            size_t n = MIN(len, TREE_BLOCK - h->in_block);
            XXH3_128bits_update(h->block, b, n);
            h->in_block += n;
            b += n;
            len -= n;
            if (h->in_block == TREE_BLOCK)
                block_end(h);
        }
    } else if (h->xxh)
        XXH3_128bits_update(h->xxh, p, len);
    else
        EVP_DigestUpdate(h->sha, p, len);
}

char *checksum_file(const char *path, const char *algo, GError **err)
{
    Hasher h = {0};
    if (!strcmp(algo, "xxh128") || !strcmp(algo, "xxh128t")) {
        h.xxh = XXH3_createState();
        XXH3_128bits_reset(h.xxh);
        if (!strcmp(algo, "xxh128t")) {
            h.block = XXH3_createState();
            XXH3_128bits_reset(h.block);
        }
    } else if (!strcmp(algo, "sha256")) {
        /* OpenSSL's uses the CPU's SHA instructions where there are some. */
        h.sha = EVP_MD_CTX_new();
        EVP_DigestInit_ex(h.sha, EVP_sha256(), NULL);
    } else {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: checksum algorithm '%s' is "
                    "unknown (xxh128t, xxh128 or sha256)", path, algo);
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
    /* Reads the size of the CPU's L2 cache leave each piece in the cache for the hash.
     * (A mapping instead of read() saved too little CPU to be worth a SIGBUS when the
     * file shrinks under it; new files are hashed by the machine as it writes them.) */
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    enum { BUF = 256 << 10 };
    g_autofree guchar *buf = g_malloc(BUF);
    ssize_t n;
    while ((n = read(fd, buf, BUF)) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0)
            update(&h, buf, n);
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

char *checksum_take_made(const char *sum_path)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    gboolean ok = g_file_get_contents(sum_path, &text, &len, NULL);
    unlink(sum_path);
    const char *prefix = CHECKSUM_DEFAULT ":";
    size_t plen = strlen(prefix);
    if (!ok || len != plen + 32 || strncmp(text, prefix, plen))
        return NULL;
    for (size_t i = plen; i < len; i++)
        if (!g_ascii_isxdigit(text[i]) || g_ascii_isupper(text[i]))
            return NULL;
    return g_steal_pointer(&text);
}
