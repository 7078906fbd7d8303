/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What virglrenderer (0.10.4 here) does with a host-visible blob in a virgl context, the
 * ground MAP_BLOB stands on (tests/system/test_gpu_hostblob.py checks the lines):
 *   1. the context's command stream makes a pipe buffer with a blob id
 *      (VIRGL_CCMD_PIPE_RESOURCE_CREATE, 11 dwords, the 11th the blob id);
 *   2. RESOURCE_CREATE_BLOB (HOST3D, USE_MAPPABLE) with that blob id makes it a resource;
 *   3. virgl_renderer_resource_map gives a host pointer to it -- only when the pipe
 *      buffer was made with VIRGL_RESOURCE_FLAG_MAP_PERSISTENT (flags 0: EINVAL);
 *   4. bytes written through the pointer reach the GL buffer: a RESOURCE_COPY_REGION into
 *      a plain buffer and a transfer of that one read them back.  (A transfer of the
 *      mapped buffer itself does not: vrend cannot map it for reading a second time.)
 * Runs headless: EGL surfaceless (llvmpipe without a GPU). */
#define VIRGL_RENDERER_UNSTABLE_APIS
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <virgl/virglrenderer.h>

struct virgl_box { uint32_t x, y, z, w, h, d; }; /* virglrenderer.h only declares it */

enum {
    CCMD_RESOURCE_COPY_REGION = 17, CCMD_PIPE_RESOURCE_CREATE = 48,
    FORMAT_R8_UNORM = 64, BIND_VERTEX_BUFFER = 1u << 4,
    FLAG_MAP_PERSISTENT = 1u << 1, FLAG_MAP_COHERENT = 1u << 2,
};
#define CMD0(op, len) ((op) | (uint32_t)(len) << 16)
#define SIZE 4096u

static void write_fence(void *cookie, uint32_t fence) {}
static struct virgl_renderer_callbacks cbs = {.version = 1, .write_fence = write_fence};

/* A pipe buffer of SIZE bytes with `blob_id`, made by context 1, as resource `res`. */
static int host_blob(uint32_t res, uint32_t blob_id, uint32_t flags)
{
    uint32_t cmd[12] = {CMD0(CCMD_PIPE_RESOURCE_CREATE, 11), 0 /* buffer */, FORMAT_R8_UNORM,
                        BIND_VERTEX_BUFFER, SIZE, 1, 1, 1, 0, 0, flags, blob_id};
    int e = virgl_renderer_submit_cmd(cmd, 1, 12);
    if (e)
        return e;
    struct virgl_renderer_resource_create_blob_args a = {
        .res_handle = res, .ctx_id = 1, .blob_mem = VIRGL_RENDERER_BLOB_MEM_HOST3D,
        .blob_flags = VIRGL_RENDERER_BLOB_FLAG_USE_MAPPABLE, .blob_id = blob_id, .size = SIZE};
    e = virgl_renderer_resource_create_blob(&a);
    if (!e)
        virgl_renderer_ctx_attach_resource(1, res);
    return e;
}

int main(void)
{
    printf("init %d\n", virgl_renderer_init(&cbs, VIRGL_RENDERER_USE_EGL |
                                            VIRGL_RENDERER_USE_SURFACELESS, &cbs));
    printf("context %d\n", virgl_renderer_context_create(1, 4, "blob"));

    void *p = NULL;
    uint64_t size = 0;
    printf("plain blob %d\n", host_blob(10, 1, 0));
    int e = virgl_renderer_resource_map(10, &p, &size);
    printf("plain map %d\n", e);

    const uint32_t kinds[] = {FLAG_MAP_PERSISTENT, FLAG_MAP_PERSISTENT | FLAG_MAP_COHERENT};
    for (unsigned k = 0; k < 2; k++) {
        uint32_t res = 20 + k, copy = 30 + k;
        printf("persistent%s blob %d\n", k ? "+coherent" : "", host_blob(res, 2 + k, kinds[k]));
        p = NULL, size = 0;
        e = virgl_renderer_resource_map(res, &p, &size);
        printf("persistent%s map %d size %llu aligned %d\n", k ? "+coherent" : "", e,
               (unsigned long long)size, ((uintptr_t)p & 4095) == 0);
        if (e)
            continue;
        for (unsigned i = 0; i < SIZE; i++)
            ((volatile uint8_t *)p)[i] = (uint8_t)(i * 7 + 1 + k);
        struct virgl_renderer_resource_create_args r = {
            .handle = copy, .target = 0, .format = FORMAT_R8_UNORM, .bind = BIND_VERTEX_BUFFER,
            .width = SIZE, .height = 1, .depth = 1, .array_size = 1};
        virgl_renderer_resource_create(&r, NULL, 0);
        virgl_renderer_ctx_attach_resource(1, copy);
        uint32_t cp[14] = {CMD0(CCMD_RESOURCE_COPY_REGION, 13), copy, 0, 0, 0, 0, res, 0,
                           0, 0, 0, SIZE, 1, 1};
        int c = virgl_renderer_submit_cmd(cp, 1, 14);
        static uint8_t out[SIZE];
        memset(out, 0, sizeof out);
        struct iovec iov = {out, sizeof out};
        struct virgl_box box = {0, 0, 0, SIZE, 1, 1};
        int t = virgl_renderer_transfer_read_iov(copy, 1, 0, 0, 0, &box, 0, &iov, 1);
        unsigned bad = 0;
        for (unsigned i = 0; i < SIZE; i++)
            bad += out[i] != (uint8_t)(i * 7 + 1 + k);
        printf("persistent%s readback copy %d transfer %d mismatches %u\n",
               k ? "+coherent" : "", c, t, bad);
        printf("unmap %d\n", virgl_renderer_resource_unmap(res));
        virgl_renderer_resource_unref(copy);
        virgl_renderer_resource_unref(res);
    }
    printf("map of no resource %d\n", virgl_renderer_resource_map(999, &p, &size));
    virgl_renderer_resource_unref(10);
    virgl_renderer_context_destroy(1);
    virgl_renderer_cleanup(&cbs);
    return 0;
}
