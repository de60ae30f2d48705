/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "httphdr.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* Parse decimal digits at *P into *V; false on none or overflow. */
static bool parse_u64(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t n = 0;

    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return false;
        n = n * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *v = n;
    return true;
}

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

int httphdr_range(const char *value, uint64_t size, uint64_t *off,
                  uint64_t *len)
{
    const char *p = value;
    uint64_t first = 0, last = 0;
    bool has_first, has_last;

    skip_ws(&p);
    if (strncasecmp(p, "bytes=", 6) != 0)
        return -EINVAL;
    p += 6;
    skip_ws(&p);
    has_first = parse_u64(&p, &first);
    if (*p++ != '-')
        return -EINVAL;
    has_last = parse_u64(&p, &last);
    skip_ws(&p);
    if (*p != '\0' || (!has_first && !has_last))
        return -EINVAL; /* several ranges, or junk */
    if (!has_first) {   /* suffix: the last LAST bytes */
        if (last == 0 || size == 0)
            return -ERANGE;
        *off = last >= size ? 0 : size - last;
        *len = size - *off;
        return 0;
    }
    if (has_last && last < first)
        return -EINVAL;
    if (first >= size)
        return -ERANGE;
    if (!has_last || last >= size)
        last = size - 1;
    *off = first;
    *len = last - first + 1;
    return 0;
}

/* The opaque part of an entity tag: without W/ and quotes. */
static void opaque(const char *s, size_t n, const char **o, size_t *on)
{
    if (n >= 2 && s[0] == 'W' && s[1] == '/') {
        s += 2;
        n -= 2;
    }
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s++;
        n -= 2;
    }
    *o = s;
    *on = n;
}

bool httphdr_etag_match(const char *value, const char *etag)
{
    const char *want, *p = value;
    size_t wantn;

    opaque(etag, strlen(etag), &want, &wantn);
    while (*p != '\0') {
        const char *end, *o;
        size_t n, on;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        end = strchr(p, ',');
        n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 1 && *p == '*')
            return true;
        opaque(p, n, &o, &on);
        if (n > 0 && on == wantn && memcmp(o, want, on) == 0)
            return true;
        p += n;
        while (*p != '\0' && *p != ',')
            p++;
    }
    return false;
}
