/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define ACL_ITEM_MAX 64 /* longest "address/prefix" item */

struct acl_range {
    int family;          /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned prefix;     /* bits that must match */
};

struct acl {
    struct acl_range *r;
    size_t n;
};

/* "PREFIX" of at most MAX: 0 and *OUT, or -EINVAL. */
static int parse_prefix(const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    v = strtoul(s, &end, 10);
    if (*end != '\0' || v > max)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

static int parse_item(char *item, struct acl_range *r)
{
    char *slash = strchr(item, '/');
    unsigned max;

    if (slash != NULL)
        *slash = '\0';
    memset(r, 0, sizeof(*r));
    if (inet_pton(AF_INET, item, r->addr) == 1) {
        r->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, item, r->addr) == 1) {
        r->family = AF_INET6;
        max = 128;
    } else {
        return -EINVAL;
    }
    r->prefix = max;
    return slash != NULL ? parse_prefix(slash + 1, max, &r->prefix) : 0;
}

int acl_parse(const char *text, struct acl **out)
{
    struct acl *a = xcalloc(1, sizeof(*a));
    const char *p = text;
    char item[ACL_ITEM_MAX + 1];
    size_t len;

    for (;;) {
        p += strspn(p, ", \t");
        if (*p == '\0')
            break;
        len = strcspn(p, ", \t");
        if (len > ACL_ITEM_MAX)
            goto bad;
        memcpy(item, p, len);
        item[len] = '\0';
        p += len;
        a->r = xreallocarray(a->r, a->n + 1, sizeof(*a->r));
        if (parse_item(item, &a->r[a->n]) != 0)
            goto bad;
        a->n++;
    }
    if (a->n == 0)
        goto bad;
    *out = a;
    return 0;
bad:
    acl_free(a);
    return -EINVAL;
}

void acl_free(struct acl *a)
{
    if (a == NULL)
        return;
    free(a->r);
    free(a);
}

static bool prefix_equal(const unsigned char *x, const unsigned char *y,
                         unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    unsigned char mask = (unsigned char)(0xff00u >> rest);

    if (memcmp(x, y, whole) != 0)
        return false;
    return rest == 0 || ((x[whole] ^ y[whole]) & mask) == 0;
}

bool acl_allows(const struct acl *a, const struct sockaddr *sa)
{
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                               0, 0, 0, 0, 0xff, 0xff};
    const unsigned char *addr;
    int family;
    size_t i;

    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        family = AF_INET;
        addr = (const unsigned char *)&((const struct sockaddr_in *)sa)
                   ->sin_addr;
    } else if (sa->sa_family == AF_INET6) {
        family = AF_INET6;
        addr = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
            family = AF_INET;
            addr += sizeof(v4mapped);
        }
    } else {
        return false; /* a unix socket has no address to allow */
    }
    for (i = 0; i < a->n; i++)
        if (a->r[i].family == family &&
            prefix_equal(a->r[i].addr, addr, a->r[i].prefix))
            return true;
    return false;
}
