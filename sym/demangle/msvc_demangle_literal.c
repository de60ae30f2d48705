/* SPDX-License-Identifier: MIT */
/*
 * msvc_demangle_literal: string literals, ??_C@_<kind><length><crc>@...
 * The mangling keeps the byte length and at most the first 32 bytes, each
 * byte spelled plainly or as an escape; the literal is printed the way
 * llvm-undname prints it, "..." marking text that was cut.
 */
#include "symsrvd_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demangle/msvc_demangle.h"
#include "demangle/msvc_demangle_int.h"

static bool msd_is_hex_letter(char c)
{
    return c >= 'A' && c <= 'P';
}

/* One byte of a string literal: plain, ?$XY (hex in A-P), ?<digit> (one
 * of ",/\:. \n\t'-") or ?<letter> (Latin-1 0xC1.., 0xE1..). */
static unsigned msd_char_literal(struct msd *d)
{
    static const char punct[] = ",/\\:. \n\t'-";
    char c = msd_next(d);

    if (c != '?')
        return (unsigned char)c;
    c = msd_next(d);
    if (c == '$' && d->end - d->p >= 2 && msd_is_hex_letter(d->p[0]) &&
        msd_is_hex_letter(d->p[1])) {
        unsigned v = (unsigned)(d->p[0] - 'A') << 4 | (unsigned)(d->p[1] - 'A');

        d->p += 2;
        return v;
    }
    if (c >= '0' && c <= '9')
        return (unsigned char)punct[c - '0'];
    if (c >= 'a' && c <= 'z')
        return 0xE1u + (unsigned)(c - 'a');
    if (c >= 'A' && c <= 'Z')
        return 0xC1u + (unsigned)(c - 'A');
    d->err = true;
    return 0;
}

static void msd_escaped_char(struct msd_out *o, unsigned c)
{
    static const char *const esc[] = {
        ['\0'] = "\\0", ['\a'] = "\\a", ['\b'] = "\\b",  ['\t'] = "\\t",
        ['\n'] = "\\n", ['\v'] = "\\v", ['\f'] = "\\f",  ['\r'] = "\\r",
        ['"'] = "\\\"", ['\''] = "\\'", ['\\'] = "\\\\",
    };
    char buf[24];
    int digits = 2;

    if (c < sizeof(esc) / sizeof(esc[0]) && esc[c] != NULL) {
        msd_out_cstr(o, esc[c]);
        return;
    }
    if (c > 0x1f && c < 0x7f) {
        buf[0] = (char)c;
        msd_out_str(o, buf, 1);
        return;
    }
    /* \x and the value in whole bytes, two upper-case digits each */
    while (digits < 8 && (c >> (4 * digits)) != 0)
        digits += 2;
    (void)snprintf(buf, sizeof(buf), "\\x%0*X", digits, c);
    msd_out_cstr(o, buf);
}

/* Wide literals store their text as pairs of bytes, high byte first. */
static void msd_wide_literal(struct msd *d, struct msd_node *n,
                             struct msd_out *o, uint64_t size)
{
    n->sub = MSD_CHAR_WIDE;
    n->flag = size > 64;
    while (!d->err && !msd_eat(d, "@")) {
        unsigned w;

        /* SIZE is not checked against the text (odd, or too short) as
         * llvm-undname-14 does not check it; newer LLVM rejects those. */
        if (d->end - d->p < 2) {
            d->err = true;
            return;
        }
        w = msd_char_literal(d) << 8;
        if (d->err || d->p >= d->end) {
            d->err = true;
            return;
        }
        w |= msd_char_literal(d);
        if (size != 2 || n->flag)
            msd_escaped_char(o, w); /* the last char is the terminator */
        size -= 2;
    }
}

/* How wide the characters of a narrow-encoded literal are.  The mangling
 * keeps only the byte length and the first 32 bytes, so guess from the
 * NULs: a 2- or 4-byte terminator, or the share of NUL bytes. */
static unsigned msd_guess_char_size(const uint8_t *b, unsigned n, uint64_t size)
{
    unsigned nuls = 0, trailing = 0, i;

    if (size % 2 == 1)
        return 1;
    for (i = n; i > 0 && b[i - 1] == 0; i--)
        trailing++;
    if (size < 32) {
        if (trailing >= 4 && size % 4 == 0)
            return 4;
        return trailing >= 2 ? 2 : 1;
    }
    for (i = 0; i < n; i++)
        nuls += b[i] == 0;
    if (nuls >= 2 * n / 3 && size % 4 == 0)
        return 4;
    return nuls >= n / 3 ? 2 : 1;
}

static void msd_narrow_literal(struct msd *d, struct msd_node *n,
                               struct msd_out *o, uint64_t size)
{
    static const int kinds[5] = {0, MSD_CHAR, MSD_CHAR16, 0, MSD_CHAR32};
    uint8_t bytes[128];
    unsigned count = 0, width, i, nchars;

    while (!d->err && !msd_eat(d, "@")) {
        if (d->p >= d->end || count >= sizeof(bytes)) {
            d->err = true;
            return;
        }
        bytes[count++] = (uint8_t)msd_char_literal(d);
    }
    if (d->err)
        return;
    n->flag = size > count;
    width = msd_guess_char_size(bytes, count, size);
    n->sub = kinds[width];
    nchars = count / width;
    for (i = 0; i < nchars; i++) {
        unsigned c = 0, k;

        for (k = 0; k < width; k++)
            c |= (unsigned)bytes[i * width + k] << (8 * k);
        if (i + 1 < nchars || n->flag)
            msd_escaped_char(o, c); /* the last char is the terminator */
    }
}

/* ??_C@_<0|1><length><crc>@<chars>@ */
struct msd_node *msd_string_literal(struct msd *d)
{
    struct msd_node *n = msd_new(d, MSD_S_STRING);
    struct msd_out o = {NULL, 0, 0, false};
    const char *at;
    uint64_t size;
    bool wide, neg;

    if (!msd_eat(d, "@_") || d->p >= d->end) {
        d->err = true;
        return NULL;
    }
    wide = *d->p == '1';
    if (*d->p != '0' && *d->p != '1')
        d->err = true;
    d->p++;
    size = msd_number(d, &neg);
    if (d->err || neg || size < (wide ? 2u : 1u)) {
        d->err = true;
        return NULL;
    }
    at = memchr(d->p, '@', (size_t)(d->end - d->p));
    if (at == NULL || at + 1 >= d->end) {
        d->err = true;
        return NULL;
    }
    d->p = at + 1; /* skip the CRC */
    if (wide)
        msd_wide_literal(d, n, &o, size);
    else
        msd_narrow_literal(d, n, &o, size);
    if (!d->err && !o.overflow) {
        char *text = msd_alloc(d, o.len + 1);

        if (o.len > 0)
            memcpy(text, o.buf, o.len);
        n->str = text;
        n->len = o.len;
    }
    free(o.buf);
    return d->err || o.overflow ? NULL : n;
}
