/* SPDX-License-Identifier: MIT */
/*
 * fakenet.so: preloaded into the daemon by check_symbolicate's address
 * tests, a made-up network on loopback, so that what a request source
 * may reach under the default allow_request_sources = public can be
 * tested without a packet leaving 127.0.0.1.
 *
 * FAKENET_HOSTS="name=addr[,addr]...[;name=...]": getaddrinfo() answers
 *   these names with these addresses in this order (as a resolver that
 *   sorts ::1 before 127.0.0.1 does), without asking anyone; other names
 *   go to the real resolver.
 * FAKENET_ROUTE="addr": a connect() to this IPv4 address goes to
 *   127.0.0.1 at the same port instead (the "public" host is the stub).
 *   Every other connect() outside loopback fails with ENETUNREACH.
 */
#include "symsrvd_config.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int getaddrinfo_fn(const char *, const char *, const struct addrinfo *,
                           struct addrinfo **);
typedef int connect_fn(int, const struct sockaddr *, socklen_t);

static getaddrinfo_fn *real_getaddrinfo(void)
{
    return (getaddrinfo_fn *)dlsym(RTLD_NEXT, "getaddrinfo");
}

/* The addresses FAKENET_HOSTS gives NODE, as "a,b" in OUT; false if none. */
static bool fake_addrs(const char *node, char *out, size_t len)
{
    const char *p = getenv("FAKENET_HOSTS");
    size_t n = strlen(node);

    while (p != NULL && *p != '\0') {
        size_t item = strcspn(p, ";");

        if (item > n && strncmp(p, node, n) == 0 && p[n] == '=') {
            snprintf(out, len, "%.*s", (int)(item - n - 1), p + n + 1);
            return true;
        }
        p += item + (p[item] == ';');
    }
    return false;
}

int getaddrinfo(const char *node, const char *service,
                const struct addrinfo *hints, struct addrinfo **res)
{
    struct addrinfo h = {0}, **tail = res;
    char addrs[512], *save = NULL;

    if (node == NULL || !fake_addrs(node, addrs, sizeof(addrs)))
        return real_getaddrinfo()(node, service, hints, res);
    if (hints != NULL)
        h = *hints;
    h.ai_flags |= AI_NUMERICHOST;
    *res = NULL;
    /* the real resolver's nodes, one list: freeaddrinfo() frees it */
    for (char *a = strtok_r(addrs, ",", &save); a != NULL;
         a = strtok_r(NULL, ",", &save)) {
        if (real_getaddrinfo()(a, service, &h, tail) != 0)
            continue;
        while (*tail != NULL)
            tail = &(*tail)->ai_next;
    }
    return *res != NULL ? 0 : EAI_NONAME;
}

static bool loopback(const struct sockaddr *sa)
{
    static const struct in6_addr lo6 = IN6ADDR_LOOPBACK_INIT;

    if (sa->sa_family == AF_INET)
        return ((const unsigned char *)&((const struct sockaddr_in *)sa)
                    ->sin_addr)[0] == 127;
    if (sa->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &lo6,
                      sizeof(lo6)) == 0;
    return true; /* a unix socket */
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    connect_fn *real = (connect_fn *)dlsym(RTLD_NEXT, "connect");
    const char *route = getenv("FAKENET_ROUTE");
    struct sockaddr_in to;
    struct in_addr r;

    if (sa != NULL && sa->sa_family == AF_INET && route != NULL &&
        inet_pton(AF_INET, route, &r) == 1 &&
        ((const struct sockaddr_in *)sa)->sin_addr.s_addr == r.s_addr) {
        memcpy(&to, sa, sizeof(to));
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return real(fd, (const struct sockaddr *)&to, sizeof(to));
    }
    if (sa != NULL && !loopback(sa)) {
        errno = ENETUNREACH;
        return -1;
    }
    return real(fd, sa, len);
}
