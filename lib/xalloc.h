/* SPDX-License-Identifier: MIT */
/*
 * xalloc: allocation that does not fail.  On out-of-memory it prints one
 * line to stderr and aborts (the Redis zmalloc policy), so error paths
 * elsewhere are about I/O, network and input only.
 */
#ifndef SYMSRVD_XALLOC_H
#define SYMSRVD_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
/* Resize P to NMEMB * SIZE bytes, aborting on overflow or OOM. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
/* Resize P to N bytes.  Also satisfies libiberty's demangler, which calls
 * xrealloc(): because lib/ defines it, libiberty.a's own xmalloc.o (whose
 * xmalloc/xcalloc would clash with ours) is never pulled into the link. */
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
