/* SPDX-License-Identifier: MIT */
/*
 * jsonarena: the jansson values of one parse taken from an arena, freed
 * all at once.  A request body of a few hundred frames is thousands of
 * small values; allocating each from the heap and freeing each (often on
 * another thread than the one that made it) cost a quarter of a warm
 * /symbolicate request.
 *
 * jansson's allocation functions are replaced once, at program start
 * (json_set_alloc_funcs()): while a thread is inside jsonarena_begin() ..
 * jsonarena_end(), its jansson allocations come from that arena and its
 * frees of the arena's blocks do nothing; everywhere else they are malloc()
 * and free() as before (so json_dumps() text is still free()d).
 *
 * The rules for values made in an arena: they are read only (adding to an
 * object may free its old table); they are never freed one by one (do not
 * json_decref() the top value: references taken with json_incref() may be
 * given back, the top one's keeps every count above zero), and none is
 * used after jsonarena_free().
 *
 * THREADS.  An arena is filled by one thread at a time; it may be freed by
 * another.
 */
#ifndef SYMSRVD_JSONARENA_H
#define SYMSRVD_JSONARENA_H

#include <stddef.h>

struct jsonarena;

/* A new arena whose first block holds about HINT bytes. */
struct jsonarena *jsonarena_new(size_t hint);
void jsonarena_free(struct jsonarena *a); /* NULL-safe */

/* This thread's jansson values come from A until jsonarena_end(). */
void jsonarena_begin(struct jsonarena *a);
void jsonarena_end(void);

/* N bytes from A for the caller's own use (texts that go with the
 * values), 16-byte aligned, freed with A. */
void *jsonarena_alloc(struct jsonarena *a, size_t n);

/* Bytes A took from the heap (its blocks). */
size_t jsonarena_bytes(const struct jsonarena *a);

#endif
