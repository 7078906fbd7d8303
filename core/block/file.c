/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The file protocol driver: a host file or block device, read and written with
 * preadv/pwritev on the node's worker threads.
 *
 * cache=none opens with O_DIRECT; requests not aligned to 4 KiB then go through an
 * aligned bounce buffer of at most 1 MiB, window by window (unaligned writes
 * read-modify-write under a lock).
 * Locking uses OFD locks on the bytes QEMU uses (100 + permission bit: "I use it",
 * 200 + bit: "I do not share it"), so Mosaic and qemu-img/qemu-nbd see each other's
 * locks: two writers of one image are refused. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "block/block-internal.h"
#include "util/file-type.h"
#include <mosaic/iov.h>

#define DIO_ALIGN 4096
#define LOCK_PERM_BASE 100
#define LOCK_SHARED_BASE 200
enum { PERM_CONSISTENT_READ = 0, PERM_WRITE = 1, PERM_WRITE_UNCHANGED = 2, PERM_RESIZE = 3 };

typedef struct FileState {
    int fd;
    gboolean direct;
    GMutex rmw_lock;
    char *path;
    MosaicBlkNode *node;
} FileState;

/* The file grew: later requests may reach the new end. Any thread. */
static void file_grew(FileState *s, guint64 end)
{
    guint64 cur = __atomic_load_n(&s->node->length, __ATOMIC_RELAXED);
    while (end > cur &&
           !__atomic_compare_exchange_n(&s->node->length, &cur, end, FALSE, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
    }
}

static const MosaicPropDesc file_props[] = {
    {.key = "filename", .type = MOSAIC_PROP_PATH, .flags = MOSAIC_PROP_REQUIRED,
     .help = "host file or block device"},
    {.key = "read-only", .type = MOSAIC_PROP_BOOL, .defval = "off", .help = "open read-only"},
    {.key = "cache", .type = MOSAIC_PROP_ENUM, .choices = "writeback|none",
     .defval = "writeback", .help = "none: O_DIRECT (bypass the host page cache)"},
    {.key = "locking", .type = MOSAIC_PROP_ENUM, .choices = "on|off", .defval = "on",
     .help = "OFD locks (compatible with QEMU's) against a second writer"},
    {NULL},
};

static int ofd_lock(int fd, int cmd, short type, off_t byte)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
    if (fcntl(fd, cmd, &fl) < 0)
        return -errno;
    return cmd == F_OFD_GETLK && fl.l_type != F_UNLCK ? -EAGAIN : 0;
}

/* Writers use consistent-read, write and write-unchanged and share neither write nor
 * resize; readers use consistent-read and do not share write (as QEMU does). */
static gboolean file_lock(int fd, gboolean write, const char **what)
{
    int use[] = {PERM_CONSISTENT_READ, PERM_WRITE, PERM_WRITE_UNCHANGED};
    int unshared_w[] = {PERM_WRITE, PERM_RESIZE};
    int nuse = write ? 3 : 1, nunshared = write ? 2 : 1;
    /* Someone refuses to share what we use, or uses what we refuse to share. */
    for (int i = 0; i < nuse; i++)
        if (ofd_lock(fd, F_OFD_GETLK, F_WRLCK, LOCK_SHARED_BASE + use[i]) == -EAGAIN) {
            *what = use[i] == PERM_WRITE ? "write" : "consistent read";
            return FALSE;
        }
    for (int i = 0; i < nunshared; i++)
        if (ofd_lock(fd, F_OFD_GETLK, F_WRLCK, LOCK_PERM_BASE + unshared_w[i]) == -EAGAIN) {
            *what = "write";
            return FALSE;
        }
    for (int i = 0; i < nuse; i++)
        if (ofd_lock(fd, F_OFD_SETLK, F_RDLCK, LOCK_PERM_BASE + use[i]) < 0)
            goto busy;
    for (int i = 0; i < nunshared; i++)
        if (ofd_lock(fd, F_OFD_SETLK, F_RDLCK, LOCK_SHARED_BASE + unshared_w[i]) < 0)
            goto busy;
    return TRUE;
busy:
    *what = "write";
    return FALSE;
}

/* Opens `path` only if it is a regular file or a block device.  O_NONBLOCK so that a
 * FIFO or a device cannot block the open (it is refused after fstat, then the flag is
 * cleared); O_NOCTTY so a terminal never becomes ours.  -1 + err. */
int blk_host_file_open(const char *where, const char *path, int flags, MosaicError *err)
{
    int fd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        mosaic_error_set(err, "%s: cannot open %s: %s%s", where, path, g_strerror(e),
                         e == EACCES || e == EROFS ? " (set read-only = on?)" : "");
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        mosaic_error_set(err, "%s: cannot stat %s: %s", where, path, g_strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        mosaic_error_set(err, "%s: %s is %s, not a regular file or block device (name an "
                         "image file)", where, path, util_file_type_name(st.st_mode));
        close(fd);
        return -1;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        mosaic_error_set(err, "%s: %s: %s", where, path, g_strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* The size of a regular file or block device; FALSE when the kernel cannot tell (procfs
 * files such as /proc/self/mem answer lseek with EINVAL). */
static gboolean host_file_size(int fd, guint64 *size)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return FALSE;
    if (S_ISBLK(st.st_mode))
        return ioctl(fd, BLKGETSIZE64, size) == 0;
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0)
        return FALSE;
    *size = (guint64)end;
    return TRUE;
}

static void *file_open(MosaicBlkNode *node, const MosaicProps *props, MosaicError *err)
{
    const char *path = mosaic_props_get_str(props, "filename");
    const char *where = mosaic_props_where(props, "filename");
    gboolean ro = mosaic_props_get_bool(props, "read-only");
    gboolean direct = !strcmp(mosaic_props_get_str(props, "cache"), "none");
    int fd = blk_host_file_open(where, path, (ro ? O_RDONLY : O_RDWR) | (direct ? O_DIRECT : 0),
                            err);
    if (fd < 0)
        return NULL;
    const char *what = NULL;
    if (!strcmp(mosaic_props_get_str(props, "locking"), "on") && !file_lock(fd, !ro, &what)) {
        mosaic_error_set(err, "%s: %s is in use by another process (failed to get shared "
                         "'%s' lock; is another Mosaic or QEMU using it?)", where, path, what);
        close(fd);
        return NULL;
    }
    guint64 size = 0;
    if (!host_file_size(fd, &size)) {
        mosaic_error_set(err, "%s: cannot tell the size of %s: %s (name an image file or a "
                         "block device)", where, path, g_strerror(errno));
        close(fd);
        return NULL;
    }
    FileState *s = g_new0(FileState, 1);
    s->fd = fd;
    s->direct = direct;
    s->path = g_strdup(path);
    g_mutex_init(&s->rmw_lock);
    mosaic_blk_node_set_length(node, size);
    mosaic_blk_node_set_read_only(node, ro);
    node->filename = g_strdup(path);
    node->growable = !ro; /* formats allocate clusters past the end */
    s->node = node;
    return s;
}

static void file_close(void *state)
{
    FileState *s = state;
    close(s->fd);
    g_mutex_clear(&s->rmw_lock);
    g_free(s->path);
    g_free(s);
}

/* Full transfer or -errno; reads past the end of the file return zeroes. */
static int rw_full(int fd, const struct iovec *iov0, unsigned niov, guint64 off, gboolean write)
{
    struct iovec stackv[64];
    struct iovec *iov = niov <= 64 ? stackv : g_new(struct iovec, niov);
    memcpy(iov, iov0, niov * sizeof *iov);
    unsigned i = 0;
    int ret = 0;
    while (i < niov) {
        if (iov[i].iov_len == 0) {
            i++;
            continue;
        }
        ssize_t n = write ? pwritev(fd, iov + i, MIN(niov - i, IOV_MAX), off)
                          : preadv(fd, iov + i, MIN(niov - i, IOV_MAX), off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = -errno;
            break;
        }
        if (n == 0) {
            if (write) {
                ret = -EIO;
                break;
            }
            for (; i < niov; i++) /* end of file: zeroes */
                memset(iov[i].iov_base, 0, iov[i].iov_len);
            break;
        }
        off += n;
        while (n > 0 && i < niov) {
            size_t k = MIN((size_t)n, iov[i].iov_len);
            iov[i].iov_base = (char *)iov[i].iov_base + k;
            iov[i].iov_len -= k;
            n -= k;
            if (iov[i].iov_len == 0)
                i++;
        }
    }
    if (iov != stackv)
        g_free(iov);
    return ret;
}

static gboolean is_aligned(MosaicBlkReq *req)
{
    if ((req->offset | req->bytes) & (DIO_ALIGN - 1))
        return FALSE;
    for (unsigned i = 0; i < req->niov; i++)
        if (((uintptr_t)req->iov[i].iov_base | req->iov[i].iov_len) & (DIO_ALIGN - 1))
            return FALSE;
    return TRUE;
}

/* A request of any size goes through a bounce buffer of at most this much, one aligned
 * window at a time: the guest or NBD client picks the size, not our memory. */
#define BOUNCE_MAX (1u << 20)

static int bounce_rw(FileState *s, MosaicBlkReq *req)
{
    guint64 start = req->offset & ~(guint64)(DIO_ALIGN - 1);
    guint64 end = (req->offset + req->bytes + DIO_ALIGN - 1) & ~(guint64)(DIO_ALIGN - 1);
    gsize cap = MIN(end - start, BOUNCE_MAX);
    void *buf;
    if (posix_memalign(&buf, DIO_ALIGN, cap))
        return -ENOMEM;
    gboolean write = req->type == MOSAIC_BLK_WRITE;
    if (write)
        g_mutex_lock(&s->rmw_lock); /* read-modify-write of the partial blocks at the ends */
    int ret = 0;
    for (guint64 w = start; w < end && !ret; w += cap) {
        gsize wlen = MIN(cap, end - w);
        /* The part of the request inside this window. */
        guint64 from = MAX(w, req->offset), to = MIN(w + wlen, req->offset + req->bytes);
        char *p = (char *)buf + (from - w);
        struct iovec biov = {buf, wlen};
        if (!write || from > w || to < w + wlen)
            ret = rw_full(s->fd, &biov, 1, w, FALSE);
        if (ret)
            break;
        if (write) {
            mosaic_iov_to_buf(req->iov, req->niov, from - req->offset, p, to - from);
            ret = rw_full(s->fd, &biov, 1, w, TRUE);
        } else {
            mosaic_iov_from_buf(req->iov, req->niov, from - req->offset, p, to - from);
        }
    }
    if (write)
        g_mutex_unlock(&s->rmw_lock);
    free(buf);
    return ret;
}

static int write_zeroes(FileState *s, MosaicBlkReq *req)
{
    int mode = (req->flags & MOSAIC_BLK_MAY_UNMAP) ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
                                                   : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
    if (!s->direct || !((req->offset | req->bytes) & (DIO_ALIGN - 1))) {
        if (fallocate(s->fd, mode, req->offset, req->bytes) == 0)
            return 0;
        if (fallocate(s->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, req->offset,
                      req->bytes) == 0)
            return 0;
    }
    /* Fallback: write zeroes in chunks. */
    guint64 chunk = MIN(req->bytes, 1 << 20);
    void *z;
    if (posix_memalign(&z, DIO_ALIGN, chunk))
        return -ENOMEM;
    memset(z, 0, chunk);
    int ret = 0;
    for (guint64 done = 0; done < req->bytes && !ret; done += chunk) {
        guint64 n = MIN(chunk, req->bytes - done);
        struct iovec iov = {z, n};
        MosaicBlkReq w = {.size = sizeof w, .type = MOSAIC_BLK_WRITE, .offset = req->offset + done,
                          .bytes = n, .iov = &iov, .niov = 1};
        ret = s->direct && !is_aligned(&w) ? bounce_rw(s, &w) : rw_full(s->fd, &iov, 1, w.offset, TRUE);
    }
    free(z);
    return ret;
}

static int block_status(FileState *s, MosaicBlkReq *req)
{
    off_t data = lseek(s->fd, req->offset, SEEK_DATA);
    if (data < 0 && errno == ENXIO) { /* hole up to the end of the file */
        req->status = MOSAIC_BLK_STATUS_ZERO | MOSAIC_BLK_STATUS_ALLOCATED;
        req->status_bytes = req->bytes;
        return 0;
    }
    if (data < 0) {
        req->status = MOSAIC_BLK_STATUS_DATA | MOSAIC_BLK_STATUS_ALLOCATED;
        req->status_bytes = req->bytes;
        return 0;
    }
    if ((guint64)data > req->offset) {
        req->status = MOSAIC_BLK_STATUS_ZERO | MOSAIC_BLK_STATUS_ALLOCATED;
        req->status_bytes = MIN((guint64)data - req->offset, req->bytes);
        return 0;
    }
    off_t hole = lseek(s->fd, req->offset, SEEK_HOLE);
    guint64 n = hole < 0 || (guint64)hole <= req->offset ? req->bytes : (guint64)hole - req->offset;
    req->status = MOSAIC_BLK_STATUS_DATA | MOSAIC_BLK_STATUS_ALLOCATED;
    req->status_bytes = MIN(n, req->bytes);
    return 0;
}

static int file_io(void *state, MosaicBlkReq *req)
{
    FileState *s = state;
    switch (req->type) {
    case MOSAIC_BLK_READ:
    case MOSAIC_BLK_WRITE: {
        int ret;
        if (s->direct && !is_aligned(req))
            ret = bounce_rw(s, req);
        else
            ret = rw_full(s->fd, req->iov, req->niov, req->offset, req->type == MOSAIC_BLK_WRITE);
        if (ret == 0 && (req->flags & MOSAIC_BLK_FUA) && fdatasync(s->fd) < 0)
            ret = -errno;
        if (ret == 0 && req->type == MOSAIC_BLK_WRITE)
            file_grew(s, req->offset + req->bytes);
        return ret;
    }
    case MOSAIC_BLK_FLUSH:
        return fdatasync(s->fd) < 0 ? -errno : 0;
    case MOSAIC_BLK_DISCARD:
        if (fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, req->offset,
                      req->bytes) < 0 && errno != EOPNOTSUPP)
            return -errno;
        return 0;
    case MOSAIC_BLK_WRITE_ZEROES: {
        guint64 len = __atomic_load_n(&s->node->length, __ATOMIC_RELAXED);
        int ret = write_zeroes(s, req);
        if (ret == 0 && req->offset + req->bytes > len) { /* KEEP_SIZE: extend explicitly */
            if (ftruncate(s->fd, req->offset + req->bytes) < 0)
                return -errno;
            file_grew(s, req->offset + req->bytes);
        }
        return ret;
    }
    case MOSAIC_BLK_BLOCK_STATUS:
        return block_status(s, req);
    }
    return -ENOTSUP;
}

static const MosaicBlkDriverOps file_ops = {
    .size = sizeof(MosaicBlkDriverOps),
    .open = file_open,
    .close = file_close,
    .io = file_io,
};

const MosaicPluginDesc blk_file_desc = {
    .magic = MOSAIC_PLUGIN_MAGIC, .abi_major = MOSAIC_ABI_MAJOR, .abi_minor = MOSAIC_ABI_MINOR,
    .size = sizeof(MosaicPluginDesc), .kind = MOSAIC_KIND_BLOCK, .kind_abi = MOSAIC_BLOCK_ABI,
    .name = "file", .version = "1.0", .license = "GPL-2.0-or-later",
    .description = "host file or block device (protocol driver)",
    .props = file_props, .ops = &file_ops,
};
