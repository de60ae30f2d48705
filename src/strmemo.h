/* SPDX-License-Identifier: MIT */
/*
 * strmemo: text derived from things that stay put (a symbol table's
 * names, its addresses), remembered by a key word (a string's address,
 * an address in the table) and a kind: the answer's JSON text of a name,
 * raw or demangled, or of a whole lookup, is built once per table instead
 * of once per request.  The owner keeps what the keys name alive as long
 * as the memo.
 *
 * Bounds: at most MAX_BYTES per memo, and the memos sharing a budget
 * together at most its max (a process's tables: [symbolicate] memo_size);
 * past either, puts are refused.  An entry counts its text and its share
 * of the hash table (STRMEMO_ENTRY_OVERHEAD); a freed memo gives its bytes
 * back to the budget.
 *
 * THREADS.  Any thread may call any function but strmemo_free().
 */
#ifndef SYMSRVD_STRMEMO_H
#define SYMSRVD_STRMEMO_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct strmemo;

/* Bytes several memos share. */
struct strmemo_budget {
    _Atomic size_t used;
    size_t max;
};

/* What an entry costs beside its text: two slots of the hash table
 * (it is at most half full), two more of the smaller tables it grew
 * from (kept for readers without the lock), and the allocator's
 * header. */
#define STRMEMO_ENTRY_OVERHEAD 144

/* BUDGET (NULL: none) outlives the memo. */
struct strmemo *strmemo_new(size_t max_bytes, struct strmemo_budget *budget);
void strmemo_free(struct strmemo *m); /* NULL-safe */

/* The text remembered for (KEY, KIND) and its *LEN, or NULL.  It stays
 * valid until strmemo_free().  KEY is never 0. */
const char *strmemo_get(struct strmemo *m, uintptr_t key, unsigned kind,
                        size_t *len);

/* Remember TEXT[0..LEN) (heap) for (KEY, KIND): the text remembered now
 * (TEXT, taken; or what another thread put first, and TEXT is freed), or
 * NULL when the memo or its budget is full (TEXT stays the caller's). */
const char *strmemo_put(struct strmemo *m, uintptr_t key, unsigned kind,
                        char *text, size_t len);

/* Bytes M holds, as counted against its bounds. */
size_t strmemo_bytes(struct strmemo *m);

#endif
