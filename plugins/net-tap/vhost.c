/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vhost-net: the host kernel moves frames between the TAP device and the guest's rings
 * (the virtio-net device hands them over, mosaic/net.h's vhost ops), so a frame crosses
 * no system call of Mosaic's.  The TAP device keeps the 12-byte virtio-net header
 * (VHOST_NET_F_VIRTIO_NET_HDR is not asked for: the socket side carries it). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/vhost.h>

#include "tap.h"

/* The ring features vhost-net understands; the net features (MAC, offloads ...) are the
 * device's and the TAP device's business. */
#define RING_FEATURES (1ull << 32 /* VERSION_1 */ | 1ull << 15 /* MRG_RXBUF */ | \
                       1ull << 28 /* INDIRECT_DESC */ | 1ull << 29 /* EVENT_IDX */)

bool tap_vhost_open(NetTap *t, const MosaicProps *props, MosaicError *err)
{
    const char *mode = mosaic_props_get_str(props, "vhost");
    if (!strcmp(mode, "off"))
        return true;
    int fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
    const char *step = "/dev/vhost-net";
    if (fd >= 0 && ioctl(fd, VHOST_SET_OWNER) != 0)
        step = "VHOST_SET_OWNER";
    else if (fd >= 0 && ioctl(fd, VHOST_GET_FEATURES, &t->vhost_features) != 0)
        step = "VHOST_GET_FEATURES";
    else if (fd >= 0) {
        t->vhost_fd = fd;
        mosaic_log("net", 2, "netdev %s: vhost-net available", mosaic_net_label(t->net));
        return true;
    }
    int e = errno;
    if (fd >= 0)
        close(fd);
    const char *hint = e == ENOENT ? " (load the vhost_net module: modprobe vhost_net)"
                       : e == EACCES || e == EPERM ? " (the user needs read/write access to /dev/vhost-net)"
                                                   : "";
    if (!strcmp(mode, "on")) {
        mosaic_error_set(err, "%s: vhost = on: %s: %s%s", mosaic_props_where(props, "vhost"), step,
                         g_strerror(e), hint);
        return false;
    }
    mosaic_log("net", 1, "netdev %s: vhost-net unavailable (%s: %s%s); Mosaic moves the frames "
               "itself", mosaic_net_label(t->net), step, g_strerror(e), hint);
    return true;
}

static bool vring(NetTap *t, unsigned index, const MosaicNetVhostQueue *q, const char **step)
{
    struct vhost_vring_state num = {.index = index, .num = q->num};
    struct vhost_vring_state base = {.index = index, .num = q->last_avail};
    struct vhost_vring_addr addr = {.index = index, .flags = 1u << VHOST_VRING_F_LOG,
                                    .desc_user_addr = (uintptr_t)q->desc,
                                    .avail_user_addr = (uintptr_t)q->avail,
                                    .used_user_addr = (uintptr_t)q->used,
                                    .log_guest_addr = q->used_gpa};
    struct vhost_vring_file kick = {.index = index, .fd = q->kick};
    struct vhost_vring_file call = {.index = index, .fd = q->call};
    struct vhost_vring_file backend = {.index = index, .fd = t->fd};
    return (*step = "VHOST_SET_VRING_NUM", !ioctl(t->vhost_fd, VHOST_SET_VRING_NUM, &num)) &&
           (*step = "VHOST_SET_VRING_BASE", !ioctl(t->vhost_fd, VHOST_SET_VRING_BASE, &base)) &&
           (*step = "VHOST_SET_VRING_ADDR", !ioctl(t->vhost_fd, VHOST_SET_VRING_ADDR, &addr)) &&
           (*step = "VHOST_SET_VRING_KICK", !ioctl(t->vhost_fd, VHOST_SET_VRING_KICK, &kick)) &&
           (*step = "VHOST_SET_VRING_CALL", !ioctl(t->vhost_fd, VHOST_SET_VRING_CALL, &call)) &&
           (*step = "VHOST_NET_SET_BACKEND", !ioctl(t->vhost_fd, VHOST_NET_SET_BACKEND, &backend));
}

static void detach(NetTap *t)
{
    for (unsigned i = 0; i < 2; i++) {
        struct vhost_vring_file none = {.index = i, .fd = -1};
        ioctl(t->vhost_fd, VHOST_NET_SET_BACKEND, &none);
    }
}

bool tap_vhost_start(void *state, const MosaicNetVhost *vh)
{
    NetTap *t = state;
    if (t->vhost_fd < 0)
        return false;
    if (!vh->log || vh->log_fd < 0 || !(t->vhost_features & 1ull << VHOST_F_LOG_ALL)) {
        mosaic_log("net", 1, "netdev %s: vhost-net not used: it cannot log the guest pages it "
                   "writes; Mosaic moves the frames itself", mosaic_net_label(t->net));
        return false;
    }
    /* Every page the kernel writes is logged: the device passes them on as dirty. */
    uint64_t features = (vh->features & t->vhost_features & RING_FEATURES) | 1ull << VHOST_F_LOG_ALL;
    uint64_t log = (uintptr_t)vh->log;
    size_t msize = sizeof(struct vhost_memory) + vh->nmem * sizeof(struct vhost_memory_region);
    g_autofree struct vhost_memory *mem = g_malloc0(msize);
    mem->nregions = vh->nmem;
    for (unsigned i = 0; i < vh->nmem; i++)
        mem->regions[i] = (struct vhost_memory_region){.guest_phys_addr = vh->mem[i].gpa,
                                                       .memory_size = vh->mem[i].size,
                                                       .userspace_addr = (uintptr_t)vh->mem[i].host};
    const char *step = "VHOST_SET_FEATURES";
    bool ok = !ioctl(t->vhost_fd, VHOST_SET_FEATURES, &features) &&
              (step = "VHOST_SET_MEM_TABLE", !ioctl(t->vhost_fd, VHOST_SET_MEM_TABLE, mem)) &&
              (step = "VHOST_SET_LOG_BASE", !ioctl(t->vhost_fd, VHOST_SET_LOG_BASE, &log)) &&
              (step = "VHOST_SET_LOG_FD", !ioctl(t->vhost_fd, VHOST_SET_LOG_FD, &vh->log_fd)) &&
              vring(t, 0, &vh->rx, &step) && vring(t, 1, &vh->tx, &step);
    if (!ok) {
        int e = errno;
        detach(t);
        mosaic_log("net", 1, "netdev %s: vhost-net refused the rings (%s: %s); Mosaic moves the "
                   "frames itself", mosaic_net_label(t->net), step, g_strerror(e));
        return false;
    }
    t->held = false; /* a frame read before the switch: the guest's driver was just reset */
    t->vhost_running = true;
    tap_watch_update(t);
    mosaic_log("net", 2, "netdev %s: vhost-net runs the rings", mosaic_net_label(t->net));
    return true;
}

void tap_vhost_stop(void *state)
{
    NetTap *t = state;
    if (!t->vhost_running)
        return;
    detach(t);
    t->vhost_running = false;
    tap_watch_update(t);
}
