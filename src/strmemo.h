/* SPDX-License-Identifier: MIT */
/*
 * strmemo: text derived from strings that stay put (a symbol table's
 * names), remembered by the string's address and a kind: the answer's
 * JSON text of a name, raw or demangled, is built once per table instead
 * of once per request.  The owner keeps the strings alive as long as the
 * memo.  At most MAX_BYTES of text are kept; past that, puts are refused.
 *
 * THREADS.  Any thread may call any function but strmemo_free().
 */
#ifndef SYMSRVD_STRMEMO_H
#define SYMSRVD_STRMEMO_H

#include <stddef.h>

struct strmemo;

struct strmemo *strmemo_new(size_t max_bytes);
void strmemo_free(struct strmemo *m); /* NULL-safe */

/* The text remembered for (S, KIND) and its *LEN, or NULL.  It stays
 * valid until strmemo_free(). */
const char *strmemo_get(struct strmemo *m, const void *s, unsigned kind,
                        size_t *len);

/* Remember TEXT[0..LEN) (heap) for (S, KIND): the text remembered now
 * (TEXT, taken; or what another thread put first, and TEXT is freed), or
 * NULL when the memo is full (TEXT stays the caller's). */
const char *strmemo_put(struct strmemo *m, const void *s, unsigned kind,
                        char *text, size_t len);

#endif
