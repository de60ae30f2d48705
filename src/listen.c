/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "config.h"
#include "log.h"

#define LISTEN_BACKLOG 1024
/* A TCP connection reaches a worker only once its first bytes have come
 * (TCP_DEFER_ACCEPT, nginx's "deferred"): the woken pool thread then finds
 * the request waiting and answers it in the same wake-up, instead of
 * accepting, sleeping and being woken again for the request.  With a new
 * connection per 4 KiB hit (wrk, 64 connections) that took the workers
 * from 1.5 to 1.1 context switches and a third less CPU per request, and
 * the rate from 0.7 to 0.9 of nginx's (figures in the commit message).
 * A client that connects and sends nothing is accepted after
 * DEFER_ACCEPT_S (and a SYN-ACK resent), and connection_timeout runs from
 * then.  HTTP clients always speak first. */
#define DEFER_ACCEPT_S 1

static int defer_accept(int fd)
{
    int secs = DEFER_ACCEPT_S;

    return setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs));
}

static int prepare(int fd, int family)
{
    int one = 1;

    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
        return -errno;
    /* Accepted sockets inherit keep-alive: dead LAN clients get dropped. */
    if (family != AF_UNIX &&
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) != 0)
        return -errno;
    if (family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
        return -errno;
    if (family != AF_UNIX && defer_accept(fd) != 0)
        return -errno;
    return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0 ? 0
                                                                     : -errno;
}

static void announce(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;

        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        log_info("listening on %s:%u", host, port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        log_info("listening on [%s]:%u", host, port);
    }
}

static int open_tcp(const struct config_listen *l)
{
    struct addrinfo hints, *res = NULL;
    int fd = -1, rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(l->host[0] ? l->host : NULL, l->port, &hints, &res);
    if (rc != 0) {
        log_warnx("listen %s:%s: %s", l->host, l->port, gai_strerror(rc));
        return -EINVAL;
    }
    fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0 || (rc = prepare(fd, res->ai_family)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
        listen(fd, LISTEN_BACKLOG) != 0) {
        rc = -errno;
        log_warn("listen %s:%s", l->host, l->port);
        if (fd >= 0)
            close(fd);
        fd = rc;
    } else {
        announce(fd);
    }
    freeaddrinfo(res);
    return fd;
}

static int open_unix(const struct config_listen *l)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd, rc;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", l->path) >=
        (int)sizeof(sun.sun_path))
        return -ENAMETOOLONG;
    /* A stale socket from a previous run; never remove anything else. */
    if (lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(l->path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || prepare(fd, AF_UNIX) != 0 ||
        bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
        listen(fd, LISTEN_BACKLOG) != 0) {
        rc = -errno;
        log_warn("listen unix:%s", l->path);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    log_info("listening on unix:%s", l->path);
    return fd;
}

int listen_open(const struct config_listen *l)
{
    return l->kind == CONFIG_LISTEN_UNIX ? open_unix(l) : open_tcp(l);
}

#ifdef HAVE_SYSTEMD
/* A TCP socket systemd passes without DeferAcceptSec= gets ours; one with
 * it keeps the administrator's. */
static void inherited_defer(int fd)
{
    int secs = 0;
    socklen_t len = sizeof(secs);

    if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0 &&
        getsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, &len) == 0 &&
        secs == 0 && defer_accept(fd) != 0)
        log_warn("fd %d from systemd: TCP_DEFER_ACCEPT", fd);
}

int listen_inherited(int *fds, size_t max)
{
    int n = sd_listen_fds(1), i, rc;

    if (n <= 0)
        return n;
    if ((size_t)n > max) {
        log_warnx("systemd passed %d sockets, at most %zu are used", n, max);
        return -EMFILE;
    }
    for (i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;

        if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
            log_warnx("fd %d from systemd is not a listening stream socket",
                      fd);
            return -ENOTSOCK;
        }
        rc = fcntl(fd, F_SETFD, FD_CLOEXEC) == 0
                 ? fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                 : -1;
        if (rc != 0) {
            rc = -errno;
            log_warn("fd %d from systemd", fd);
            return rc;
        }
        inherited_defer(fd);
        announce(fd);
        fds[i] = fd;
    }
    return n;
}
#else
int listen_inherited(int *fds, size_t max)
{
    (void)fds;
    (void)max;
    return 0;
}
#endif
