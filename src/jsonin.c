/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "jsonin.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define JSONIN_MAX_DEPTH JSON_PARSER_MAX_DEPTH /* jansson's bound */

static json_t *value(struct jsonin_scan *ps);

static void *fail(struct jsonin_scan *ps, const char *why)
{
    if (ps->why == NULL)
        ps->why = why;
    return NULL;
}

static void reserve(struct jsonin_scan *ps, size_t n)
{
    if (n > ps->cap) {
        ps->cap = n > 2 * ps->cap ? n : 2 * ps->cap;
        ps->buf = xreallocarray(ps->buf, ps->cap, 1);
    }
}

/* The length of the UTF-8 sequence at S (before END), or 0 when it is not
 * one a JSON text may hold: no overlong forms, surrogates or code points
 * past U+10FFFF. */
static size_t utf8_len(const unsigned char *s, const unsigned char *end)
{
    uint32_t cp;
    size_t n, i;

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - s) < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static size_t put_utf8(char *w, uint32_t cp)
{
    if (cp < 0x80) {
        w[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        w[0] = (char)(0xc0 | (cp >> 6));
        w[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        w[0] = (char)(0xe0 | (cp >> 12));
        w[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        w[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    w[0] = (char)(0xf0 | (cp >> 18));
    w[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    w[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    w[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Four hex digits at P: their value, or -1. */
static long hex4(const char *p, const char *end)
{
    long v = 0;

    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/* The escape after the backslash at ps->p, decoded to ps->buf + *N. */
static bool escape(struct jsonin_scan *ps, size_t *n)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *e = ps->p + 1, *hit;
    long cp, lo;

    if (e >= ps->end)
        return fail(ps, "premature end of input");
    if (*e != 'u') {
        hit = *e != '\0' ? strchr(from, *e) : NULL;
        if (hit == NULL)
            return fail(ps, "invalid escape");
        ps->buf[(*n)++] = to[hit - from];
        ps->p = e + 1;
        return true;
    }
    cp = hex4(e + 1, ps->end);
    ps->p = e + 5;
    if (cp < 0)
        return fail(ps, "invalid escape");
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return fail(ps, "invalid Unicode escape (lone low surrogate)");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
            (lo = hex4(ps->p + 2, ps->end)) < 0xdc00 || lo > 0xdfff)
            return fail(ps, "invalid Unicode escape (lone high surrogate)");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        ps->p += 6;
    }
    if (cp == 0)
        return fail(ps, "\\u0000 is not allowed");
    *n += put_utf8(ps->buf + *n, (uint32_t)cp);
    return true;
}

/* The string whose body starts at ps->p, decoded into ps->buf (escapes,
 * or bytes to check as UTF-8, were found before RUN). */
static bool string_slow(struct jsonin_scan *ps, const char *run, const char **s,
                        size_t *len)
{
    size_t n = (size_t)(run - ps->p);

    /* the decoded text is never longer than the source */
    reserve(ps, (size_t)(ps->end - ps->p) + 1);
    memcpy(ps->buf, ps->p, n);
    ps->p = run;
    while (ps->p < ps->end) {
        unsigned char c = (unsigned char)*ps->p;
        size_t k;

        if (c == '"') {
            ps->p++;
            *s = ps->buf;
            *len = n;
            return true;
        }
        if (c < 0x20)
            return fail(ps, "control character in string");
        if (c == '\\') {
            if (!escape(ps, &n))
                return false;
            continue;
        }
        k = c < 0x80 ? 1
                     : utf8_len((const unsigned char *)ps->p,
                                (const unsigned char *)ps->end);
        if (k == 0)
            return fail(ps, "invalid UTF-8 in string");
        memcpy(ps->buf + n, ps->p, k);
        n += k;
        ps->p += k;
    }
    return fail(ps, "premature end of input");
}

/* Bytes a string holds as they are, ASCII only: not '"', '\\' or
 * control characters. */
static const bool plain[256] = {
    [0x20] = 1, [0x21] = 1, [0x23] = 1, [0x24] = 1, [0x25] = 1, [0x26] = 1,
    [0x27] = 1, [0x28] = 1, [0x29] = 1, [0x2a] = 1, [0x2b] = 1, [0x2c] = 1,
    [0x2d] = 1, [0x2e] = 1, [0x2f] = 1, [0x30] = 1, [0x31] = 1, [0x32] = 1,
    [0x33] = 1, [0x34] = 1, [0x35] = 1, [0x36] = 1, [0x37] = 1, [0x38] = 1,
    [0x39] = 1, [0x3a] = 1, [0x3b] = 1, [0x3c] = 1, [0x3d] = 1, [0x3e] = 1,
    [0x3f] = 1, [0x40] = 1, [0x41] = 1, [0x42] = 1, [0x43] = 1, [0x44] = 1,
    [0x45] = 1, [0x46] = 1, [0x47] = 1, [0x48] = 1, [0x49] = 1, [0x4a] = 1,
    [0x4b] = 1, [0x4c] = 1, [0x4d] = 1, [0x4e] = 1, [0x4f] = 1, [0x50] = 1,
    [0x51] = 1, [0x52] = 1, [0x53] = 1, [0x54] = 1, [0x55] = 1, [0x56] = 1,
    [0x57] = 1, [0x58] = 1, [0x59] = 1, [0x5a] = 1, [0x5b] = 1, [0x5d] = 1,
    [0x5e] = 1, [0x5f] = 1, [0x60] = 1, [0x61] = 1, [0x62] = 1, [0x63] = 1,
    [0x64] = 1, [0x65] = 1, [0x66] = 1, [0x67] = 1, [0x68] = 1, [0x69] = 1,
    [0x6a] = 1, [0x6b] = 1, [0x6c] = 1, [0x6d] = 1, [0x6e] = 1, [0x6f] = 1,
    [0x70] = 1, [0x71] = 1, [0x72] = 1, [0x73] = 1, [0x74] = 1, [0x75] = 1,
    [0x76] = 1, [0x77] = 1, [0x78] = 1, [0x79] = 1, [0x7a] = 1, [0x7b] = 1,
    [0x7c] = 1, [0x7d] = 1, [0x7e] = 1, [0x7f] = 1,
};

/* The first byte from Q on (before END) that is not plain.  Most of a
 * body is in strings: eight bytes a step, each test on all of them at
 * once.  On a little-endian machine a flag is exact at the lowest byte
 * that has one (a borrow only carries upwards), the one wanted. */
static const char *plain_run(const char *q, const char *end)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;

    while (end - q >= 8) {
        uint64_t x, quote, bslash, flags;

        memcpy(&x, q, 8);
        quote = x ^ (ones * '"');
        bslash = x ^ (ones * '\\');
        flags = (((x - ones * 0x20) & ~x) | ((quote - ones) & ~quote) |
                 ((bslash - ones) & ~bslash) | x) &
                high;
        if (flags != 0)
            return q + __builtin_ctzll(flags) / 8;
        q += 8;
    }
#endif
    while (q < end && plain[(unsigned char)*q])
        q++;
    return q;
}

/* The string at ps->p (its opening quote): *S and *LEN, in the text
 * itself when it holds plain ASCII (the common case), else decoded. */
static bool string(struct jsonin_scan *ps, const char **s, size_t *len)
{
    const char *q = plain_run(++ps->p, ps->end);

    if (q < ps->end && *q == '"') {
        *s = ps->p;
        *len = (size_t)(q - ps->p);
        ps->p = q + 1;
        return true;
    }
    if (q < ps->end)
        return string_slow(ps, q, s, len);
    return fail(ps, "premature end of input");
}

static bool digits(struct jsonin_scan *ps)
{
    const char *from = ps->p;

    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
        ps->p++;
    return ps->p > from;
}

/* A number: an integer when it has no fraction or exponent (jansson's
 * rule), converted with strtoll()/strtod() as jansson does. */
static json_t *number(struct jsonin_scan *ps)
{
    const char *from = ps->p;
    bool real = false;
    char small[64], *copy = small;
    size_t n;
    json_t *v = NULL;

    if (*ps->p == '-')
        ps->p++;
    if (ps->p < ps->end && *ps->p == '0')
        ps->p++;
    else if (!digits(ps))
        return fail(ps, "invalid number");
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (!digits(ps))
            return fail(ps, "invalid number");
        real = true;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (!digits(ps))
            return fail(ps, "invalid number");
        real = true;
    }
    if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
        return fail(ps, "invalid number"); /* a leading zero */
    n = (size_t)(ps->p - from);
    if (n >= sizeof(small)) {
        reserve(ps, n + 1);
        copy = ps->buf;
    }
    memcpy(copy, from, n);
    copy[n] = '\0';
    errno = 0;
    if (real) {
        double d = strtod(copy, NULL);

        if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
            return fail(ps, "real number overflow");
        v = json_real(d);
    } else {
        long long i = strtoll(copy, NULL, 10);

        if (errno == ERANGE)
            return fail(ps, "too big integer");
        v = json_integer((json_int_t)i);
    }
    return v;
}

static json_t *literal(struct jsonin_scan *ps, const char *word, size_t n,
                       json_t *v)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "invalid token");
    ps->p += n;
    return v;
}

/* One "key": value member of O; false on error. */
static bool member(struct jsonin_scan *ps, json_t *o)
{
    const char *k;
    size_t klen;
    char *key;
    json_t *v;
    bool dup;

    jsonin_scan_blanks(ps);
    if (ps->p >= ps->end || *ps->p != '"')
        return fail(ps, "string expected");
    if (!string(ps, &k, &klen))
        return false;
    /* the value may reuse ps->buf: keep a decoded key */
    key = k == ps->buf ? xstrndup(k, klen) : NULL;
    if (key != NULL)
        k = key;
    /* a first member has nothing to repeat: most of a request's objects
     * (its frames) have one */
    dup = json_object_size(o) > 0 && json_object_getn(o, k, klen) != NULL;
    jsonin_scan_blanks(ps);
    if (dup || ps->p >= ps->end || *ps->p != ':') {
        free(key);
        return fail(ps, dup ? "duplicate object key" : "':' expected");
    }
    ps->p++;
    v = value(ps);
    if (v != NULL)
        json_object_setn_new_nocheck(o, k, klen, v);
    free(key);
    return v != NULL;
}

/* One value of array A; false on error. */
static bool element(struct jsonin_scan *ps, json_t *a)
{
    json_t *v = value(ps);

    if (v != NULL)
        json_array_append_new(a, v);
    return v != NULL;
}

/* The array or object C whose opening bracket is at ps->p: ITEMs
 * separated by ',' up to CLOSE. */
static json_t *container(struct jsonin_scan *ps, json_t *c, char close,
                         bool (*item)(struct jsonin_scan *, json_t *),
                         const char *expected)
{
    ps->p++;
    jsonin_scan_blanks(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return c;
    }
    while (item(ps, c)) {
        jsonin_scan_blanks(ps);
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return c;
        }
        if (ps->p >= ps->end || *ps->p != ',') {
            fail(ps, expected);
            break;
        }
        ps->p++;
    }
    json_decref(c);
    return NULL;
}

static json_t *value(struct jsonin_scan *ps)
{
    const char *s;
    size_t n;
    json_t *v;

    jsonin_scan_blanks(ps);
    if (ps->p >= ps->end)
        return fail(ps, "premature end of input");
    switch (*ps->p) {
    case '"':
        return string(ps, &s, &n) ? json_stringn_nocheck(s, n) : NULL;
    case '{':
    case '[':
        if (++ps->depth > JSONIN_MAX_DEPTH)
            return fail(ps, "maximum parsing depth reached");
        if (*ps->p == '{')
            v = container(ps, json_object(), '}', member,
                          "',' or '}' expected");
        else
            v = container(ps, json_array(), ']', element,
                          "',' or ']' expected");
        ps->depth--;
        return v;
    case 't':
        return literal(ps, "true", 4, json_true());
    case 'f':
        return literal(ps, "false", 5, json_false());
    case 'n':
        return literal(ps, "null", 4, json_null());
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return number(ps);
        return fail(ps, "invalid token");
    }
}

/* Where ps->p is, as jansson counts: lines from 1, columns in bytes. */
static void position(const struct jsonin_scan *ps, int *line, int *col)
{
    const char *p;

    *line = 1;
    *col = 1;
    for (p = ps->start; p < ps->p && p < ps->end; p++) {
        if (*p == '\n') {
            ++*line;
            *col = 1;
        } else {
            ++*col;
        }
    }
}

void jsonin_scan_init(struct jsonin_scan *s, const char *text, size_t len)
{
    memset(s, 0, sizeof(*s));
    s->p = s->start = text;
    s->end = text + len;
}

void jsonin_scan_free(struct jsonin_scan *s)
{
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
}

bool jsonin_scan_string(struct jsonin_scan *s, const char **str, size_t *len)
{
    jsonin_scan_blanks(s);
    if (s->p >= s->end || *s->p != '"')
        return fail(s, "string expected");
    return string(s, str, len);
}

json_t *jsonin_scan_value(struct jsonin_scan *s, unsigned depth)
{
    s->depth = depth;
    return value(s);
}

json_t *jsonin_parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct jsonin_scan ps;
    json_t *v = NULL;
    int line, col;

    jsonin_scan_init(&ps, text, len);
    jsonin_scan_blanks(&ps);
    if (ps.p < ps.end && (*ps.p == '{' || *ps.p == '['))
        v = value(&ps);
    else
        fail(&ps, "'[' or '{' expected");
    if (v != NULL) {
        jsonin_scan_blanks(&ps);
        if (ps.p < ps.end) {
            json_decref(v);
            v = fail(&ps, "end of input expected");
        }
    }
    free(ps.buf);
    if (v == NULL) {
        position(&ps, &line, &col);
        snprintf(err, errlen, "%s at line %d column %d", ps.why, line, col);
    }
    return v;
}
