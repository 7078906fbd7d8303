/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Finding the peer and setting up the region.  Either machine may start first, die or
 * restart: a side that finds nobody listening on peer-socket listens there itself; a
 * side that finds a listener connects.  The accepting side creates the region. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "layout.h"

#define RETRY_MS 100
#define LISTEN_CHECK_MS 500
#define HELLO_MS 2000 /* a peer that connects must say hello by then */

static void retry_in(Vpci *p, int ms)
{
    mosaic_timer_mod(p->retry, mosaic_clock_ns(MOSAIC_CLOCK_HOST) + (int64_t)ms * 1000000);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void unwatch(MosaicFdWatch **w)
{
    if (*w)
        mosaic_fd_unwatch(*w);
    *w = NULL;
}

static void close_listener(Vpci *p)
{
    unwatch(&p->listen_watch);
    if (p->listen_fd >= 0)
        mosaic_socket_release(p->path, &p->listen_file);
    close_fd(&p->listen_fd);
}

static void close_conn(Vpci *p)
{
    unwatch(&p->conn_watch);
    unwatch(&p->bell_watch);
    close_fd(&p->conn_fd);
    close_fd(&p->bell_in);
    close_fd(&p->bell_out);
    if (p->region)
        munmap(p->region, VPCI_REGION_SIZE);
    p->region = NULL;
    /* Nothing of this connection survives it: a held frame is not delivered later. */
    p->rx_held = false;
    p->tx_waiting = false;
    p->ring_pending = false;
    p->tx_prod = p->rx_cons = 0;
}

void vpci_disconnect(Vpci *p, const char *why)
{
    if (p->state == VPCI_UP) {
        mosaic_log("net", 1, "netdev %s: vhost-pci peer on %s: %s; link down", p->label, p->path,
                   why);
        mosaic_net_set_link(p->net, false);
    }
    close_conn(p);
    p->state = p->path ? VPCI_SEARCHING : VPCI_IDLE;
    if (p->path)
        retry_in(p, RETRY_MS);
}

void vpci_stop(Vpci *p)
{
    mosaic_timer_del(p->retry);
    if (p->state == VPCI_UP)
        mosaic_net_set_link(p->net, false);
    close_conn(p);
    close_listener(p);
    p->state = VPCI_IDLE;
}

static void link_up(Vpci *p)
{
    mosaic_timer_del(p->retry);
    p->state = VPCI_UP;
    p->bell_watch = mosaic_fd_watch(p->bell_in, MOSAIC_FD_READ, vpci_bell, p);
    mosaic_log("net", 2, "netdev %s: vhost-pci peer on %s (%s); link up", p->label, p->path,
               p->accepted ? "accepted" : "connected");
    mosaic_net_set_link(p->net, true);
    vpci_receive(p);
}

/* The socket of a live connection: anything but a hang-up is ignored. */
static void conn_event(void *opaque, int fd, unsigned events);

static bool is_eventfd(int fd)
{
    char link[64], proc[48];
    g_snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, link, sizeof link - 1);
    if (n < 0)
        return false;
    link[n] = 0;
    return !strcmp(link, "anon_inode:[eventfd]");
}

/* Connecting side: the accepting side's hello and descriptors, all checked. */
static const char *take_hello(Vpci *p)
{
    VpciHello h;
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = &h, .iov_len = sizeof h};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                         .msg_controllen = sizeof u.buf};
    ssize_t n = recvmsg(p->conn_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return NULL;
    int fds[4] = {-1, -1, -1, -1};
    unsigned nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); n >= 0 && c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            unsigned k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (unsigned i = 0; i < k && nfds < 4; i++)
                memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
    const char *bad = NULL;
    struct stat st;
    int seals;
    if (n <= 0)
        bad = "closed before the hello";
    else if (n != sizeof h || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds != 3)
        bad = "a malformed hello";
    else if (h.magic != VPCI_MAGIC || h.version != VPCI_VERSION || h.slots != VPCI_SLOTS ||
             h.slot_size != VPCI_SLOT_SIZE || h.region_size != VPCI_REGION_SIZE)
        bad = "a hello of another layout or version";
    else if ((seals = fcntl(fds[0], F_GET_SEALS)) < 0 ||
             (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
        bad = "a region that is not a sealed memfd (it could shrink under us)";
    else if (fstat(fds[0], &st) != 0 || st.st_size != (off_t)VPCI_REGION_SIZE)
        bad = "a region of the wrong size";
    else if (!is_eventfd(fds[1]) || !is_eventfd(fds[2]))
        bad = "doorbells that are not eventfds";
    if (!bad) {
        void *m = mmap(NULL, VPCI_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
        if (m == MAP_FAILED)
            bad = "a region that cannot be mapped";
        else
            p->region = m;
    }
    close_fd(&fds[0]);
    if (bad) {
        for (unsigned i = 1; i < nfds; i++)
            close_fd(&fds[i]);
        return bad;
    }
    p->bell_out = fds[1];
    p->bell_in = fds[2];
    fcntl(p->bell_in, F_SETFL, O_NONBLOCK);
    fcntl(p->bell_out, F_SETFL, O_NONBLOCK);
    uint32_t ack = VPCI_MAGIC;
    if (send(p->conn_fd, &ack, sizeof ack, MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof ack)
        return "no room for the ack";
    link_up(p);
    return NULL;
}

/* Accepting side: the connecting side's ack.  NULL and not up yet: wait; "" : the
 * connection closed before it (a probe, not a peer: nothing to report). */
static const char *take_ack(Vpci *p)
{
    uint32_t ack;
    ssize_t n = recv(p->conn_fd, &ack, sizeof ack, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return NULL;
    if (n == 0 || n < 0)
        return "";
    if (n != sizeof ack || ack != VPCI_MAGIC)
        return "a malformed ack";
    link_up(p);
    return NULL;
}

static void conn_event(void *opaque, int fd, unsigned events)
{
    Vpci *p = opaque;
    if (p->state == VPCI_HELLO) {
        const char *bad = p->accepted ? take_ack(p) : take_hello(p);
        if (bad && !*bad) {
            vpci_disconnect(p, "closed");
            return;
        }
        if (bad) {
            mosaic_log("net", 1, "netdev %s: vhost-pci peer on %s sent %s; dropped", p->label,
                       p->path, bad);
            p->violations++;
            vpci_disconnect(p, bad);
        }
        return;
    }
    char scratch[256];
    for (int i = 0; i < 16; i++) {
        ssize_t n = recv(fd, scratch, sizeof scratch, MSG_DONTWAIT);
        if (n > 0)
            continue; /* nothing else is part of the protocol: ignored */
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !(events & MOSAIC_FD_HUP))
            return;
        vpci_disconnect(p, "the peer is gone");
        return;
    }
}

/* Accepting side: a fresh region (no stale frames), two doorbells, the hello. */
static bool offer_region(Vpci *p, int fd)
{
    int mfd = memfd_create("mosaic-vhost-pci", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    int bells[2] = {eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    void *m = MAP_FAILED;
    if (mfd >= 0 && ftruncate(mfd, VPCI_REGION_SIZE) == 0 &&
        fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
        m = mmap(NULL, VPCI_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    bool ok = m != MAP_FAILED && bells[0] >= 0 && bells[1] >= 0;
    if (ok) {
        VpciHello h = {VPCI_MAGIC, VPCI_VERSION, VPCI_SLOTS, VPCI_SLOT_SIZE, VPCI_REGION_SIZE};
        memcpy(m, &h, sizeof h);
        int fds[3] = {mfd, bells[0], bells[1]};
        union {
            char buf[CMSG_SPACE(sizeof fds)];
            struct cmsghdr align;
        } u;
        memset(&u, 0, sizeof u);
        struct iovec iov = {.iov_base = &h, .iov_len = sizeof h};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                             .msg_controllen = sizeof u.buf};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof fds);
        memcpy(CMSG_DATA(c), fds, sizeof fds);
        ok = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof h;
    }
    if (mfd >= 0)
        close(mfd);
    if (!ok) {
        if (m != MAP_FAILED)
            munmap(m, VPCI_REGION_SIZE);
        close_fd(&bells[0]);
        close_fd(&bells[1]);
        return false;
    }
    p->region = m;
    p->bell_in = bells[0];
    p->bell_out = bells[1];
    return true;
}

static void listen_event(void *opaque, int lfd, unsigned events)
{
    Vpci *p = opaque;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            mosaic_fd_watch_backoff(p->listen_watch, "vhost-pci", g_strerror(errno));
        return;
    }
    mosaic_fd_watch_recovered(p->listen_watch);
    if (p->state != VPCI_SEARCHING) {
        close(fd); /* one peer at a time */
        return;
    }
    if (!offer_region(p, fd)) {
        close(fd);
        return;
    }
    p->conn_fd = fd;
    p->accepted = true;
    p->state = VPCI_HELLO;
    p->conn_watch = mosaic_fd_watch(fd, MOSAIC_FD_READ | MOSAIC_FD_HUP, conn_event, p);
    retry_in(p, HELLO_MS); /* the ack must come by then */
}

static bool set_addr(struct sockaddr_un *sa, const char *path)
{
    *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa->sun_path)
        return false;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return true;
}

/* Nobody listens on the path: listen there ourselves. */
static void start_listening(Vpci *p, const struct sockaddr_un *sa)
{
    MosaicError *err = mosaic_error_new();
    int fd = -1;
    if (mosaic_socket_claim_path(p->path, err) &&
        (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) >= 0 &&
        bind(fd, (const struct sockaddr *)sa, sizeof *sa) == 0 && listen(fd, 4) == 0) {
        p->listen_fd = fd;
        p->listen_file = (MosaicSocketFile)MOSAIC_SOCKET_FILE_INIT;
        mosaic_socket_remember(p->path, &p->listen_file);
        p->listen_watch = mosaic_fd_watch(fd, MOSAIC_FD_READ, listen_event, p);
    } else if (fd >= 0) {
        close(fd);
    }
    mosaic_error_free(err);
}

/* SEARCHING: connect to a listener, or become one; a listener whose path was taken over
 * (both sides started at once) gives up its socket and connects instead. */
static void search_tick(void *opaque)
{
    Vpci *p = opaque;
    struct sockaddr_un sa;
    if (p->state == VPCI_HELLO) {
        p->violations++;
        vpci_disconnect(p, p->accepted ? "no ack in time" : "no hello in time");
        return;
    }
    if (p->state != VPCI_SEARCHING || !set_addr(&sa, p->path))
        return;
    if (p->listen_fd >= 0) {
        MosaicSocketFile now = MOSAIC_SOCKET_FILE_INIT;
        mosaic_socket_remember(p->path, &now);
        if (now.dev == p->listen_file.dev && now.ino == p->listen_file.ino) {
            retry_in(p, LISTEN_CHECK_MS);
            return;
        }
        unwatch(&p->listen_watch);
        close_fd(&p->listen_fd); /* not ours any more: nothing to remove */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        p->conn_fd = fd;
        p->accepted = false;
        p->state = VPCI_HELLO;
        p->conn_watch = mosaic_fd_watch(fd, MOSAIC_FD_READ | MOSAIC_FD_HUP, conn_event, p);
        retry_in(p, HELLO_MS);
        return;
    }
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (e == ECONNREFUSED || e == ENOENT)
        start_listening(p, &sa);
    retry_in(p, p->listen_fd >= 0 ? LISTEN_CHECK_MS : RETRY_MS);
}

void vpci_search(Vpci *p)
{
    if (!p->retry)
        p->retry = mosaic_timer_new(MOSAIC_CLOCK_HOST, search_tick, p);
    p->state = VPCI_SEARCHING;
    retry_in(p, 0);
}
