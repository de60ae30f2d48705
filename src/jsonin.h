/* SPDX-License-Identifier: MIT */
/*
 * jsonin: JSON text into jansson values, for request bodies.
 *
 * jansson's own parser reads a character at a time through a stream and
 * a string buffer; on a /symbolicate body it cost more than symbolicating
 * the frames.  This one scans the text in place and builds the same
 * values: it accepts exactly what json_loadb(JSON_REJECT_DUPLICATES)
 * accepts (RFC 8259, an object or array at the top, UTF-8 checked, no
 * \u0000, no lone surrogates, integers that fit json_int_t, reals that
 * do not overflow, at most 2048 levels, no duplicate keys) and gives
 * equal values (json_equal()); tests/fuzz/fuzz_jsonin.c holds it to that.
 * One difference: jansson skips a NUL byte right after a number or a
 * literal ("[1\0]"); jsonin refuses it, as RFC 8259 does.
 *
 * THREADS.  Any thread; no state.
 */
#ifndef SYMSRVD_JSONIN_H
#define SYMSRVD_JSONIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Parse TEXT[0..LEN).  The new value, or NULL with ERR (a reason, then
 * " at line L column C") set. */
json_t *jsonin_parse(const char *text, size_t len, char *err, size_t errlen);

/* The scanner beneath jsonin_parse(), for a caller that reads the part of
 * a document it knows itself (a request's frames, straight into structs)
 * and takes the rest as values.  It checks what it scans as
 * jsonin_parse() does; the caller keeps to the grammar between the
 * pieces.  On a stack; P may be read, and set back to re-read a value. */
struct jsonin_scan {
    const char *p, *end, *start;
    const char *why; /* the error, NULL while all is well */
    unsigned depth;
    char *buf; /* decoded strings and long numbers */
    size_t cap;
};

void jsonin_scan_init(struct jsonin_scan *s, const char *text, size_t len);
void jsonin_scan_free(struct jsonin_scan *s); /* what scanning took */
/* Inline, as the two below: they run between every two tokens. */
static inline void jsonin_scan_blanks(struct jsonin_scan *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* After blanks: the next byte, or -1 at the end. */
static inline int jsonin_scan_peek(struct jsonin_scan *s)
{
    jsonin_scan_blanks(s);
    return s->p < s->end ? (unsigned char)*s->p : -1;
}

/* After blanks: true, and past it, when the next byte is C. */
static inline bool jsonin_scan_take(struct jsonin_scan *s, char c)
{
    jsonin_scan_blanks(s);
    if (s->p >= s->end || *s->p != c)
        return false;
    s->p++;
    return true;
}
/* After blanks, a string: its text in *STR (not NUL-terminated), *LEN
 * bytes.  *STR points into the text when the string is plain ASCII
 * without escapes, else into the scanner's buffer until the next call. */
bool jsonin_scan_string(struct jsonin_scan *s, const char **str, size_t *len);
/* After blanks, any value, nested in DEPTH containers (for the depth
 * bound); NULL on error. */
json_t *jsonin_scan_value(struct jsonin_scan *s, unsigned depth);

#endif
