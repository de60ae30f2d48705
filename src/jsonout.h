/* SPDX-License-Identifier: MIT */
/*
 * jsonout: JSON text written straight into a growing buffer, for the
 * large parts of an answer (thousands of frames), where building jansson
 * objects first cost more than the lookups themselves.  The caller writes
 * the structure ('{', ',', ...); these functions write keys and values,
 * escaping strings as RFC 8259 requires.  jsonout_raw() alone makes it a
 * plain growing buffer (request bodies).
 *
 * THREADS.  A buffer belongs to one thread.
 */
#ifndef SYMSRVD_JSONOUT_H
#define SYMSRVD_JSONOUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct jsonout {
    char *p;
    size_t len, cap;
};

/* Make room for MORE bytes at once (an estimate; writes still grow). */
void jsonout_reserve(struct jsonout *o, size_t more);

/* LEN bytes of S as they are.  Inline, as jsonout_keyq(): a frame is a
 * dozen small pieces, most of constant length, which the compiler then
 * copies without a call. */
static inline void jsonout_raw(struct jsonout *o, const char *s, size_t len)
{
    if (o->len + len + 1 > o->cap)
        jsonout_reserve(o, len);
    memcpy(o->p + o->len, s, len);
    o->len += len;
    o->p[o->len] = '\0';
}

void jsonout_lit(struct jsonout *o, const char *s); /* NUL-terminated */
void jsonout_str(struct jsonout *o, const char *s); /* quoted, escaped */
/* ',' unless this is the first member (*FIRST is then cleared), then
 * "KEY": (escaped). */
void jsonout_key(struct jsonout *o, int *first, const char *key);
/* The same with the key already quoted, colon included ("\"k\":"): for
 * literal keys, which need no escaping. */
static inline void jsonout_keyq(struct jsonout *o, int *first,
                                const char *quoted, size_t len)
{
    if (o->len + len + 2 > o->cap)
        jsonout_reserve(o, len + 1);
    if (!*first)
        o->p[o->len++] = ',';
    *first = 0;
    memcpy(o->p + o->len, quoted, len);
    o->len += len;
    o->p[o->len] = '\0';
}
void jsonout_hex(struct jsonout *o, uint64_t v); /* "0x..." */
void jsonout_uint(struct jsonout *o, uint64_t v);
/* A jansson value, as json_dumps() writes it (JSON_COMPACT, keys in
 * insertion order), but for control characters in strings, which are
 * written \u00XX. */
void jsonout_json(struct jsonout *o, const json_t *v);
/* The text, NUL-terminated; the caller owns it (O is emptied). */
char *jsonout_take(struct jsonout *o, size_t *len);

#endif
