/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "hostlist.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define HOSTLIST_NAME_MAX 253 /* longest DNS name */
#define HOSTLIST_ITEM_MAX (HOSTLIST_NAME_MAX + 7) /* and ":65535" */

/* HOST (an IPv6 address in brackets) as an address: its family, or 0. */
static int host_addr(const char *host, unsigned char addr[16])
{
    char v6[64];
    size_t n = strlen(host);

    if (inet_pton(AF_INET, host, addr) == 1)
        return AF_INET;
    if (n < 3 || host[0] != '[' || host[n - 1] != ']' || n - 2 >= sizeof(v6))
        return 0;
    memcpy(v6, host + 1, n - 2);
    v6[n - 2] = '\0';
    return inet_pton(AF_INET6, v6, addr) == 1 ? AF_INET6 : 0;
}

/* A DNS name: letters, digits, '-', '_' and '.', not all digits and dots
 * (that would be an address inet_pton() refused, like "127.1"), and not
 * the word that means an empty list. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > HOSTLIST_NAME_MAX || s[0] == '.' || s[0] == '-' ||
        strspn(s, "0123456789.") == n || strcasecmp(s, "none") == 0)
        return false;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && strchr("-_.", *s) == NULL)
            return false;
    return true;
}

/* Split ITEM into its host (in place) and *PORT (0: any).  0 or -EINVAL. */
static int item_split(char *item, unsigned *port)
{
    char *colon = strrchr(item, ':'), *end;
    unsigned long v;
    unsigned char addr[16];

    *port = 0;
    if (colon != NULL && (item[0] != '[' || colon[-1] == ']')) {
        if (colon[1] < '0' || colon[1] > '9')
            return -EINVAL;
        v = strtoul(colon + 1, &end, 10);
        if (*end != '\0' || v == 0 || v > 65535)
            return -EINVAL;
        *port = (unsigned)v;
        *colon = '\0';
    }
    return host_addr(item, addr) != 0 || name_ok(item) ? 0 : -EINVAL;
}

/* The next item of *SP into ITEM (host) and *PORT: 1, 0 at the end, or
 * -EINVAL for a malformed one. */
static int item_next(const char **sp, char item[HOSTLIST_ITEM_MAX + 1],
                     unsigned *port)
{
    const char *p = *sp + strspn(*sp, ", \t");
    size_t len = strcspn(p, ", \t");

    if (*p == '\0')
        return 0;
    if (len > HOSTLIST_ITEM_MAX)
        return -EINVAL;
    memcpy(item, p, len);
    item[len] = '\0';
    *sp = p + len;
    return item_split(item, port) == 0 ? 1 : -EINVAL;
}

bool hostlist_valid(const char *text)
{
    char item[HOSTLIST_ITEM_MAX + 1];
    unsigned port;
    int rc, n = 0;

    if (strcmp(text, "none") == 0)
        return true;
    while ((rc = item_next(&text, item, &port)) == 1)
        n++;
    return rc == 0 && n > 0;
}

/* Is the item host ITEM the URL's HOST (whose address is HADDR of family
 * HFAM, or HFAM 0 for a name)? */
static bool item_is(const char *item, const char *host, int hfam,
                    const unsigned char haddr[16])
{
    unsigned char iaddr[16];
    int ifam = host_addr(item, iaddr);

    if (ifam != 0 || hfam != 0)
        return ifam == hfam &&
               memcmp(iaddr, haddr, ifam == AF_INET ? 4 : 16) == 0;
    return strcasecmp(item, host) == 0;
}

bool hostlist_has(const char *text, const char *host, unsigned port)
{
    char item[HOSTLIST_ITEM_MAX + 1];
    unsigned char haddr[16];
    int hfam = host_addr(host, haddr);
    unsigned iport;

    if (strcmp(text, "none") == 0)
        return false;
    while (item_next(&text, item, &iport) == 1)
        if ((iport == 0 || iport == port) && item_is(item, host, hfam, haddr))
            return true;
    return false;
}
