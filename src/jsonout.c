/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "jsonout.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static void grow(struct jsonout *o, size_t more)
{
    size_t cap = o->cap ? o->cap : 4096;

    if (o->len + more + 1 <= o->cap)
        return;
    while (cap < o->len + more + 1)
        cap *= 2;
    o->p = xreallocarray(o->p, cap, 1);
    o->cap = cap;
}

void jsonout_reserve(struct jsonout *o, size_t more)
{
    grow(o, more);
}

void jsonout_raw(struct jsonout *o, const char *s, size_t len)
{
    grow(o, len);
    memcpy(o->p + o->len, s, len);
    o->len += len;
    o->p[o->len] = '\0';
}

void jsonout_lit(struct jsonout *o, const char *s)
{
    jsonout_raw(o, s, strlen(s));
}

/* Bytes a JSON string cannot hold as they are. */
static bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

void jsonout_str(struct jsonout *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s);
    char *w;

    grow(o, 6 * n + 2); /* worst case: every byte \u00XX */
    w = o->p + o->len;
    *w++ = '"';
    while (*s != '\0') {
        const char *run = s;
        unsigned char c;

        /* copy runs of plain bytes at once: most names need no escape */
        while (*s != '\0' && !needs_escape((unsigned char)*s))
            s++;
        memcpy(w, run, (size_t)(s - run));
        w += s - run;
        if (*s == '\0')
            break;
        c = (unsigned char)*s++;
        if (c == '"' || c == '\\') {
            *w++ = '\\';
            *w++ = (char)c;
        } else {
            memcpy(w, "\\u00", 4);
            w[4] = hex[c >> 4];
            w[5] = hex[c & 15];
            w += 6;
        }
    }
    *w++ = '"';
    *w = '\0';
    o->len = (size_t)(w - o->p);
}

void jsonout_key(struct jsonout *o, int *first, const char *key)
{
    if (!*first)
        jsonout_raw(o, ",", 1);
    *first = 0;
    jsonout_str(o, key);
    jsonout_raw(o, ":", 1);
}

void jsonout_hex(struct jsonout *o, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[24], *w = buf + sizeof(buf);

    *--w = '"';
    do {
        *--w = digits[v & 15];
        v >>= 4;
    } while (v != 0);
    *--w = 'x';
    *--w = '0';
    *--w = '"';
    jsonout_raw(o, w, (size_t)(buf + sizeof(buf) - w));
}

void jsonout_uint(struct jsonout *o, uint64_t v)
{
    char buf[24], *w = buf + sizeof(buf);

    do {
        *--w = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    jsonout_raw(o, w, (size_t)(buf + sizeof(buf) - w));
}

void jsonout_json(struct jsonout *o, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
                                JSON_PRESERVE_ORDER);

    jsonout_lit(o, s ? s : "null");
    free(s);
}

char *jsonout_take(struct jsonout *o, size_t *len)
{
    char *p = o->p;

    if (p == NULL)
        p = xstrdup("");
    *len = o->len;
    o->p = NULL;
    o->len = o->cap = 0;
    return p;
}
