/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "ssrf.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "hostlist.h"

static bool v4_public(uint32_t a)
{
    static const struct {
        uint32_t net, mask;
    } blocked[] = {
        {0x00000000, 0xff000000}, {0x0a000000, 0xff000000}, /* 0/8 10/8 */
        {0x64400000, 0xffc00000}, {0x7f000000, 0xff000000}, /* CGNAT, lo */
        {0xa9fe0000, 0xffff0000}, {0xac100000, 0xfff00000}, /* link-local */
        {0xc0000000, 0xffffff00}, {0xc0000200, 0xffffff00}, /* 192.0.0/24 */
        {0xc0a80000, 0xffff0000}, {0xc6120000, 0xfffe0000}, /* 192.168 */
        {0xc6336400, 0xffffff00}, {0xcb007100, 0xffffff00}, /* TEST-NETs */
        {0xe0000000, 0xf0000000}, {0xf0000000, 0xf0000000}, /* mc, res */
    };

    for (size_t i = 0; i < sizeof(blocked) / sizeof(*blocked); i++)
        if ((a & blocked[i].mask) == blocked[i].net)
            return false;
    return true;
}

static bool v6_public(const uint8_t *b)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};

    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return v4_public((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
                         (uint32_t)b[14] << 8 | b[15]);
    if ((b[0] & 0xe0) != 0x20) /* only 2000::/3 is global unicast */
        return false;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return false; /* documentation */
    if (b[0] == 0x20 && b[1] == 0x02) /* 6to4: check the embedded v4 */
        return v4_public((uint32_t)b[2] << 24 | (uint32_t)b[3] << 16 |
                         (uint32_t)b[4] << 8 | b[5]);
    return true;
}

bool ssrf_addr_public(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return v4_public(
            ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
    if (sa->sa_family == AF_INET6)
        return v6_public(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
    return false;
}

/* A URL's parts (libcurl's strings). */
struct target {
    char *scheme, *host, *port;
};

/* URL's parts into T: 0, or -EINVAL with at most its scheme. */
static int target_parse(const char *url, struct target *t)
{
    CURLU *u = curl_url();
    int rc = -EINVAL;

    memset(t, 0, sizeof(*t));
    if (u != NULL &&
        curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) ==
            CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &t->scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &t->host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &t->port, CURLU_DEFAULT_PORT) ==
            CURLUE_OK)
        rc = 0;
    curl_url_cleanup(u);
    return rc;
}

static void target_free(struct target *t)
{
    curl_free(t->scheme);
    curl_free(t->host);
    curl_free(t->port);
}

/* T's host resolved (new list), an IPv6 literal without its brackets. */
static struct addrinfo *target_resolve(const struct target *t)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    char h[256];
    size_t n = strlen(t->host);
    bool lit6 = t->host[0] == '[';

    snprintf(h, sizeof(h), "%.*s", lit6 ? (int)n - 2 : (int)n,
             t->host + lit6);
    if (getaddrinfo(h, t->port, &hints, &ai) != 0)
        return NULL;
    return ai;
}

/* SA's address appended to the pin list PIN (",addr" after the first;
 * IPv6 in brackets) unless it does not fit: a pin of fewer addresses is
 * still a pin of checked ones. */
static void pin_add(char *pin, size_t plen, const struct sockaddr *sa)
{
    char addr[INET6_ADDRSTRLEN], item[INET6_ADDRSTRLEN + 3];
    size_t used = strlen(pin);
    bool v6 = sa->sa_family == AF_INET6;
    const void *a =
        v6 ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
           : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

    inet_ntop(sa->sa_family, a, addr, sizeof(addr));
    snprintf(item, sizeof(item), v6 ? "[%s]" : "%s", addr);
    if (used + 1 + strlen(item) < plen)
        snprintf(pin + used, plen - used, "%s%s",
                 pin[used - 1] == ':' ? "" : ",", item);
}

/* Every address of AI checked (all pass when LISTED), and pinned into
 * PIN after its "host:port:" prefix.  0 or -EPERM with DETAIL. */
static int check_addrs(const struct addrinfo *ai, bool listed, char *pin,
                       size_t plen, char *detail, size_t dlen)
{
    for (const struct addrinfo *p = ai; p != NULL; p = p->ai_next) {
        if (p->ai_family != AF_INET && p->ai_family != AF_INET6)
            continue;
        if (!listed && !ssrf_addr_public(p->ai_addr)) {
            snprintf(detail, dlen,
                     "download failed: destination is restricted");
            pin[0] = '\0';
            return -EPERM;
        }
        pin_add(pin, plen, p->ai_addr);
    }
    return 0;
}

int ssrf_check(const void *arg, const char *url, char *pin, size_t plen,
               char *detail, size_t dlen)
{
    const struct config *cfg = arg;
    struct addrinfo *ai = NULL;
    struct target t;
    bool listed;
    int rc = -EPERM;

    pin[0] = '\0';
    /* the scheme first: a file: URL has no host to find wrong */
    if (target_parse(url, &t) != 0 && t.scheme == NULL) {
        snprintf(detail, dlen, "bad url");
        goto out;
    }
    if (strcmp(t.scheme, "http") != 0 && strcmp(t.scheme, "https") != 0) {
        snprintf(detail, dlen, "only http and https are allowed");
        goto out;
    }
    if (t.host == NULL || t.port == NULL) {
        snprintf(detail, dlen, "bad url");
        goto out;
    }
    if (cfg->allow_request_sources == CONFIG_SOURCES_ANY) {
        rc = 0;
        goto out;
    }
    /* a listed host (an internal symbol server) may be private; it is
     * still resolved once here and pinned, so a rebinding can't move it */
    listed = hostlist_has(cfg->allowed_source_hosts, t.host,
                          (unsigned)strtoul(t.port, NULL, 10));
    ai = target_resolve(&t);
    if (ai == NULL) {
        snprintf(detail, dlen, "cannot resolve host");
        rc = -EIO;
        goto out;
    }
    if (strlen(t.host) + strlen(t.port) + 2 >= plen) {
        snprintf(detail, dlen, "bad url");
        goto out;
    }
    snprintf(pin, plen, "%s:%s:", t.host, t.port);
    rc = check_addrs(ai, listed, pin, plen, detail, dlen);
    if (rc == 0 && pin[strlen(pin) - 1] == ':') { /* no address to pin */
        snprintf(detail, dlen, "cannot resolve host");
        rc = -EIO;
    }
    /* curl connects to an IPv6 literal as it stands: nothing to pin */
    if (rc != 0 || t.host[0] == '[')
        pin[0] = '\0';
out:
    if (ai != NULL)
        freeaddrinfo(ai);
    target_free(&t);
    return rc;
}
