/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "fakedns.h"

#include <netdb.h>
#include <stddef.h>
#include <string.h>

static const struct {
    const char *name, *addrs[3];
} fake_hosts[] = {
    {"pub.test", {FAKEDNS_PUB6, FAKEDNS_PUB4}},
    {"pub2.test", {FAKEDNS_PUB4}},
    {"dual.test", {"::1", "127.0.0.1"}},
    {"lo.test", {"127.0.0.1"}},
    {"meta.test", {"169.254.169.254"}},
    {"private.test", {"10.1.2.3"}},
    {"ll6.test", {"fe80::1"}},
    {"ula.test", {"fd00:ec2::254"}},
    {"mixed.test", {FAKEDNS_PUB4, "192.168.0.1"}},
    {"mapped.test", {FAKEDNS_PUB6, "::ffff:127.0.0.1"}},
};

int __real_getaddrinfo(const char *node, const char *service,
                       const struct addrinfo *hints, struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service,
                       const struct addrinfo *hints, struct addrinfo **res);

/* ADDR (a literal) at SERVICE, as the real resolver gives it. */
static struct addrinfo *literal(const char *addr, const char *service,
                                const struct addrinfo *hints)
{
    struct addrinfo h = *hints, *ai = NULL;

    h.ai_flags |= AI_NUMERICHOST;
    return __real_getaddrinfo(addr, service, &h, &ai) == 0 ? ai : NULL;
}

/* The table's addresses of NODE in order, one list (each node is the real
 * resolver's, so freeaddrinfo() frees it); literals as themselves. */
int __wrap_getaddrinfo(const char *node, const char *service,
                       const struct addrinfo *hints, struct addrinfo **res)
{
    struct addrinfo none = {0}, **tail = res;

    hints = hints != NULL ? hints : &none;
    *res = literal(node, service, hints);
    if (*res != NULL)
        return 0;
    for (size_t i = 0; i < sizeof(fake_hosts) / sizeof(*fake_hosts); i++) {
        if (strcmp(node, fake_hosts[i].name) != 0)
            continue;
        for (size_t j = 0; j < 3 && fake_hosts[i].addrs[j] != NULL; j++) {
            *tail = literal(fake_hosts[i].addrs[j], service, hints);
            while (*tail != NULL)
                tail = &(*tail)->ai_next;
        }
        return *res != NULL ? 0 : EAI_NONAME;
    }
    return EAI_NONAME;
}
