/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slirp's sockets and timers on the main loop: after every call into slirp, the set of
 * descriptors it wants polled is read again (slirp_pollfds_fill) and the watches are
 * brought in line; an event on one is reported back through slirp_pollfds_poll. */
#include "user.h"

typedef struct PollFd {
    int fd;
    int events; /* SLIRP_POLL_* */
} PollFd;

static int add_poll(int fd, int events, void *opaque)
{
    NetUser *u = opaque;
    PollFd p = {fd, events};
    g_array_append_val(u->pollfds, p);
    return u->pollfds->len - 1;
}

static int get_revents(int idx, void *opaque)
{
    NetUser *u = opaque;
    if (idx < 0 || (unsigned)idx >= u->pollfds->len)
        return 0;
    PollFd *p = &g_array_index(u->pollfds, PollFd, idx);
    if (p->fd != u->fired_fd)
        return 0;
    int r = 0;
    if (u->fired_events & MOSAIC_FD_READ)
        r |= SLIRP_POLL_IN;
    if (u->fired_events & MOSAIC_FD_WRITE)
        r |= SLIRP_POLL_OUT;
    if (u->fired_events & MOSAIC_FD_HUP)
        r |= SLIRP_POLL_HUP | SLIRP_POLL_IN;
    return r & (p->events | SLIRP_POLL_HUP | SLIRP_POLL_ERR);
}

static void fd_event(void *opaque, int fd, unsigned events)
{
    NetUser *u = opaque;
    u->fired_fd = fd;
    u->fired_events = events;
    slirp_pollfds_poll(u->slirp, 0, get_revents, u);
    u->fired_fd = -1;
    user_refresh(u);
}

static void poll_timeout(void *opaque)
{
    NetUser *u = opaque;
    u->fired_fd = -1;
    slirp_pollfds_poll(u->slirp, 0, get_revents, u); /* runs slirp's TCP timers */
    user_refresh(u);
}

void user_refresh(NetUser *u)
{
    uint32_t timeout = UINT32_MAX;
    g_array_set_size(u->pollfds, 0);
    slirp_pollfds_fill(u->slirp, &timeout, add_poll, u);
    g_autoptr(GHashTable) want = g_hash_table_new(NULL, NULL);
    for (guint i = 0; i < u->pollfds->len; i++) {
        PollFd *p = &g_array_index(u->pollfds, PollFd, i);
        unsigned ev = GPOINTER_TO_UINT(g_hash_table_lookup(want, GINT_TO_POINTER(p->fd)));
        if (p->events & (SLIRP_POLL_IN | SLIRP_POLL_PRI))
            ev |= MOSAIC_FD_READ;
        if (p->events & SLIRP_POLL_OUT)
            ev |= MOSAIC_FD_WRITE;
        g_hash_table_insert(want, GINT_TO_POINTER(p->fd), GUINT_TO_POINTER(ev | MOSAIC_FD_HUP));
    }
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, u->watches);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (!g_hash_table_contains(want, k)) {
            mosaic_fd_unwatch(v);
            g_hash_table_iter_remove(&it);
        }
    g_hash_table_iter_init(&it, want);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        MosaicFdWatch *w = g_hash_table_lookup(u->watches, k);
        if (w)
            mosaic_fd_watch_update(w, GPOINTER_TO_UINT(v));
        else
            g_hash_table_insert(u->watches, k,
                                mosaic_fd_watch(GPOINTER_TO_INT(k), GPOINTER_TO_UINT(v), fd_event, u));
    }
    /* slirp's timers (TCP retransmission, delayed ACKs) run from slirp_pollfds_poll. */
    uint32_t ms = MIN(timeout, 1000u);
    mosaic_timer_mod(u->poll_timer, mosaic_clock_ns(MOSAIC_CLOCK_HOST) + (int64_t)ms * 1000000);
}

static void refresh_bh(void *opaque) { user_refresh(opaque); }

void user_poll_init(NetUser *u)
{
    u->watches = g_hash_table_new(NULL, NULL);
    u->pollfds = g_array_new(FALSE, FALSE, sizeof(PollFd));
    u->fired_fd = -1;
    u->poll_timer = mosaic_timer_new(MOSAIC_CLOCK_HOST, poll_timeout, u);
    u->refresh_bh = mosaic_bh_new(refresh_bh, u);
}

void user_poll_fini(NetUser *u)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, u->watches);
    while (g_hash_table_iter_next(&it, &k, &v))
        mosaic_fd_unwatch(v);
    g_hash_table_destroy(u->watches);
    g_array_free(u->pollfds, TRUE);
    mosaic_timer_del(u->poll_timer);
    mosaic_timer_free(u->poll_timer);
    mosaic_bh_free(u->refresh_bh);
}

/* ---- SlirpCb ---- */

static ssize_t send_packet(const void *buf, size_t len, void *opaque)
{
    NetUser *u = opaque;
    uint8_t hdr[MOSAIC_NET_HDR_LEN] = {0};
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)buf, len}};
    /* A guest without buffers loses the frame: TCP retransmits (slirp expects this). */
    mosaic_net_receive(u->net, iov, 2);
    return len;
}

static void guest_error(const char *msg, void *opaque)
{
    NetUser *u = opaque;
    mosaic_log("net", 1, "netdev %s (user): guest error: %s", mosaic_net_label(u->net), msg);
}

static int64_t clock_ns(void *opaque) { return mosaic_clock_ns(MOSAIC_CLOCK_HOST); }

typedef struct UserTimer {
    MosaicTimer *t;
    SlirpTimerCb cb;
    void *cb_opaque;
    NetUser *u;
} UserTimer;

static void timer_fire(void *opaque)
{
    UserTimer *t = opaque;
    t->cb(t->cb_opaque);
    user_refresh(t->u);
}

static void *timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    UserTimer *t = g_new0(UserTimer, 1);
    t->cb = cb;
    t->cb_opaque = cb_opaque;
    t->u = opaque;
    t->t = mosaic_timer_new(MOSAIC_CLOCK_HOST, timer_fire, t);
    return t;
}

static void timer_free(void *timer, void *opaque)
{
    UserTimer *t = timer;
    mosaic_timer_del(t->t);
    mosaic_timer_free(t->t);
    g_free(t);
}

static void timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    mosaic_timer_mod(((UserTimer *)timer)->t, expire_ms * 1000000);
}

static void register_poll_fd(int fd, void *opaque) {}
static void unregister_poll_fd(int fd, void *opaque) {}

static void notify(void *opaque) { mosaic_bh_schedule(((NetUser *)opaque)->refresh_bh); }

const SlirpCb user_slirp_cb = {
    .send_packet = send_packet,
    .guest_error = guest_error,
    .clock_get_ns = clock_ns,
    .timer_new = timer_new,
    .timer_free = timer_free,
    .timer_mod = timer_mod,
    .register_poll_fd = register_poll_fd,
    .unregister_poll_fd = unregister_poll_fd,
    .notify = notify,
};
