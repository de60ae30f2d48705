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

void jsonout_lit(struct jsonout *o, const char *s)
{
    jsonout_raw(o, s, strlen(s));
}

/* Bytes a JSON string cannot hold as they are: control bytes, '"' and
 * '\\'.  A table: this test runs for every byte of every name written. */
static const bool escape[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1,
    [0x06] = 1, [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1,
    [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1,
    [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
    [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1,
    [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1,
};

static void put_escaped(struct jsonout *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const char *end = s + n;
    char *w;

    grow(o, 6 * n + 2); /* worst case: every byte \u00XX */
    w = o->p + o->len;
    *w++ = '"';
    while (s < end) {
        const char *run = s;
        unsigned char c;

        /* copy runs of plain bytes at once: most names need no escape */
        while (s < end && !escape[(unsigned char)*s])
            s++;
        memcpy(w, run, (size_t)(s - run));
        w += s - run;
        if (s == end)
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

void jsonout_str(struct jsonout *o, const char *s)
{
    put_escaped(o, s, strlen(s));
}

void jsonout_key(struct jsonout *o, int *first, const char *key)
{
    if (!*first)
        jsonout_raw(o, ",", 1);
    *first = 0;
    jsonout_str(o, key);
    jsonout_raw(o, ":", 1);
}

/* Digits are written in place, last first, two at a time from a table:
 * every frame writes two addresses. */
void jsonout_hex(struct jsonout *o, uint64_t v)
{
    static const char pairs[513] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
        "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    /* digits, at least one */
    size_t n = v == 0 ? 1 : (size_t)(67 - __builtin_clzll(v)) / 4, left;
    char *w, *d;

    grow(o, n + 4);
    w = o->p + o->len;
    memcpy(w, "\"0x", 3);
    w[3 + n] = '"';
    w[4 + n] = '\0';
    d = w + 3 + n; /* past the last digit */
    for (left = n; left >= 2; left -= 2, v >>= 8) {
        d -= 2;
        memcpy(d, &pairs[2 * (v & 0xff)], 2);
    }
    if (left == 1)
        d[-1] = "0123456789abcdef"[v & 15];
    o->len += n + 4;
}

void jsonout_uint(struct jsonout *o, uint64_t v)
{
    size_t n = 1;
    char *w;

    for (uint64_t x = v / 10; x != 0; x /= 10)
        n++;
    grow(o, n);
    w = o->p + o->len;
    for (size_t i = n; i > 0; i--, v /= 10)
        w[i - 1] = (char)('0' + v % 10);
    o->len += n;
    o->p[o->len] = '\0';
}

static void put_object(struct jsonout *o, const json_t *v)
{
    const char *k;
    json_t *m;
    int first = 1;

    jsonout_raw(o, "{", 1);
    json_object_foreach((json_t *)v, k, m) { /* in insertion order */
        jsonout_key(o, &first, k);
        jsonout_json(o, m);
    }
    jsonout_raw(o, "}", 1);
}

static void put_array(struct jsonout *o, const json_t *v)
{
    size_t i;
    json_t *m;

    jsonout_raw(o, "[", 1);
    json_array_foreach(v, i, m) {
        if (i > 0)
            jsonout_raw(o, ",", 1);
        jsonout_json(o, m);
    }
    jsonout_raw(o, "]", 1);
}

void jsonout_json(struct jsonout *o, const json_t *v)
{
    char *s;

    if (v == NULL) {
        jsonout_raw(o, "null", 4);
        return;
    }
    /* directly, objects (a module's answer) and arrays too: json_dumps()
     * costs allocations and a serialiser each, a tenth of a small
     * request; only reals and negative integers take it, to be written
     * as jansson writes them */
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        put_object(o, v);
        return;
    case JSON_ARRAY:
        put_array(o, v);
        return;
    case JSON_STRING:
        put_escaped(o, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER:
        if (json_integer_value(v) >= 0) {
            jsonout_uint(o, (uint64_t)json_integer_value(v));
            return;
        }
        break;
    case JSON_TRUE:
        jsonout_raw(o, "true", 4);
        return;
    case JSON_FALSE:
        jsonout_raw(o, "false", 5);
        return;
    case JSON_NULL:
        jsonout_raw(o, "null", 4);
        return;
    default:
        break;
    }
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
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
