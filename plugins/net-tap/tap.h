/* SPDX-License-Identifier: GPL-2.0-or-later */
/* net-tap: the state its files share. */
#ifndef TAP_H
#define TAP_H

#include <glib.h>
#include <mosaic/mosaic.h>

#define RX_BUDGET 64

typedef struct NetTap {
    MosaicNet *net;
    int fd;
    MosaicFdWatch *watch;
    bool held, want_write;
    size_t held_len;
    int vhost_fd;          /* /dev/vhost-net, owned by this process; -1 without */
    uint64_t vhost_features;
    bool vhost_running;    /* the kernel runs the rings: this process leaves the device alone */
    uint8_t buf[MOSAIC_NET_HDR_LEN + MOSAIC_NET_MAX_FRAME];
} NetTap;

void tap_watch_update(NetTap *t);
/* vhost.c.  Opens /dev/vhost-net as `vhost` says: false + err only for vhost = on. */
bool tap_vhost_open(NetTap *t, const MosaicProps *props, MosaicError *err);
bool tap_vhost_start(void *state, const MosaicNetVhost *vh);
void tap_vhost_stop(void *state);

#endif
