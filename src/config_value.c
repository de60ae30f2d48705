/* SPDX-License-Identifier: MIT */
/*
 * config_value: the syntax of single values in symsrvd.conf: durations,
 * sizes, listen addresses and upstream URLs, plus the quoting of a bad
 * value in an error message.  Pure functions on strings, no state; the
 * public parsers (config_parse_duration, _size, _listen) are declared in
 * config.h, the helpers config.c shares with them here.
 */
#include "symsrvd_config.h"

#include "config.h"

#include "config_value.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

/* Longest upstream URL: a 2 KiB URL is already a mistake. */
#define CONFIG_VALUE_URL_MAX 2048

void config_value_quote(char *buf, size_t len, const char *s)
{
    size_t i;

    for (i = 0; i + 1 < len && s[i] != '\0'; i++)
        buf[i] = iscntrl((unsigned char)s[i]) ? '?' : s[i];
    if (i + 1 == len && s[i] != '\0' && len > 4)
        memcpy(buf + len - 4, "...", 3);
    buf[i] = '\0';
}

/* ---- durations and sizes ---- */

int config_value_digits(const char **sp, uint64_t *v)
{
    const char *s = *sp;
    uint64_t n = 0;

    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    for (; isdigit((unsigned char)*s); s++) {
        unsigned d = (unsigned)(*s - '0');

        if (n > (UINT64_MAX - d) / 10)
            return -EINVAL;
        n = n * 10 + d;
    }
    *sp = s;
    *v = n;
    return 0;
}

struct config_unit {
    const char *suffix;
    uint64_t mul;
};

/* Digits followed by exactly one of UNITS' suffixes. */
static int config_value_parse_unit(const char *s,
                                   const struct config_unit *units,
                                   size_t nunits, bool fold, uint64_t *out)
{
    uint64_t n;
    size_t i;

    if (s == NULL || config_value_digits(&s, &n) < 0)
        return -EINVAL;
    for (i = 0; i < nunits; i++) {
        bool same = fold ? strcasecmp(s, units[i].suffix) == 0
                         : strcmp(s, units[i].suffix) == 0;

        if (!same)
            continue;
        if (n > UINT64_MAX / units[i].mul)
            return -EINVAL;
        *out = n * units[i].mul;
        return 0;
    }
    return -EINVAL;
}

static const struct config_unit config_duration_units[] = {
    {"d", MS_PER_D}, {"h", MS_PER_H}, {"m", MS_PER_MIN},
    {"s", MS_PER_S}, {"ms", 1},       {"", MS_PER_S},
};
static const struct config_unit config_size_units[] = {
    {"T", TIB}, {"G", GIB}, {"M", MIB}, {"K", KIB}, {"", 1},
};

int config_parse_duration(const char *s, uint64_t *ms)
{
    return config_value_parse_unit(s, config_duration_units,
                                   CONFIG_VALUE_NELEM(config_duration_units),
                                   false, ms);
}

int config_parse_size(const char *s, uint64_t *bytes)
{
    return config_value_parse_unit(s, config_size_units,
                                   CONFIG_VALUE_NELEM(config_size_units), true,
                                   bytes);
}

/* V with the largest unit of UNITS that divides it ("90s", "1G"). */
static void config_value_fmt_unit(char *buf, size_t len, uint64_t v,
                                  const struct config_unit *units,
                                  size_t nunits)
{
    size_t i;

    for (i = 0; i < nunits; i++) {
        if (units[i].mul == 0 || v % units[i].mul != 0)
            continue;
        if (v == 0 && units[i].mul != 1)
            continue;
        (void)snprintf(buf, len, "%" PRIu64 "%s", v / units[i].mul,
                       units[i].suffix);
        return;
    }
    (void)snprintf(buf, len, "%" PRIu64, v);
}

void config_value_fmt_duration(char *buf, size_t len, uint64_t ms)
{
    /* the last entry ("" = seconds) would be ambiguous when printing */
    config_value_fmt_unit(buf, len, ms, config_duration_units,
                          CONFIG_VALUE_NELEM(config_duration_units) - 1);
}

void config_value_fmt_size(char *buf, size_t len, uint64_t bytes)
{
    config_value_fmt_unit(buf, len, bytes, config_size_units,
                          CONFIG_VALUE_NELEM(config_size_units));
}

/* ---- listen addresses and URLs ---- */

bool config_value_has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if (iscntrl((unsigned char)*s))
            return true;
    return false;
}

/* "0".."65535", at most 5 digits; stored without leading zeros. */
static int config_value_port(const char *s, char *out, size_t outlen)
{
    const char *p = s;
    uint64_t v;

    if (strlen(s) > 5 || config_value_digits(&p, &v) < 0 || *p != '\0' ||
        v > 65535)
        return -EINVAL;
    (void)snprintf(out, outlen, "%u", (unsigned)v);
    return 0;
}

/* An IPv6 address, optionally followed by %zone. */
static bool config_value_ipv6(const char *s, size_t len)
{
    char addr[INET6_ADDRSTRLEN];
    struct in6_addr a;
    const char *zone = memchr(s, '%', len);
    size_t alen = zone != NULL ? (size_t)(zone - s) : len;
    size_t i;

    if (alen == 0 || alen >= sizeof(addr))
        return false;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET6, addr, &a) != 1)
        return false;
    if (zone == NULL)
        return true;
    if (alen + 1 == len)
        return false;
    for (i = alen + 1; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && strchr("_.-", s[i]) == NULL)
            return false;
    return true;
}

/* An IPv4 address in dotted-quad form, or a host name. */
static bool config_value_host(const char *s)
{
    struct in_addr a;
    bool numeric = true;
    const char *p;

    if (*s == '\0' || *s == '-' || *s == '.')
        return false;
    for (p = s; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
            return false;
        if (!isdigit((unsigned char)*p) && *p != '.')
            numeric = false;
    }
    return !numeric || inet_pton(AF_INET, s, &a) == 1;
}

static int config_value_listen_unix(const char *path, struct config_listen *l)
{
    if (*path == '\0' || strlen(path) >= sizeof(l->path) ||
        config_value_has_control(path))
        return -EINVAL;
    l->kind = CONFIG_LISTEN_UNIX;
    memcpy(l->path, path, strlen(path) + 1);
    return 0;
}

int config_parse_listen(const char *s, struct config_listen *out)
{
    struct config_listen l;
    const char *host, *port;
    size_t hostlen;

    memset(&l, 0, sizeof(l));
    if (s == NULL)
        return -EINVAL;
    if (strncmp(s, "unix:", 5) == 0) {
        if (config_value_listen_unix(s + 5, &l) < 0)
            return -EINVAL;
        *out = l;
        return 0;
    }
    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close[1] != ':' ||
            !config_value_ipv6(s + 1, (size_t)(close - s - 1)))
            return -EINVAL;
        host = s + 1;
        hostlen = (size_t)(close - host);
        port = close + 2;
    } else {
        const char *colon = strchr(s, ':');

        if (colon == NULL || strchr(colon + 1, ':') != NULL)
            return -EINVAL;
        host = s;
        hostlen = (size_t)(colon - s);
        port = colon + 1;
    }
    if (hostlen == 0 || hostlen >= sizeof(l.host))
        return -EINVAL;
    memcpy(l.host, host, hostlen);
    l.host[hostlen] = '\0';
    if ((s[0] != '[' && !config_value_host(l.host)) ||
        config_value_port(port, l.port, sizeof(l.port)) < 0)
        return -EINVAL;
    l.kind = CONFIG_LISTEN_TCP;
    *out = l;
    return 0;
}

/* "http://" or "https://", a host, no blanks or control bytes.  Returns
 * a new copy without trailing slashes, or NULL. */
char *config_value_url_dup(const char *s)
{
    size_t skip, len;

    if (strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else
        return NULL;
    len = strlen(s);
    if (len > CONFIG_VALUE_URL_MAX || config_value_has_control(s) ||
        strpbrk(s, " #") != NULL)
        return NULL;
    while (len > skip && s[len - 1] == '/')
        len--;
    if (len == skip || s[skip] == '/' || s[skip] == '?')
        return NULL;
    return xstrndup(s, len);
}
