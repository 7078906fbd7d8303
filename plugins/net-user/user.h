/* SPDX-License-Identifier: GPL-2.0-or-later */
/* net-user: user-mode networking through libslirp (Debian 12: 4.7).  The guest gets a
 * NATed network (default 10.0.2.0/24: gateway and host 10.0.2.2, DNS 10.0.2.3, DHCP
 * from 10.0.2.15); its connections become host sockets, and host ports can be
 * forwarded into the guest (`hostfwd`). */
#ifndef NET_USER_H
#define NET_USER_H

#include <glib.h>
#include <slirp/libslirp.h>
#include <mosaic/mosaic.h>

typedef struct NetUser {
    MosaicNet *net;
    Slirp *slirp;
    GHashTable *watches;  /* fd -> MosaicFdWatch*: the sockets slirp wants polled */
    GArray *pollfds;      /* (fd, events) of the last slirp_pollfds_fill, by index */
    int fired_fd;         /* the descriptor being reported to slirp_pollfds_poll */
    unsigned fired_events;
    MosaicTimer *poll_timer; /* slirp's own timeout (TCP timers) */
    MosaicBH *refresh_bh;
    char *where;          /* file:line of the section, for messages */
} NetUser;

/* user-poll.c: slirp's sockets and timers on the main loop. */
extern const SlirpCb user_slirp_cb;
void user_poll_init(NetUser *u);
void user_poll_fini(NetUser *u);
void user_refresh(NetUser *u);
/* hostfwd.c: "tcp:HOSTADDR:HOSTPORT-GUESTADDR:GUESTPORT,..." (addresses may be empty). */
bool user_add_hostfwds(NetUser *u, const char *spec, struct in_addr guest_default,
                       MosaicError *err);

#endif
